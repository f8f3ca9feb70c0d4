import type Database from 'better-sqlite3';
import type { PresenceRecord, PresenceStore } from '../types.js';

interface RawPresence { node: string; session_id: string; device_id: string; capabilities: string; protocol_version: number; since: number }

const toRecord = (r: RawPresence): PresenceRecord => ({
  node: r.node, sessionID: r.session_id, deviceID: r.device_id, capabilities: JSON.parse(r.capabilities) as string[],
  protocolVersion: r.protocol_version, since: r.since,
});

/** Presence on the embedded database (one node, but the same rules as on PostgreSQL). */
export class SqlitePresenceStore implements PresenceStore {
  readonly #s;
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#s = {
      add: db.prepare(`INSERT INTO presence (app_id, user_id, session_id, node, device_id, capabilities, protocol_version, since, expires_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, user_id, session_id) DO UPDATE SET node = excluded.node,
        device_id = excluded.device_id, capabilities = excluded.capabilities, protocol_version = excluded.protocol_version,
        since = excluded.since, expires_at = excluded.expires_at`),
      remove: db.prepare('DELETE FROM presence WHERE app_id = ? AND user_id = ? AND session_id = ?'),
      refresh: db.prepare('UPDATE presence SET expires_at = ? WHERE node = ?'),
      removeNode: db.prepare('DELETE FROM presence WHERE node = ?'),
      online: db.prepare(`SELECT node, session_id, device_id, capabilities, protocol_version, since FROM presence
        WHERE app_id = ? AND user_id = ? AND expires_at > ? ORDER BY since, session_id`),
      sweep: db.prepare('DELETE FROM presence WHERE expires_at < ?'),
    };
  }

  async add(app: number, userID: string, r: PresenceRecord, expiresAt: number): Promise<void> {
    this.#s.add.run(app, userID, r.sessionID, r.node, r.deviceID, JSON.stringify(r.capabilities), r.protocolVersion, r.since, expiresAt);
  }

  async remove(app: number, userID: string, sessionID: string): Promise<void> {
    this.#s.remove.run(app, userID, sessionID);
  }

  async refresh(node: string, expiresAt: number): Promise<number> {
    return this.#s.refresh.run(expiresAt, node).changes;
  }

  async removeNode(node: string): Promise<void> {
    this.#s.removeNode.run(node);
  }

  async online(app: number, userID: string, now: number): Promise<PresenceRecord[]> {
    return (this.#s.online.all(app, userID, now) as RawPresence[]).map(toRecord);
  }

  async onlineAmong(app: number, userIDs: string[], now: number): Promise<Set<string>> {
    const found = new Set<string>();
    // 500 placeholders at a time keeps well inside SQLite's variable limit.
    for (let i = 0; i < userIDs.length; i += 500) {
      const part = userIDs.slice(i, i + 500);
      const rows = this.#db.prepare(`SELECT DISTINCT user_id FROM presence WHERE app_id = ? AND expires_at > ?
        AND user_id IN (${part.map(() => '?').join(',')})`).pluck().all(app, now, ...part) as string[];
      for (const id of rows) found.add(id);
    }
    return found;
  }

  async sweep(olderThan: number): Promise<number> {
    return this.#s.sweep.run(olderThan).changes;
  }
}
