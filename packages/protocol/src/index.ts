export * from './errors.js';
export * from './ids.js';
export * from './conversation-id.js';
export * from './model.js';
export * from './frames.js';
export * from './social.js';
