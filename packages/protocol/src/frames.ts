import type {
  DeletedMessageRef, DeletionStatus, FriendInfo, GroupInfo, GroupMember, GroupType, MessageElem, OfflinePushInfo, OperationResult, UserProfile,
  UserUpdate, WireConversation, WireMessage,
} from './model.js';
import { ConfabError, ErrorCode } from './errors.js';

/**
 * Protocol version a client announces at login. The server keeps serving older
 * versions; features that need a newer client are sent only to clients that declare
 * them (see `Capability`).
 */
export const PROTOCOL_VERSION = 1;

/** Optional features a client declares at login. */
export const Capability = {
  /** The client wipes a conversation when told another device of its user deleted it. */
  DELETION_SYNC: 'conv.deletion-sync',
} as const;
export type Capability = (typeof Capability)[keyof typeof Capability];

export interface MsgSendRequest {
  conversationID: string;
  clientMsgID: string;
  elem: MessageElem;
  /** `MessagePriority` (0-3): under load, higher priority sends commit first. */
  priority?: number;
  /** Deliver to sessions online now only: not stored, not counted unread. */
  onlineUserOnly?: boolean;
  /** Stored with the message; handed to the push provider for recipients with no session. */
  offlinePushInfo?: OfflinePushInfo;
  cloudCustomData?: string;
}

/** Frames larger than this are refused (error 9522) and the connection is closed. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Default cap on one message's element, as the reference's 12 KB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 12 * 1024;
/** Batch operations take at most this many items (the reference's limit). */
export const MAX_BATCH = 100;

export interface LoginRequest {
  sdkAppID: number;
  userID: string;
  userSig: string;
  /** Identifies this device across reconnects; a second login with it replaces the first. */
  deviceID: string;
  platform?: string;
  protocolVersion: number;
  capabilities?: string[];
}

export interface LoginResult {
  userID: string;
  serverTime: number;
  protocolVersion: number;
  /** The user's current sync version; a device behind it runs `conv.sync`. */
  version: number;
  profile: UserProfile;
  /**
   * When the UserSig this session logged in with expires (ms since the epoch); the server
   * ends the session then unless `auth.renew` hands it a newer one first.
   */
  userSigExpireAt?: number;
}

/** Replies of operations that change the caller's state carry the change, so the
 * caller's device applies it before its promise resolves. */
export interface WithUpdate {
  update?: UserUpdate;
}

type Empty = Record<string, never>;

/** Every request operation: its request body and its reply body. */
export interface Ops {
  login: { req: LoginRequest; res: LoginResult };
  logout: { req: Empty; res: Empty };
  ping: { req: Empty; res: { serverTime: number } };
  /**
   * Replaces the session's UserSig with a newer one for the same user, before the old one
   * expires, so a long-lived connection is not cut at expiry. Refused with the login's
   * codes (70001…) when the new UserSig is not valid; the session keeps the old one then.
   */
  'auth.renew': { req: { userSig: string }; res: { userSigExpireAt: number } };

  'profile.get': { req: { userIDs: string[] }; res: { profiles: UserProfile[] } };
  'profile.set': { req: { nickName?: string; faceUrl?: string; selfSignature?: string }; res: { profile: UserProfile } };

  'friend.add': { req: { userID: string; remark?: string }; res: { friend: FriendInfo } };
  'friend.delete': { req: { userIDs: string[] }; res: { results: OperationResult[] } };
  'friend.list': { req: Empty; res: { friends: FriendInfo[] } };

  'group.create': {
    req: { groupID?: string; groupType: GroupType; groupName: string; memberUserIDs?: string[];
      faceUrl?: string; introduction?: string; notification?: string };
    res: { group: GroupInfo } & WithUpdate;
  };
  'group.join': { req: { groupID: string }; res: { group: GroupInfo } & WithUpdate };
  'group.invite': { req: { groupID: string; userIDs: string[] }; res: { results: OperationResult[] } };
  'group.leave': { req: { groupID: string }; res: Empty };
  'group.kick': { req: { groupID: string; userIDs: string[] }; res: { results: OperationResult[] } };
  'group.dismiss': { req: { groupID: string }; res: Empty };
  /**
   * Members in join order, a page at a time: `nextSeq` 0 (or absent) starts, and each
   * answer's `nextSeq` continues; 0 with `isFinished` at the end. A member present from
   * the first page to the last is listed exactly once whoever joins or leaves meanwhile.
   * `offset`/`nextOffset` are the same cursor under its former name, for older clients.
   */
  'group.members': {
    req: { groupID: string; nextSeq?: number; offset?: number; count?: number };
    res: { members: GroupMember[]; nextSeq: number; nextOffset: number; isFinished: boolean };
  };
  'group.joinedList': { req: Empty; res: { groups: GroupInfo[] } };
  'group.info': { req: { groupIDs: string[] }; res: { groups: GroupInfo[] } };

