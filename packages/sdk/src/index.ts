/**
 * @confab/sdk — the reference's V2TIM API over Confab's WebSocket protocol.
 *
 * This entry must stay browser-safe: no `node:` imports and no SQLite. The file store lives
 * at the subpath `@confab/sdk/sqlite-store`; `npm run build` also bundles this entry (with
 * @confab/protocol) into `dist/browser/confab-sdk.js`, exported as `@confab/sdk/browser`.
 */
export { V2TIMManager } from './manager/v2tim-manager.js';
export { V2TIMConversationManager } from './manager/conversation-manager.js';
export { V2TIMMessageManager } from './manager/message-manager.js';
export { V2TIMFriendshipManager } from './manager/friendship-manager.js';
export { V2TIMGroupManager } from './manager/group-manager.js';
export { MemoryStore } from './store/memory-store.js';
// Browser persistence. Safe to import anywhere: it touches `indexedDB` only in open().
export { IndexedDbStore } from './store/indexeddb-store.js';
export type { IndexedDbStoreOptions } from './store/indexeddb-store.js';
export type { LocalStore, StoreScope, StoredConversation, StoredMessage, StoreChangeBatch, MessageQuery, ConversationPosition, LocalCustomPatch } from './store/types.js';
export type { HistoryPrefetchOptions } from './sync/history-prefetch.js';
export { MetaKey } from './store/types.js';
export type { V2TIMCallback, V2TIMValueCallback, CallbackResult } from './callback.js';
export type { LogLevel, Logger } from './log.js';
export type { UserSigProvider } from './manager/session-upkeep.js';
export * from './types.js';
export { ConfabError, ErrorCode, GroupType, GroupMemberRole, Capability, PROTOCOL_VERSION, ConversationMarkType as V2TIMConversationMarkType } from '@confab/protocol';
export type { DeletionStatus as V2TIMConversationDeletionStatus } from '@confab/protocol';
