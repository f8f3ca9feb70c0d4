/**
 * Shapes that travel on the wire. Field names follow the reference's V2TIM types where
 * one exists (conversationID, unreadCount, orderKey, isPinned, draftText, nickName,
 * faceUrl, …) so code written against the reference reads the same.
 */

/** The reference's `V2TIMElemType` numbers for the element kinds Confab carries. */
export const ElemType = { TEXT: 1, CUSTOM: 2, LOCATION: 7, FACE: 8, MERGER: 10 } as const;

/** An element's `V2TIMElemType` number from its wire `type` (0 for a kind this build does not know). */
export function elemTypeNumber(type: string): number {
  const known: Record<string, number> = { text: 1, custom: 2, image: 3, sound: 4, video: 5, file: 6, location: 7, face: 8, merger: 10 };
  return known[type] ?? 0;
}

export interface TextElem {
  type: 'text';
  text: string;
}

export interface CustomElem {
  type: 'custom';
  /** App-defined payload, usually JSON text. */
  data: string;
  description?: string;
  extension?: string;
}

/** The reference's V2TIMFaceElem: an app-defined sticker (`index` into the app's set, `data` free). */
export interface FaceElem {
  type: 'face';
  index: number;
  data: string;
}

/** The reference's V2TIMLocationElem. */
export interface LocationElem {
  type: 'location';
  desc: string;
  longitude: number;
  latitude: number;
}

/**
 * The reference's V2TIMMergerElem: several messages forwarded as one ("chat history").
 * The merged messages travel inline in `messageList`, so the element is bounded by the
 * app's message size like any other (see docs/messages.md).
 */
export interface MergerElem {
  type: 'merger';
  title: string;
  abstractList: string[];
  compatibleText: string;
  /** The merged messages as their senders sent them (nested mergers included). */
  messageList: MergedMessage[];
}

/** One message inside a merger: what a reader needs to show it, not its place in a chat. */
export interface MergedMessage {
  sender: string;
  nickName?: string;
  faceUrl?: string;
  /** Original commit time, milliseconds. */
  timestamp: number;
  elem: MessageElem;
  cloudCustomData?: string;
}

export type MessageElem = TextElem | CustomElem | FaceElem | LocationElem | MergerElem;

/** The reference's V2TIMMessagePriority. */
export const MessagePriority = { DEFAULT: 0, HIGH: 1, NORMAL: 2, LOW: 3 } as const;

/** The reference's V2TIMOfflinePushInfo, stored with the message for the push provider. */
export interface OfflinePushInfo {
  title?: string;
  desc?: string;
  ext?: string;
  disablePush?: boolean;
  iOSSound?: string;
  androidSound?: string;
  ignoreIOSBadge?: boolean;
}

export interface WireMessage {
  /** Unique on the server; stable across devices. */
  msgID: string;
  /** The conversation as seen by the user this copy is for (`c2c_<peer>` / `group_<id>`). */
  conversationID: string;
  /** Position in the conversation, 1-based, gap-free as sent; shared by both sides of a C2C chat. */
  seq: number;
  sender: string;
  /** C2C only: the user the message was sent to. */
  receiver?: string;
  /** Group only. */
  groupID?: string;
  /** The sender's idempotency key: resending the same one returns the stored message. */
  clientMsgID: string;
  /** Server commit time, milliseconds since the epoch. */
  timestamp: number;
  elem: MessageElem;
  /** The sender's nickname and avatar when the message was sent. */
  nickName?: string;
  faceUrl?: string;
  /** Set by the sender before sending; stored and delivered as is. */
  cloudCustomData?: string;
  /** `MessagePriority`; absent means DEFAULT. */
  priority?: number;
  offlinePushInfo?: OfflinePushInfo;
  /** True for a message sent with `onlineUserOnly`: never stored, `seq` 0. */
  isOnlineOnly?: boolean;
  /**
   * The reference's `V2TIMMessageStatus`: absent for a stored message, `LOCAL_REVOKED` (6)
   * once it was recalled; a recalled message keeps seq, sender and time, and its `elem`
   * is an empty text (the content is erased on the server).
   */
  status?: number;
  /** Who recalled it (the sender, a group admin or owner, or the app admin). */
  revoker?: string;
  revokeReason?: string;
  /** How many times it was modified or recalled; `msg.modify` sends the one it is based on. */
  modifyVersion?: number;
  /** The conversation's change counter at its latest modification or recall (0: never changed). */
  changeSeq?: number;
}

/** The reference's `V2TIMMessageStatus` values. */
export const MessageStatus = {
  SENDING: 1, SEND_SUCC: 2, SEND_FAIL: 3, HAS_DELETED: 4, LOCAL_IMPORTED: 5, LOCAL_REVOKED: 6,
} as const;

/** A message the user deleted for themselves (`msg.delete`). */
export interface DeletedMessageRef {
  conversationID: string;
  msgID: string;
  seq: number;
}

/**
 * One user's view of one conversation. A row with `deleted: true` is a tombstone: the
 * user deleted the conversation, and a device that holds it must drop it.
 */
