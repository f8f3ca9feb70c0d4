import type { ConversationRow, Storage, StoredMessage } from '../storage/types.js';

/**
 * The last message the user can see of each row on a page, in one storage read (a page
 * of 1000 rows on PostgreSQL is one query, not 1000 round trips). Rows that are deleted
 * or have nothing visible are not looked up.
 */
export async function lastMessagesOf(storage: Storage, app: number, rows: ConversationRow[]): Promise<(row: ConversationRow) => StoredMessage | undefined> {
  const refs = rows.filter((r) => !r.deleted && r.lastSeq >= Math.max(1, r.visibleFromSeq)).map((r) => ({ convKey: r.convKey, seq: r.lastSeq }));
  const found = new Map((await storage.conversations.lastMessages(app, refs)).map((m) => [`${m.convKey}/${m.seq}`, m]));
  // A user who deleted messages for themselves may have deleted the last one: the list
  // shows the newest one they kept. Only rows with such deletions pay the extra read.
  const own = new Map<ConversationRow, StoredMessage | undefined>();
  for (const row of rows) {
    if (row.deleted || !row.deleteSeq || row.lastSeq < Math.max(1, row.visibleFromSeq)) continue;
    own.set(row, await storage.mutations.lastVisible(app, row.userID, row.convKey, row.visibleFromSeq, row.lastSeq));
  }
  return (row) => (row.deleted ? undefined : own.has(row) ? own.get(row) : found.get(`${row.convKey}/${row.lastSeq}`));
}
