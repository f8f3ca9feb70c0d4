/**
 * Public types, named and numbered as in the reference's native V2TIM API so code written
 * against Tencent Cloud Chat reads the same.
 */
import type { GroupInfo, GroupMemberRole, GroupType } from '@confab/protocol';
import type { LocalStore } from './store/types.js';
import type { LogLevel } from './log.js';
import type { CallbackResult, V2TIMValueCallback } from './callback.js';
import type { HistoryPrefetchOptions } from './sync/history-prefetch.js';
import type { UserSigProvider } from './manager/session-upkeep.js';
import type { Logger } from './log.js';

/** The reference's `V2TIMLoginStatus`. */
export const V2TIMLoginStatus = { LOGINED: 1, LOGINING: 2, LOGOUT: 3 } as const;
export type V2TIMLoginStatus = (typeof V2TIMLoginStatus)[keyof typeof V2TIMLoginStatus];

/** The reference's `V2TIMMessageStatus` (the values Confab uses). */
export const V2TIMMessageStatus = { SENDING: 1, SEND_SUCC: 2, SEND_FAIL: 3, HAS_DELETED: 4, LOCAL_IMPORTED: 5, LOCAL_REVOKED: 6 } as const;
export type V2TIMMessageStatus = (typeof V2TIMMessageStatus)[keyof typeof V2TIMMessageStatus];

/** The reference's `V2TIMElemType` (the kinds Confab carries). */
export const V2TIMElemType = { TEXT: 1, CUSTOM: 2, LOCATION: 7, FACE: 8, MERGER: 10 } as const;
export type V2TIMElemType = (typeof V2TIMElemType)[keyof typeof V2TIMElemType];

/** The reference's `V2TIMConversationType`. */
export const V2TIMConversationType = { C2C: 1, GROUP: 2 } as const;

export interface V2TIMSDKConfig {
  /**
   * e.g. `ws://127.0.0.1:8080/ws`. Or the nodes of a cluster, e.g.
   * `['wss://im1.example.com/ws', 'wss://im2.example.com/ws']`: the SDK connects to the
   * first that answers, and after a dropped connection or a failed attempt moves on to
   * the next (with the usual backoff). Behind one load balancer, one URL is enough.
   */
  serverUrl: string | string[];
  /** Where conversations and messages are cached. Default: a new MemoryStore. */
  store?: LocalStore;
  /** Stable per device. Default: random, persisted in the store per user. */
  deviceID?: string;
  platform?: string;
  /** Defaults to the protocol package's PROTOCOL_VERSION. */
  protocolVersion?: number;
  capabilities?: string[];
  /** Per-request timeout (error 6012). Default 15 000. */
  requestTimeoutMs?: number;
  logLevel?: LogLevel;
  /**
   * Where the SDK's log lines go (default: the console), e.g. the app's own logger or a
   * crash reporter's breadcrumbs. `logLevel` still decides which lines are written.
   */
  logger?: Logger;
  /**
   * Returns a fresh UserSig for the user. When given, the SDK calls it some time before
   * the current UserSig expires (`userSigRefreshAheadMs`, default 5 minutes, at most half
   * its remaining lifetime) and hands the new one to the server, so the connection is
   * not cut at expiry; without it the session ends then with `onUserSigExpired`.
   */
  userSigProvider?: UserSigProvider;
  userSigRefreshAheadMs?: number;
  /**
   * After each sync, fetch the newest messages of the conversations at the top of the
   * list in the background, so the first chats a user opens come from the cache.
   * Default `{ conversations: 20, messages: 20 }`; `false` turns it off.
   */
  historyPrefetch?: HistoryPrefetchOptions | false;
  /**
   * A WebSocket constructor (browser-compatible API). Default: `globalThis.WebSocket`,
   * else the `ws` package. Pass one for React Native quirks or tests.
   */
  WebSocket?: WebSocketConstructor;
}

/** The subset of the WHATWG WebSocket the SDK uses; both browsers and `ws` provide it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * The connection of the logged-in session: `closed` when there is none (logged out,
 * kicked), `connecting` during a (re)connect, `disconnected` while waiting to reconnect.
 */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'closed';

export interface V2TIMSDKListener {
  onConnecting?(): void;
  onConnectSuccess?(): void;
  onConnectFailed?(code: number, desc: string): void;
  /** Another login with this device ID took over (6208). No reconnect follows. */
  onKickedOffline?(): void;
  /** The UserSig expired (70001); log in again with a fresh one. */
  onUserSigExpired?(): void;
  /**
   * Confab's addition: the connection's state changed (`getConnectionState()`), e.g. to
   * show "connecting…" in the app's title bar.
   */
  onConnectionStateChanged?(state: ConnectionState): void;
  /** Confab's addition: `userSigProvider` supplied a new UserSig and the server took it. */
  onUserSigRenewed?(userSigExpireAt: number): void;
}

export interface V2TIMTextElem {
  text: string;
}
export interface V2TIMCustomElem {
  data: string;
  desc: string;
  extension: string;
}

