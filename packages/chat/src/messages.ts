/**
 * Messages: create, send, resend, and `getMessageList`. Text, custom, face, location and
 * merger messages are the core's; image, sound, video and file messages can be created
 * — an app builds them before sending — but sending one rejects with 3122 until the core
 * carries media, and the message ends `status: 'fail'` like any failed send. When the
 * core grows an element kind, a create function here and `elemToWeb` (convert.ts) map it,
 * and it joins SENDABLE.
 */
import type { V2TIMMessage } from '@confab/sdk';
import { ERROR_CODE, TYPES } from './constants.js';
import type { FaceContext } from './context.js';
import type { WebMessage } from './convert.js';
import { ChatError, invalidParams, notSupported, ok, toChatError, type ChatResponse } from './errors.js';
import { requireWebConversationID } from './ids.js';

export interface CreateMessageOptions {
  to: string;
  conversationType: string;
  payload: Record<string, unknown>;
  priority?: string;
  cloudCustomData?: string;
  needReadReceipt?: boolean;
}

const SENDABLE: ReadonlySet<string> = new Set([TYPES.MSG_TEXT, TYPES.MSG_CUSTOM, TYPES.MSG_FACE, TYPES.MSG_LOCATION, TYPES.MSG_MERGER]);

/** Web priority → the core's V2TIMMessagePriority (the core has no "lowest": it is low). */
const CORE_PRIORITY: Record<string, number> = {
  [TYPES.MSG_PRIORITY_HIGH]: 1, [TYPES.MSG_PRIORITY_NORMAL]: 2, [TYPES.MSG_PRIORITY_LOW]: 3, [TYPES.MSG_PRIORITY_LOWEST]: 3,
};

/** createForwardMessage's options: the message to forward is the payload. */
export type ForwardMessageOptions = Omit<CreateMessageOptions, 'payload'> & { payload: WebMessage };

/** The reference's default and largest `count` for getMessageList. */
const PAGE = 15;

function checkCreate(ctx: FaceContext, options: unknown): CreateMessageOptions {
  if (!ctx.userID()) throw new ChatError(ERROR_CODE.USER_NOT_LOGGED_IN, 'log in before creating messages');
  const o = options as CreateMessageOptions | undefined;
  if (!o || typeof o !== 'object') throw invalidParams('options must be an object');
  if (typeof o.to !== 'string' || o.to === '') throw invalidParams('to must be a non-empty string');
  if (o.conversationType !== TYPES.CONV_C2C && o.conversationType !== TYPES.CONV_GROUP) {
    throw new ChatError(ERROR_CODE.MSG_INVALID_CONV_TYPE, `conversationType must be ${TYPES.CONV_C2C} or ${TYPES.CONV_GROUP}`);
  }
  if (!o.payload || typeof o.payload !== 'object') throw invalidParams('payload must be an object');
  return o;
}

/** Fills in what the core leaves blank until a message is sent, so the app can show it at once. */
function addressed(ctx: FaceContext, core: V2TIMMessage, o: CreateMessageOptions): WebMessage {
  const isGroup = o.conversationType === TYPES.CONV_GROUP;
  core.userID = isGroup ? '' : o.to;
  core.groupID = isGroup ? o.to : '';
  core.sender = ctx.userID();
  if (typeof o.cloudCustomData === 'string') core.cloudCustomData = o.cloudCustomData;
  if (typeof o.priority === 'string' && CORE_PRIORITY[o.priority]) core.priority = CORE_PRIORITY[o.priority];
  const web = ctx.webMessage(core);
  if (typeof o.priority === 'string') web.priority = o.priority;
  ctx.messages.remember(web, core);
  return web;
}

export function createTextMessage(ctx: FaceContext, options: unknown): WebMessage {
  const o = checkCreate(ctx, options);
  const text = o.payload.text;
  if (typeof text !== 'string' || text === '') throw invalidParams('payload.text must be a non-empty string');
  return addressed(ctx, ctx.im.getMessageManager().createTextMessage(text), o);
}

/**
 * An @ message goes out as text: the protocol has no @ element yet, so `atUserList`
 * stays on the sender's copy and receivers get no `groupAtInfoList` entry.
 */
export function createTextAtMessage(ctx: FaceContext, options: unknown): WebMessage {
  const web = createTextMessage(ctx, options);
  const list = (options as CreateMessageOptions).payload.atUserList;
  web.atUserList = Array.isArray(list) ? list.filter((u): u is string => typeof u === 'string') : [];
  return web;
}

export function createCustomMessage(ctx: FaceContext, options: unknown): WebMessage {
  const o = checkCreate(ctx, options);
  const { data = '', description = '', extension = '' } = o.payload as { data?: unknown; description?: unknown; extension?: unknown };
  if (typeof data !== 'string' || typeof description !== 'string' || typeof extension !== 'string') {
    throw invalidParams('payload.data, description and extension must be strings');
  }
  return addressed(ctx, ctx.im.getMessageManager().createCustomMessage(data, description, extension), o);
}

/**
 * A message of a kind the core cannot send yet (image, file …): created so the app's
 * flow runs, rejected by sendMessage with 3122.
 */
