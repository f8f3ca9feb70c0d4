import type { ConversationRow, Storage, StoredMessage } from '../storage/types.js';

/**
 * The last message the user can see of each row on a page, in one storage read (a page
 * of 1000 rows on PostgreSQL is one query, not 1000 round trips). Rows that are deleted
 * or have nothing visible are not looked up.
 */
export async function lastMessagesOf(storage: Storage, app: number, rows: ConversationRow[]): Promise<(row: ConversationRow) => StoredMessage | undefined> {
  const refs = rows.filter((r) => !r.deleted && r.lastSeq >= Math.max(1, r.visibleFromSeq)).map((r) => ({ convKey: r.convKey, seq: r.lastSeq }));
  const found = new Map((await storage.conversations.lastMessages(app, refs)).map((m) => [`${m.convKey}/${m.seq}`, m]));
  return (row) => (row.deleted ? undefined : found.get(`${row.convKey}/${row.lastSeq}`));
}
