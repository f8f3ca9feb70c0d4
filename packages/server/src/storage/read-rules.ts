import { AT_ALL_TAG, GroupAtType, ReceiveMessageOpt, type GroupAtInfo } from '@confab/protocol';
import type { ConversationRow, StoredMessage } from './types.js';
import { newConversationRow } from './row-rules.js';

/**
 * Read state, receive options and mentions on one user's row, shared by both backends
 * (like `row-rules.ts`): what a received message, a read and a peer's read do to it.
 */

/** Unread mentions kept per row: a chatty group's 5,000 mentions would make every row update huge. */
export const MAX_AT_INFO = 100;

/** How a message mentions `userID`: AT_ME, AT_ALL, AT_ALL_AT_ME or undefined. */
export function atTypeFor(message: StoredMessage, userID: string): GroupAtInfo['atType'] | undefined {
  if (message.elem.type !== 'text' || !message.elem.atUserList?.length) return undefined;
  const me = message.elem.atUserList.includes(userID);
  const all = message.elem.atUserList.includes(AT_ALL_TAG);
  if (me && all) return GroupAtType.AT_ALL_AT_ME;
  if (me) return GroupAtType.AT_ME;
  return all ? GroupAtType.AT_ALL : undefined;
}

/**
 * A message from someone else reaches the user's row. NOT_RECEIVE_MESSAGE stores it (the
 * history stays pullable) without counting it; NOT_RECEIVE_MESSAGE_EXCEPT_AT counts only
 * a mention. The notify-only options (2, 3) count it here; the total leaves them out.
 * A mention joins `atInfo` whatever the option: the reference shows it in the list.
 */
export function receiveMessage(row: ConversationRow, message: StoredMessage): void {
  const atType = atTypeFor(message, row.userID);
  if (atType !== undefined) {
    row.atInfo = [...row.atInfo, { seq: message.seq, atType }].slice(-MAX_AT_INFO);
  }
  if (row.recvOpt === ReceiveMessageOpt.NOT_RECEIVE_MESSAGE) return;
  if (row.recvOpt === ReceiveMessageOpt.NOT_RECEIVE_MESSAGE_EXCEPT_AT && atType === undefined) return;
  row.unreadCount += 1;
}

/**
 * Reads to the end, or up to `upToSeq` (the reference's cleanSequence). Every message
 * above `readSeq` is someone else's (sending moves `readSeq` to the sent seq), so what
 * stays unread after a partial read is at most `lastSeq - readSeq`. Example: unread 5
 * at lastSeq 10 (6-10 unread), read up to 8: unread min(5, 10 - 8) = 2.
 */
export function applyRead(row: ConversationRow, upToSeq?: number): void {
  const target = upToSeq === undefined ? row.lastSeq : Math.min(row.lastSeq, upToSeq);
  row.readSeq = Math.max(row.readSeq, target);
  row.unreadCount = upToSeq === undefined || row.readSeq >= row.lastSeq ? 0 : Math.min(row.unreadCount, row.lastSeq - row.readSeq);
  if (row.atInfo.length) row.atInfo = row.atInfo.filter((a) => a.seq > row.readSeq);
}

/** The peer of a C2C key, or undefined for a group. */
export function c2cPeer(convKey: string, userID: string): string | undefined {
  if (!convKey.startsWith('c2c:')) return undefined;
  const [a, b] = convKey.slice(4).split('|') as [string, string];
  return a === userID ? b : a;
}

/** The peer's row learns the reader's read point; false when nothing changed. */
export function applyPeerRead(peerRow: ConversationRow, readSeq: number): boolean {
  if (readSeq <= peerRow.peerReadSeq) return false;
  peerRow.peerReadSeq = readSeq;
  return true;
}

/**
 * The row a receive option is set on: any existing row, tombstones included (the option
 * is the user's choice about the peer or group and outlives a deletion of the chat), or
 * a new tombstone when the user has no row yet, so the option waits for the first
 * message without putting an empty conversation in the list.
 */
export function recvOptRow(existing: ConversationRow | undefined, target: { convKey: string; conversationID: string; create: boolean }, userID: string): ConversationRow | undefined {
  if (existing) return existing;
  if (!target.create) return undefined;
  return { ...newConversationRow(userID, target.convKey, target.conversationID, 1), deleted: true };
}

/**
 * The conv_key range of a conversation type, for reads by the (user, conv_key) indexes:
 * 1 → C2C keys (`c2c:…`), 2 → group keys (`group:…`), 0 → all. `;` follows `:` in
 * byte order, so `[c2c:, c2c;)` is exactly the keys that start with `c2c:`.
 */
export function unreadKeyRange(type: 0 | 1 | 2): [string, string] {
  if (type === 1) return ['c2c:', 'c2c;'];
  if (type === 2) return ['group:', 'group;'];
  return ['', '\uffff'];
}