export function createUnsupportedMessage(ctx: FaceContext, type: string, options: unknown): WebMessage {
  const o = checkCreate(ctx, options);
  const core = ctx.im.getMessageManager().createCustomMessage('', '', '');
  const web = addressed(ctx, core, o);
  web.type = type as WebMessage['type'];
  web.payload = { ...o.payload };
  return web;
}

/** An app-defined sticker: `payload: { index, data }`. */
export function createFaceMessage(ctx: FaceContext, options: unknown): WebMessage {
  const o = checkCreate(ctx, options);
  const { index, data = '' } = o.payload as { index?: unknown; data?: unknown };
  if (!Number.isInteger(index) || typeof data !== 'string') throw invalidParams('payload.index must be an integer and payload.data a string');
  return addressed(ctx, ctx.im.getMessageManager().createFaceMessage(index as number, data), o);
}

/** `payload: { description, longitude, latitude }`. */
export function createLocationMessage(ctx: FaceContext, options: unknown): WebMessage {
  const o = checkCreate(ctx, options);
  const { description = '', longitude, latitude } = o.payload as { description?: unknown; longitude?: unknown; latitude?: unknown };
  if (typeof description !== 'string' || typeof longitude !== 'number' || typeof latitude !== 'number') {
    throw invalidParams('payload.description must be a string, longitude and latitude numbers');
  }
  return addressed(ctx, ctx.im.getMessageManager().createLocationMessage(description, longitude, latitude), o);
}

/** Chat history as one message: `payload: { messageList, title, abstractList, compatibleText }` of messages this instance handed out. */
export function createMergerMessage(ctx: FaceContext, options: unknown): WebMessage {
  const o = checkCreate(ctx, options);
  const { messageList, title, abstractList = [], compatibleText } = o.payload as { messageList?: unknown; title?: unknown; abstractList?: unknown; compatibleText?: unknown };
  if (!Array.isArray(messageList) || messageList.length === 0) throw invalidParams('payload.messageList must be a non-empty array of messages');
  if (typeof title !== 'string' || typeof compatibleText !== 'string' || !Array.isArray(abstractList)) {
    throw invalidParams('payload.title and compatibleText must be strings, abstractList an array');
  }
  const cores = messageList.map((m) => {
    const core = ctx.messages.find(m);
    if (!core) throw new ChatError(ERROR_CODE.MSG_MERGER_TYPE_INVALID, 'payload.messageList holds a message this instance did not hand out');
    return core;
  });
  return addressed(ctx, ctx.im.getMessageManager().createMergerMessage(cores, title, abstractList.map(String), compatibleText), o);
}

/** A new message with the content of `payload` (a message this instance handed out), for another conversation. */
export function createForwardMessage(ctx: FaceContext, options: unknown): WebMessage {
  const o = checkCreate(ctx, options);
  const original = ctx.messages.find(o.payload);
  if (!original) throw new ChatError(ERROR_CODE.MSG_FORWARD_TYPE_INVALID, 'payload must be a message this instance handed out');
  return addressed(ctx, ctx.im.getMessageManager().createForwardMessage(original), o);
}

/** The merged messages travel inside a Confab merger message: it resolves with the message, `payload.messageList` filled. */
export function downloadMergerMessage(ctx: FaceContext, message: unknown): ChatResponse<WebMessage> {
  const web = message as WebMessage;
  if (!ctx.messages.find(message) || web.type !== TYPES.MSG_MERGER) {
    throw new ChatError(ERROR_CODE.MSG_MERGER_TYPE_INVALID, 'a merger message this instance handed out is required');
  }
  return ok(web);
}

/** sendMessage / resendMessage: the same object comes back updated (`status: 'success'`, time, sequence). */
export interface SendOptions {
  onlineUserOnly?: boolean;
  offlinePushInfo?: { disablePush?: boolean; title?: string; description?: string; extension?: string; androidSound?: string; iOSSound?: string; ignoreIOSBadge?: boolean };
}

export async function sendMessage(ctx: FaceContext, message: WebMessage, options?: SendOptions): Promise<ChatResponse<{ message: WebMessage }>> {
  const core = ctx.messages.find(message);
  if (!core) throw new ChatError(ERROR_CODE.MSG_INSTANCE_REQUIRED, 'message must be created by this instance\'s createXxxMessage');
  const fail = (err: ChatError): never => {
    message.status = 'fail';
    err.data = { message };
    throw err;
  };
  if (!SENDABLE.has(message.type)) fail(notSupported(`sending ${message.type}`));
  const isGroup = message.conversationType === TYPES.CONV_GROUP;
  const push = options?.offlinePushInfo;
  message.status = 'unSend';
  try {
    await ctx.im.getMessageManager().sendMessage(
      core, isGroup ? null : message.to, isGroup ? message.to : null, core.priority, options?.onlineUserOnly === true,
      push ? {
        ...(push.title !== undefined ? { title: push.title } : {}), ...(push.description !== undefined ? { desc: push.description } : {}),
        ...(push.extension !== undefined ? { ext: push.extension } : {}), ...(push.disablePush !== undefined ? { disablePush: push.disablePush } : {}),
        ...(push.androidSound !== undefined ? { androidSound: push.androidSound } : {}), ...(push.iOSSound !== undefined ? { iOSSound: push.iOSSound } : {}),
        ...(push.ignoreIOSBadge !== undefined ? { ignoreIOSBadge: push.ignoreIOSBadge } : {}),
      } : null,
    );
  } catch (err) {
    fail(toChatError(err));
  }
  const sent = ctx.webMessage(core);
  Object.assign(message, { status: 'success', time: sent.time, sequence: sent.sequence, clientSequence: sent.clientSequence, nick: sent.nick, avatar: sent.avatar });
  return ok({ message });
}

