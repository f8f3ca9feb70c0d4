import type { GroupMemberRole, GroupType, MessageElem, OfflinePushInfo } from '@confab/protocol';
import type { MessageMutationStore } from './message-mutations.js';

/**
 * The storage seam. Domain services speak only to these interfaces; the embedded
 * SQLite backend implements them today and a PostgreSQL backend runs the same
 * conformance suite (`test/storage-conformance.ts`).
 *
 * Rules every backend keeps:
 * - Each method is one transaction: it commits fully before its promise resolves, or
 *   it changes nothing and rejects.
 * - Every change to a user's own state (a conversation row) moves that user's sync
 *   version up by exactly one per call and stamps the changed rows with it, so a
 *   device can ask "what changed since version N" and detect a gap.
 */
export interface Storage {
  readonly kind: string;
  readonly apps: AppStore;
  readonly accounts: AccountStore;
  readonly friends: FriendStore;
  readonly groups: GroupStore;
  readonly messages: MessageStore;
  readonly conversations: ConversationStore;
  readonly deletions: DeletionStore;
  readonly devices: DeviceStore;
  readonly leases: LeaseStore;
  readonly fanout: FanoutStore;
  /** Recalls, modifications and per-user message deletions (`message-mutations.ts`). */
  readonly mutations: MessageMutationStore;
  /**
   * A promise while a commit is on its way to disk and already readable (SQLite's message
   * group commit, `storage/sqlite/wal-sync.ts`); request handlers wait for it before
   * reading, so no client is shown what a power cut could still take back. Undefined
   * when nothing is pending, or on a backend that never shows unsynced commits.
   */
  readBarrier?(): Promise<void> | undefined;
  readonly presence: PresenceStore;
  /** Rejects when the database cannot answer now (`/readyz`); a backend without it is taken as up while open. */
  ping?(): Promise<void>;
  close(): Promise<void>;
}

export interface AppSettings {
  /** Largest accepted message element, in bytes of JSON. */
  maxMessageBytes: number;
  /**
   * Tell the user's other devices when a conversation is deleted or cleared. Off by
   * default, as in the reference; only clients that declare the capability get it.
   */
  syncConversationDeletion: boolean;
  /**
   * Seconds during which a deletion can be undone from any of the user's devices
   * (0 = never, the default). Until then nothing is purged; after it, the deletion is
   * irrecoverable like any other.
   */
  deletionUndoSeconds: number;
  /** Friends one user may have (the reference's 30010 for the caller, 30014 for the peer). */
  maxFriends: number;
  /** Groups one user may be a member of at once (10037). */
  maxJoinedGroups: number;
  /** Members one group may hold, owner included (10014 when full; 10038 when a creation asks for more). */
  maxGroupMembers: number;
  /** Seconds after sending during which a message can be recalled (the reference's 2 minutes; 20016 / 10031 after). */
  revokeWindowSeconds?: number;
}

export const DEFAULT_APP_SETTINGS: AppSettings = {
  maxMessageBytes: 12 * 1024,
  syncConversationDeletion: false,
  deletionUndoSeconds: 0,
  maxFriends: 3000,
  maxJoinedGroups: 1000,
  maxGroupMembers: 6000,
  revokeWindowSeconds: 120,
};

/**
 * A cap was reached inside a storage transaction, so nothing was written. The cap is
 * checked where the rows are written, under the locks that serialise the writers, so two
 * requests racing for the last free place cannot both get it.
 */
export class LimitReachedError extends Error {
  constructor(
    readonly limit: 'friends' | 'peerFriends' | 'groupMembers' | 'joinedGroups',
    /** The user at the cap (friends, peerFriends, joinedGroups). */
    readonly userID?: string,
  ) {
    super(`${limit} limit reached${userID ? ` for ${userID}` : ''}`);
    this.name = 'LimitReachedError';
  }
}

export interface AppRecord {
  sdkAppID: number;
  name: string;
  secretKey: string;
  /** The app's admin identifier for the REST API, `administrator` by default as in the reference. */
  adminUserID: string;
  settings: AppSettings;
  createdAt: number;
}

