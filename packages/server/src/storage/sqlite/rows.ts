import type Database from 'better-sqlite3';
import type { ConversationRow, UserChange } from '../types.js';
import { toConversationRow, type RawConversationRow } from '../raw-records.js';
import { orderTies } from '../list-order.js';

export { toConversationRow, type RawConversationRow };

/**
 * Collects the conversation rows one transaction changes, per user, and writes them
 * with one version step per user at the end. A batch of 500 messages that touches
 * Alice's row 40 times still costs Alice one version step and one row write.
 */
export class UserChangeSet {
  readonly #app: number;
  readonly #rows = new Map<string, Map<string, ConversationRow>>();
  readonly #statements: RowStatements;

  constructor(app: number, statements: RowStatements) {
    this.#app = app;
    this.#statements = statements;
  }

  /** The row as this transaction sees it, read from disk on first use; undefined if none. */
  row(userID: string, convKey: string): ConversationRow | undefined {
    const cached = this.#rows.get(userID)?.get(convKey);
    if (cached) return cached;
    const raw = this.#statements.getRow.get(this.#app, userID, convKey) as RawConversationRow | undefined;
    return raw ? toConversationRow(raw) : undefined;
  }

  /** Marks a row as changed; it is written by `commit`. */
  put(row: ConversationRow): void {
    let byConv = this.#rows.get(row.userID);
    if (!byConv) this.#rows.set(row.userID, (byConv = new Map()));
    byConv.set(row.convKey, row);
  }

  /**
   * Steps each touched user's version once and writes the rows. `activated` rows take
   * the new version as their orderKey: activation order is change order.
   */
  commit(activated: (row: ConversationRow) => boolean = () => false): UserChange[] {
    const changes: UserChange[] = [];
    for (const [userID, byConv] of this.#rows) {
      const stepped = this.#statements.stepVersion.get(this.#app, userID) as { sync_version: number } | undefined;
      if (!stepped) throw new Error(`account ${userID} missing while writing its conversation rows`);
      const version = stepped.sync_version;
      const rows = [...byConv.values()];
      const ties = orderTies(version, rows.map((r) => r.convKey));
      for (const row of rows) {
        row.version = version;
        if (activated(row)) row.orderKey = version;
        this.#statements.upsertRow.run(
          this.#app, row.userID, row.convKey, row.conversationID, row.lastSeq, row.unreadCount, row.readSeq,
          row.visibleFromSeq, row.orderKey, row.isPinned ? 1 : 0, row.draftText, row.draftTimestamp,
          row.customData, JSON.stringify(row.marks), row.deleted ? 1 : 0, row.version, ties.get(row.convKey),
          row.changeSeq ?? 0, row.deleteSeq ?? 0,
        );
      }
      changes.push({ app: this.#app, userID, prevVersion: version - 1, version, rows });
    }
    return changes;
  }
}

export interface RowStatements {
  getRow: Database.Statement;
  upsertRow: Database.Statement;
  stepVersion: Database.Statement;
}

export function prepareRowStatements(db: Database.Database): RowStatements {
  return {
    getRow: db.prepare('SELECT * FROM user_conversations WHERE app_id = ? AND user_id = ? AND conv_key = ?'),
    upsertRow: db.prepare(`
      INSERT INTO user_conversations (app_id, user_id, conv_key, conversation_id, last_seq, unread_count, read_seq,
        visible_from_seq, order_key, is_pinned, draft_text, draft_ts, custom_data, marks, deleted, version, order_tie,
        change_seq, delete_seq)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (app_id, user_id, conv_key) DO UPDATE SET
        last_seq = excluded.last_seq, unread_count = excluded.unread_count, read_seq = excluded.read_seq,
        visible_from_seq = excluded.visible_from_seq, order_key = excluded.order_key, is_pinned = excluded.is_pinned,
        draft_text = excluded.draft_text, draft_ts = excluded.draft_ts, custom_data = excluded.custom_data, marks = excluded.marks,
        deleted = excluded.deleted, version = excluded.version,
        change_seq = excluded.change_seq, delete_seq = excluded.delete_seq`),
    stepVersion: db.prepare('UPDATE accounts SET sync_version = sync_version + 1 WHERE app_id = ? AND user_id = ? RETURNING sync_version'),
  };
}

export { newConversationRow } from '../row-rules.js';
