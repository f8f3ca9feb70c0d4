/**
 * `V2TIMMessageManager`: create, send, read history, mark read, and the listener for
 * received messages (`onRecvNewMessage`, fed by the sync engine).
 */
import {
  ConfabError, DEFAULT_MAX_MESSAGE_BYTES, ErrorCode, assertGroupID, assertUserID,
  c2cConversationID, groupConversationID, type MsgSendRequest, type WireMessage,
} from '@confab/protocol';
import {
  withCallback, withCompleteCallback, type CallbackResult, type V2TIMCallback, type V2TIMCompleteCallback, type V2TIMValueCallback,
} from '../callback.js';
import { keepLocalDeletions } from '../sync/message-changes.js';
import { deleteLocally, deleteMessages, modifyMessage, revokeMessage, visible } from './message-mutations.js';
import { setElem, toV2Message } from '../convert.js';
import {
  V2TIMElemType, V2TIMMessageStatus,
  type V2TIMAdvancedMsgListener, type V2TIMMessage, type V2TIMMessageListGetOption, type V2TIMMessageSearchParam,
  type V2TIMMessageSearchResult, type V2TIMOfflinePushInfo,
} from '../types.js';
import { elemOf, mergerElem } from './message-create.js';
import { historyByOption } from './history-option.js';
import { findMessages, searchLocalMessages } from './message-search.js';
import { markRead } from './conversation-manager.js';
import { randomID, type SdkCore, type Session } from './core.js';
import { removeConversations } from './deletion.js';

/** Most messages one history call returns. */
export const MAX_HISTORY_COUNT = 100;

function newMessage(core: SdkCore, elemType: V2TIMMessage['elemType']): V2TIMMessage {
  const sender = core.session?.userID ?? '';
  return {
    msgID: '', clientMsgID: randomID(), conversationID: '', timestamp: 0, serverTime: 0,
    sender, userID: '', groupID: '', isSelf: true, status: V2TIMMessageStatus.SENDING, elemType, seq: 0,
  };
}

export class V2TIMMessageManager {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  addAdvancedMsgListener(listener: V2TIMAdvancedMsgListener): void {
    this.#core.messageListeners.add(listener);
  }

  removeAdvancedMsgListener(listener: V2TIMAdvancedMsgListener): void {
    this.#core.messageListeners.delete(listener);
  }