export interface AppStore {
  create(app: AppRecord): Promise<void>;
  get(sdkAppID: number): Promise<AppRecord | undefined>;
  list(): Promise<AppRecord[]>;
  updateSettings(sdkAppID: number, settings: AppSettings): Promise<void>;
  /** Replaces the app's secret key (a rotation); UserSigs and admin sessions signed with the old one stop working. */
  updateSecret(sdkAppID: number, secretKey: string): Promise<void>;
}

export interface AccountRecord {
  userID: string;
  nickName: string;
  faceUrl: string;
  selfSignature: string;
  createdAt: number;
}

export interface AccountStore {
  /** Creates the account when missing (first login, REST import); returns it either way. */
  ensure(app: number, userID: string, now: number): Promise<AccountRecord>;
  get(app: number, userIDs: string[]): Promise<AccountRecord[]>;
  updateProfile(app: number, userID: string, patch: Partial<Pick<AccountRecord, 'nickName' | 'faceUrl' | 'selfSignature'>>): Promise<AccountRecord>;
  /** The user's current sync version (0 for a user with no state yet). */
  syncVersion(app: number, userID: string): Promise<number>;
}

export interface FriendRecord {
  userID: string;
  friendID: string;
  remark: string;
  addedAt: number;
}

export interface FriendStore {
  /** Removes the friendship both ways; returns whether it existed. Conversations are untouched. */
  /**
   * Adds the friendship both ways; adding an existing friend updates the remark only.
   * With `maxFriends`, a new friendship that would give either side more than that many
   * friends throws `LimitReachedError` ('friends' for userID, 'peerFriends' for friendID).
   */
  add(app: number, userID: string, friendID: string, remark: string, now: number, maxFriends?: number): Promise<FriendRecord>;
  /** Removes the friendship both ways; returns whether it existed. Conversations are untouched. */
  remove(app: number, userID: string, friendID: string): Promise<boolean>;
  /** At most `limit` of the user's friends in friend ID order, after `afterFriendID`: read by the primary key. */
  page(app: number, userID: string, limit: number, afterFriendID?: string): Promise<FriendRecord[]>;
}

export interface GroupRecord {
  groupID: string;
  groupType: GroupType;
  groupName: string;
  faceUrl: string;
  introduction: string;
  notification: string;
  owner: string;
  createdAt: number;
  dismissedAt: number | null;
  memberCount: number;
}

export interface GroupMemberRecord {
  userID: string;
  role: GroupMemberRole;
  joinedAt: number;
  /**
   * The member's place in the group's join order, kept when they leave and rejoin: the
   * member list pages by it, so a member present from the first page to the last is
   * listed exactly once whoever joins or leaves in between.
   */
  seq: number;
}

/** Caps checked when members are added (see `LimitReachedError`). */
export interface MembershipCaps {
  maxMembers: number;
  maxJoinedGroups: number;
}

/** Result of a membership change: the group conversation rows it created or revived. */
export interface MembershipChange {
  added: string[];
  /** Users not added because they are members of `maxJoinedGroups` groups already. */
  refused?: string[];
  /** Per-user state changes caused by the membership change (new conversation rows). */
  updates: UserChange[];
}