export interface V2TIMFaceElem {
  index: number;
  data: string;
}
export interface V2TIMLocationElem {
  desc: string;
  longitude: number;
  latitude: number;
}
/**
 * The reference's V2TIMMergerElem. The merged messages travel inside the message, so
 * `downloadMergerMessage` answers from it without a request (docs/messages.md).
 */
export interface V2TIMMergerElem {
  title: string;
  abstractList: string[];
  /** True when the merged messages nest more than 100 levels (they cannot be sent). */
  layersOverLimit: boolean;
  downloadMergerMessage<C extends V2TIMValueCallback<V2TIMMessage[]> | undefined>(cb?: C): CallbackResult<V2TIMMessage[], C>;
}

/** The reference's V2TIMMessagePriority. */
export const V2TIMMessagePriority = {
  V2TIM_PRIORITY_DEFAULT: 0, V2TIM_PRIORITY_HIGH: 1, V2TIM_PRIORITY_NORMAL: 2, V2TIM_PRIORITY_LOW: 3,
} as const;

/** The reference's V2TIMMessageGetType. */
export const V2TIMMessageGetType = {
  V2TIM_GET_CLOUD_OLDER_MSG: 1, V2TIM_GET_CLOUD_NEWER_MSG: 2, V2TIM_GET_LOCAL_OLDER_MSG: 3, V2TIM_GET_LOCAL_NEWER_MSG: 4,
} as const;

/** The reference's V2TIMMessageListGetOption. */
export interface V2TIMMessageListGetOption {
  getType: number;
  /** One of userID (C2C) or groupID. */
  userID?: string;
  groupID?: string;
  count: number;
  /** Page from this message (excluded); null for the newest (older) or the oldest (newer). */
  lastMsg?: V2TIMMessage | null;
  /** Page from this seq instead of lastMsg (included, as the reference's group option). */
  lastMsgSeq?: number;
  /** Seconds; 0 = now (older) / no bound (newer). */
  getTimeBegin?: number;
  /** Seconds; 0 = no bound. Older: [getTimeBegin - getTimePeriod, getTimeBegin]; newer: [getTimeBegin, getTimeBegin + getTimePeriod]. */
  getTimePeriod?: number;
  /** V2TIMElemType numbers to keep; empty = all. */
  messageTypeList?: number[];
}

/** The reference's V2TIMKeywordListMatchType. */
export const V2TIMKeywordListMatchType = { V2TIM_KEYWORD_LIST_MATCH_TYPE_OR: 0, V2TIM_KEYWORD_LIST_MATCH_TYPE_AND: 1 } as const;

/** The reference's V2TIMMessageSearchParam. */
export interface V2TIMMessageSearchParam {
  keywordList?: string[];
  keywordListMatchType?: number;
  senderUserIDList?: string[];
  messageTypeList?: number[];
  /** Search one conversation; absent = all. */
  conversationID?: string;
  /** Seconds; 0 = now. */
  searchTimePosition?: number;
  /** Seconds back from searchTimePosition; 0 = no bound. */
  searchTimePeriod?: number;
  pageSize?: number;
  pageIndex?: number;
}

export interface V2TIMMessageSearchResultItem {
  conversationID: string;
  messageCount: number;
  /**
   * With `conversationID` in the search: this page of the matching messages. Without it:
   * the message when `messageCount` is 1, else empty (as the reference).
   */
  messageList: V2TIMMessage[];
}

export interface V2TIMMessageSearchResult {
  /** Matching messages (one conversation searched) or matching conversations (all searched). */
  totalCount: number;
  messageSearchResultItems: V2TIMMessageSearchResultItem[];
}

export interface V2TIMMessage {
  /** Server ID; empty until sent. */
  msgID: string;
  /** Client idempotency key; re-sending the same object reuses it. */
  clientMsgID: string;
  conversationID: string;
  /** Seconds, like the reference. */
  timestamp: number;
  /** Milliseconds, the server's commit time. */
  serverTime: number;
  sender: string;
  /** C2C: the peer (the other user), whichever side sent it. */
  userID: string;
  groupID: string;
  isSelf: boolean;
  status: V2TIMMessageStatus;
  elemType: V2TIMElemType;
  textElem?: V2TIMTextElem;
  customElem?: V2TIMCustomElem;
  faceElem?: V2TIMFaceElem;
  locationElem?: V2TIMLocationElem;
  mergerElem?: V2TIMMergerElem;
  /** Position in the conversation; 0 until sent (and for `onlineUserOnly` messages). */
  seq: number;
  /** The sender's nickname and avatar when it was sent. */
  nickName?: string;
  faceURL?: string;
  /** Read by this user: own messages, and others' up to the conversation's read position. */
  isRead?: boolean;
  /** Set before sending; stored and delivered with the message. */
  cloudCustomData?: string;
  /** On this device only (`setLocalCustomData`). */
  localCustomData?: string;
  localCustomInt?: number;
  /** V2TIMMessagePriority. */
  priority?: number;
  offlinePushInfo?: V2TIMOfflinePushInfo;
  /** Sent with `onlineUserOnly`: never stored. */
  isOnlineOnly?: boolean;
  /** Set on a recalled message (status LOCAL_REVOKED): who recalled it. */
  revokerInfo?: V2TIMUserFullInfo;
  revokeReason?: string;
  /** @internal How many times it was modified or recalled: `modifyMessage` sends it for the conflict check. */
  modifyVersion?: number;
}

