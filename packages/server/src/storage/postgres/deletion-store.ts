import type pg from 'pg';
import { StaleLeaseError, type DeletionMode, type DeletionRecord, type DeletionStore, type LeaseFence, type UserChange } from '../types.js';
import { purgedSendKey } from '../purged-sends.js';
import { applyRemoval, applyUndo, type Snapshot } from '../row-rules.js';
import { UserChangeSet } from './rows.js';
import { withTransaction } from './tx.js';
import { AUDIT_TABLE, CONTENT_TABLES, rewriteTables, type RewriteOptions } from './erasure.js';

interface RawDeletion {
  id: number; user_id: string; conversation_id: string; device_id: string; mode: string;
  watermark_seq: number | null; created_at: number; purged_at: number | null;
  version: number; undo_until: number | null; undone_at: number | null; erased_at: number | null;
}

const DELETION_COLUMNS = `id, user_id, conversation_id, device_id, mode, watermark_seq, created_at, purged_at,
  version, undo_until, undone_at, erased_at`;

type Target = { convKey: string; conversationID: string };
type RemoveOptions = { mode: DeletionMode; deviceID: string; now: number; undoUntil?: number; requestID?: string };


/**
 * The per-conversation purge lock, an advisory lock keyed by schema, app and
 * conversation. A deletion that moves watermarks (or an undo that moves one back)
 * holds it shared; a purge step holds it exclusively. So a purge step never works from
 * a floor that a concurrent deletion is changing and then drops the queue entry that
 * deletion relies on; and two nodes purging the same conversation take turns, each
 * starting from where the other left off, so no row is erased twice or skipped.
 * (The conversation row lock a purge step takes would also serialise two steps; hash
 * collisions only serialise more.)
 */
const PURGE_LOCK_KEY = `hashtextextended(current_schema() || ':' || $1::text || ':' || $2::text, 0)`;

async function lockPurge(client: pg.PoolClient, app: number, convKeys: string[], mode: 'shared' | 'exclusive'): Promise<void> {
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  for (const convKey of [...new Set(convKeys)].sort()) await client.query(`SELECT ${fn}(${PURGE_LOCK_KEY})`, [app, convKey]);
}

const COMPACT_LOCK_KEY = `hashtextextended('confab:compact:' || current_schema(), 0)`;

export class PgDeletionStore implements DeletionStore {
  readonly #pool: pg.Pool;
  readonly #erasure: RewriteOptions;

  constructor(pool: pg.Pool, erasure: RewriteOptions = {}) {
    this.#pool = pool;
    this.#erasure = erasure;
  }

  async remove(app: number, userID: string, targets: Target[], opts: RemoveOptions): Promise<{ change: UserChange | null }> {
    return withTransaction(this.#pool, (client) => this.#remove(client, app, userID, targets, opts));
  }

  async #remove(client: pg.PoolClient, app: number, userID: string, targets: Target[], opts: RemoveOptions): Promise<{ change: UserChange | null }> {
    const movesWatermark = opts.mode !== 'deleteKeepHistory';
    // Lock order, as everywhere: purge locks (sorted), then the account.
    if (movesWatermark) await lockPurge(client, app, targets.map((t) => t.convKey), 'shared');
    const changes = new UserChangeSet(client, app);
    await changes.lock([userID]);
    // Under the user's lock: two retries of one request racing each other apply it once.
    if (opts.requestID !== undefined) {
      const claimed = await client.query(`INSERT INTO deletion_requests (app_id, user_id, request_id, created_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT DO NOTHING`, [app, userID, opts.requestID, opts.now]);
      if (claimed.rowCount === 0) return { change: null };
    }
    await changes.load(targets.map((t) => ({ userID, convKey: t.convKey })));
    const audits: { target: Target; watermark: number | null; snapshot: Snapshot }[] = [];
    for (const target of targets) {
      const row = await changes.row(userID, target.convKey);
      if (!row) continue;
      const removed = applyRemoval(row, opts.mode);
      if (!removed) continue;
      changes.put(row);
      audits.push({ target, ...removed });
    }
    const [change] = await changes.commit();
    if (!change) return { change: null };
    // The audit trail: who, which conversation, when, from where, how, the watermark.
    // The snapshot (for undo) is kept only while the undo window is open.
    await client.query(`INSERT INTO deletions (app_id, user_id, conversation_id, conv_key, device_id, mode, watermark_seq, created_at,
        version, undo_until, undo_snapshot)
      SELECT $1::bigint, $2::text, t.conversation_id, t.conv_key, $3::text, $4::text, t.watermark_seq, $5::bigint, $6::bigint, $7::bigint, t.snapshot
      FROM unnest($8::text[], $9::text[], $10::bigint[], $11::text[]) WITH ORDINALITY AS t(conversation_id, conv_key, watermark_seq, snapshot, ord)
      ORDER BY t.ord`, [app, userID, opts.deviceID, opts.mode, opts.now, change.version, opts.undoUntil ?? null,
      audits.map((a) => a.target.conversationID), audits.map((a) => a.target.convKey), audits.map((a) => a.watermark),
      audits.map((a) => (opts.undoUntil ? JSON.stringify(a.snapshot) : null))]);
    // Queue in key order, so two deletions of the same conversations never wait on each
    // other in a cycle. Re-queueing keeps the latest undo deadline: nothing of the
    // conversation is purged while any of its deletions can still be undone.
    const queued = [...new Set(audits.filter((a) => a.watermark !== null).map((a) => a.target.convKey))].sort();
    for (const convKey of queued) {
      await client.query(`INSERT INTO purge_queue (app_id, conv_key, queued_at, not_before) VALUES ($1, $2, $3, $4)
        ON CONFLICT (app_id, conv_key) DO UPDATE SET not_before = greatest(purge_queue.not_before, excluded.not_before)`,
      [app, convKey, opts.now, opts.undoUntil ?? 0]);
    }
    return { change };
  }