export interface GroupStore {
  /**
   * Creates a group with its owner and members; each member gets a conversation row.
   * With `caps`, throws `LimitReachedError` ('groupMembers', or 'joinedGroups' naming a
   * user already in `maxJoinedGroups` groups) and creates nothing.
   */
  create(app: number, group: Omit<GroupRecord, 'memberCount' | 'dismissedAt'>, memberIDs: string[], now: number, caps?: MembershipCaps): Promise<MembershipChange>;
  get(app: number, groupID: string): Promise<GroupRecord | undefined>;
  getMany(app: number, groupIDs: string[]): Promise<GroupRecord[]>;
  /** Current members only, by role then join time; OFFSET-paged (message fan-out). */
  members(app: number, groupID: string, offset: number, limit: number): Promise<GroupMemberRecord[]>;
  /** At most `limit` current members with `seq` > `afterSeq`, in seq order, read by index: O(limit). */
  memberPage(app: number, groupID: string, afterSeq: number, limit: number): Promise<GroupMemberRecord[]>;
  member(app: number, groupID: string, userID: string): Promise<GroupMemberRecord | undefined>;
  /**
   * Adds users who are not current members; returns who was added. With `caps`, users
   * already in `maxJoinedGroups` groups are skipped (`refused`), and if the rest would
   * take the group past `maxMembers` it throws `LimitReachedError('groupMembers')` and
   * adds no one.
   */
  addMembers(app: number, groupID: string, userIDs: string[], now: number, caps?: MembershipCaps): Promise<MembershipChange>;
  /** Ends a membership. The user's conversation row and history stay. */
  removeMember(app: number, groupID: string, userID: string, now: number): Promise<boolean>;
  /** Marks the group dismissed and ends every membership. */
  dismiss(app: number, groupID: string, now: number): Promise<string[]>;
  /** At most `limit` groups the user is a member of, in group ID order after `afterGroupID`: O(limit). */
  joinedGroups(app: number, userID: string, limit: number, afterGroupID?: string): Promise<GroupRecord[]>;
}

/** One message to append, already validated and authorised by the domain layer. */
export interface AppendRequest {
  app: number;
  /** Internal key: `c2c:<a>|<b>` with a < b, or `group:<groupID>`. */
  convKey: string;
  sender: string;
  clientMsgID: string;
  elem: MessageElem;
  /** Users whose conversation rows this message updates, with the conversation ID each sees. */
  recipients: { userID: string; conversationID: string }[];
  now: number;
  /**
   * A group message whose members are reached by the fan-out worker: `recipients` is the
   * sender alone, and the transaction records the message in the fan-out queue instead
   * of touching every member's row (see `FanoutStore`).
   */
  fanout?: boolean;
  /** Stored with the message as given (its `extra` column). */
  extra?: MessageExtra;
}

/**
 * What a message carries besides its element: the sender's profile at send time, the
 * sender's cloud custom data, its priority and its offline push info. One JSON column,
 * absent when empty, so an old row and a plain message cost nothing more.
 */
export interface MessageExtra {
  nickName?: string;
  faceUrl?: string;
  cloudCustomData?: string;
  priority?: number;
  offlinePushInfo?: OfflinePushInfo;
}

export interface StoredMessage {
  convKey: string;
  seq: number;
  sender: string;
  clientMsgID: string;
  createdAt: number;
  elem: MessageElem;
  /** Set once recalled: who did it. The element is then erased (an empty text). */
  revoker?: string;
  revokeReason?: string;
  /** Modifications and recalls so far (0: never changed). */
  modifyVersion?: number;
  /** The conversation's change counter at the latest change (0: never changed). */
  changeSeq?: number;
  extra?: MessageExtra;
}

/** Reads the `extra` column (NULL or JSON text). */
export function parseExtra(text: string | null | undefined): MessageExtra | undefined {
  return text ? JSON.parse(text) as MessageExtra : undefined;
}

/** Writes the `extra` column: NULL when there is nothing to keep. */
export function encodeExtra(extra: MessageExtra | undefined): string | null {
  return extra && Object.keys(extra).length > 0 ? JSON.stringify(extra) : null;
}

export interface ConversationRow {
  userID: string;
  convKey: string;
  conversationID: string;
  lastSeq: number;
  unreadCount: number;
  readSeq: number;
  visibleFromSeq: number;
  orderKey: number;
  isPinned: boolean;
  draftText: string;
  draftTimestamp: number;
  customData: string;
  /** The reference's conversation marks: powers of two (STAR 1, UNREAD 2, FOLD 4, HIDE 8, custom). */
  marks: number[];
  deleted: boolean;
  version: number;
  /** The conversation's change counter as far as this row has taken it (recalls, modifications). */
  changeSeq?: number;
  /** How many messages of the conversation the user deleted for themselves. */
  deleteSeq?: number;
}

/** The rows of one user that one call changed, with the version step it took. */
export interface UserChange {
  app: number;
  userID: string;
  prevVersion: number;
  version: number;
  rows: ConversationRow[];
}

