/**
 * Read state, receive options and read receipts behind the message and conversation
 * managers' methods of the same names (the reference's V2TIM API).
 */
import {
  ConfabError, ErrorCode, MAX_BATCH, assertUserID, c2cConversationID, groupConversationID, parseConversationID,
} from '@confab/protocol';
import type {
  V2TIMGroupMessageReadMemberList, V2TIMMessage, V2TIMMessageReceipt, V2TIMReceiveMessageOpt, V2TIMReceiveMessageOptInfo,
} from '../types.js';
import type { Session } from './core.js';

/**
 * `conv.markRead` (to the end, or up to a seq or time) + apply its update. A full read
 * answered without an update means the server had nothing to mark — e.g. the
 * conversation was deleted on another device with deletion sync off, so this device
 * still shows a badge the server will never send an update for: clear it locally.
 */
export async function markReadUpTo(s: Session, conversationID: string, upTo: { upToSeq?: number; upToTimestamp?: number } = {}): Promise<void> {
  const res = await s.connection.request('conv.markRead', { conversationID, ...upTo }, { resend: true });
  if (res.update) await s.engine.handleUpdate(res.update);
  else if (!upTo.upToSeq && !upTo.upToTimestamp) await s.engine.markReadLocally(conversationID);
}

/** How long markAllMessageAsRead waits for the server. */
export const MARK_ALL_TIMEOUT_MS = 300_000;

/**
 * Marks every conversation (`type` 1 C2C, 2 groups, 0 all) read. The server works in
 * bounded pages and pushes each page's changes; the sync after its reply makes sure this
 * device holds all of them before the promise resolves, whatever order they came in.
 */
export async function markAllRead(s: Session, type: 0 | 1 | 2): Promise<void> {
  // A user with 100k unread conversations is 500 steps on the server: more than the
  // usual 15 s request timeout may pass before the answer.
  await s.connection.request('conv.markAllRead', { type }, { resend: true, timeoutMs: MARK_ALL_TIMEOUT_MS });
  await s.engine.resync();
}

function checkOpt(opt: unknown): asserts opt is V2TIMReceiveMessageOpt {
  if (!Number.isInteger(opt) || (opt as number) < 0 || (opt as number) > 4) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `opt must be a V2TIMReceiveMessageOpt (0-4), got ${String(opt)}`);
  }
}

export async function setRecvOpt(s: Session, conversationIDs: string[], opt: number): Promise<void> {
  checkOpt(opt);
  if (conversationIDs.length === 0) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'the ID list is empty');
  if (conversationIDs.length > MAX_BATCH) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `at most ${MAX_BATCH} IDs per call`);
  // Setting an option is idempotent, so a resend after a reconnect is safe.
  const res = await s.connection.request('conv.setRecvOpt', { conversationIDs, recvOpt: opt }, { resend: true });
  await s.engine.handleUpdate(res.update);
  const failed = res.results.find((r) => r.resultCode !== 0);
  if (failed) throw new ConfabError(failed.resultCode, `${failed.id}: ${failed.resultInfo}`);
}

export async function getC2CRecvOpt(s: Session, userIDList: string[]): Promise<V2TIMReceiveMessageOptInfo[]> {
  if (!Array.isArray(userIDList) || userIDList.length === 0) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'userIDList is empty');
  userIDList.forEach((id) => assertUserID(id));
  const res = await s.connection.request('conv.getRecvOpt', { conversationIDs: userIDList.map((id) => c2cConversationID(id)) });
  return res.results.map((r) => ({ userID: r.conversationID.slice(4), c2CReceiveMessageOpt: r.recvOpt as V2TIMReceiveMessageOpt }));
}


/** The one conversation a list of sent messages belongs to (the reference requires one). */
function oneConversation(messageList: V2TIMMessage[]): { conversationID: string; seqs: number[] } {
  if (!Array.isArray(messageList) || messageList.length === 0) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'messageList is empty');
  if (messageList.length > MAX_BATCH) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `at most ${MAX_BATCH} messages per call`);
  const conversationID = messageList[0]?.conversationID;
  for (const m of messageList) {
    if (!m || m.conversationID !== conversationID || !(m.seq > 0)) {
      throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'messageList must hold sent messages of one conversation');
    }
  }
  parseConversationID(conversationID!);
  return { conversationID: conversationID!, seqs: messageList.map((m) => m.seq) };
}

/**
 * Group: receipts for these messages (others' messages that asked for them); the
 * senders hear of it. C2C: the conversation is marked read up to the newest of them, which
 * the peer sees as `isPeerRead` and `onRecvC2CReadReceipt`.
 */
export async function sendReceipts(s: Session, messageList: V2TIMMessage[]): Promise<void> {
  const { conversationID, seqs } = oneConversation(messageList);
  if (conversationID.startsWith('c2c_')) {
    await markReadUpTo(s, conversationID, { upToSeq: Math.max(...seqs) });
    return;
  }
  await s.connection.request('msg.sendReadReceipts', { conversationID, seqs }, { resend: true });
}

export async function getReceipts(s: Session, messageList: V2TIMMessage[]): Promise<V2TIMMessageReceipt[]> {
  const { conversationID, seqs } = oneConversation(messageList);
  if (conversationID.startsWith('c2c_')) {
    const row = await s.store.getConversation(conversationID);
    const peerRead = row?.peerReadSeq ?? 0;
    return messageList.map((m) => ({
      msgID: m.msgID, userID: conversationID.slice(4), groupID: '', timestamp: 0, isPeerRead: m.isSelf && m.seq <= peerRead, readCount: 0, unreadCount: 0,
    }));
  }
  const res = await s.connection.request('msg.getReadReceipts', { conversationID, seqs });
  return res.receipts.map((r) => ({ msgID: r.msgID, userID: '', groupID: r.groupID, timestamp: 0, isPeerRead: false, readCount: r.readCount, unreadCount: r.unreadCount }));
}

export async function readMembers(s: Session, message: V2TIMMessage, filter: number, nextSeq: number, count: number): Promise<V2TIMGroupMessageReadMemberList> {
  if (!message || !message.groupID || !(message.seq > 0)) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'message must be a sent group message');
  if (filter !== 0 && filter !== 1) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'filter must be 0 (read) or 1 (unread)');
  if (!Number.isSafeInteger(nextSeq) || nextSeq < 0 || !Number.isSafeInteger(count) || count < 1 || count > 100) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'nextSeq must be >= 0 and count 1-100');
  }
  const res = await s.connection.request('msg.readMembers', {
    conversationID: groupConversationID(message.groupID), seq: message.seq, filter, nextSeq, count,
  });
  return {
    nextSeq: res.nextSeq, isFinished: res.isFinished,
    memberInfoList: res.userIDs.map((userID) => {
      const p = s.names.profiles.get(userID);
      return { userID, nickName: p?.nickName ?? '', faceUrl: p?.faceUrl ?? '' };
    }),
  };
}
