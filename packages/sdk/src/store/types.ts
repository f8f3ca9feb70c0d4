/**
 * The local store seam. The SDK keeps the user's conversation list, cached messages and a
 * few meta values (sync version, device ID) behind this small interface, so an app can
 * swap the default in-memory store for a persistent one (`@confab/sdk/sqlite-store` on
 * Node; IndexedDB in the browser later) without touching the sync engine.
 *
 * Reads are plain getters. There is ONE write path, `apply(batch)`, which commits a whole
 * batch in one transaction. Why: the sync engine turns one server frame (an `update` push,
 * or a `conv.sync` page) into one batch that also moves the stored sync version. If the app
 * crashes half-way through, the store must not hold version 42 with only half of
 * version 42's rows — the device would never ask for the missing half again.
 */
import type { WireConversation, WireMessage } from '@confab/protocol';

/** Which user's data a store instance serves. Data of different scopes never mixes. */
export interface StoreScope {
  sdkAppID: number;
  userID: string;
}

/**
 * A conversation row as the server last sent it (tombstones are never stored), plus one
 * local field the sync engine owns.
 */
export type StoredConversation = Omit<WireConversation, 'deleted'> & {
  /**
   * Local only: messages up to this seq were already handed to `onRecvNewMessage` on this
   * device (or deliberately skipped as old history). Catch-up after a reconnect pulls what
   * lies above it, so a message is announced once even when it was never cached.
   */
  deliveredSeq?: number;
};

/**
 * A cached message as the server sent it, plus the fields this device keeps for itself
 * (`setLocalCustomData` / `setLocalCustomInt`), which a later copy from the server keeps.
 */
export type StoredMessage = WireMessage & { localCustomData?: string; localCustomInt?: number };

/** Sets a cached message's local fields; a field left out keeps its value. */
export interface LocalCustomPatch {
  msgID: string;
  localCustomData?: string;
  localCustomInt?: number;
}

/**
 * One atomic write. The store applies the parts in this order, which is what makes a batch
 * that mixes them well defined:
 *
 * 1. `removeConversations` — drop the rows and every cached message of those conversations;
 * 2. `clearMessages` — drop every cached message of those conversations, keep the rows;
 * 3. `upsertConversations` — insert or replace rows by conversationID;
 * 4. `putMessages` — insert or replace messages; a message is identified both by `msgID`
 *    and by `(conversationID, seq)`, and a new one replaces any old one matching either;
 *    A replaced message with the same msgID keeps its local fields (`localCustomData`,
 *    `localCustomInt`) unless the new copy has its own;
 * 5. `dropMessagesBelow` — per conversation, delete cached messages with `seq < seq`
 *    (the user's `visibleFromSeq` watermark after a delete/clear on any device);
 * 6. `syncVersion` — when present, stored as the meta value `syncVersion`;
 * 7. `setLocalCustom` — set local fields of cached messages (by msgID; one not cached is skipped).
 *
 * A store validates the whole batch before writing anything (or rolls back): a batch with
 * one malformed item rejects with error 6017 and changes nothing.
 */
export interface StoreChangeBatch {
  syncVersion?: number;
  upsertConversations?: StoredConversation[];
  removeConversations?: string[];
  putMessages?: StoredMessage[];
  dropMessagesBelow?: { conversationID: string; seq: number }[];
  clearMessages?: string[];
  setLocalCustom?: LocalCustomPatch[];
}

export interface MessageQuery {
  /** The newest `limit` messages with seq < beforeSeq (all seqs when absent). */
  beforeSeq?: number;
  /** Instead: the oldest `limit` messages with seq > afterSeq. Wins over beforeSeq. */
  afterSeq?: number;
  limit: number;
}

/**
 * A place in the conversation list: the sort key of one row. The list order is pinned
 * first, then `orderKey` descending, then `conversationID` ascending (store/order.ts).
 */
export interface ConversationPosition {
  isPinned: boolean;
  orderKey: number;
  conversationID: string;
}

/** Well-known meta keys. Values are strings; the store does not interpret them. */
export const MetaKey = {
  SYNC_VERSION: 'syncVersion',
  DEVICE_ID: 'deviceID',
  /**
   * JSON array of deletions sent to the server whose local wipe has not committed yet
   * (`PendingDeletion[]`); re-issued at the next login so a crash in between cannot leave
   * a deleted conversation on the device.
   */
  PENDING_DELETIONS: 'pendingDeletions',
  /**
   * `pending` while the device's first sync has not paged to the end, then `done`; the
   * rows of a first sync are taken as history (no messages pulled or announced).
   */
  INITIAL_SYNC: 'initialSync',
} as const;

export interface LocalStore {
  /**
   * Opens the store for one user. Called by `login()` before any network traffic, so a
   * restarted device shows its cached list at once. Opening an already-open store for a
   * different scope closes the first scope.
   */
  open(scope: StoreScope): Promise<void>;
  /** Releases the scope (and, for file stores, the file handle). Idempotent. */
  close(): Promise<void>;

  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;

  /** Every stored conversation, in no particular order. O(n): not for the list screen. */
  listConversations(): Promise<StoredConversation[]>;
  /**
   * Up to `count` conversations in list order, starting strictly after `after` (from the
   * top when undefined). Served from an ordered index in O(count + log n), so paging a
   * 10k list never re-reads or re-sorts it. `after` need not be a stored row: a row that
   * moved since its page was served still resumes where that page ended (keyset paging).
   */
  listConversationPage(after: ConversationPosition | undefined, count: number): Promise<StoredConversation[]>;
  /**
   * The sum of `unreadCount` over the stored conversations, kept by the store itself:
   * each `apply` moves it by the difference of the rows it changes, in the same
   * transaction, so reading it never scans the list.
   */
  getTotalUnread(): Promise<number>;
  getConversation(conversationID: string): Promise<StoredConversation | undefined>;
  /**
   * The stored rows among `conversationIDs` (any order, unknown IDs left out), in one
   * read: a 1000-row sync page looks up what it replaces without 1000 round trips (on
   * IndexedDB, 1000 transactions).
   */
  getConversations(conversationIDs: string[]): Promise<StoredConversation[]>;

  /** Cached messages of one conversation, always in ascending seq order. */
  getMessages(conversationID: string, query: MessageQuery): Promise<StoredMessage[]>;
  /** The cached messages among `msgIDs` (any order). Used to tell new messages from seen ones. */
  getMessagesByID(msgIDs: string[]): Promise<StoredMessage[]>;

  /**
   * Every cached message of one conversation (or of all, `conversationID` undefined) for
   * which `match` is true, in no particular order. Local search reads the device's cache
   * once per call (there is no server search): O(cached messages).
   */
  searchMessages(conversationID: string | undefined, match: (m: StoredMessage) => boolean): Promise<StoredMessage[]>;

  /** Commits a batch in one transaction; see `StoreChangeBatch` for the order. */
  apply(batch: StoreChangeBatch): Promise<void>;
}