export interface AppendResult {
  message: StoredMessage;
  /** True when the clientMsgID was already stored: nothing new was written. */
  duplicate: boolean;
  /**
   * For a fan-out message: earlier messages of the group the sender's row moved past
   * before the fan-out reached the sender (at most the newest 100). Example: Bob's
   * message 5 is still queued when Alice sends 6; Alice's row goes to 6 at once, so 5
   * must travel in Alice's update or her devices would never be told of it.
   */
  passedOver?: StoredMessage[];
}

export interface AppendBatchResult {
  results: AppendResult[];
  /** One entry per user whose state changed in the batch (one version step each). */
  changes: UserChange[];
}

export interface MessageStore {
  /**
   * Appends a batch of messages in ONE transaction (group commit): assigns each a seq,
   * updates every recipient's conversation row (last seq, unread, order, tombstone
   * revival) and steps each touched user's version once. A `fanout` request updates
   * the sender's row only and queues the message for the other members (`FanoutStore`).
   * A backend that makes commits durable after they commit (SQLite's WAL synced off the
   * event loop) calls `onCommitted` in between, so the group committer can start the next
   * batch; the promise still resolves only once the batch is durable.
   */
  appendBatch(batch: AppendRequest[], onCommitted?: () => void): Promise<AppendBatchResult>;
  /** Messages of a conversation with fromSeq <= seq <= toSeq, ascending, at most `limit`. */
  range(app: number, convKey: string, fromSeq: number, toSeq: number, limit: number, order: 'asc' | 'desc'): Promise<StoredMessage[]>;
  get(app: number, convKey: string, seq: number): Promise<StoredMessage | undefined>;
  /**
   * The seq of the first message created at or after `time` (`edge: 'first'`), or of the
   * last one created at or before it (`'last'`); undefined when none. One seek of the (conversation, created_at) index: a history page bounded by
   * time costs O(page) however far back it starts.
   */
  seqAtTime(app: number, convKey: string, time: number, edge: 'first' | 'last'): Promise<number | undefined>;
}

export type ConversationPatch =
  | { kind: 'markRead' }
  | { kind: 'pin'; isPinned: boolean }
  | { kind: 'draft'; draftText: string; now: number }
  | { kind: 'customData'; customData: string }
  | { kind: 'mark'; markType: number; enable: boolean };

/** A position in a user's conversation list: a row's orderKey and order tie (see `list-order.ts`). */
export interface ListPosition {
  orderKey: number;
  tie: number;
}

export interface ListedConversation {
  row: ConversationRow;
  position: ListPosition;
}

export interface ListQuery {
  pinned: boolean;
  /** Only rows with a message the user can see: lastSeq >= max(1, visibleFromSeq). */
  nonEmptyOnly: boolean;
  /** Rows strictly after this position; from the top without it. */
  after?: ListPosition;
  limit: number;
}

export interface ConversationStore {
  get(app: number, userID: string, convKey: string): Promise<ConversationRow | undefined>;
  /**
   * At most `limit` rows (tombstones included) in `(version, convKey)` order, read by
   * index: those with version > `sinceVersion`, or, with `afterConvKey`, those after the
   * position `(sinceVersion, afterConvKey)` (the rest of version `sinceVersion`, then
   * later versions). A page may end inside a version step; the caller continues from
   * the last row's position. Cost: O(limit) whatever the user's row count.
   */
  changedSince(app: number, userID: string, sinceVersion: number, limit: number, afterConvKey?: string): Promise<ConversationRow[]>;
  /**
   * At most `limit` live (not deleted) rows of the user whose `isPinned` is `pinned`, in
   * list order (orderKey descending, then tie descending), read by index: O(limit).
   */
  listLive(app: number, userID: string, query: ListQuery): Promise<ListedConversation[]>;
  /**
   * The messages at these (convKey, seq) positions that exist, in one read: the last
   * message of each row on a page, without a round trip per row.
   */
  lastMessages(app: number, refs: { convKey: string; seq: number }[]): Promise<StoredMessage[]>;
  /**
   * Applies one patch to several of the user's conversations in one transaction and one
   * version step. A conversation the user has no live row for is skipped (reported in
   * `missing`); pin and draft create the row when the caller may see the conversation.
   */
  patch(app: number, userID: string, targets: { convKey: string; conversationID: string; create: boolean }[], patch: ConversationPatch): Promise<{ change: UserChange | null; missing: string[] }>;
}

