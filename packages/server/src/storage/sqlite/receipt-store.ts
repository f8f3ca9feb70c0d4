import type Database from 'better-sqlite3';
import type { ReceiptStore } from '../types.js';

/**
 * Group read receipts on the embedded database: one row per (message, reader), so a
 * 6,000-member group's receipts are 6,000 small rows written one reader at a time, and a
 * count per message, so reading counts never counts rows.
 */
export class SqliteReceiptStore implements ReceiptStore {
  readonly #s;
  readonly #markTx: (app: number, convKey: string, reader: string, memberSeq: number, seqs: number[], now: number) => { seq: number; sender: string; readCount: number }[];

  constructor(db: Database.Database) {
    this.#s = {
      message: db.prepare('SELECT sender, need_receipt FROM messages WHERE app_id = ? AND conv_key = ? AND seq = ?'),
      insert: db.prepare(`INSERT INTO group_receipts (app_id, conv_key, seq, reader, member_seq, read_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT DO NOTHING`),
      count: db.prepare(`INSERT INTO group_receipt_counts (app_id, conv_key, seq, read_count) VALUES (?, ?, ?, 1)
        ON CONFLICT (app_id, conv_key, seq) DO UPDATE SET read_count = read_count + 1 RETURNING read_count`),
      counts: db.prepare(`SELECT seq, read_count FROM group_receipt_counts WHERE app_id = ? AND conv_key = ?
        AND seq IN (SELECT value FROM json_each(?))`),
      readers: db.prepare(`SELECT reader, member_seq FROM group_receipts WHERE app_id = ? AND conv_key = ? AND seq = ? AND member_seq > ?
        ORDER BY member_seq LIMIT ?`),
      // Members in join order, leaving out those with a receipt: by the member index, with
      // one primary-key probe per member passed over.
      nonReaders: db.prepare(`SELECT m.user_id, m.seq FROM group_members m WHERE m.app_id = ? AND m.group_id = ? AND m.left_at IS NULL
        AND m.seq > ? AND m.user_id <> ?
        AND NOT EXISTS (SELECT 1 FROM group_receipts r WHERE r.app_id = m.app_id AND r.conv_key = ? AND r.seq = ? AND r.reader = m.user_id)
        ORDER BY m.seq LIMIT ?`),
    };
    this.#markTx = db.transaction((app: number, convKey: string, reader: string, memberSeq: number, seqs: number[], now: number) => {
      const out: { seq: number; sender: string; readCount: number }[] = [];
      for (const seq of new Set(seqs)) {
        const m = this.#s.message.get(app, convKey, seq) as { sender: string; need_receipt: number } | undefined;
        if (!m || !m.need_receipt || m.sender === reader) continue;
        if (this.#s.insert.run(app, convKey, seq, reader, memberSeq, now).changes === 0) continue;
        const { read_count } = this.#s.count.get(app, convKey, seq) as { read_count: number };
        out.push({ seq, sender: m.sender, readCount: read_count });
      }
      return out;
    });
  }

  async markRead(app: number, convKey: string, reader: string, memberSeq: number, seqs: number[], now: number) {
    return this.#markTx(app, convKey, reader, memberSeq, seqs, now);
  }

  async counts(app: number, convKey: string, seqs: number[]): Promise<Map<number, number>> {
    const rows = this.#s.counts.all(app, convKey, JSON.stringify(seqs)) as { seq: number; read_count: number }[];
    return new Map(rows.map((r) => [r.seq, r.read_count]));
  }

  async readers(app: number, convKey: string, seq: number, afterMemberSeq: number, limit: number) {
    return (this.#s.readers.all(app, convKey, seq, afterMemberSeq, limit) as { reader: string; member_seq: number }[])
      .map((r) => ({ userID: r.reader, memberSeq: r.member_seq }));
  }

  async nonReaders(app: number, convKey: string, seq: number, afterMemberSeq: number, limit: number, exclude = '') {
    return (this.#s.nonReaders.all(app, convKey.slice(6), afterMemberSeq, exclude, convKey, seq, limit) as { user_id: string; seq: number }[])
      .map((r) => ({ userID: r.user_id, memberSeq: r.seq }));
  }
}
