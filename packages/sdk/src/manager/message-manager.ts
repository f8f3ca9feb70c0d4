/**
 * `V2TIMMessageManager`: create, send, read history, mark read, and the listener for
 * received messages (`onRecvNewMessage`, fed by the sync engine).
 */
import {
  ConfabError, DEFAULT_MAX_MESSAGE_BYTES, ErrorCode, assertGroupID, assertUserID,
  c2cConversationID, groupConversationID, type MessageElem, type WireMessage,
} from '@confab/protocol';
import { withCallback, type CallbackResult, type V2TIMCallback, type V2TIMValueCallback } from '../callback.js';
import { toV2Message } from '../convert.js';
import {
  V2TIMElemType, V2TIMMessageStatus,
  type V2TIMAdvancedMsgListener, type V2TIMMediaSource, type V2TIMMessage, type V2TIMOfflinePushInfo, type V2TIMSendCallback,
} from '../types.js';
import { markRead } from './conversation-manager.js';
import { randomID, type SdkCore, type Session } from './core.js';
import { removeConversations } from './deletion.js';
import { localPaths, mediaElemOf, mediaSources, uploadMessageMedia } from './media.js';

/** Most messages one history call returns. */
export const MAX_HISTORY_COUNT = 100;

function newMessage(core: SdkCore, elemType: V2TIMMessage['elemType']): V2TIMMessage {
  const sender = core.session?.userID ?? '';
  return {
    msgID: '', clientMsgID: randomID(), conversationID: '', timestamp: 0, serverTime: 0,
    sender, userID: '', groupID: '', isSelf: true, status: V2TIMMessageStatus.SENDING, elemType, seq: 0,
  };
}