/**
 * How a conversation is removed for one user:
 * - `delete`: the conversation and its history, irrecoverably (watermark moves to the end);
 * - `deleteKeepHistory`: the conversation only; history stays pullable (`clearMessage=false`);
 * - `clearHistory`: the history only; the conversation stays, empty.
 */
export type DeletionMode = 'delete' | 'deleteKeepHistory' | 'clearHistory';

/** One entry of the content-free audit trail. */
export interface DeletionRecord {
  id: number;
  userID: string;
  conversationID: string;
  deviceID: string;
  mode: DeletionMode;
  /** Messages below this seq became invisible to the user; null when history was kept. */
  watermarkSeq: number | null;
  createdAt: number;
  /** When the last of those messages was physically erased (rows deleted); null while pending. */
  purgedAt: number | null;
  /**
   * When the bytes of those rows left the backend's files (docs/deletion.md, "What is
   * erased where"): on SQLite the checkpoint after the purge, on PostgreSQL the rewrite
   * of the tables that held them. Null until then.
   */
  erasedAt: number | null;
  /** The user's sync version the deletion committed at; a device that acknowledged it has wiped it. */
  version: number;
  /** Until when the deletion can be undone; null when it never could. */
  undoUntil: number | null;
  /** When it was undone; null if it was not. */
  undoneAt: number | null;
}

/** A device a user logged in from, and how far it has applied its user's changes. */
export interface DeviceRecord {
  deviceID: string;
  platform: string;
  capabilities: string[];
  protocolVersion: number;
  firstSeen: number;
  lastSeen: number;
  /** The highest sync version the device reported as applied (`sync.ack`). */
  ackedVersion: number;
}

export interface DeviceStore {
  /** Records a login of a device (created on first sight). */
  touch(app: number, userID: string, device: { deviceID: string; platform: string; capabilities: string[]; protocolVersion: number }, now: number): Promise<void>;
  /** The device applied everything up to `version`; never moves backwards. */
  ack(app: number, userID: string, deviceID: string, version: number, now: number): Promise<void>;
  list(app: number, userID: string): Promise<DeviceRecord[]>;
  /**
   * Keeps `keep` of the user's devices, `deviceID` and the most recently seen others
   * (ties by device ID), and forgets the rest; returns the IDs forgotten. A forgotten
   * device that logs in again is a new device to the server (its sync needs nothing kept).
   */
  prune(app: number, userID: string, keep: number, deviceID: string): Promise<string[]>;
  /** The devices of several users in one read (the admin's deletion list). */
  listMany(app: number, userIDs: string[]): Promise<Map<string, DeviceRecord[]>>;
  /** At most `limit` of a user's devices by device ID, after `afterDeviceID`: read by the primary key. */
  page(app: number, userID: string, limit: number, afterDeviceID?: string): Promise<DeviceRecord[]>;
}

