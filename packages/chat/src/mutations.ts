/**
 * Changing sent messages: `revokeMessage`, `modifyMessage`, `deleteMessage`, over the
 * core's message mutations, and the MESSAGE_REVOKED / MESSAGE_MODIFIED events fed by its
 * listener (session-bridge.ts).
 */
import { ErrorCode } from '@confab/protocol';
import type { V2TIMMessage } from '@confab/sdk';
import { ERROR_CODE, TYPES } from './constants.js';
import type { FaceContext } from './context.js';
import type { WebMessage } from './convert.js';
import { ChatError, invalidParams, ok, toChatError, type ChatResponse } from './errors.js';

function coreOf(ctx: FaceContext, message: unknown): V2TIMMessage {
  const core = ctx.messages.find(message);
  if (!core) throw new ChatError(ERROR_CODE.MSG_INSTANCE_REQUIRED, 'a message this instance handed out is required');
  return core;
}

/** Recalls the message for everyone in the conversation; it stays, `isRevoked: true`. */
export async function revokeMessage(ctx: FaceContext, message: WebMessage): Promise<ChatResponse<{ message: WebMessage }>> {
  const core = coreOf(ctx, message);
  try {
    await ctx.im.getMessageManager().revokeMessage(core);
  } catch (err) {
    const e = toChatError(err);
    throw new ChatError(e.code, e.message, { cause: err, data: { message } });
  }
  Object.assign(message, { isRevoked: true, revoker: ctx.userID() });
  return ok({ message });
}

/**
 * Sends the message's current `payload` (text or custom) as its new content, for every
 * participant. When someone changed it first: 2480 MSG_MODIFY_CONFLICT, with the current
 * message as `data.message`.
 */
export async function modifyMessage(ctx: FaceContext, message: WebMessage): Promise<ChatResponse<{ message: WebMessage }>> {
  const core = coreOf(ctx, message);
  const payload = message.payload ?? {};
  const edited: V2TIMMessage = { ...core };
  if (message.type === TYPES.MSG_TEXT && typeof payload.text === 'string') edited.textElem = { text: payload.text };
  else if (message.type === TYPES.MSG_CUSTOM && typeof payload.data === 'string') {
    edited.customElem = { data: payload.data, desc: String(payload.description ?? ''), extension: String(payload.extension ?? '') };
  } else throw invalidParams('only the payload of a text or custom message can be modified');
  let result: V2TIMMessage;
  try {
    result = await ctx.im.getMessageManager().modifyMessage(edited);
  } catch (err) {
    const found = (err as { value?: V2TIMMessage })?.value;
    const cause = (err as { error?: unknown })?.error ?? err;
    const e = toChatError(cause);
    const code = e.code === ErrorCode.MSG_MODIFY_CONFLICT ? ERROR_CODE.MSG_MODIFY_CONFLICT : e.code;
    throw new ChatError(code, e.message, { cause, data: { message: found ? ctx.webMessage(found) : message } });
  }
  const web = ctx.webMessage(result);
  ctx.messages.remember(message, result);
  Object.assign(message, { payload: web.payload, isModified: true });
  return ok({ message });
}

/** Deletes up to 50 messages of one conversation for this user (the others keep them); each gets `isDeleted: true`. */
export async function deleteMessage(ctx: FaceContext, messageList: unknown): Promise<ChatResponse<{ messageList: WebMessage[] }>> {
  if (!Array.isArray(messageList) || messageList.length === 0) throw invalidParams('messageList must be a non-empty array of messages');
  const cores = messageList.map((m) => coreOf(ctx, m));
  await ctx.im.getMessageManager().deleteMessages(cores);
  for (const m of messageList as WebMessage[]) m.isDeleted = true;
  return ok({ messageList: messageList as WebMessage[] });
}
