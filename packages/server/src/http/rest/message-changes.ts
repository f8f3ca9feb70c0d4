import { c2cConversationID, ErrorCode, groupConversationID, isConfabError, isValidUserID } from '@confab/protocol';
import type { Actor } from '../../services/message-mutations.js';
import { convKeyFor } from '../../services/wire.js';
import { callerFor, restError, type RestCommand, type RestContext } from './envelope.js';
import { Fields, isObject } from './fields.js';
import { toElem } from './openim.js';

/**
 * Recall, modification and per-user deletion over the REST API, with the reference's
 * command names and fields. A C2C message is named by its `MsgKey`, Confab's message ID
 * `c2c:<a>|<b>/<seq>` as `sendmsg` returns it (docs/rest-api.md); a group message by its
 * `MsgSeq`. The app admin may recall any message at any time, and modify any message.
 */

function admin(ctx: RestContext, userID: string): Actor {
  return { admin: true, app: ctx.app, userID };
}

function user(f: Fields, name: string): string {
  const id = f.string(name);
  if (!isValidUserID(id)) throw f.bad(`${name} ${JSON.stringify(id)} is not a valid UserID`);
  return id;
}

/** The seq of a MsgKey, which must name a message of the chat between `a` and `b`. */
function seqOfKey(f: Fields, key: unknown, a: string, b: string): number {
  const convKey = convKeyFor(a, { type: 1, userID: b, conversationID: c2cConversationID(b) });
  if (typeof key !== 'string' || !key.startsWith(`${convKey}/`)) throw f.bad(`MsgKey ${JSON.stringify(key)} is not a message between ${a} and ${b}`);
  const seq = Number(key.slice(convKey.length + 1));
  if (!Number.isSafeInteger(seq) || seq < 1) throw f.bad(`MsgKey ${JSON.stringify(key)} is malformed`);
  return seq;
}

function body(f: Fields) {
  const msgBody = f.array('MsgBody');
  if (msgBody.length !== 1) throw f.bad(`MsgBody must hold exactly one element, got ${msgBody.length}`);
  return toElem(f, msgBody[0]);
}

/** `openim/admin_msgwithdraw`: recalls a one-to-one message `From_Account` sent to `To_Account`. */
export const adminMsgWithdraw: RestCommand = async (ctx, raw) => {
  const f = new Fields(raw, ErrorCode.INVALID_PARAMETERS);
  const from = user(f, 'From_Account');
  const to = user(f, 'To_Account');
  const seq = seqOfKey(f, f.raw('MsgKey'), from, to);
  const stored = await ctx.domain.storage.messages.get(ctx.app.sdkAppID, convKeyFor(from, { type: 1, userID: to, conversationID: c2cConversationID(to) }), seq);
  if (!stored || stored.sender !== from) throw restError(ErrorCode.MSG_NOT_FOUND, `From_Account ${from} sent no message ${String(f.raw('MsgKey'))}`);
  await ctx.domain.mutations.revoke(admin(ctx, from), c2cConversationID(to), seq);
  return {};
};

/** `openim/modify_c2c_msg`: replaces the element of a one-to-one message. */
export const modifyC2CMsg: RestCommand = async (ctx, raw) => {
  const f = new Fields(raw, ErrorCode.INVALID_PARAMETERS);
  const from = user(f, 'From_Account');
  const to = user(f, 'To_Account');
  const seq = seqOfKey(f, f.raw('MsgKey'), from, to);
  await ctx.domain.mutations.modify(admin(ctx, from), c2cConversationID(to), seq, body(f), undefined);
  return {};
};

/**
 * `openim/delete_c2c_msg_ramble`: deletes messages from `Operator_Account`'s history only
 * (the peer keeps them), as that user's own `deleteMessages` would, from the device `rest`.
 */
export const deleteC2CMsgRamble: RestCommand = async (ctx, raw) => {
  const f = new Fields(raw, ErrorCode.INVALID_PARAMETERS);
  const operator = user(f, 'Operator_Account');
  const peer = user(f, 'Peer_Account');
  const keys = f.array('MsgKeyList');
  if (keys.length === 0 || keys.length > 50) throw f.bad('MsgKeyList must hold 1 to 50 MsgKeys');
  const seqs = keys.map((k) => seqOfKey(f, k, operator, peer));
  await ctx.domain.mutations.remove(callerFor(ctx.app, operator), c2cConversationID(peer), seqs);
  return {};
};

/** `group_open_http_svc/group_msg_recall`: recalls group messages by seq; one result per seq. */
export const groupMsgRecall: RestCommand = async (ctx, raw) => {
  const f = new Fields(raw, ErrorCode.GROUP_INVALID_PARAMETERS);
  const groupID = f.string('GroupId');
  const list = f.array('MsgSeqList');
  if (list.length === 0 || list.length > 100) throw f.bad('MsgSeqList must hold 1 to 100 entries');
  const reason = f.optionalString('Reason');
  const seqs = list.map((item) => {
    const seq = isObject(item) ? item.MsgSeq : undefined;
    if (!Number.isSafeInteger(seq) || (seq as number) < 1) throw f.bad('each MsgSeqList entry must be { MsgSeq: positive integer }');
    return seq as number;
  });
  const RecallRetList: { MsgSeq: number; RetCode: number }[] = [];
  for (const seq of seqs) {
    try {
      await ctx.domain.mutations.revoke(admin(ctx, ctx.app.adminUserID), groupConversationID(groupID), seq, reason);
      RecallRetList.push({ MsgSeq: seq, RetCode: 0 });
    } catch (err) {
      // A missing group fails the call; a missing message fails its entry.
      if (!isConfabError(err) || err.code === ErrorCode.GROUP_NOT_FOUND) throw err;
      RecallRetList.push({ MsgSeq: seq, RetCode: err.code });
    }
  }
  return { RecallRetList };
};

/** `group_open_http_svc/modify_group_msg`: replaces the element of a group message. */
export const modifyGroupMsg: RestCommand = async (ctx, raw) => {
  const f = new Fields(raw, ErrorCode.GROUP_INVALID_PARAMETERS);
  const groupID = f.string('GroupId');
  const seq = f.int('MsgSeq', 1, Number.MAX_SAFE_INTEGER);
  await ctx.domain.mutations.modify(admin(ctx, ctx.app.adminUserID), groupConversationID(groupID), seq, body(f), undefined);
  return {};
};