export interface DeletionStore {
  /**
   * Removes conversations for one user in ONE transaction, O(1) per conversation
   * whatever its length: the row becomes a tombstone (or, for clearHistory, an empty
   * row), its watermark moves past the last message, unread drops to zero, and the
   * deletion is written to the audit trail and queued for the purge worker. Targets
   * the user has no row for are accepted and change nothing (deletion is idempotent).
   * With a `requestID` the user already used, nothing is done at all: a retry of a
   * deletion that committed can never remove messages that arrived after it.
   */
  remove(app: number, userID: string, targets: { convKey: string; conversationID: string }[],
    opts: { mode: DeletionMode; deviceID: string; now: number; undoUntil?: number; requestID?: string }): Promise<{ change: UserChange | null }>;
  /**
   * Undoes the user's latest deletion of a conversation while its undo window is open:
   * the row gets back its watermark (and, if still deleted, its pin, draft, custom data
   * and unread state). `change` is null when nothing could be undone.
   */
  undo(app: number, userID: string, convKey: string, now: number): Promise<{ change: UserChange | null }>;
  /** Audit entries, newest first. */
  list(app: number, filter: { userID?: string; limit: number; beforeID?: number }): Promise<DeletionRecord[]>;
  /**
   * For each of these conversations the user deleted, the device of the user's latest
   * deletion of it that was not undone (conversations never deleted are left out). Read
   * by index, one entry per conversation: `conv.sync` shows a tombstone to the device
   * that made it even where other devices are not told of deletions.
   */
  lastDeleters(app: number, userID: string, convKeys: string[]): Promise<Map<string, string>>;
  /** Conversations queued for purging whose undo windows have all closed by `now`, oldest first. */
  purgeQueue(limit: number, now: number): Promise<{ app: number; convKey: string }[]>;
  /** How many conversations are queued for purging (undo window open or not), counted up to `cap`; a read only, for `/metrics`. */
  purgeBacklog(cap: number): Promise<number>;
  /**
   * Physically erases at most `maxRows` messages of one conversation that no
   * participant can see any more (below every participant's watermark), and marks
   * audit entries purged once everything below their watermark is gone. Returns
   * `done` when nothing purgeable is left, and drops the conversation from the queue.
   * With a `fence`, the step first checks in its own transaction that the lease's
   * token is still `fence.token` and rejects with `StaleLeaseError`, changing nothing,
   * when another holder has taken the lease since.
   */
  purgeStep(app: number, convKey: string, maxRows: number, now: number, fence?: LeaseFence): Promise<{ erased: number; done: boolean }>;
  /**
   * Whether a message with this key was stored and then erased by the purge (and the
   * record of that is not yet forgotten). Each erased message leaves a content-free
   * record, (app, conversation, sender, hash of its clientMsgID) and when, written in
   * the transaction that erased it: a resend of that message must not be stored again.
   */
  wasPurged(app: number, convKey: string, sender: string, clientMsgID: string): Promise<boolean>;
  /** Forgets the records of erased messages purged before `olderThan`; returns how many. */
  forgetPurged(olderThan: number): Promise<number>;
  /**
   * Makes the bytes of purged rows unrecoverable from the backend's files (SQLite: WAL
   * checkpoint; PostgreSQL: a rewrite of the tables that held them), then stamps
   * `erasedAt = now` on the deletions that were purged before it began. `complete` is
   * false when it could not vouch for that (a SQLite reader kept the WAL, or a
   * PostgreSQL transaction older than the purge still ran or held a lock past the
   * timeout): nothing is stamped and it is worth calling again later.
   */
  compact(now?: number): Promise<{ complete: boolean; erased: number }>;
  /** Whether some deletion's rows are purged but its bytes not yet erased (compact() would stamp it). */
  awaitingErasure(): Promise<boolean>;
  /**
   * Forgets deletion request IDs recorded before `olderThan`; returns how many. A retry
   * that arrives later than that is applied as a new deletion.
   */
  forgetRequests(olderThan: number): Promise<number>;
}

/** A group conversation with messages not yet applied to every member's row. */
export interface FanoutJob {
  app: number;
  convKey: string;
  /** Every message below this seq has reached every recipient. */
  fromSeq: number;
  /** The group's last message. */
  toSeq: number;
}

/**
 * The durable fan-out queue. Appending a fan-out message records it here in the same
 * transaction; `step` later applies the pending messages to the members' conversation
 * rows, a bounded chunk of members per transaction, so the writer is never held in
 * proportion to a group's size.
 *
 * Who receives message `seq`: the members at its commit — current members, and former
 * members whose `leftSeq` (the group's last seq when they left) is at least `seq`.
 * A member's row moves from its own `lastSeq` (never re-applying a message), so a step
 * repeated after a crash, or run twice at once, changes nothing twice.
 */
export interface FanoutStore {
  /** Jobs with pending messages, oldest first. */
  pending(limit: number): Promise<FanoutJob[]>;
  /**
   * Applies at most `maxMessages` pending messages of one group to at most `maxMembers`
   * members (the next ones in the current pass), in one transaction with one version
   * step per changed member. `messages` are those the changes carry; `done` when the
   * job has nothing pending any more.
   */
  step(app: number, convKey: string, maxMembers: number, maxMessages: number): Promise<FanoutStepResult>;
}

