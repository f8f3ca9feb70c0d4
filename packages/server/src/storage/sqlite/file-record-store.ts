import type Database from 'better-sqlite3';
import type { MediaKind } from '@confab/protocol';
import type { FileRecord, FileRecordStore } from '../types.js';

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

/** The seq of a file's message, from the message row when the file's own is not set yet. */
const WITH_SEQ = `SELECT f.app_id, f.uuid, f.owner, f.kind, f.size, f.file_name, f.content_type, f.keys, f.meta, f.created_at,
  f.touched_at, f.conv_key, f.client_msg_id, f.doomed_at,
  coalesce(f.seq, (SELECT m.seq FROM messages m WHERE m.app_id = f.app_id AND m.conv_key = f.conv_key
    AND m.sender = f.owner
    AND confab_msg_key(m.client_msg_id) = confab_msg_key(f.client_msg_id) AND m.client_msg_id = f.client_msg_id)) AS seq
  FROM message_files f`;

export class SqliteFileRecordStore implements FileRecordStore {
  readonly #db: Database.Database;
  readonly #s;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#s = {
      insert: db.prepare(`INSERT INTO message_files (app_id, uuid, owner, kind, size, file_name, content_type, keys, meta,
        created_at, touched_at, conv_key, client_msg_id, seq, doomed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL)`),
      get: db.prepare(`${WITH_SEQ} WHERE f.app_id = ? AND f.uuid = ?`),
      claim: db.prepare(`UPDATE message_files SET conv_key = ?, client_msg_id = ?, touched_at = ?
        WHERE app_id = ? AND uuid = ? AND owner = ? AND doomed_at IS NULL
          AND (conv_key IS NULL OR (conv_key = ? AND client_msg_id = ?))`),
      setSeq: db.prepare(`UPDATE message_files SET seq = ? WHERE app_id = ? AND conv_key = ? AND owner = ? AND client_msg_id = ?`),
      doomMessage: db.prepare(`UPDATE message_files SET doomed_at = ?
        WHERE app_id = ? AND conv_key = ? AND owner = ? AND client_msg_id = ? AND doomed_at IS NULL`),
      attachLate: db.prepare(`UPDATE message_files SET seq = (SELECT m.seq FROM messages m WHERE m.app_id = message_files.app_id
          AND m.conv_key = message_files.conv_key AND m.sender = message_files.owner
          AND confab_msg_key(m.client_msg_id) = confab_msg_key(message_files.client_msg_id) AND m.client_msg_id = message_files.client_msg_id)
        WHERE seq IS NULL AND doomed_at IS NULL AND touched_at < ? AND conv_key IS NOT NULL
          AND EXISTS (SELECT 1 FROM messages m WHERE m.app_id = message_files.app_id AND m.conv_key = message_files.conv_key
            AND m.sender = message_files.owner
          AND confab_msg_key(m.client_msg_id) = confab_msg_key(message_files.client_msg_id) AND m.client_msg_id = message_files.client_msg_id)`),
      doomUnsent: db.prepare(`UPDATE message_files SET doomed_at = ? WHERE (app_id, uuid) IN (
        SELECT app_id, uuid FROM message_files WHERE seq IS NULL AND doomed_at IS NULL AND touched_at < ? ORDER BY touched_at LIMIT ?)`),
      doomed: db.prepare(`SELECT * FROM message_files WHERE doomed_at IS NOT NULL ORDER BY doomed_at LIMIT ?`),
      forget: db.prepare('DELETE FROM message_files WHERE app_id = ? AND uuid = ? AND doomed_at IS NOT NULL'),
    };
  }

  async create(r: FileRecord): Promise<void> {
    this.#s.insert.run(r.app, r.uuid, r.owner, r.kind, r.size, r.fileName, r.contentType, JSON.stringify(r.keys), r.meta, r.createdAt, r.touchedAt);
  }

  async get(app: number, uuids: string[]): Promise<FileRecord[]> {
    const out: FileRecord[] = [];
    for (const uuid of uuids) {
      const raw = this.#s.get.get(app, uuid) as RawFile | undefined;
      if (raw) out.push(toRecord(raw));
    }
    return out;
  }

  async claim(app: number, uuids: string[], owner: string, convKey: string, clientMsgID: string, now: number): Promise<boolean> {
    try {
      this.#db.transaction(() => {
        for (const uuid of uuids) {
          if (this.#s.claim.run(convKey, clientMsgID, now, app, uuid, owner, convKey, clientMsgID).changes !== 1) {
            throw new ClaimRefused();
          }
        }
      }).immediate();
      return true;
    } catch (err) {
      if (err instanceof ClaimRefused) return false;
      throw err;
    }
  }

  async setSeq(app: number, convKey: string, owner: string, clientMsgID: string, seq: number): Promise<void> {
    this.#s.setSeq.run(seq, app, convKey, owner, clientMsgID);
  }

  async doomMessage(app: number, convKey: string, sender: string, clientMsgID: string, now: number): Promise<number> {
    return this.#s.doomMessage.run(now, app, convKey, sender, clientMsgID).changes;
  }

  async doomUnsent(before: number, now: number, limit: number): Promise<number> {
    return this.#db.transaction(() => {
      this.#s.attachLate.run(before);
      return this.#s.doomUnsent.run(now, before, limit).changes;
    }).immediate();
  }

  async doomed(limit: number): Promise<FileRecord[]> {
    return (this.#s.doomed.all(limit) as RawFile[]).map(toRecord);
  }

  async forget(app: number, uuids: string[]): Promise<void> {
    this.#db.transaction(() => {
      for (const uuid of uuids) this.#s.forget.run(app, uuid);
    }).immediate();
  }
}

/** Rolls a claim back when one of its files cannot be claimed. */
class ClaimRefused extends Error {}