export function resendMessage(ctx: FaceContext, message: WebMessage, options?: SendOptions): Promise<ChatResponse<{ message: WebMessage }>> {
  if (message && typeof message === 'object') message.isResend = true;
  return sendMessage(ctx, message, options);
}

export interface MessageListResult {
  messageList: WebMessage[];
  nextReqMessageID: string;
  isCompleted: boolean;
}

/**
 * Oldest first, `count` (1–15, default 15) messages before `nextReqMessageID` (an ID this
 * instance returned) or from the newest. Served by the core's history (store first,
 * server when the store has a hole); one more is asked to learn whether older ones exist.
 */
export async function getMessageList(ctx: FaceContext, options: unknown): Promise<ChatResponse<MessageListResult>> {
  const o = options as { conversationID?: unknown; nextReqMessageID?: unknown; count?: unknown } | undefined;
  if (!o || typeof o !== 'object') throw invalidParams('options must be an object');
  const conv = requireWebConversationID(o.conversationID);
  const count = o.count === undefined ? PAGE : Number(o.count);
  if (!Number.isInteger(count) || count < 1) throw invalidParams('count must be a positive integer');
  let before: V2TIMMessage | null = null;
  if (o.nextReqMessageID !== undefined && o.nextReqMessageID !== '') {
    before = ctx.messages.byID(o.nextReqMessageID) ?? null;
    if (!before) throw invalidParams(`nextReqMessageID ${String(o.nextReqMessageID)} is not a message this instance returned`);
  }
  const want = Math.min(count, PAGE);
  const mm = ctx.im.getMessageManager();
  const page = conv.type === TYPES.CONV_C2C
    ? await mm.getC2CHistoryMessageList(conv.id, want + 1, before)
    : await mm.getGroupHistoryMessageList(conv.id, want + 1, before);
  const newestFirst = page.slice(0, want);
  const messageList = newestFirst.reverse().map((m) => {
    const web = ctx.webMessage(m);
    ctx.messages.remember(web, m);
    return web;
  });
  return ok({
    messageList,
    nextReqMessageID: messageList[0]?.ID ?? '',
    isCompleted: page.length <= want,
  });
}

/**
 * Messages around a point, oldest first: group chats by `sequence`, one-to-one chats by
 * `time` (seconds; Confab numbers C2C messages too, so `sequence` works there as well).
 * `direction` 0 pulls older messages (the point included), 1 newer ones. Served by the
 * core's cloud history (`getHistoryMessageList`).
 */
export async function getMessageListHopping(ctx: FaceContext, options: unknown): Promise<ChatResponse<{ messageList: WebMessage[]; isCompleted: boolean }>> {
  const o = options as { conversationID?: unknown; sequence?: unknown; time?: unknown; count?: unknown; direction?: unknown } | undefined;
  if (!o || typeof o !== 'object') throw invalidParams('options must be an object');
  const conv = requireWebConversationID(o.conversationID);
  const count = o.count === undefined ? PAGE : Math.min(PAGE, Number(o.count));
  if (!Number.isInteger(count) || count < 1) throw invalidParams('count must be a positive integer');
  const newer = o.direction === 1;
  const sequence = o.sequence === undefined ? undefined : Number(o.sequence);
  const time = o.time === undefined ? undefined : Number(o.time);
  if (sequence !== undefined && !(Number.isSafeInteger(sequence) && sequence > 0)) throw invalidParams('sequence must be a positive integer');
  if (time !== undefined && !(Number.isSafeInteger(time) && time >= 0)) throw invalidParams('time must be seconds');
  const page = await ctx.im.getMessageManager().getHistoryMessageList({
    getType: newer ? 2 : 1,
    ...(conv.type === TYPES.CONV_C2C ? { userID: conv.id } : { groupID: conv.id }),
    count: count + 1,
    ...(sequence !== undefined ? { lastMsgSeq: sequence } : time !== undefined && time > 0 ? { getTimeBegin: time } : {}),
  });
  // Nearest to the point first, whichever the direction; one extra tells whether more exist.
  const nearest = [...page].sort((a, b) => (newer ? a.seq - b.seq : b.seq - a.seq)).slice(0, count);
  const messageList = nearest.sort((a, b) => a.seq - b.seq).map((m) => {
    const web = ctx.webMessage(m);
    ctx.messages.remember(web, m);
    return web;
  });
  return ok({ messageList, isCompleted: page.length <= count });
}
