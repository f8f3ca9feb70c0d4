import type Database from 'better-sqlite3';
import type { LeaseStore } from '../types.js';

/**
 * Leases on the embedded database. One process owns the SQLite file, so a lease here
 * only ever has one candidate in practice; it is still a real lease (the same rules as
 * the PostgreSQL one, checked by the same conformance tests), which keeps the purge
 * worker's code one path for both backends.
 */
export class SqliteLeaseStore implements LeaseStore {
  readonly #s;

  constructor(db: Database.Database) {
    this.#s = {
      // One statement: insert, or take over an expired lease, or renew our own.
      acquire: db.prepare(`INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
        WHERE leases.expires_at <= ? OR leases.holder = excluded.holder`),
      release: db.prepare('DELETE FROM leases WHERE name = ? AND holder = ?'),
      holder: db.prepare('SELECT holder, expires_at FROM leases WHERE name = ? AND expires_at > ?'),
    };
  }

  async tryAcquire(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    return this.#s.acquire.run(name, holder, now + ttlMs, now).changes === 1;
  }

  async release(name: string, holder: string): Promise<void> {
    this.#s.release.run(name, holder);
  }

  async holder(name: string, now: number): Promise<{ holder: string; expiresAt: number } | undefined> {
    const row = this.#s.holder.get(name, now) as { holder: string; expires_at: number } | undefined;
    return row ? { holder: row.holder, expiresAt: row.expires_at } : undefined;
  }
}