function elemOf(message: V2TIMMessage): MessageElem {
  if (message?.elemType === V2TIMElemType.TEXT) {
    const text = message.textElem?.text;
    if (typeof text !== 'string' || text === '') throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'text must be a non-empty string');
    return { type: 'text', text };
  }
  if (message?.elemType === V2TIMElemType.CUSTOM) {
    const c = message.customElem;
    if (!c || typeof c.data !== 'string') throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'customElem.data must be a string');
    return {
      type: 'custom', data: c.data,
      ...(c.desc ? { description: c.desc } : {}),
      ...(c.extension ? { extension: c.extension } : {}),
    };
  }
  const media = mediaElemOf(message);
  if (media) return media;
  throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'message must come from one of the create…Message calls');
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

  /**
   * An image message: `imagePath` is a file path (Node), or a `File`/`Blob`/`Uint8Array`.
   * `sendMessage` uploads it (with `onProgress`); the server makes the thumbnail and
   * large sizes, so the sent message's `imageElem.imageList` has all three.
   */
  createImageMessage(imagePath: V2TIMMediaSource): V2TIMMessage {
    const m = newMessage(this.#core, V2TIMElemType.IMAGE);
    m.imageElem = { path: typeof imagePath === 'string' ? imagePath : '', imageList: [] };
    mediaSources.set(m, { kind: 'image', main: imagePath });
    return m;
  }

  /** A voice message of `duration` seconds. */
  createSoundMessage(soundPath: V2TIMMediaSource, duration: number): V2TIMMessage {
    const m = newMessage(this.#core, V2TIMElemType.SOUND);
    m.soundElem = { path: typeof soundPath === 'string' ? soundPath : '', UUID: '', dataSize: 0, duration } as V2TIMMessage['soundElem'] & object;
    mediaSources.set(m, { kind: 'sound', main: soundPath });
    return m;
  }

  /** A video message: `type` is the file's extension (e.g. `mp4`), `snapshotPath` an image shown before playing. */
  createVideoMessage(videoFilePath: V2TIMMediaSource, type: string, duration: number, snapshotPath: V2TIMMediaSource): V2TIMMessage {
    const m = newMessage(this.#core, V2TIMElemType.VIDEO);
    m.videoElem = {
      videoPath: typeof videoFilePath === 'string' ? videoFilePath : '', videoUUID: '', videoSize: 0, videoType: type ?? '', duration,
      snapshotPath: typeof snapshotPath === 'string' ? snapshotPath : '', snapshotUUID: '', snapshotSize: 0, snapshotWidth: 0, snapshotHeight: 0,
    } as V2TIMMessage['videoElem'] & object;
    mediaSources.set(m, { kind: 'video', main: videoFilePath, snapshot: snapshotPath });
    return m;
  }

  /** A file message; `fileName` is what the receiver sees (default: the path's last part or the File's name). */
  createFileMessage(filePath: V2TIMMediaSource, fileName?: string): V2TIMMessage {
    const m = newMessage(this.#core, V2TIMElemType.FILE);
    m.fileElem = { path: typeof filePath === 'string' ? filePath : '', fileName: fileName ?? '', UUID: '', fileSize: 0 } as V2TIMMessage['fileElem'] & object;
    mediaSources.set(m, { kind: 'file', main: filePath });
    return m;
  }

  /**
   * Sends to `receiver` (C2C) or `groupID` (group; wins when both are given). Resolves with
   * the same message object, now SEND_SUCC with msgID/seq/timestamp from the server; on
   * failure its status is SEND_FAIL. Sending the same object again reuses its clientMsgID,
   * so a retry after a timeout cannot duplicate it. `priority`, `onlineUserOnly` and
   * `offlinePushInfo` are accepted for API compatibility; Confab has no offline push yet.
   */
  sendMessage<C extends V2TIMSendCallback<V2TIMMessage> | undefined>(
    message: V2TIMMessage, receiver: string | null, groupID: string | null,
    priority?: number, onlineUserOnly?: boolean, offlinePushInfo?: V2TIMOfflinePushInfo | null, cb?: C,
  ): CallbackResult<V2TIMMessage, C> {
    void priority;
    void onlineUserOnly;
    void offlinePushInfo;
    return withCallback(cb, () => sendMessage(this.#core, message, receiver, groupID, cb?.onProgress?.bind(cb)));
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

  markGroupMessageAsRead<C extends V2TIMCallback | undefined>(groupID: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      return markRead(s, groupConversationID(groupID));
    });
  }
}

export async function sendMessage(core: SdkCore, message: V2TIMMessage, receiver: string | null, groupID: string | null,
  onProgress?: (progress: number) => void): Promise<V2TIMMessage> {
  const s = core.requireSession();
  let conversationID: string;
  if (groupID) {
    assertGroupID(groupID);
    conversationID = groupConversationID(groupID);
  } else {
    assertUserID(receiver, 'receiver');
    conversationID = c2cConversationID(receiver);
  }
  if (mediaSources.has(message)) {
    try {
      await uploadMessageMedia(s, message, onProgress);
    } catch (err) {
      message.status = V2TIMMessageStatus.SEND_FAIL;
      throw err;
    }
  }
  const elem = elemOf(message);
  if (new TextEncoder().encode(JSON.stringify(elem)).length > DEFAULT_MAX_MESSAGE_BYTES) {
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
    const res = await s.connection.request('msg.send', { conversationID, clientMsgID: message.clientMsgID, elem }, { resend: true });
    // The reply's update omits the sent message (it is `res.message`); put it back.
    await s.engine.handleUpdate(res.update && { ...res.update, messages: [...res.update.messages, res.message] });
    const restorePaths = localPaths(message);
    Object.assign(message, toV2Message(res.message, s.userID, s.fileUrl));
    restorePaths();
    return message;
  } catch (err) {
    message.status = V2TIMMessageStatus.SEND_FAIL;
    throw err;
  }
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
  const local = await localRange(s, conversationID, count, beforeSeq);
  let messages: WireMessage[];
  if (local) {
    messages = local;
  } else {
    const res = await s.connection.request('msg.history', { conversationID, count, ...(beforeSeq ? { beforeSeq } : {}) });
    messages = res.messages;
    await s.engine.cacheHistory(messages);
  }
  return messages.map((m) => toV2Message(m, s.userID, s.fileUrl)).sort((a, b) => b.seq - a.seq);
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