export interface V2TIMConversation {
  conversationID: string;
  type: 1 | 2;
  userID: string;
  groupID: string;
  showName: string;
  faceUrl: string;
  unreadCount: number;
  lastMessage: V2TIMMessage | null;
  draftText: string;
  draftTimestamp: number;
  isPinned: boolean;
  orderKey: number;
  customData: string;
  /** The conversation's marks (`V2TIMConversationMarkType` and custom powers of two). */
  markList: number[];
  /** C2C: read up to this time (seconds), from the last read message when cached. */
  c2cReadTimestamp?: number;
  /** Group: read up to this seq. */
  groupReadSequence?: number;
}

export interface V2TIMConversationResult {
  conversationList: V2TIMConversation[];
  nextSeq: number;
  isFinished: boolean;
}

export interface V2TIMConversationOperationResult {
  conversationID: string;
  resultCode: number;
  resultInfo: string;
}

export interface V2TIMConversationListener {
  onSyncServerStart?(): void;
  onSyncServerFinish?(): void;
  onSyncServerFailed?(): void;
  onNewConversation?(list: V2TIMConversation[]): void;
  onConversationChanged?(list: V2TIMConversation[]): void;
  onConversationDeleted?(conversationIDs: string[]): void;
  onTotalUnreadMessageCountChanged?(total: number): void;
}

export interface V2TIMAdvancedMsgListener {
  onRecvNewMessage?(msg: V2TIMMessage): void;
  /**
   * A message of a conversation this user is in was recalled (by its sender, a group
   * admin or owner, or the app's admin): `revokerInfo` is who did it (its profile fields
   * empty but `userID`), `reason` the reason they gave.
   */
  onRecvMessageRevoked?(msgID: string, revokerInfo?: V2TIMUserFullInfo, reason?: string): void;
  /** A message of a conversation this user is in was modified; `msg` is its new state. */
  onRecvMessageModified?(msg: V2TIMMessage): void;
}

export interface V2TIMUserFullInfo {
  userID: string;
  nickName: string;
  faceUrl: string;
  selfSignature: string;
}

export interface V2TIMFriendInfo {
  userID: string;
  friendRemark: string;
  userProfile: V2TIMUserFullInfo;
}

export interface V2TIMFriendOperationResult {
  userID: string;
  resultCode: number;
  resultInfo: string;
}

export interface V2TIMFriendAddApplication {
  userID: string;
  friendRemark?: string;
  /** The reference's add type (1 single, 2 both); friendship is always mutual here. */
  addType?: number;
}

export interface V2TIMFriendshipListener {
  onFriendListAdded?(users: V2TIMFriendInfo[]): void;
  onFriendListDeleted?(userIDs: string[]): void;
}

/** The reference's group profile; the same shape as the protocol's `GroupInfo`. */
export type V2TIMGroupInfo = GroupInfo;

export interface V2TIMGroupInfoResult {
  resultCode: number;
  resultMessage: string;
  info: V2TIMGroupInfo | null;
}

export interface V2TIMCreateGroupInfo {
  groupType: GroupType;
  groupID?: string | null;
  groupName: string;
  faceUrl?: string;
  introduction?: string;
  notification?: string;
}

export interface V2TIMGroupMemberFullInfo {
  userID: string;
  nickName: string;
  faceUrl: string;
  role: GroupMemberRole;
  joinTime: number;
}

export interface V2TIMGroupMemberInfoResult {
  /** 0 when the list is complete, like the reference. */
  nextSeq: number;
  memberInfoList: V2TIMGroupMemberFullInfo[];
}

/** The reference's `V2TIMGroupMemberOperationResult`, plus the server's code and text. */
export interface V2TIMGroupMemberOperationResult {
  memberID: string;
  /** The reference's result: 0 failed, 1 succeeded. */
  result: number;
  resultCode: number;
  resultInfo: string;
}

/** Members known only by ID: the `group.event` push carries IDs, not profiles. */
export interface V2TIMGroupMemberInfo {
  userID: string;
  nickName: string;
  faceUrl: string;
}

export interface V2TIMGroupListener {
  onMemberEnter?(groupID: string, memberList: V2TIMGroupMemberInfo[]): void;
  onMemberLeave?(groupID: string, member: V2TIMGroupMemberInfo): void;
  /** `opUser` is null: the push does not say who kicked. */
  onMemberKicked?(groupID: string, opUser: V2TIMGroupMemberInfo | null, memberList: V2TIMGroupMemberInfo[]): void;
  onGroupDismissed?(groupID: string, opUser: V2TIMGroupMemberInfo | null): void;
  /** This user left the group (on this or another device). */
  onQuitFromGroup?(groupID: string): void;
}

export interface V2TIMOfflinePushInfo {
  title?: string;
  desc?: string;
  ext?: string;
  disablePush?: boolean;
  iOSSound?: string;
  androidSound?: string;
  ignoreIOSBadge?: boolean;
}