  /** A text message ready for `sendMessage` (status SENDING, fresh clientMsgID). */
  createTextMessage(text: string): V2TIMMessage {
    const m = newMessage(this.#core, V2TIMElemType.TEXT);
    m.textElem = { text };
    return m;
  }

  createCustomMessage(data: string, description?: string, extension?: string): V2TIMMessage {
    const m = newMessage(this.#core, V2TIMElemType.CUSTOM);
    m.customElem = { data, desc: description ?? '', extension: extension ?? '' };
    return m;
  }

  /** The reference's sticker message: `index` into the app's set, `data` free. */
  createFaceMessage(index: number, data: string): V2TIMMessage {
    const m = newMessage(this.#core, V2TIMElemType.FACE);
    m.faceElem = { index, data: data ?? '' };
    return m;
  }

  createLocationMessage(desc: string, longitude: number, latitude: number): V2TIMMessage {
    const m = newMessage(this.#core, V2TIMElemType.LOCATION);
    m.locationElem = { desc: desc ?? '', longitude, latitude };
    return m;
  }

  /**
   * Several sent or received messages as one ("chat history"). They travel inside the new
   * message, so its size counts against the message size limit (12 KiB by default);
   * `compatibleText` is what a client that cannot show mergers displays.
   */
  createMergerMessage(messageList: V2TIMMessage[], title: string, abstractList: string[], compatibleText: string): V2TIMMessage {
    const elem = mergerElem(messageList, title, abstractList, compatibleText);
    const m = newMessage(this.#core, V2TIMElemType.MERGER);
    setElem(m, elem, this.#core.session?.userID ?? '');
    return m;
  }

  /** A new message with the same content as `message` (any kind, mergers included), to send elsewhere. */
  createForwardMessage(message: V2TIMMessage): V2TIMMessage {
    const elem = elemOf(message); // refuses what cannot be sent
    const m = newMessage(this.#core, message.elemType);
    setElem(m, elem, this.#core.session?.userID ?? '');
    return m;
  }

  /**
   * Sends to `receiver` (C2C) or `groupID` (group; wins when both are given). Resolves with
   * the same message object, now SEND_SUCC with msgID/seq/timestamp from the server; on
   * failure its status is SEND_FAIL. Sending the same object again reuses its clientMsgID,
   * so a retry after a timeout cannot duplicate it.
   *
   * - `priority` (V2TIMMessagePriority): under load the server commits HIGH sends first and LOW last.
   * - `onlineUserOnly`: delivered to the recipients' sessions online now and nowhere else:
   *   not stored, not unread, never in history (its `seq` stays 0).
   * - `offlinePushInfo`: stored with the message and handed to the server's push provider
   *   for recipients with no session online.
   * - `message.cloudCustomData`, set before sending, is stored and delivered with it.
   */
  sendMessage<C extends V2TIMValueCallback<V2TIMMessage> | undefined>(
    message: V2TIMMessage, receiver: string | null, groupID: string | null,
    priority?: number, onlineUserOnly?: boolean, offlinePushInfo?: V2TIMOfflinePushInfo | null, cb?: C,
  ): CallbackResult<V2TIMMessage, C> {
    return withCallback(cb, () => sendMessage(this.#core, message, receiver, groupID, { priority, onlineUserOnly, offlinePushInfo }));
  }

  /** The reference's paged history with direction, time range and types (see V2TIMMessageListGetOption). */
  getHistoryMessageList<C extends V2TIMValueCallback<V2TIMMessage[]> | undefined>(option: V2TIMMessageListGetOption, cb?: C): CallbackResult<V2TIMMessage[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      return historyByOption(s, option, (conversationID, count, beforeSeq) => historyWire(s, conversationID, count, beforeSeq));
    });
  }

  /** Messages by msgID: this device's cache first, then the server; unknown IDs are left out. */
  findMessages<C extends V2TIMValueCallback<V2TIMMessage[]> | undefined>(messageIDList: string[], cb?: C): CallbackResult<V2TIMMessage[], C> {
    return withCallback(cb, () => findMessages(this.#core.requireSession(), messageIDList));
  }

  /** Searches the messages cached on this device (see V2TIMMessageSearchParam). */
  searchLocalMessages<C extends V2TIMValueCallback<V2TIMMessageSearchResult> | undefined>(searchParam: V2TIMMessageSearchParam, cb?: C): CallbackResult<V2TIMMessageSearchResult, C> {
    return withCallback(cb, () => searchLocalMessages(this.#core.requireSession(), searchParam));
  }

  /** Sets a string kept with the message on this device only (never sent). */
  setLocalCustomData<C extends V2TIMCallback | undefined>(message: V2TIMMessage, localCustomData: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      if (typeof localCustomData !== 'string') throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'localCustomData must be a string');
      await setLocal(this.#core, message, { localCustomData });
      message.localCustomData = localCustomData;
    });
  }

  /** Sets an integer kept with the message on this device only (never sent). */
  setLocalCustomInt<C extends V2TIMCallback | undefined>(message: V2TIMMessage, localCustomInt: number, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      if (!Number.isSafeInteger(localCustomInt)) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'localCustomInt must be an integer');
      await setLocal(this.#core, message, { localCustomInt });
      message.localCustomInt = localCustomInt;
    });
  }

  getC2CHistoryMessageList<C extends V2TIMValueCallback<V2TIMMessage[]> | undefined>(
    userID: string, count: number, lastMsg: V2TIMMessage | null, cb?: C,
  ): CallbackResult<V2TIMMessage[], C> {
    return withCallback(cb, () => {
      const s = this.#core.requireSession();
      assertUserID(userID);
      return history(s, c2cConversationID(userID), count, lastMsg);
    });
  }

  getGroupHistoryMessageList<C extends V2TIMValueCallback<V2TIMMessage[]> | undefined>(
    groupID: string, count: number, lastMsg: V2TIMMessage | null, cb?: C,
  ): CallbackResult<V2TIMMessage[], C> {
    return withCallback(cb, () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      return history(s, groupConversationID(groupID), count, lastMsg);
    });
  }

  markC2CMessageAsRead<C extends V2TIMCallback | undefined>(userID: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, () => {
      const s = this.#core.requireSession();
      assertUserID(userID);
      return markRead(s, c2cConversationID(userID));
    });
  }

  /**
   * Erases this user's history of the chat with `userID`, here and on the server; the
   * conversation stays, with no last message and unread 0. The peer keeps everything.
   */
  clearC2CHistoryMessage<C extends V2TIMCallback | undefined>(userID: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      assertUserID(userID);
      const s = this.#core.requireSession();
      await removeConversations(s, [c2cConversationID(userID)], 'clearHistory');
    });
  }

  /** `clearC2CHistoryMessage` for a group conversation. */
  clearGroupHistoryMessage<C extends V2TIMCallback | undefined>(groupID: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      assertGroupID(groupID);
      const s = this.#core.requireSession();
      await removeConversations(s, [groupConversationID(groupID)], 'clearHistory');
    });
  }

  /**
   * Recalls a sent message for everyone in the conversation: by its sender within the
   * app's recall window (2 minutes by default; 20016, or 10031 in a group, after it), or
   * in a group by an admin or the owner. Every participant's devices get
   * `onRecvMessageRevoked`; the message stays in history with status LOCAL_REVOKED (6)
   * and no content.
   */
  revokeMessage<C extends V2TIMCallback | undefined>(message: V2TIMMessage, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, () => revokeMessage(this.#core.requireSession(), message));
  }

  /**
   * Replaces the text or custom element of a sent message for everyone in the
   * conversation (any participant may, as in the reference). If the message changed since
   * this copy was read, nothing changes and the callback gets 22000 with the current
   * message. Every participant's devices get `onRecvMessageModified`.
   */
  modifyMessage(message: V2TIMMessage, cb?: V2TIMCompleteCallback<V2TIMMessage>): Promise<V2TIMMessage> {
    return withCompleteCallback(cb, message, async () => modifyMessage(this.#core.requireSession(), message, elemOf(message)));
  }

  /**
   * Deletes up to 50 messages of one conversation for this user, here and in the
   * server's history; the other participants keep them. The user's other devices drop
   * them too when the app turned deletion sync on (as for conversation deletion).
   */
  deleteMessages<C extends V2TIMCallback | undefined>(messages: V2TIMMessage[], cb?: C): CallbackResult<void, C> {
    return withCallback(cb, () => deleteMessages(this.#core.requireSession(), messages));
  }

  /** Deletes a message from this device only: history calls here no longer show it. */
  deleteMessageFromLocalStorage<C extends V2TIMCallback | undefined>(message: V2TIMMessage, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, () => deleteLocally(this.#core.requireSession(), [message]));
  }

  markGroupMessageAsRead<C extends V2TIMCallback | undefined>(groupID: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      return markRead(s, groupConversationID(groupID));
    });
  }
}

/** Local fields go to the cached copy; a message this device does not hold cannot keep them. */
async function setLocal(core: SdkCore, message: V2TIMMessage, patch: { localCustomData?: string; localCustomInt?: number }): Promise<void> {
  const s = core.requireSession();
  if (!message?.msgID || !(message.seq > 0)) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'only a sent or received stored message has local custom data');
  if ((await s.store.getMessagesByID([message.msgID])).length === 0) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'the message is not in this device\'s store (load it with a history call first)');
  }
  await s.engine.setLocalCustom({ msgID: message.msgID, ...patch });
}

export interface SendOptions {
  priority?: number | undefined;
  onlineUserOnly?: boolean | undefined;
  offlinePushInfo?: V2TIMOfflinePushInfo | null | undefined;
}

export async function sendMessage(core: SdkCore, message: V2TIMMessage, receiver: string | null, groupID: string | null, options: SendOptions = {}): Promise<V2TIMMessage> {
  const s = core.requireSession();
  let conversationID: string;
  if (groupID) {
    assertGroupID(groupID);
    conversationID = groupConversationID(groupID);
  } else {
    assertUserID(receiver, 'receiver');
    conversationID = c2cConversationID(receiver);
  }
  const elem = elemOf(message);
  const { priority, onlineUserOnly, offlinePushInfo } = options;
  if (priority !== undefined && priority !== null && (!Number.isSafeInteger(priority) || priority < 0 || priority > 3)) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'priority must be a V2TIMMessagePriority (0-3)');
  }
  if (message.cloudCustomData !== undefined && typeof message.cloudCustomData !== 'string') {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'cloudCustomData must be a string');
  }
  const body: MsgSendRequest = { conversationID: '', clientMsgID: '', elem };
  if (priority) body.priority = priority;
  if (onlineUserOnly) body.onlineUserOnly = true;
  if (offlinePushInfo) body.offlinePushInfo = pushInfo(offlinePushInfo);
  if (message.cloudCustomData) body.cloudCustomData = message.cloudCustomData;
  const bytes = new TextEncoder().encode(JSON.stringify(elem) + (body.cloudCustomData ?? '') + (body.offlinePushInfo ? JSON.stringify(body.offlinePushInfo) : '')).length;
  if (bytes > DEFAULT_MAX_MESSAGE_BYTES) {
    throw new ConfabError(ErrorCode.MESSAGE_TOO_LARGE, `message is larger than ${DEFAULT_MAX_MESSAGE_BYTES} bytes`);
  }
  if (!message.clientMsgID) message.clientMsgID = randomID();
  Object.assign(message, {
    conversationID, sender: s.userID, isSelf: true, status: V2TIMMessageStatus.SENDING,
    userID: groupID ? '' : receiver!, groupID: groupID ?? '',
  });
  // Registered before sending: the `update` push for this message can beat the reply.
  s.ownOutgoing.add(message.clientMsgID);
  try {
    const res = await s.connection.request('msg.send', { ...body, conversationID, clientMsgID: message.clientMsgID }, { resend: true });
    // The reply's update omits the sent message (it is `res.message`); put it back. An
    // online-only message has no update and is never stored.
    if (!res.message.isOnlineOnly) await s.engine.handleUpdate(res.update && { ...res.update, messages: [...res.update.messages, res.message] });
    const sent = toV2Message(res.message, s.userID);
    // The object keeps its merger element (the converted one is a copy).
    if (message.mergerElem) delete (sent as Partial<V2TIMMessage>).mergerElem;
    Object.assign(message, sent);
    return message;
  } catch (err) {
    message.status = V2TIMMessageStatus.SEND_FAIL;
    throw err;
  }
}

