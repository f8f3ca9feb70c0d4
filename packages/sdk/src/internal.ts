/**
 * `@confab/sdk/internal`: what another face of the SDK needs beyond the V2TIM API. The
 * Web SDK face (`@confab/chat`) is built on a V2TIMManager and, for example, reads the
 * whole conversation list inside the sync engine's write queue so that no update lands
 * between its snapshot and the listener events after it. Not a public API: it may change
 * with any release.
 */
export { coreOf } from './manager/v2tim-manager.js';
export type { SdkCore, Session } from './manager/core.js';
export { createLogger } from './log.js';
export type { Logger, LogLevel } from './log.js';
export { toV2Conversation } from './convert.js';
export { mergerElemOf } from './convert.js';
