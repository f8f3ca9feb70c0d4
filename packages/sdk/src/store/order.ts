/**
 * The conversation list order and the per-batch unread arithmetic, shared by every store
 * so the three backends cannot sort or count differently.
 *
 * Order (the reference's): pinned first, then `orderKey` descending, then conversationID
 * ascending. `orderKey` is the user's sync version at the conversation's last activation
 * (message, pin, draft), so one server batch that activates several conversations gives
 * them the same orderKey — e.g. a group created with 50 members. The conversationID makes
 * the order total, which is what lets a page resume strictly after its last row.
 */
import type { ConversationPosition, StoreChangeBatch, StoredConversation } from './types.js';

export function positionOf(c: StoredConversation): ConversationPosition {
  return { isPinned: c.isPinned, orderKey: c.orderKey, conversationID: c.conversationID };
}

/** Negative when `a` comes first in the list. */
export function comparePositions(a: ConversationPosition, b: ConversationPosition): number {
  if (a.isPinned !== b.isPinned) return a.isPinned ? -1 : 1;
  if (a.orderKey !== b.orderKey) return b.orderKey - a.orderKey;
  return a.conversationID < b.conversationID ? -1 : a.conversationID > b.conversationID ? 1 : 0;
}

/** The IDs whose rows a batch may change (their unread counts are what the total moves by). */
export function touchedConversations(batch: StoreChangeBatch): string[] {
  const ids = new Set<string>(batch.removeConversations ?? []);
  for (const c of batch.upsertConversations ?? []) ids.add(c.conversationID);
  return [...ids];
}

/**
 * How much a batch moves the total unread count, given the unread count each touched
 * conversation had before it (absent = no row). Replays the batch's documented order
 * (removals, then upserts; a later upsert of one ID wins) on just those numbers, so it
 * costs O(changed rows). Example: a batch removing c2c_bob (unread 3) and upserting
 * c2c_bob again with unread 1 moves the total by -2.
 */
export function unreadDelta(batch: StoreChangeBatch, before: ReadonlyMap<string, number>): number {
  const after = new Map(before);
  for (const id of batch.removeConversations ?? []) after.delete(id);
  for (const c of batch.upsertConversations ?? []) after.set(c.conversationID, countedUnread(c));
  let delta = 0;
  for (const v of after.values()) delta += v;
  for (const v of before.values()) delta -= v;
  return delta;
}

/**
 * What a row adds to the total unread count: its unread count, or 0 when its receive
 * option is anything but RECEIVE_MESSAGE (0) — the reference's total leaves out
 * NOT_RECEIVE, RECEIVE_NOT_NOTIFY and RECEIVE_NOT_NOTIFY_EXCEPT_AT conversations (and 4).
 * Stores keep this number per row, so the total moves by the difference when a
 * conversation's option changes on any device.
 */
export function countedUnread(c: StoredConversation): number {
  return (c.recvOpt ?? 0) === 0 ? c.unreadCount : 0;
}