/** The reference's offline push fields, only those set. */
function pushInfo(info: V2TIMOfflinePushInfo): NonNullable<MsgSendRequest['offlinePushInfo']> {
  const out: NonNullable<MsgSendRequest['offlinePushInfo']> = {};
  for (const key of ['title', 'desc', 'ext', 'iOSSound', 'androidSound'] as const) {
    const v = info[key];
    if (v !== undefined && typeof v !== 'string') throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `offlinePushInfo.${key} must be a string`);
    if (v) out[key] = v;
  }
  for (const key of ['disablePush', 'ignoreIOSBadge'] as const) {
    const v = info[key];
    if (v !== undefined && typeof v !== 'boolean') throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `offlinePushInfo.${key} must be a boolean`);
    if (v) out[key] = true;
  }
  return out;
}

/**
 * Newest first, like the reference. Served from the store when it holds the whole
 * requested range without holes; otherwise fetched (`msg.history { beforeSeq }`) and cached.
 * Example: the store holds seq 1-3 and 8-10 of a chat (a catch-up capped at 100 left a
 * hole); asking for 5 before seq 11 finds 10, 9, 8 then a gap, so it asks the server.
 */
async function history(s: Session, conversationID: string, count: number, lastMsg: V2TIMMessage | null): Promise<V2TIMMessage[]> {
  if (!Number.isSafeInteger(count) || count <= 0 || count > MAX_HISTORY_COUNT) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `count must be 1..${MAX_HISTORY_COUNT}`);
  }
  const beforeSeq = lastMsg && lastMsg.seq > 0 ? lastMsg.seq : undefined;
  const messages = await historyWire(s, conversationID, count, beforeSeq);
  const readSeq = (await s.store.getConversation(conversationID))?.readSeq;
  return visible(messages).map((m) => toV2Message(m, s.userID, readSeq)).sort((a, b) => b.seq - a.seq);
}

