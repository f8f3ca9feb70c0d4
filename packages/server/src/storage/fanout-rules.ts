import { groupConversationID } from '@confab/protocol';
import type { ConversationRow, StoredMessage } from './types.js';
import { newConversationRow } from './row-rules.js';
import { receiveMessage } from './read-rules.js';

/**
 * What the fan-out does to one member's row, shared by both backends (like
 * `row-rules.ts`). The row moves from its own `lastSeq`, never from the queue's
 * position, so applying a step twice (a crash between commit and the queue update, or
 * two nodes at once) changes nothing the second time.
 */

/** Messages sent past the sender's row carried in its update at most (older ones load via history). */
export const MAX_PASSED_OVER = 100;

/** The member's part of a pass over `fromSeq..passTo`: `[lower, upper]`, or undefined when nothing is due. */
export function memberRange(row: ConversationRow, fromSeq: number, passTo: number, leftSeq: number | null): [number, number] | undefined {
  // A former member gets what was committed while they were still in (up to leftSeq).
  const upper = leftSeq === null ? passTo : Math.min(passTo, leftSeq);
  const lower = Math.max(row.lastSeq + 1, fromSeq);
  return lower <= upper ? [lower, upper] : undefined;
}

/** The row a member without one gets: as the eager path did, history from seq 1. */
export function memberRow(existing: ConversationRow | undefined, userID: string, convKey: string): ConversationRow {
  return existing ? { ...existing } : newConversationRow(userID, convKey, groupConversationID(convKey.slice(6)), 1);
}

/**
 * Applies messages `lower..upper` (ascending, possibly with holes) to a member's row,
 * exactly as the eager path applied them one by one: the row revives (a tombstone keeps
 * its watermark: the resurrection rule), lastSeq moves to `upper`, and each message from
 * someone else adds one unread. Returns the messages applied.
 */
export function applyToMember(row: ConversationRow, messages: StoredMessage[], lower: number, upper: number): StoredMessage[] {
  const applied = messages.filter((m) => m.seq >= lower && m.seq <= upper);
  row.deleted = false;
  row.lastSeq = upper;
  for (const m of applied) {
    if (m.sender === row.userID) {
      row.readSeq = Math.max(row.readSeq, m.seq);
      row.unreadCount = 0;
    } else {
      receiveMessage(row, m);
    }
  }
  return applied;
}

/** The sender's row after sending `seq` (replying means having read everything before it). */
export function applyToSender(row: ConversationRow, seq: number): void {
  row.deleted = false;
  row.lastSeq = seq;
  row.readSeq = Math.max(row.readSeq, seq);
  row.unreadCount = 0;
}

/** The seqs the sender's row passes over when it moves to `seq`: `[from, to]`, or undefined. */
export function passedOverRange(row: ConversationRow, seq: number): [number, number] | undefined {
  const from = Math.max(row.lastSeq + 1, row.visibleFromSeq, seq - MAX_PASSED_OVER);
  return from <= seq - 1 ? [from, seq - 1] : undefined;
}
