/**
 * Shapes that travel on the wire. Field names follow the reference's V2TIM types where
 * one exists (conversationID, unreadCount, orderKey, isPinned, draftText, nickName,
 * faceUrl, …) so code written against the reference reads the same.
 */

/** The reference's `V2TIMElemType` numbers for the element kinds Confab carries. */
export const ElemType = { TEXT: 1, CUSTOM: 2, IMAGE: 3, SOUND: 4, VIDEO: 5, FILE: 6, LOCATION: 7, FACE: 8, MERGER: 10 } as const;

/** An element's `V2TIMElemType` number from its wire `type` (0 for a kind this build does not know). */
export function elemTypeNumber(type: string): number {
  const known: Record<string, number> = { text: 1, custom: 2, image: 3, sound: 4, video: 5, file: 6, location: 7, face: 8, merger: 10 };
  return known[type] ?? 0;
}

export interface TextElem {
  type: 'text';
  text: string;
  /**
   * Group only: the members this text mentions (the reference's text-at message,
   * `V2TIMMessage.groupAtUserList`); `AT_ALL_TAG` mentions everyone.
   */
  atUserList?: string[];
}

/** The reference's tag for "@all" in an at-list (`kImSDK_MesssageAtALL`, spelt as the reference spells it). */
export const AT_ALL_TAG = '__kImSDK_MesssageAtALL__';

/** The reference's `V2TIMGroupAtInfo` types. */
export const GroupAtType = { AT_ME: 1, AT_ALL: 2, AT_ALL_AT_ME: 3 } as const;
export type GroupAtType = (typeof GroupAtType)[keyof typeof GroupAtType];

/** One unread mention of the user in a group conversation (the reference's `V2TIMGroupAtInfo`). */
export interface GroupAtInfo {
  seq: number;
  atType: GroupAtType;
}

/**
 * The reference's `V2TIMReceiveMessageOpt`. What Confab does with each (docs/protocol.md
 * "Receive options"): 0 counts and announces; 1 and 4 store the message (history stays
 * pullable) but neither count it as unread nor announce it (4 still counts and announces
 * a mention of the user); 2 and 3 count it in the conversation but not in the total.
 */
export const ReceiveMessageOpt = {
  RECEIVE_MESSAGE: 0,
  NOT_RECEIVE_MESSAGE: 1,
  RECEIVE_NOT_NOTIFY_MESSAGE: 2,
  RECEIVE_NOT_NOTIFY_MESSAGE_EXCEPT_AT: 3,
  NOT_RECEIVE_MESSAGE_EXCEPT_AT: 4,
} as const;
export type ReceiveMessageOpt = (typeof ReceiveMessageOpt)[keyof typeof ReceiveMessageOpt];

export interface CustomElem {
  type: 'custom';
  /** App-defined payload, usually JSON text. */
  data: string;
  description?: string;
  extension?: string;
}

/** The reference's `V2TIMImageType`: the original and the two sizes the server makes. */
export const ImageType = { ORIGIN: 0, THUMB: 1, LARGE: 2 } as const;

/** One size of an image message (the reference's `V2TIMImage`, without its URL: see `file.url`). */
export interface WireImage {
  /** The file's ID in the server's file store; `file.url` turns it into a download URL. */
  uuid: string;
  type: 0 | 1 | 2;
  size: number;
  width: number;
  height: number;
}

/**
 * An image message. The sender uploads the original (`file.uploadToken`); the server
 * makes the thumbnail and large sizes and fills `imageList` with all three.
 */
export interface ImageElem {
  type: 'image';
  imageList: WireImage[];
}

export interface SoundElem {
  type: 'sound';
  UUID: string;
  dataSize: number;
  /** Seconds, as given by the sender. */
  duration: number;
}

export interface VideoElem {
  type: 'video';
  videoUUID: string;
  videoSize: number;
  /** The file name extension, e.g. `mp4`. */
  videoType: string;
  /** Seconds, as given by the sender. */
  duration: number;
  snapshotUUID: string;
  snapshotSize: number;
  snapshotWidth: number;
  snapshotHeight: number;
}

export interface FileElem {
  type: 'file';
  UUID: string;
  fileName: string;
  fileSize: number;
}

export type MediaElem = ImageElem | SoundElem | VideoElem | FileElem;

/** What an upload is for; decides its size limit (see `MEDIA_LIMITS`). */
export type MediaKind = 'image' | 'sound' | 'video' | 'file';

/** The reference's upload limits: images and sounds up to 28 MB, videos and files up to 100 MB. */
export const MEDIA_LIMITS: Record<MediaKind, number> = {
  image: 28 * 1024 * 1024,
  sound: 28 * 1024 * 1024,
  video: 100 * 1024 * 1024,
  file: 100 * 1024 * 1024,
};
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

export type MessageElem = TextElem | CustomElem | FaceElem | LocationElem | MergerElem | MediaElem;

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
  /** Group only: the sender asked for read receipts (the reference's `needReadReceipt`; the app must allow them). */
  needReadReceipt?: boolean;
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
  /** The user's receive option for this conversation (`ReceiveMessageOpt`); absent = 0. */
  recvOpt?: ReceiveMessageOpt;
  /** C2C: the peer has read the messages up to this seq (read receipts); absent = 0. */
  peerReadSeq?: number;
  /** Group: unread mentions of the user, oldest first; cleared as the user reads past them. */
  groupAtInfoList?: GroupAtInfo[];
}

/** A group message's read receipt, the reference's `V2TIMMessageReceipt` fields for a group. */
export interface GroupReceipt {
  msgID: string;
  groupID: string;
  seq: number;
  readCount: number;
  unreadCount: number;
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
  /** `V2TIMFriendAllowType` (0 allow any, 1 need confirm, 2 deny any); in `profile.get` answers. */
  allowType?: number;
}

export interface FriendInfo {
  userID: string;
  friendRemark: string;
  addTime: number;
  profile: UserProfile;
  /** The reference's `friendCustomInfo`: custom fields (`Tag_SNS_Custom_*` keys), values as strings. */
  friendCustomInfo?: Record<string, string>;
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
  /** `V2TIMGroupAddOpt`: 0 forbid, 1 needs approval, 2 anyone may join. */
  groupAddOpt?: number;
  /** The whole group is muted: only the owner and admins may send. */
  isAllMuted?: boolean;
}

export interface GroupMember {
  userID: string;
  role: GroupMemberRole;
  joinTime: number;
  nickName: string;
  faceUrl: string;
  /** The member's name in this group. */
  nameCard?: string;
  /** Muted until this time (seconds since the epoch, as the reference's `muteUntil`); 0 when not muted. */
  muteUntil?: number;
  /** Custom member fields, values as strings. */
  customInfo?: Record<string, string>;
}

/** One result of a batch call, the reference's `V2TIMConversationOperationResult` shape. */
export interface OperationResult {
  /** The item: a conversation ID, user ID or group ID as given. */
  id: string;
  resultCode: number;
  resultInfo: string;
}