  'msg.send': { req: MsgSendRequest; res: { message: WireMessage } & WithUpdate };
  /**
   * History ("roaming") paging, newest first backwards: messages with seq < `beforeSeq`
   * (0 = from the newest), at most `count`, returned in ascending seq order. With
   * `afterSeq` instead, messages with seq > afterSeq in ascending order (catch-up).
   * `timeFrom`/`timeTo` (seconds, inclusive) keep messages sent in that range;
   * `elemTypes` (the reference's V2TIMElemType numbers) keeps those kinds. A filtered
   * page reads at most 1000 messages: `nextSeq` says where the next read starts (the
   * `beforeSeq` or `afterSeq` to send), whatever it found.
   */
  'msg.history': {
    req: { conversationID: string; beforeSeq?: number; afterSeq?: number; count?: number; timeFrom?: number; timeTo?: number; elemTypes?: number[] };
    res: { messages: WireMessage[]; isFinished: boolean; nextSeq?: number };
  };
  /** Messages by msgID (at most 100), those the caller may see; unknown IDs are left out. */
  'msg.find': { req: { msgIDs: string[] }; res: { messages: WireMessage[] } };

  /**
   * Recalls a message for every participant (the sender within the app's recall window;
   * in a group also an admin or the owner). The stored content is erased in the same
   * transaction; the message stays as a placeholder with `status` 6.
   */
  'msg.revoke': { req: { conversationID: string; seq: number; reason?: string }; res: { message: WireMessage } & WithUpdate };
  /**
   * Replaces a message's element for every participant. `modifyVersion` is the version
   * the change is based on (the message's `modifyVersion`, 0 when absent): when the
   * message changed since, nothing is written and 22000 is answered (read the current
   * message with `msg.history`).
   */
  'msg.modify': { req: { conversationID: string; seq: number; elem: MessageElem; modifyVersion: number }; res: { message: WireMessage } & WithUpdate };
  /** Deletes up to 50 messages of one conversation for the caller only. */
  'msg.delete': { req: { conversationID: string; seqs: number[] }; res: WithUpdate };
  /**
   * Catch-up of recalls, modifications and the caller's own message deletions in one
   * conversation: changed messages with a change seq above `afterChangeSeq` and deletions
   * above `afterDeleteSeq`, each oldest first, at most `count` of each. Page on from the
   * reply's `changeSeq`/`deleteSeq` until `isFinished`.
   */
  'msg.changes': {
    req: { conversationID: string; afterChangeSeq: number; afterDeleteSeq?: number; count?: number };
    res: { changed: WireMessage[]; deleted: DeletedMessageRef[]; changeSeq: number; deleteSeq: number; isFinished: boolean };
  };

