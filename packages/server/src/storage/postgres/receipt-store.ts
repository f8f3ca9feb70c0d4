import type pg from 'pg';
import type { ReceiptStore } from '../types.js';
import { withTransaction } from './tx.js';

/** Group read receipts on PostgreSQL: the same rows and counts as the SQLite backend. */
export class PgReceiptStore implements ReceiptStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async markRead(app: number, convKey: string, reader: string, memberSeq: number, seqs: number[], now: number) {
    return withTransaction(this.#pool, async (client) => {
      const out: { seq: number; sender: string; readCount: number }[] = [];
      // Ascending seqs: two readers' transactions take the count rows' locks in one order.
      for (const seq of [...new Set(seqs)].sort((a, b) => a - b)) {
        const { rows: [m] } = await client.query<{ sender: string; need_receipt: number }>(
          'SELECT sender, need_receipt FROM messages WHERE app_id = $1 AND conv_key = $2 AND seq = $3', [app, convKey, seq]);
        if (!m || !m.need_receipt || m.sender === reader) continue;
        const { rowCount } = await client.query(`INSERT INTO group_receipts (app_id, conv_key, seq, reader, member_seq, read_at)
          VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, [app, convKey, seq, reader, memberSeq, now]);
        if (!rowCount) continue;
        const { rows: [c] } = await client.query<{ read_count: number }>(`INSERT INTO group_receipt_counts (app_id, conv_key, seq, read_count)
          VALUES ($1, $2, $3, 1) ON CONFLICT (app_id, conv_key, seq) DO UPDATE SET read_count = group_receipt_counts.read_count + 1
          RETURNING read_count`, [app, convKey, seq]);
        out.push({ seq, sender: m.sender, readCount: c!.read_count });
      }
      return out;
    });
  }

  async counts(app: number, convKey: string, seqs: number[]): Promise<Map<number, number>> {
    const { rows } = await this.#pool.query<{ seq: number; read_count: number }>(`SELECT seq, read_count FROM group_receipt_counts
      WHERE app_id = $1 AND conv_key = $2 AND seq = ANY($3::bigint[])`, [app, convKey, seqs]);
    return new Map(rows.map((r) => [Number(r.seq), r.read_count]));
  }

  async readers(app: number, convKey: string, seq: number, afterMemberSeq: number, limit: number) {
    const { rows } = await this.#pool.query<{ reader: string; member_seq: number }>(`SELECT reader, member_seq FROM group_receipts
      WHERE app_id = $1 AND conv_key = $2 AND seq = $3 AND member_seq > $4 ORDER BY member_seq LIMIT $5`, [app, convKey, seq, afterMemberSeq, limit]);
    return rows.map((r) => ({ userID: r.reader, memberSeq: Number(r.member_seq) }));
  }

  async nonReaders(app: number, convKey: string, seq: number, afterMemberSeq: number, limit: number, exclude = '') {
    const { rows } = await this.#pool.query<{ user_id: string; seq: number }>(`SELECT m.user_id, m.seq FROM group_members m
      WHERE m.app_id = $1 AND m.group_id = $2 AND m.left_at IS NULL AND m.seq > $3 AND m.user_id <> $4
        AND NOT EXISTS (SELECT 1 FROM group_receipts r WHERE r.app_id = m.app_id AND r.conv_key = $5 AND r.seq = $6 AND r.reader = m.user_id)
      ORDER BY m.seq LIMIT $7`, [app, convKey.slice(6), afterMemberSeq, exclude, convKey, seq, limit]);
    return rows.map((r) => ({ userID: r.user_id, memberSeq: Number(r.seq) }));
  }
}