  async undo(app: number, userID: string, convKey: string, now: number): Promise<{ change: UserChange | null }> {
    return withTransaction(this.#pool, async (client) => {
      await lockPurge(client, app, [convKey], 'shared');
      const changes = new UserChangeSet(client, app);
      await changes.lock([userID]);
      // Read under the user's lock: two devices undoing at once undo one deletion each, in turn.
      const { rows: [record] } = await client.query<{ id: number; mode: string; undo_snapshot: string | null }>(`
        SELECT id, mode, undo_snapshot FROM deletions WHERE app_id = $1 AND user_id = $2 AND conv_key = $3 AND undone_at IS NULL
        AND undo_until IS NOT NULL AND undo_until >= $4 ORDER BY id DESC LIMIT 1`, [app, userID, convKey, now]);
      if (!record?.undo_snapshot) return { change: null };
      const snapshot = JSON.parse(record.undo_snapshot) as Snapshot;
      const row = await changes.row(userID, convKey);
      if (!row) return { change: null };
      applyUndo(row, snapshot, record.mode as DeletionMode);
      changes.put(row);
      await client.query('UPDATE deletions SET undone_at = $1, undo_snapshot = NULL WHERE id = $2', [now, record.id]);
      const [change] = await changes.commit();
      return { change: change ?? null };
    });
  }

  async list(app: number, filter: { userID?: string; limit: number; beforeID?: number }): Promise<DeletionRecord[]> {
    const before = filter.beforeID ?? Number.MAX_SAFE_INTEGER;
    const { rows } = filter.userID
      ? await this.#pool.query<RawDeletion>(`SELECT ${DELETION_COLUMNS} FROM deletions WHERE app_id = $1 AND user_id = $2 AND id < $3
          ORDER BY id DESC LIMIT $4`, [app, filter.userID, before, filter.limit])
      : await this.#pool.query<RawDeletion>(`SELECT ${DELETION_COLUMNS} FROM deletions WHERE app_id = $1 AND id < $2
          ORDER BY id DESC LIMIT $3`, [app, before, filter.limit]);
    return rows.map((r) => ({
      id: r.id, userID: r.user_id, conversationID: r.conversation_id, deviceID: r.device_id, mode: r.mode as DeletionMode,
      watermarkSeq: r.watermark_seq, createdAt: r.created_at, purgedAt: r.purged_at, version: r.version,
      undoUntil: r.undo_until, undoneAt: r.undone_at, erasedAt: r.erased_at,
    }));
  }

  async lastDeleters(app: number, userID: string, convKeys: string[]): Promise<Map<string, string>> {
    if (convKeys.length === 0) return new Map();
    // One index probe per conversation (deletions_by_conversation), newest first.
    const { rows } = await this.#pool.query<{ conv_key: string; device_id: string }>(`SELECT k.conv_key, d.device_id
      FROM unnest($3::text[]) AS k(conv_key)
      CROSS JOIN LATERAL (SELECT device_id FROM deletions WHERE app_id = $1 AND user_id = $2 AND conv_key = k.conv_key
        AND undone_at IS NULL ORDER BY id DESC LIMIT 1) AS d`, [app, userID, [...new Set(convKeys)]]);
    return new Map(rows.map((r) => [r.conv_key, r.device_id]));
  }

  async purgeBacklog(cap: number): Promise<number> {
    const { rows } = await this.#pool.query<{ n: string }>('SELECT count(*) AS n FROM (SELECT 1 FROM purge_queue LIMIT $1) q', [cap]);
    return Number(rows[0]!.n);
  }

  async purgeQueue(limit: number, now: number): Promise<{ app: number; convKey: string }[]> {
    return withTransaction(this.#pool, async (client) => {
      // Snapshots of deletions whose undo window closed are dropped first: from then on
      // the deletion is irrecoverable, as promised. Rows another transaction holds are
      // left for the next call rather than waited for (no lock waits, no deadlocks).
      await client.query(`UPDATE deletions SET undo_snapshot = NULL WHERE id IN (SELECT id FROM deletions
        WHERE undo_snapshot IS NOT NULL AND undo_until < $1 FOR UPDATE SKIP LOCKED)`, [now]);
      const { rows } = await client.query<{ app_id: number; conv_key: string }>(`SELECT app_id, conv_key FROM purge_queue
        WHERE not_before <= $1 ORDER BY queued_at, app_id, conv_key LIMIT $2`, [now, limit]);
      return rows.map((r) => ({ app: r.app_id, convKey: r.conv_key }));
    });
  }

  async purgeStep(app: number, convKey: string, maxRows: number, now: number, fence?: LeaseFence): Promise<{ erased: number; done: boolean }> {
    return withTransaction(this.#pool, (client) => this.#purge(client, app, convKey, maxRows, now, fence));
  }

  async #purge(client: pg.PoolClient, app: number, convKey: string, maxRows: number, now: number,
    fence: LeaseFence | undefined): Promise<{ erased: number; done: boolean }> {
    if (fence) {
      // FOR SHARE: a node taking the lease over waits for this step to commit, so the
      // token cannot change between this check and the step's writes.
      const current = (await client.query<{ token: number }>('SELECT token FROM leases WHERE name = $1 FOR SHARE',
        [fence.lease])).rows[0]?.token ?? null;
      if (current !== fence.token) throw new StaleLeaseError(fence, current);
    }
    await lockPurge(client, app, [convKey], 'exclusive');
    const markPurged = (below: number) => client.query(`UPDATE deletions SET purged_at = $1
      WHERE app_id = $2 AND conv_key = $3 AND purged_at IS NULL AND watermark_seq IS NOT NULL AND watermark_seq <= $4`,
    [now, app, convKey, below]);
    const dequeue = () => client.query('DELETE FROM purge_queue WHERE app_id = $1 AND conv_key = $2', [app, convKey]);
    // A deletion that can still be undone holds the whole conversation back, even when it
    // was queued after this run listed the queue.
    const held = (await client.query<{ not_before: number }>(
      'SELECT not_before FROM purge_queue WHERE app_id = $1 AND conv_key = $2', [app, convKey])).rows[0];
    if (held && held.not_before > now) return { erased: 0, done: true };

    const floor = (await client.query<{ floor: number | null }>(
      // One seek on user_conversations_by_watermark, not a read of every participant's row.
      `SELECT visible_from_seq AS floor FROM user_conversations WHERE app_id = $1 AND conv_key = $2
        ORDER BY visible_from_seq LIMIT 1`, [app, convKey])).rows[0]?.floor ?? null;
    const conversation = (await client.query<{ last_seq: number; purged_below_seq: number }>(
      'SELECT last_seq, purged_below_seq FROM conversations WHERE app_id = $1 AND conv_key = $2 FOR NO KEY UPDATE',
      [app, convKey])).rows[0];
    if (floor === null || !conversation) {
      await markPurged(Number.MAX_SAFE_INTEGER);
      await dequeue();
      return { erased: 0, done: true };
    }
    // Purge below the lowest watermark of every participant: both sides of a C2C chat,
    // every current and former group member. Nobody can see those messages any more.
    const target = Math.min(floor, conversation.last_seq + 1);
    const from = conversation.purged_below_seq;
    const upTo = Math.min(target, from + maxRows);
    let erased = 0;
    if (upTo > from) {
      const { rows: gone } = await client.query<{ sender: string; client_msg_id: string }>(`DELETE FROM messages
        WHERE app_id = $1 AND conv_key = $2 AND seq >= $3 AND seq < $4 RETURNING sender, client_msg_id`, [app, convKey, from, upTo]);
      // In the same transaction: from the moment a message is gone, its resend is refused.
      if (gone.length > 0) {
        await client.query(`INSERT INTO purged_sends (app_id, conv_key, sender, send_key, purged_at)
          SELECT $1::bigint, $2::text, t.sender, t.send_key, $3::bigint FROM unnest($4::text[], $5::text[]) AS t(sender, send_key)
          ON CONFLICT (app_id, conv_key, sender, send_key) DO UPDATE SET purged_at = excluded.purged_at`,
        [app, convKey, now, gone.map((m) => m.sender), gone.map((m) => purgedSendKey(app, convKey, m.sender, m.client_msg_id))]);
      }
      erased = gone.length;
      await client.query('UPDATE conversations SET purged_below_seq = $1 WHERE app_id = $2 AND conv_key = $3', [upTo, app, convKey]);
    }
    const purgedBelow = Math.max(from, upTo);
    await markPurged(purgedBelow);
    const done = purgedBelow >= target;
    if (done) await dequeue();
    return { erased, done };
  }

  async forgetRequests(olderThan: number): Promise<number> {
    return (await this.#pool.query('DELETE FROM deletion_requests WHERE created_at < $1', [olderThan])).rowCount ?? 0;
  }

  async wasPurged(app: number, convKey: string, sender: string, clientMsgID: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query('SELECT 1 FROM purged_sends WHERE app_id = $1 AND conv_key = $2 AND sender = $3 AND send_key = $4',
      [app, convKey, sender, purgedSendKey(app, convKey, sender, clientMsgID)]);
    return (rowCount ?? 0) > 0;
  }

  async forgetPurged(olderThan: number): Promise<number> {
    return (await this.#pool.query('DELETE FROM purged_sends WHERE purged_at < $1', [olderThan])).rowCount ?? 0;
  }

  async awaitingErasure(): Promise<boolean> {
    return ((await this.#pool.query('SELECT 1 FROM deletions WHERE purged_at IS NOT NULL AND erased_at IS NULL LIMIT 1')).rowCount ?? 0) > 0;
  }

  async compact(now = Date.now()): Promise<{ complete: boolean; erased: number }> {
    // VACUUM cannot run inside a transaction block, so it runs as plain statements on a
    // connection of its own (./erasure.ts says why it is VACUUM FULL and what it waits for).
    //
    // Nodes take turns (a session advisory lock): two rewrites of the same table would
    // only queue one behind the other's exclusive lock and time out.
    const client = await this.#pool.connect();
    let broken = false;
    try {
      await client.query(`SELECT pg_advisory_lock(${COMPACT_LOCK_KEY})`);
      try {
        // The deletions this rewrite covers: purged (committed) before it starts. Their
        // count is what the purge produced since the last rewrite, on the partial index.
        const { rows: [due] } = await client.query<{ ids: number[] | null; undo: boolean | null }>(`SELECT array_agg(id) AS ids,
          bool_or(undo_until IS NOT NULL) AS undo FROM deletions WHERE purged_at IS NOT NULL AND erased_at IS NULL`);
        const ids = due?.ids ?? [];
        // The audit table holds drafts and custom data only in undo snapshots; it is
        // rewritten only when one of these deletions had an undo window.
        const tables = due?.undo ? [...CONTENT_TABLES, AUDIT_TABLE] : [...CONTENT_TABLES];
        const outcome = await rewriteTables(client, tables, this.#erasure);
        if (!outcome.complete) return { complete: false, erased: 0 };
        if (ids.length === 0) return { complete: true, erased: 0 };
        const stamped = await client.query('UPDATE deletions SET erased_at = $1 WHERE id = ANY($2::bigint[]) AND erased_at IS NULL', [now, ids]);
        return { complete: true, erased: stamped.rowCount ?? 0 };
      } finally {
        await client.query(`SELECT pg_advisory_unlock(${COMPACT_LOCK_KEY})`).catch(() => {
          broken = true; // drop the connection, and its lock with it
        });
      }
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      client.release(broken);
    }
  }
}
