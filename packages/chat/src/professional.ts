/** `@tencentcloud/lite-chat/professional`: the same SDK as the main entry (every module is built in). */
export { default } from './index.js';
export * from './index.js';
