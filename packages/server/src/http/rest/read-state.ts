import { c2cConversationID, ErrorCode, groupConversationID, isValidUserID } from '@confab/protocol';
import { callerFor, restError, type RestCommand } from './envelope.js';
import { Fields, isObject } from './fields.js';

/**
 * `openim/admin_set_msg_read`: marks `Report_Account`'s one-to-one chat with
 * `Peer_Account` read, as the reference does, to the end or up to `MsgReadTime`
 * (seconds, optional). The peer's devices get the read receipt like after a client's read.
 */
export const adminSetMsgRead: RestCommand = async (ctx, body) => {
  const f = new Fields(body, ErrorCode.INVALID_PARAMETERS);
  const reader = f.string('Report_Account');
  const peer = f.string('Peer_Account');
  for (const [name, id] of [['Report_Account', reader], ['Peer_Account', peer]] as const) {
    if (!isValidUserID(id)) throw restError(ErrorCode.INVALID_IDENTIFIER, `${name} ${JSON.stringify(id)} is not a valid UserID`);
  }
  if (reader === peer) throw f.bad('Report_Account and Peer_Account must differ');
  const readTime = f.int('MsgReadTime', 0, Number.MAX_SAFE_INTEGER, 0);
  if (!(await ctx.domain.accounts.exists(ctx.app.sdkAppID, reader))) {
    throw restError(ErrorCode.ACCOUNT_NOT_FOUND, `Report_Account ${reader} does not exist; import it first`);
  }
  await ctx.domain.readState.markRead(callerFor(ctx.app, reader), c2cConversationID(peer), readTime ? { upToTimestamp: readTime } : {});
  return {};
};

/**
 * `group_open_http_svc/get_group_msg_receipt`: read and unread counts of group messages
 * that asked for read receipts, as `Operator_Account` (a member) sees them. Answers
 * 7013 while the app's `groupReadReceipt` setting is off.
 */
export const getGroupMsgReceipt: RestCommand = async (ctx, body) => {
  const f = new Fields(body, ErrorCode.GROUP_INVALID_PARAMETERS);
  const groupID = f.string('GroupId');
  const operator = f.string('Operator_Account');
  const seqs = f.array('MsgSeqList').map((item) => {
    if (!isObject(item) || typeof item.MsgSeq !== 'number' || !Number.isSafeInteger(item.MsgSeq) || item.MsgSeq < 1) {
      throw f.bad('MsgSeqList must hold { MsgSeq } with positive integer seqs');
    }
    return item.MsgSeq;
  });
  const receipts = await ctx.domain.receipts.get(callerFor(ctx.app, operator), groupConversationID(groupID), seqs);
  return { GroupId: groupID, MsgReceiptList: receipts.map((r) => ({ MsgSeq: r.seq, ReadNum: r.readCount, UnreadNum: r.unreadCount })) };
};
