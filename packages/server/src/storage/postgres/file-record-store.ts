import type pg from 'pg';
import type { MediaKind } from '@confab/protocol';
import type { FileRecord, FileRecordStore } from '../types.js';
import { withTransaction } from './tx.js';

interface RawFile {
  app_id: number; uuid: string; owner: string; kind: string; size: number; file_name: string; content_type: string;
  keys: string; meta: string; created_at: number; touched_at: number; conv_key: string | null; client_msg_id: string | null;
  seq: number | null; doomed_at: number | null;
}

function toRecord(r: RawFile): FileRecord {
  return {
    app: r.app_id, uuid: r.uuid, owner: r.owner, kind: r.kind as MediaKind, size: r.size, fileName: r.file_name,
    contentType: r.content_type, keys: JSON.parse(r.keys) as string[], meta: r.meta, createdAt: r.created_at,
    touchedAt: r.touched_at, convKey: r.conv_key, clientMsgID: r.client_msg_id, seq: r.seq, doomedAt: r.doomed_at,
  };
}

/** Rolls a claim back when one of its files cannot be claimed. */
class ClaimRefused extends Error {}

export class PgFileRecordStore implements FileRecordStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async create(r: FileRecord): Promise<void> {
    await this.#pool.query(`INSERT INTO message_files (app_id, uuid, owner, kind, size, file_name, content_type, keys, meta,
      created_at, touched_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [r.app, r.uuid, r.owner, r.kind, r.size, r.fileName, r.contentType, JSON.stringify(r.keys), r.meta, r.createdAt, r.touchedAt]);
  }

  async get(app: number, uuids: string[]): Promise<FileRecord[]> {
    if (uuids.length === 0) return [];
    const { rows } = await this.#pool.query<RawFile>(`SELECT f.app_id, f.uuid, f.owner, f.kind, f.size, f.file_name, f.content_type,
        f.keys, f.meta, f.created_at, f.touched_at, f.conv_key, f.client_msg_id, f.doomed_at,
        coalesce(f.seq, (SELECT m.seq FROM messages m WHERE m.app_id = f.app_id AND m.conv_key = f.conv_key
          AND m.sender = f.owner
    AND confab_msg_key(m.client_msg_id) = confab_msg_key(f.client_msg_id) AND m.client_msg_id = f.client_msg_id)) AS seq
      FROM message_files f WHERE f.app_id = $1 AND f.uuid = ANY($2::text[])`, [app, uuids]);
    return rows.map(toRecord);
  }

  async claim(app: number, uuids: string[], owner: string, convKey: string, clientMsgID: string, now: number): Promise<boolean> {
    try {
      await withTransaction(this.#pool, async (client) => {
        const { rowCount } = await client.query(`UPDATE message_files SET conv_key = $1, client_msg_id = $2, touched_at = $3
          WHERE app_id = $4 AND uuid = ANY($5::text[]) AND owner = $6 AND doomed_at IS NULL
            AND (conv_key IS NULL OR (conv_key = $1 AND client_msg_id = $2))`, [convKey, clientMsgID, now, app, uuids, owner]);
        if (rowCount !== new Set(uuids).size) throw new ClaimRefused();
      });
      return true;
    } catch (err) {
      if (err instanceof ClaimRefused) return false;
      throw err;
    }
  }

  async setSeq(app: number, convKey: string, owner: string, clientMsgID: string, seq: number): Promise<void> {
    await this.#pool.query('UPDATE message_files SET seq = $1 WHERE app_id = $2 AND conv_key = $3 AND owner = $4 AND client_msg_id = $5',
      [seq, app, convKey, owner, clientMsgID]);
  }

  async doomMessage(app: number, convKey: string, sender: string, clientMsgID: string, now: number): Promise<number> {
    const { rowCount } = await this.#pool.query(`UPDATE message_files SET doomed_at = $1
      WHERE app_id = $2 AND conv_key = $3 AND owner = $4 AND client_msg_id = $5 AND doomed_at IS NULL`, [now, app, convKey, sender, clientMsgID]);
    return rowCount ?? 0;
  }

  async doomUnsent(before: number, now: number, limit: number): Promise<number> {
    return withTransaction(this.#pool, async (client) => {
      await client.query(`UPDATE message_files f SET seq = m.seq FROM messages m
        WHERE f.seq IS NULL AND f.doomed_at IS NULL AND f.touched_at < $1 AND f.conv_key IS NOT NULL
          AND m.app_id = f.app_id AND m.conv_key = f.conv_key AND m.sender = f.owner
    AND confab_msg_key(m.client_msg_id) = confab_msg_key(f.client_msg_id) AND m.client_msg_id = f.client_msg_id`, [before]);
      // SKIP LOCKED: a claim holding the row wins; it refreshes touched_at anyway.
      const { rowCount } = await client.query(`UPDATE message_files SET doomed_at = $1 WHERE (app_id, uuid) IN (
        SELECT app_id, uuid FROM message_files WHERE seq IS NULL AND doomed_at IS NULL AND touched_at < $2
        ORDER BY touched_at LIMIT $3 FOR UPDATE SKIP LOCKED)`, [now, before, limit]);
      return rowCount ?? 0;
    });
  }

  async doomed(limit: number): Promise<FileRecord[]> {
    const { rows } = await this.#pool.query<RawFile>('SELECT * FROM message_files WHERE doomed_at IS NOT NULL ORDER BY doomed_at LIMIT $1', [limit]);
    return rows.map(toRecord);
  }

  async forget(app: number, uuids: string[]): Promise<void> {
    await this.#pool.query('DELETE FROM message_files WHERE app_id = $1 AND uuid = ANY($2::text[]) AND doomed_at IS NOT NULL', [app, uuids]);
  }
}
