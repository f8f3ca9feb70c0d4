import type pg from 'pg';
import type { ConversationRow, UserChange } from '../types.js';
import { toConversationRow, type RawConversationRow } from '../raw-records.js';
import { orderTies } from '../list-order.js';

export { toConversationRow, type RawConversationRow };

export const ROW_COLUMNS = `user_id, conv_key, conversation_id, last_seq, unread_count, read_seq, visible_from_seq,
  order_key, is_pinned, draft_text, draft_ts, custom_data, marks, deleted, version, change_seq, delete_seq`;

const key = (userID: string, convKey: string) => `${userID}\u0000${convKey}`;

/**
 * Collects the conversation rows one transaction changes, per user, and writes them
 * with one version step per user at the end, as the SQLite backend does.
 *
 * Concurrency: `lock` takes the account rows of the users first (sorted, FOR UPDATE)
 * and holds them to the end of the transaction. Every writer of a user's conversation
 * rows holds that lock (the version step needs it anyway), so rows read after it are
 * current, no update is lost, and a user's versions commit in order: a reader that
 * sees version N+1 also sees N. The fixed order keeps writers that touch several users
 * free of deadlocks; a transaction that touches several apps locks them in app order.
 */
export class UserChangeSet {
  readonly #client: pg.PoolClient;
  readonly #app: number;
  /** Rows read from the database (null: no row). */
  readonly #loaded = new Map<string, ConversationRow | null>();
  readonly #changed = new Map<string, Map<string, ConversationRow>>();
  readonly #locked = new Set<string>();

  constructor(client: pg.PoolClient, app: number) {
    this.#client = client;
    this.#app = app;
  }

  /**
   * Locks these users' account rows, in user order; call before reading their rows, and
   * once, with every user the transaction may touch (a second call could lock out of order).
   */
  async lock(userIDs: string[]): Promise<void> {
    const ids = [...new Set(userIDs)].filter((id) => !this.#locked.has(id));
    if (ids.length === 0) return;
    await this.#client.query('SELECT 1 FROM accounts WHERE app_id = $1 AND user_id = ANY($2::text[]) ORDER BY user_id FOR UPDATE',
      [this.#app, ids]);
    for (const id of ids) this.#locked.add(id);
  }

  /** Reads these rows in one query, ahead of `row` calls. */
  async load(targets: { userID: string; convKey: string }[]): Promise<void> {
    const missing = targets.filter((t) => !this.#loaded.has(key(t.userID, t.convKey)));
    if (missing.length === 0) return;
    const { rows } = await this.#client.query<RawConversationRow>(`SELECT ${ROW_COLUMNS} FROM user_conversations
      WHERE app_id = $1 AND (user_id, conv_key) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
    [this.#app, missing.map((t) => t.userID), missing.map((t) => t.convKey)]);
    for (const t of missing) this.#loaded.set(key(t.userID, t.convKey), null);
    for (const raw of rows) this.#loaded.set(key(raw.user_id, raw.conv_key), toConversationRow(raw));
  }

  /** The row as this transaction sees it; undefined if none. */
  async row(userID: string, convKey: string): Promise<ConversationRow | undefined> {
    const changed = this.#changed.get(userID)?.get(convKey);
    if (changed) return changed;
    await this.load([{ userID, convKey }]);
    const loaded = this.#loaded.get(key(userID, convKey));
    return loaded ? { ...loaded } : undefined;
  }

  /** Marks a row as changed; it is written by `commit`. */
  put(row: ConversationRow): void {
    let byConv = this.#changed.get(row.userID);
    if (!byConv) this.#changed.set(row.userID, (byConv = new Map()));
    byConv.set(row.convKey, row);
  }

  /**
   * Steps each touched user's version once and writes the rows. `activated` rows take
   * the new version as their orderKey: activation order is change order.
   */
  async commit(activated: (row: ConversationRow) => boolean = () => false): Promise<UserChange[]> {
    const userIDs = [...this.#changed.keys()];
    if (userIDs.length === 0) return [];
    const unlocked = userIDs.filter((id) => !this.#locked.has(id));
    if (unlocked.length) throw new Error(`internal: rows of ${unlocked.join(', ')} changed without locking the account first`);
    const { rows: stepped } = await this.#client.query<{ user_id: string; sync_version: number }>(
      `UPDATE accounts SET sync_version = sync_version + 1 WHERE app_id = $1 AND user_id = ANY($2::text[])
       RETURNING user_id, sync_version`, [this.#app, userIDs]);
    const versions = new Map(stepped.map((r) => [r.user_id, r.sync_version]));
    const changes: UserChange[] = [];
    const all: ConversationRow[] = [];
    const ties: number[] = [];
    for (const [userID, byConv] of this.#changed) {
      const version = versions.get(userID);
      if (version === undefined) throw new Error(`account ${userID} missing while writing its conversation rows`);
      const rows = [...byConv.values()];
      const tieOf = orderTies(version, rows.map((r) => r.convKey));
      for (const row of rows) {
        row.version = version;
        if (activated(row)) row.orderKey = version;
        all.push(row);
        ties.push(tieOf.get(row.convKey)!);
      }
      changes.push({ app: this.#app, userID, prevVersion: version - 1, version, rows });
    }
    await writeRows(this.#client, this.#app, all, ties);
    return changes;
  }
}

/** Upserts rows; `ties[i]` is row i's order tie, used only when the row is new (see `../list-order.ts`). */
async function writeRows(client: pg.PoolClient, app: number, rows: ConversationRow[], ties: number[]): Promise<void> {
  const col = <T>(pick: (r: ConversationRow) => T) => rows.map(pick);
  await client.query(`
    INSERT INTO user_conversations (app_id, user_id, conv_key, conversation_id, last_seq, unread_count, read_seq,
      visible_from_seq, order_key, is_pinned, draft_text, draft_ts, custom_data, marks, deleted, version, order_tie,
      change_seq, delete_seq)
    SELECT $1::bigint, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::integer[], $7::bigint[],
      $8::bigint[], $9::bigint[], $10::boolean[], $11::text[], $12::bigint[], $13::text[], $14::text[], $15::boolean[], $16::bigint[],
      $17::bigint[], $18::bigint[], $19::bigint[])
    ON CONFLICT (app_id, user_id, conv_key) DO UPDATE SET
      last_seq = excluded.last_seq, unread_count = excluded.unread_count, read_seq = excluded.read_seq,
      visible_from_seq = excluded.visible_from_seq, order_key = excluded.order_key, is_pinned = excluded.is_pinned,
      draft_text = excluded.draft_text, draft_ts = excluded.draft_ts, custom_data = excluded.custom_data, marks = excluded.marks,
      deleted = excluded.deleted, version = excluded.version,
      change_seq = excluded.change_seq, delete_seq = excluded.delete_seq`, [
    app, col((r) => r.userID), col((r) => r.convKey), col((r) => r.conversationID), col((r) => r.lastSeq),
    col((r) => r.unreadCount), col((r) => r.readSeq), col((r) => r.visibleFromSeq), col((r) => r.orderKey),
    col((r) => r.isPinned), col((r) => r.draftText), col((r) => r.draftTimestamp), col((r) => r.customData),
    col((r) => JSON.stringify(r.marks)), col((r) => r.deleted), col((r) => r.version), ties,
    col((r) => r.changeSeq ?? 0), col((r) => r.deleteSeq ?? 0),
  ]);
}

export { newConversationRow } from '../row-rules.js';
