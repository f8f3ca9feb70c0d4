import type pg from 'pg';
import type { LeaseStore } from '../types.js';

/**
 * Leases in a table, `leases (name, holder, expires_at, token)`, taken and renewed by
 * one atomic upsert: insert, or take over an expired lease, or renew one's own. The
 * token is the fencing token (see `LeaseStore`).
 *
 * Why a table lease with a TTL rather than a session advisory lock
 * (`pg_try_advisory_lock` on a dedicated connection):
 * - An advisory lock lives as long as its connection. A node that hangs with its TCP
 *   connection open (a stuck event loop, a stopped VM, a network partition the kernel
 *   has not noticed) keeps the lock until keepalives or `tcp_user_timeout` end the
 *   session, often many minutes; nothing else does the job meanwhile. A lease simply
 *   runs out after its TTL unless the holder keeps renewing it, and the holder can only
 *   renew while it is really working.
 * - It needs no connection held aside per node and no session state, so it would also
 *   work through a transaction-mode pooler, where session-level locks are not available.
 * - It is visible: `SELECT * FROM leases` shows which node holds what until when.
 * The price is the TTL: after a crash the job waits up to one TTL before another node
 * takes over (a clean shutdown releases the lease at once), and nodes' clocks must agree
 * to well within the TTL. A holder that stalls past its TTL and wakes up after another
 * node took over is stopped by the fencing token: its next purge step finds the token
 * changed and writes nothing (see deletion-store.ts).
 */
export class PgLeaseStore implements LeaseStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async tryAcquire(name: string, holder: string, ttlMs: number, now: number): Promise<number | null> {
    // One statement is atomic: two nodes racing for a free or expired lease both reach
    // the row lock; the second re-checks the WHERE against the first one's new row and
    // finds it neither expired nor its own, so exactly one of them gets a row back.
    // Taking a lease that was not ours and live steps its fencing token; renewing keeps it.
    const { rows } = await this.#pool.query<{ token: number }>(`INSERT INTO leases (name, holder, expires_at, token) VALUES ($1, $2, $3, 1)
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
        token = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > $4 THEN leases.token ELSE leases.token + 1 END
      WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder
      RETURNING token`, [name, holder, now + ttlMs, now]);
    return rows[0] ? rows[0].token : null;
  }

  async release(name: string, holder: string): Promise<void> {
    // The row stays (expired), so the token keeps growing across releases.
    await this.#pool.query('UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2', [name, holder]);
  }

  async holder(name: string, now: number): Promise<{ holder: string; expiresAt: number } | undefined> {
    const { rows } = await this.#pool.query<{ holder: string; expires_at: number }>(
      'SELECT holder, expires_at FROM leases WHERE name = $1 AND expires_at > $2', [name, now]);
    return rows[0] ? { holder: rows[0].holder, expiresAt: rows[0].expires_at } : undefined;
  }
}
