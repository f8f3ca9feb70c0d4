import { c2cConversationID, ErrorCode, isValidUserID, type MessageElem } from '@confab/protocol';
import { describeIssue, requestSchemas } from '../../gateway/schemas.js';
import { callerFor, restError, type RestCommand, type RestContext } from './envelope.js';
import type { Fields } from './fields.js';
import { freshRandom, messageFields, messageOptions, msgElemSchema, toElem as elemOf, unknownReceiver } from './msgbody.js';
import { parseBody, str, uint, z } from './schema.js';

const BAD = ErrorCode.INVALID_PARAMETERS;

const sendSchema = z.object({
  SyncOtherMachine: z.union([z.literal(1), z.literal(2)]).optional(),
  From_Account: str.optional(),
  To_Account: str,
  MsgRandom: uint().optional(),
  ...messageFields,
});

/** The sender: `From_Account`, or the admin account when it is left out (imported on first use). */
async function senderOf(ctx: RestContext, from: string | undefined): Promise<string> {
  if (from === undefined) {
    await ctx.domain.accounts.ensure(ctx.app.sdkAppID, ctx.app.adminUserID);
    return ctx.app.adminUserID;
  }
  if (!isValidUserID(from)) throw restError(ErrorCode.INVALID_IDENTIFIER, `From_Account ${JSON.stringify(from)} is not a valid UserID`);
  if (!(await ctx.domain.accounts.exists(ctx.app.sdkAppID, from))) {
    throw restError(ErrorCode.ACCOUNT_NOT_FOUND, `From_Account ${from} does not exist; import it first`);
  }
  return from;
}

/** One `MsgBody` element → a Confab element, failing with the caller's code (`modify_c2c_msg`, `modify_group_msg`). */
export function toElem(f: Fields, raw: unknown): MessageElem {
  const checked = msgElemSchema.safeParse(raw);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw f.bad(`MsgBody[0]${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid element'}`);
  }
  return elemOf(checked.data);
}

/** One message from `from` to `to`; the stored message's answer fields. */
async function sendOne(ctx: RestContext, from: string, to: string, msgRandom: number, b: z.infer<typeof sendSchema>) {
  const elem = elemOf(b.MsgBody[0]!);
  const options = messageOptions(b);
  const request = { conversationID: c2cConversationID(to), clientMsgID: `rest-${from}-${msgRandom}`, elem, ...options };
  // The WebSocket op's schema, so both doors accept the same messages.
  const checked = requestSchemas['msg.send'].safeParse(request);
  if (!checked.success) throw restError(BAD, describeIssue(checked.error).replace(/^body\./, ''));
  const { message } = await ctx.domain.messages.send(callerFor(ctx.app, from), request.conversationID, request.clientMsgID, elem, options);
  return { MsgTime: Math.floor(message.timestamp / 1000), MsgKey: message.msgID, MsgId: message.msgID };
}

/**
 * `openim/sendmsg`: the admin sends a one-to-one message as `From_Account` (as itself
 * when left out). The message goes through the same MessageService as a client's
 * `msg.send` (existence of the receiver, size limit, group commit, pushes to both
 * users' devices).
 *
 * `MsgRandom` becomes the message's idempotency key, `rest-<From_Account>-<MsgRandom>`:
 * a retried call (same sender, receiver and MsgRandom) returns the stored message
 * instead of sending it twice.
 */
export const sendMsg: RestCommand = async (ctx, body) => {
  const b = parseBody(sendSchema, body, BAD);
  if (!isValidUserID(b.To_Account)) throw unknownReceiver(b.To_Account);
  const from = await senderOf(ctx, b.From_Account);
  return sendOne(ctx, from, b.To_Account, b.MsgRandom ?? freshRandom(), b);
};

const batchSchema = sendSchema.extend({ To_Account: z.array(str).min(1).max(500) });

/**
 * `openim/batchsendmsg`: one message to up to 500 users, each its own one-to-one
 * message (as the reference: no conversation is shared). → `{ MsgKey, ErrorList: [{ To_Account, ErrorCode }] }`:
 * the receivers that failed, each with its code; `MsgKey` is the first delivered message's.
 */
export const batchSendMsg: RestCommand = async (ctx, body) => {
  const b = parseBody(batchSchema, body, BAD);
  const from = await senderOf(ctx, b.From_Account);
  const msgRandom = b.MsgRandom ?? freshRandom();
  const ErrorList: { To_Account: string; ErrorCode: number }[] = [];
  let MsgKey = '';
  for (const to of new Set(b.To_Account)) {
    try {
      if (!isValidUserID(to)) throw unknownReceiver(to);
      const sent = await sendOne(ctx, from, to, msgRandom, { ...b, To_Account: to });
      if (!MsgKey) MsgKey = sent.MsgKey;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code !== 'number') throw err;
      ErrorList.push({ To_Account: to, ErrorCode: code });
    }
  }
  return { MsgKey, ErrorList };
};