  /**
   * Conversation rows (tombstones included) changed after `sinceVersion`, oldest change
   * first, at most `count` (1-1000, default 100). A page may end inside a version step:
   * then `version` is the last version the device holds completely (store it) and
   * `cursor` is where to go on — ask again with `{ sinceVersion: version, cursor }`. A
   * cursor is valid only with the `version` of the reply that carried it (else 6017).
   */
  'conv.sync': {
    req: { sinceVersion: number; count?: number; cursor?: string };
    res: { conversations: WireConversation[]; version: number; isFinished: boolean; cursor?: string };
  };
  'conv.markRead': { req: { conversationID: string }; res: WithUpdate };
  'conv.pin': { req: { conversationID: string; isPinned: boolean }; res: WithUpdate };
  'conv.setDraft': { req: { conversationID: string; draftText: string }; res: WithUpdate };
  'conv.setCustomData': { req: { conversationIDs: string[]; customData: string }; res: { results: OperationResult[] } & WithUpdate };
  /**
   * Deletes up to 100 conversations for the caller only, with their history
   * (`clearMessages: true`, irrecoverable) or keeping it pullable. One result per ID;
   * an ID the caller has no conversation for succeeds (idempotent). `requestID` (1-64
   * characters of [A-Za-z0-9_-]) makes a retry safe: a request ID the server already
   * applied for this user is answered without deleting again, so a retry can never
   * remove messages that arrived after the first attempt.
   */
  'conv.delete': { req: { conversationIDs: string[]; clearMessages: boolean; requestID?: string }; res: { results: OperationResult[] } & WithUpdate };
  /** Erases the caller's history of one conversation; the conversation stays, empty. */
  'conv.clearHistory': { req: { conversationID: string; requestID?: string }; res: WithUpdate };
  /**
   * Sets or clears one mark on up to 100 conversations (per-ID results; 6004 for a
   * conversation the caller does not have). Marks are labels and sync to every device.
   */
  'conv.mark': { req: { conversationIDs: string[]; markType: number; enableMark: boolean }; res: { results: OperationResult[] } & WithUpdate };
  /** Undoes the caller's latest deletion of the conversation while the app's undo window is open (else 51012). */
  'conv.undoDelete': { req: { conversationID: string }; res: WithUpdate };
  /** The caller's latest deletions (of one conversation, or all), newest first, with per-device wipe state. */
  'conv.deletionStatus': { req: { conversationID?: string; limit?: number }; res: { deletions: DeletionStatus[] } };
  /** The device has applied every change up to `version` (acknowledges deletions it wiped). */
  'sync.ack': { req: { version: number }; res: Empty };
}

export type OpName = keyof Ops;
export type OpRequest<K extends OpName> = Ops[K]['req'];
export type OpResult<K extends OpName> = Ops[K]['res'];

/** Pushes the server sends without a request. */
export interface Pushes {
  /** Changes to the user's own state: new messages, conversation rows, tombstones. */
  update: UserUpdate;
  /** The session ends for good (no reconnect): another login took the device ID, or the UserSig expired. A server shutdown is a plain close (1001) instead. */
  kicked: { code: number; desc: string };
  /** A group the user is or was in changed membership or was dismissed. */
  'group.event': { groupID: string; event: 'joined' | 'left' | 'kicked' | 'dismissed' | 'memberJoined' | 'memberLeft'; userIDs: string[] };
  /** The friend list changed (on another device, or the peer removed the friendship). */
  'friend.event': { event: 'added' | 'deleted'; userIDs: string[] };
  /**
   * An update for the user may have been lost between server nodes: run `conv.sync` from
   * the version held (updates already held are dropped by version). Carries nothing.
   */
  'sync.hint': Record<string, never>;
  /** A message sent with `onlineUserOnly`: for sessions online now, never stored (`seq` 0). */
  'msg.online': WireMessage;
}
export type PushName = keyof Pushes;

export interface RequestFrame<K extends OpName = OpName> {
  id: number;
  op: K;
  body: OpRequest<K>;
}
export type ReplyFrame =
  | { id: number; ok: true; body: unknown }
  | { id: number; ok: false; code: number; desc: string };
export interface PushFrame<K extends PushName = PushName> {
  push: K;
  body: Pushes[K];
}
export type ServerFrame = ReplyFrame | PushFrame;

/** A malformed frame whose id could be read; the error reply goes to that id. */
export class FrameError extends ConfabError {
  readonly frameID: number;
  constructor(frameID: number, desc: string) {
    super(ErrorCode.INVALID_PARAMETERS, desc);
    this.frameID = frameID;
  }
}

/** Reads a client frame's envelope. Body validation is the server's job per op. */
export function decodeRequestFrame(text: string): RequestFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfabError(ErrorCode.INVALID_JSON, 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'frame must be a JSON object');
  }
  const frame = value as { id?: unknown; op?: unknown; body?: unknown };
  if (!Number.isSafeInteger(frame.id) || (frame.id as number) < 0) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'frame.id must be a non-negative integer');
  }
  // From here the id is known, so errors carry it and the reply can name the request.
  if (typeof frame.op !== 'string') {
    throw new FrameError(frame.id as number, 'frame.op must be a string');
  }
  const body = frame.body === undefined ? {} : frame.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FrameError(frame.id as number, 'frame.body must be an object');
  }
  return { id: frame.id as number, op: frame.op as OpName, body: body as never };
}

/** Reads a server frame; the SDK's side of the codec. */
export function decodeServerFrame(text: string): ServerFrame {
  const value = JSON.parse(text) as ServerFrame;
  if (typeof value !== 'object' || value === null) throw new ConfabError(ErrorCode.INVALID_JSON, 'bad server frame');
  return value;
}
