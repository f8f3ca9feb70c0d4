/**
 * @confab/sdk — the reference's V2TIM API over Confab's WebSocket protocol.
 *
 * This entry must stay browser-safe: no `node:` imports and no SQLite. The file store lives
 * at the subpath `@confab/sdk/sqlite-store`.
 */
export { V2TIMManager } from './manager/v2tim-manager.js';
export { V2TIMConversationManager } from './manager/conversation-manager.js';
export { V2TIMMessageManager } from './manager/message-manager.js';
export { V2TIMFriendshipManager } from './manager/friendship-manager.js';
export { V2TIMGroupManager } from './manager/group-manager.js';
export { MemoryStore } from './store/memory-store.js';
export type { LocalStore, StoreScope, StoredConversation, StoredMessage, StoreChangeBatch, MessageQuery } from './store/types.js';
export { MetaKey } from './store/types.js';
export type { V2TIMCallback, V2TIMValueCallback, CallbackResult } from './callback.js';
export type { LogLevel } from './log.js';
export * from './types.js';
export { ConfabError, ErrorCode, GroupType, GroupMemberRole } from '@confab/protocol';
