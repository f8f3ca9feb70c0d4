/**
 * Messages: create, send, resend, and `getMessageList`. Text and custom messages are
 * the core's; the Web SDK's other kinds (image, file, face, sound, video, location,
 * merger) can be created — an app builds them before sending — but sending one rejects
 * with 3122 until the core carries media, and the message ends `status: 'fail'` like any
 * failed send. When the core grows an element kind, it is mapped in `coreMessageFor`
 * and `webMessage` (convert.ts), and nothing else changes.
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
  const web = ctx.webMessage(core);
  if (typeof o.cloudCustomData === 'string') web.cloudCustomData = o.cloudCustomData;
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

/** A forward of a text or custom message is a new message with the same content. */
export function createForwardMessage(ctx: FaceContext, options: unknown): WebMessage {
  const o = checkCreate(ctx, options);
  const original = o.payload as unknown as WebMessage;
  if (original?.type === TYPES.MSG_TEXT) return createTextMessage(ctx, { ...o, payload: { text: original.payload.text } });
  if (original?.type === TYPES.MSG_CUSTOM) return createCustomMessage(ctx, { ...o, payload: { ...original.payload } });
  return createUnsupportedMessage(ctx, String(original?.type ?? TYPES.MSG_MERGER), { ...o, payload: { ...(original?.payload ?? {}) } });
}

/** sendMessage / resendMessage: the same object comes back updated (`status: 'success'`, time, sequence). */
export async function sendMessage(ctx: FaceContext, message: WebMessage): Promise<ChatResponse<{ message: WebMessage }>> {
  const core = ctx.messages.find(message);
  if (!core) throw new ChatError(ERROR_CODE.MSG_INSTANCE_REQUIRED, 'message must be created by this instance\'s createXxxMessage');
  const fail = (err: ChatError): never => {
    message.status = 'fail';
    err.data = { message };
    throw err;
  };
  if (message.type !== TYPES.MSG_TEXT && message.type !== TYPES.MSG_CUSTOM) fail(notSupported(`sending ${message.type}`));
  const isGroup = message.conversationType === TYPES.CONV_GROUP;
  message.status = 'unSend';
  try {
    await ctx.im.getMessageManager().sendMessage(core, isGroup ? null : message.to, isGroup ? message.to : null);
  } catch (err) {
    fail(toChatError(err));
  }
  const sent = ctx.webMessage(core);
  Object.assign(message, { status: 'success', time: sent.time, sequence: sent.sequence, clientSequence: sent.clientSequence, nick: sent.nick, avatar: sent.avatar });
  return ok({ message });
}

export function resendMessage(ctx: FaceContext, message: WebMessage): Promise<ChatResponse<{ message: WebMessage }>> {
  if (message && typeof message === 'object') message.isResend = true;
  return sendMessage(ctx, message);
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
