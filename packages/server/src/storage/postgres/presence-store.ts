import type pg from 'pg';
import type { PresenceRecord, PresenceStore } from '../types.js';

interface RawPresence { node: string; session_id: string; device_id: string; capabilities: string; protocol_version: number; since: number }

const toRecord = (r: RawPresence): PresenceRecord => ({
  node: r.node, sessionID: r.session_id, deviceID: r.device_id, capabilities: JSON.parse(r.capabilities) as string[],
  protocolVersion: r.protocol_version, since: r.since,
});

/**
 * Presence in a table shared by the nodes. Each statement is one row or one node's rows,
 * so nothing here waits on another node: a node's renewal (`refresh`) touches only its
 * own rows, found by the `presence_by_node` index.
 */
export class PgPresenceStore implements PresenceStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async add(app: number, userID: string, r: PresenceRecord, expiresAt: number): Promise<void> {
    await this.#pool.query(`INSERT INTO presence (app_id, user_id, session_id, node, device_id, capabilities, protocol_version, since, expires_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (app_id, user_id, session_id) DO UPDATE SET node = excluded.node,
      device_id = excluded.device_id, capabilities = excluded.capabilities, protocol_version = excluded.protocol_version,
      since = excluded.since, expires_at = excluded.expires_at`,
    [app, userID, r.sessionID, r.node, r.deviceID, JSON.stringify(r.capabilities), r.protocolVersion, r.since, expiresAt]);
  }

  async remove(app: number, userID: string, sessionID: string): Promise<void> {
    await this.#pool.query('DELETE FROM presence WHERE app_id = $1 AND user_id = $2 AND session_id = $3', [app, userID, sessionID]);
  }

  async refresh(node: string, expiresAt: number): Promise<number> {
    return (await this.#pool.query('UPDATE presence SET expires_at = $1 WHERE node = $2', [expiresAt, node])).rowCount ?? 0;
  }

  async removeNode(node: string): Promise<void> {
    await this.#pool.query('DELETE FROM presence WHERE node = $1', [node]);
  }

  async online(app: number, userID: string, now: number): Promise<PresenceRecord[]> {
    const { rows } = await this.#pool.query<RawPresence>(`SELECT node, session_id, device_id, capabilities, protocol_version, since
      FROM presence WHERE app_id = $1 AND user_id = $2 AND expires_at > $3 ORDER BY since, session_id`, [app, userID, now]);
    return rows.map(toRecord);
  }

  async onlineAmong(app: number, userIDs: string[], now: number): Promise<Set<string>> {
    if (userIDs.length === 0) return new Set();
    const { rows } = await this.#pool.query<{ user_id: string }>(`SELECT DISTINCT user_id FROM presence
      WHERE app_id = $1 AND user_id = ANY($2::text[]) AND expires_at > $3`, [app, userIDs, now]);
    return new Set(rows.map((r) => r.user_id));
  }

  async sweep(olderThan: number): Promise<number> {
    return (await this.#pool.query('DELETE FROM presence WHERE expires_at < $1', [olderThan])).rowCount ?? 0;
  }
}