export interface WireConversation {
  conversationID: string;
  type: 1 | 2;
  userID?: string;
  groupID?: string;
  /** Highest seq in the conversation this user can see (0 when none). */
  lastSeq: number;
  lastMessage: WireMessage | null;
  unreadCount: number;
  /** Messages up to this seq are read by this user. */
  readSeq: number;
  /**
   * Messages with a seq below this are gone for this user: deleted or cleared. Every
   * device drops what it cached below it; the server never serves them again.
   */
  visibleFromSeq: number;
  /** Grows each time the conversation is activated (message, draft, pin). Sort descending. */
  orderKey: number;
  isPinned: boolean;
  draftText: string;
  draftTimestamp: number;
  customData: string;
  /** The reference's conversation marks, as powers of two (see `ConversationMarkType`); labels only. */
  markList: number[];
  deleted: boolean;
  /** The user's sync version at which this row last changed. */
  version: number;
  /**
   * The conversation's change counter as far as this user's row has taken it: a recall
   * or modification steps it. A device holding less runs `msg.changes` (0 when absent).
   */
  changeSeq?: number;
  /** Counts this user's own message deletions in the conversation (`msg.delete`); as changeSeq. */
  deleteSeq?: number;
}

/**
 * A batch of changes to one user's state. `prevVersion` → `version` lets a device see
 * whether it missed something: when `prevVersion` is not the version it holds, it
 * runs a `conv.sync` from its own version instead of applying the batch.
 */
export interface UserUpdate {
  prevVersion: number;
  version: number;
  conversations: WireConversation[];
  messages: WireMessage[];
  /** Present when the change is a deletion or history clear, so devices can tell it from other changes. */
  deletion?: DeletionNotice;
  /**
   * Messages recalled or modified, in their new state. Complete for the rows of the
   * update whose `changeSeq` moved when present for them; a row whose `changeSeq` moved
   * past what the device holds without any of its messages here is caught up with
   * `msg.changes`.
   */
  changedMessages?: WireMessage[];
  /**
   * Messages the user deleted for themselves on the device `deviceID`. Other devices get
   * it only when the app syncs deletions and the device declared `conv.deletion-sync`.
   */
  deletedMessages?: { deviceID: string; messages: DeletedMessageRef[] };
}

/** How a conversation was removed: see `conv.delete` and `conv.clearHistory`. */
export type DeletionMode = 'delete' | 'deleteKeepHistory' | 'clearHistory';

export interface DeletionNotice {
  mode: DeletionMode;
  conversationIDs: string[];
  /** The device that asked for it. */
  deviceID: string;
  /** True when this update undoes an earlier deletion: the rows come back with their history. */
  undone?: boolean;
}

/** Where one deletion stands: on the server, and on each of the user's devices. */
export interface DeletionStatus {
  id: number;
  conversationID: string;
  mode: DeletionMode;
  deviceID: string;
  createdAt: number;
  /** `pending` until the server erased the rows, then `purged`; `kept` when history was kept; `undone`. */
  state: 'pending' | 'purged' | 'kept' | 'undone';
  /**
   * When the bytes of the purged rows left the server's files, after `purged` (which
   * says the rows were deleted); null until then. On SQLite the two come together; on
   * PostgreSQL the erasure rewrites the tables a little later (docs/deletion.md).
   */
  erasedAt?: number | null;
  /** Until when it can be undone (null: never). */
  undoUntil: number | null;
  /**
   * The user's devices that are told of deletions, and whether each has wiped this one
   * (acknowledged the version it committed at). The deleting device counts as wiped.
   */
  devices: { deviceID: string; wiped: boolean; lastSeen: number }[];
}

export interface UserProfile {
  userID: string;
  nickName: string;
  faceUrl: string;
  selfSignature: string;
}

export interface FriendInfo {
  userID: string;
  friendRemark: string;
  addTime: number;
  profile: UserProfile;
}

/**
 * The reference's `V2TIMConversationMarkType`. Custom marks are further powers of two;
 * Confab accepts up to 2^52 so every mark is an exact JavaScript number.
 */
export const ConversationMarkType = { STAR: 1, UNREAD: 2, FOLD: 4, HIDE: 8 } as const;
export const MAX_MARK_TYPE = 2 ** 52;

/** Group kinds, named as in the reference. */
export const GroupType = { WORK: 'Work', PUBLIC: 'Public', MEETING: 'Meeting' } as const;
export type GroupType = (typeof GroupType)[keyof typeof GroupType];

/** The reference's `V2TIMGroupMemberRole` numbers. */
export const GroupMemberRole = { MEMBER: 200, ADMIN: 300, OWNER: 400 } as const;
export type GroupMemberRole = (typeof GroupMemberRole)[keyof typeof GroupMemberRole];

export interface GroupInfo {
  groupID: string;
  groupType: GroupType;
  groupName: string;
  faceUrl: string;
  introduction: string;
  notification: string;
  owner: string;
  createTime: number;
  memberCount: number;
  /** Set when the group was dismissed; the conversation stays for members until they delete it. */
  dismissed: boolean;
}

export interface GroupMember {
  userID: string;
  role: GroupMemberRole;
  joinTime: number;
  nickName: string;
  faceUrl: string;
}

/** One result of a batch call, the reference's `V2TIMConversationOperationResult` shape. */
export interface OperationResult {
  /** The item: a conversation ID, user ID or group ID as given. */
  id: string;
  resultCode: number;
  resultInfo: string;
}