export interface FanoutStepResult {
  changes: UserChange[];
  /** The messages each changed member's update carries, by user ID (shared objects: encode once). */
  delivered: Map<string, StoredMessage[]>;
  /** True when the job has nothing pending any more (it left the queue). */
  done: boolean;
}

/** A lease's name and the token its holder got: work done under it checks the token is still current. */
export interface LeaseFence {
  lease: string;
  token: number;
}

/**
 * A write was refused because the lease it was done under went to another holder
 * (its token is no longer current): a paused old holder must not purge after losing it.
 */
export class StaleLeaseError extends Error {
  constructor(readonly fence: LeaseFence, readonly current: number | null) {
    super(`lease ${fence.lease} token ${fence.token} is stale (current: ${current ?? 'none'})`);
    this.name = 'StaleLeaseError';
  }
}

/**
 * Named leases, so that a background job runs on one node of a cluster at a time (the
 * purge worker holds `purge`). A lease is a row with a holder and an expiry: the holder
 * renews it before it runs out; when the holder stops renewing (it crashed, hung or lost
 * the database), any node takes it over once it has expired.
 *
 * A holder paused for longer than the TTL (a long GC, a stopped VM) may wake up and
 * try to finish a step after another node took over. Each acquisition therefore gets a
 * fencing token, larger than any before, and a write done under the lease (a purge
 * step) checks in its own transaction that the token is still current: the old
 * holder's step is refused (`StaleLeaseError`) instead of racing the new holder. Times
 * come from the nodes' clocks: keep them in sync (NTP) to well within the TTL.
 */
export interface LeaseStore {
  /**
   * Takes lease `name` for `holder`, or renews it when `holder` already has it, until
   * `now + ttlMs`. Resolves with the lease's fencing token when `holder` holds it now;
   * null while another holder's lease has not expired (`expiresAt <= now` counts as
   * expired). The token grows by one at every acquisition (a free, expired or released
   * lease taken, even by its previous holder) and stays the same while one holder
   * renews an unexpired lease, so it never repeats.
   */
  tryAcquire(name: string, holder: string, ttlMs: number, now: number): Promise<number | null>;
  /**
   * Gives the lease up if `holder` has it, so another node can take it at once. The
   * lease's token is kept, so the next acquisition still gets a larger one.
   */
  release(name: string, holder: string): Promise<void>;
  /** Who holds lease `name` at `now`, if anyone. */
  holder(name: string, now: number): Promise<{ holder: string; expiresAt: number } | undefined>;
}

/** One online session of a user, as the node serving it last reported it. */
export interface PresenceRecord {
  /** The node the session is connected to. */
  node: string;
  sessionID: string;
  deviceID: string;
  capabilities: string[];
  protocolVersion: number;
  /** When the session logged in. */
  since: number;
}

/**
 * Who is online across a cluster, for the admin's user view: each node writes a row when
 * a session logs in and deletes it when the session ends, and renews the expiry of all
 * its rows in one statement every so often. A node that dies stops renewing, and its
 * rows stop counting once they expire (reads ignore expired rows; `sweep` deletes them).
 */
export interface PresenceStore {
  add(app: number, userID: string, record: PresenceRecord, expiresAt: number): Promise<void>;
  remove(app: number, userID: string, sessionID: string): Promise<void>;
  /** Moves the expiry of every row of `node` to `expiresAt` (one statement); returns how many. */
  refresh(node: string, expiresAt: number): Promise<number>;
  /** Deletes every row of `node` (its clean shutdown). */
  removeNode(node: string): Promise<void>;
  /** The user's sessions whose rows have not expired at `now`, oldest login first. */
  online(app: number, userID: string, now: number): Promise<PresenceRecord[]>;
  /**
   * Which of `userIDs` (at most a fan-out chunk, a few hundred) have a session whose row
   * has not expired at `now`: one query for a chunk of recipients (offline push).
   */
  onlineAmong(app: number, userIDs: string[], now: number): Promise<Set<string>>;
  /** Deletes rows that expired before `olderThan`; returns how many. */
  sweep(olderThan: number): Promise<number>;
}