/** The page before `beforeSeq` (the newest without it): from the store when complete there, else from the server. */
async function historyWire(s: Session, conversationID: string, count: number, beforeSeq: number | undefined): Promise<WireMessage[]> {
  const local = await localRange(s, conversationID, count, beforeSeq);
  if (local) return local;
  const res = await s.connection.request('msg.history', { conversationID, count, ...(beforeSeq ? { beforeSeq } : {}) });
  // A message deleted on this device only is still on the server: the store's entry wins.
  const messages = await keepLocalDeletions(s.store, res.messages);
  await s.engine.cacheHistory(messages);
  return messages;
}

/** The cached range if it is complete and contiguous, else undefined. */
async function localRange(s: Session, conversationID: string, count: number, beforeSeq: number | undefined): Promise<WireMessage[] | undefined> {
  const conv = await s.store.getConversation(conversationID);
  if (!conv) return undefined;
  const top = beforeSeq !== undefined ? Math.min(beforeSeq - 1, conv.lastSeq) : conv.lastSeq;
  const floor = Math.max(1, conv.visibleFromSeq);
  if (top < floor) return []; // nothing visible below the cursor
  const cached = await s.store.getMessages(conversationID, { ...(beforeSeq !== undefined ? { beforeSeq } : {}), limit: count });
  // Expect exactly top, top-1, … down to max(floor, top-count+1).
  const want = Math.min(count, top - floor + 1);
  if (cached.length !== want) return undefined;
  for (let i = 0; i < cached.length; i++) {
    if (cached[cached.length - 1 - i]!.seq !== top - i) return undefined;
  }
  return cached;
}
