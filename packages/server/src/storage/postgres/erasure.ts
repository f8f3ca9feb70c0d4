import type pg from 'pg';

/**
 * Making purged rows unreadable from PostgreSQL's files (docs/deletion.md, "What is
 * erased where").
 *
 * A DELETE only marks a tuple dead, and a plain VACUUM frees its space without
 * overwriting it: a page whose last tuple was the erased message keeps those bytes until
 * new rows happen to fill the gap, and a B-tree page keeps the index entry's bytes the
 * same way. (Measured on PostgreSQL 15: after DELETE + `VACUUM (FREEZE, INDEX_CLEANUP
 * ON)` + CHECKPOINT, a message that was the last tuple of its page was still in the heap
 * file and its clientMsgID still in the index file.) So the erasure rewrites each table
 * that held erased content into a new file with `VACUUM FULL`, which also rebuilds its
 * indexes; at commit the old files are truncated to zero length (and unlinked at the
 * next checkpoint). The new files are written and synced directly, not through shared
 * buffers, so no CHECKPOINT is needed for the data files.
 *
 * Two things could make a rewrite copy an erased row anyway, and both are checked first:
 * - A transaction that started before the purge committed still sees the row, so VACUUM
 *   FULL keeps it ("recently dead"). The rewrite starts only once no session of this
 *   database (nor a prepared transaction, nor a replication slot) holds a snapshot or
 *   an xid older than a transaction taken after the purge; it waits up to
 *   `horizonWaitMs` and otherwise reports the erasure incomplete, for a later run.
 *   (Other sessions' horizons are only visible to a role with pg_read_all_stats.)
 * - VACUUM FULL takes an ACCESS EXCLUSIVE lock. Queued behind a long transaction it
 *   would make every sender queue behind it, so it gives up after `lockTimeoutMs`.
 */

/** The tables whose rows can hold what a user wrote: message text and clientMsgIDs, drafts, custom data, marks. */
export const CONTENT_TABLES = ['messages', 'user_conversations'] as const;
/** Holds a deletion's undo snapshot (draft, custom data, marks) while its undo window is open. */
export const AUDIT_TABLE = 'deletions';

export interface RewriteOptions {
  /** How long to wait for older transactions to end before giving up (default 10 s). */
  horizonWaitMs?: number;
  /** How long each rewrite may wait for its table lock (default 2 s). */
  lockTimeoutMs?: number;
}

export type RewriteOutcome = { complete: true; tables: string[] } | { complete: false; reason: string };

/**
 * The transaction ID every erased row's deletion is older than: taken in a transaction
 * of its own, after the purge steps committed. The low 32 bits, as `xid` columns hold them.
 */
async function fenceXid(client: pg.PoolClient): Promise<string> {
  const { rows: [row] } = await client.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x');
  return (BigInt(row!.x) & 0xffffffffn).toString();
}

/** How many holders of a snapshot or xid older than `xid` remain (sessions, prepared transactions, slots). */
async function olderHolders(client: pg.PoolClient, xid: string): Promise<number> {
  // age() counts back from the next xid, so "older than the fence" is "greater age".
  // Sessions of other databases do not hold back the removal of this database's rows,
  // except a walsender with hot_standby_feedback (no database) and replication slots.
  const { rows: [row] } = await client.query<{ n: number }>(`SELECT
      (SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()
        AND (datname = current_database() OR datname IS NULL)
        AND ((backend_xmin IS NOT NULL AND age(backend_xmin) > age($1::xid))
          OR (backend_xid IS NOT NULL AND age(backend_xid) > age($1::xid))))
    + (SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database() AND age(transaction) > age($1::xid))
    + (SELECT count(*) FROM pg_replication_slots WHERE (xmin IS NOT NULL AND age(xmin) > age($1::xid))
        OR (catalog_xmin IS NOT NULL AND age(catalog_xmin) > age($1::xid)))
    AS n`, [xid]);
  return Number(row!.n);
}

/**
 * Rewrites `tables` (unqualified names, resolved in the connection's schema) once no
 * transaction older than the purge remains. Runs outside any transaction block, as
 * VACUUM must.
 */
export async function rewriteTables(client: pg.PoolClient, tables: readonly string[], options: RewriteOptions = {}): Promise<RewriteOutcome> {
  const horizonWaitMs = options.horizonWaitMs ?? 10_000;
  const lockTimeoutMs = options.lockTimeoutMs ?? 2_000;
  const xid = await fenceXid(client);
  const deadline = Date.now() + horizonWaitMs;
  for (let pause = 10; ; pause = Math.min(pause * 2, 500)) {
    const holders = await olderHolders(client, xid);
    if (holders === 0) break;
    if (Date.now() > deadline) {
      return { complete: false, reason: `${holders} transaction(s) older than the purge still running` };
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  await client.query(`SET lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
  try {
    for (const table of tables) {
      try {
        await client.query(`VACUUM (FULL) ${table}`);
      } catch (err) {
        if ((err as { code?: string }).code === '55P03') return { complete: false, reason: `lock on ${table} not granted in ${lockTimeoutMs} ms` };
        throw err;
      }
    }
  } finally {
    await client.query('RESET lock_timeout');
  }
  return { complete: true, tables: [...tables] };
}
