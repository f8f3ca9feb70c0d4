import type Database from 'better-sqlite3';
import type { LeaseStore } from '../types.js';

/**
 * Leases on the embedded database. One process owns the SQLite file, so a lease here
 * only ever has one candidate in practice; it is still a real lease (the same rules as
 * the PostgreSQL one, checked by the same conformance tests), which keeps the purge
 * worker's code one path for both backends. The file is not opened exclusively (WAL
 * readers such as `confab app list` may share it), so a restarted process does not take
 * the lease by force: it keeps its node ID in the data folder (../../node-identity.ts)
 * and so renews the lease its previous run left, at once.
 */
export class SqliteLeaseStore implements LeaseStore {
  readonly #s;

  constructor(db: Database.Database) {
    this.#s = {
      // One statement: insert, or take over an expired (or released) lease, or renew our
      // own. Taking a lease that was not ours and live steps its token; renewing keeps it.
      acquire: db.prepare(`INSERT INTO leases (name, holder, expires_at, token) VALUES (?, ?, ?, 1)
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
          token = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > ? THEN leases.token ELSE leases.token + 1 END
        WHERE leases.expires_at <= ? OR leases.holder = excluded.holder
        RETURNING token`),
      // The row stays (expired), so the token keeps growing across releases.
      release: db.prepare('UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?'),
      holder: db.prepare('SELECT holder, expires_at FROM leases WHERE name = ? AND expires_at > ?'),
    };
  }

  async tryAcquire(name: string, holder: string, ttlMs: number, now: number): Promise<number | null> {
    const row = this.#s.acquire.get(name, holder, now + ttlMs, now, now) as { token: number } | undefined;
    return row ? row.token : null;
  }

  async release(name: string, holder: string): Promise<void> {
    this.#s.release.run(name, holder);
  }

  async holder(name: string, now: number): Promise<{ holder: string; expiresAt: number } | undefined> {
    const row = this.#s.holder.get(name, now) as { holder: string; expires_at: number } | undefined;
    return row ? { holder: row.holder, expiresAt: row.expires_at } : undefined;
  }
}
