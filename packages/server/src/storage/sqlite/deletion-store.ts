import type Database from 'better-sqlite3';
import { StaleLeaseError, type DeletionMode, type DeletionRecord, type DeletionStore, type LeaseFence, type UserChange } from '../types.js';
import { purgedSendKey } from '../purged-sends.js';
import { prepareRowStatements, UserChangeSet, type RowStatements } from './rows.js';
import { applyRemoval, applyUndo, type Snapshot } from '../row-rules.js';

interface RawDeletion {
  id: number; user_id: string; conversation_id: string; device_id: string; mode: string;
  watermark_seq: number | null; created_at: number; purged_at: number | null;
  version: number; undo_until: number | null; undone_at: number | null; erased_at: number | null;
}


export class SqliteDeletionStore implements DeletionStore {
  readonly #db: Database.Database;
  readonly #rows: RowStatements;
  readonly #s;
  readonly #removeTx;
  readonly #purgeTx;
  readonly #undoTx;

  #purged: Set<string> | undefined;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#rows = prepareRowStatements(db);
    this.#s = {
      audit: db.prepare(`INSERT INTO deletions (app_id, user_id, conversation_id, conv_key, device_id, mode, watermark_seq, created_at,
        purged_at, version, undo_until, undo_snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)`),
      // Re-queueing keeps the latest undo deadline: nothing of the conversation is
      // purged while any of its deletions can still be undone.
      enqueue: db.prepare(`INSERT INTO purge_queue (app_id, conv_key, queued_at, not_before) VALUES (?, ?, ?, ?)
        ON CONFLICT (app_id, conv_key) DO UPDATE SET not_before = max(not_before, excluded.not_before)`),
      queue: db.prepare('SELECT app_id, conv_key FROM purge_queue WHERE not_before <= ? ORDER BY queued_at, app_id, conv_key LIMIT ?'),
      undoable: db.prepare(`SELECT * FROM deletions WHERE app_id = ? AND user_id = ? AND conv_key = ? AND undone_at IS NULL
        AND undo_until IS NOT NULL AND undo_until >= ? ORDER BY id DESC LIMIT 1`),
      markUndone: db.prepare('UPDATE deletions SET undone_at = ?, undo_snapshot = NULL WHERE id = ?'),
      expireSnapshots: db.prepare('UPDATE deletions SET undo_snapshot = NULL WHERE undo_snapshot IS NOT NULL AND undo_until < ?'),
      dequeue: db.prepare('DELETE FROM purge_queue WHERE app_id = ? AND conv_key = ?'),
      notBefore: db.prepare('SELECT not_before FROM purge_queue WHERE app_id = ? AND conv_key = ?'),
      forgetRequests: db.prepare('DELETE FROM deletion_requests WHERE created_at < ?'),
      claimRequest: db.prepare('INSERT INTO deletion_requests (app_id, user_id, request_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      // One seek on user_conversations_by_watermark, not a read of every participant's
      // row: a 6,000-member group would otherwise cost 6,000 rows per purge step.
      floor: db.prepare(`SELECT visible_from_seq AS floor FROM user_conversations WHERE app_id = ? AND conv_key = ?
        ORDER BY visible_from_seq LIMIT 1`),
      conversation: db.prepare('SELECT last_seq, purged_below_seq FROM conversations WHERE app_id = ? AND conv_key = ?'),
      erase: db.prepare('DELETE FROM messages WHERE app_id = ? AND conv_key = ? AND seq >= ? AND seq < ? RETURNING sender, client_msg_id'),
      rememberPurged: db.prepare(`INSERT INTO purged_sends (app_id, conv_key, sender, send_key, purged_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT DO UPDATE SET purged_at = excluded.purged_at`),
      wasPurged: db.prepare('SELECT 1 FROM purged_sends WHERE app_id = ? AND conv_key = ? AND sender = ? AND send_key = ?'),
      forgetPurged: db.prepare('DELETE FROM purged_sends WHERE purged_at < ?'),
      purgedConversations: db.prepare('SELECT DISTINCT app_id, conv_key FROM purged_sends'),
      leaseToken: db.prepare('SELECT token FROM leases WHERE name = ?'),
      lastDeleter: db.prepare(`SELECT device_id FROM deletions WHERE app_id = ? AND user_id = ? AND conv_key = ? AND undone_at IS NULL
        ORDER BY id DESC LIMIT 1`),
      setPurged: db.prepare('UPDATE conversations SET purged_below_seq = ? WHERE app_id = ? AND conv_key = ?'),
      markPurged: db.prepare(`UPDATE deletions SET purged_at = ? WHERE app_id = ? AND conv_key = ? AND purged_at IS NULL
        AND watermark_seq IS NOT NULL AND watermark_seq <= ?`),
      markErased: db.prepare('UPDATE deletions SET erased_at = ? WHERE purged_at IS NOT NULL AND erased_at IS NULL'),
      unerased: db.prepare('SELECT 1 FROM deletions WHERE purged_at IS NOT NULL AND erased_at IS NULL LIMIT 1'),
      listAll: db.prepare('SELECT * FROM deletions WHERE app_id = ? AND id < ? ORDER BY id DESC LIMIT ?'),
      listUser: db.prepare('SELECT * FROM deletions WHERE app_id = ? AND user_id = ? AND id < ? ORDER BY id DESC LIMIT ?'),
    };
    this.#removeTx = db.transaction(this.#remove.bind(this));
    this.#undoTx = db.transaction(this.#undo.bind(this));
    this.#purgeTx = db.transaction(this.#purge.bind(this));
  }

  async remove(app: number, userID: string, targets: { convKey: string; conversationID: string }[],
    opts: { mode: DeletionMode; deviceID: string; now: number; undoUntil?: number; requestID?: string }): Promise<{ change: UserChange | null }> {
    return this.#removeTx(app, userID, targets, opts);
  }

  #remove(app: number, userID: string, targets: { convKey: string; conversationID: string }[],
    opts: { mode: DeletionMode; deviceID: string; now: number; undoUntil?: number; requestID?: string }): { change: UserChange | null } {
    if (opts.requestID !== undefined && this.#s.claimRequest.run(app, userID, opts.requestID, opts.now).changes === 0) {
      return { change: null };
    }
    const changes = new UserChangeSet(app, this.#rows);
    const audits: { target: { convKey: string; conversationID: string }; watermark: number | null; snapshot: Snapshot }[] = [];
    for (const target of targets) {
      const row = changes.row(userID, target.convKey);
      if (!row) continue;
      const removed = applyRemoval(row, opts.mode);
      if (!removed) continue;
      changes.put(row);
      audits.push({ target, ...removed });
    }
    const [change] = changes.commit();
    for (const { target, watermark, snapshot } of audits) {
      this.#s.audit.run(app, userID, target.conversationID, target.convKey, opts.deviceID, opts.mode, watermark, opts.now,
        change!.version, opts.undoUntil ?? null, opts.undoUntil ? JSON.stringify(snapshot) : null);
      if (watermark !== null) this.#s.enqueue.run(app, target.convKey, opts.now, opts.undoUntil ?? 0);
    }
    return { change: change ?? null };
  }

  async undo(app: number, userID: string, convKey: string, now: number): Promise<{ change: UserChange | null }> {
    return this.#undoTx(app, userID, convKey, now);
  }

  #undo(app: number, userID: string, convKey: string, now: number): { change: UserChange | null } {
    const record = this.#s.undoable.get(app, userID, convKey, now) as (RawDeletion & { undo_snapshot: string | null }) | undefined;
    if (!record?.undo_snapshot) return { change: null };
    const snapshot = JSON.parse(record.undo_snapshot) as Snapshot;
    const changes = new UserChangeSet(app, this.#rows);
    const row = changes.row(userID, convKey);
    if (!row) return { change: null };
    applyUndo(row, snapshot, record.mode as DeletionMode);
    changes.put(row);
    this.#s.markUndone.run(now, record.id);
    const [change] = changes.commit();
    return { change: change ?? null };
  }

  async list(app: number, filter: { userID?: string; limit: number; beforeID?: number }): Promise<DeletionRecord[]> {
    const before = filter.beforeID ?? Number.MAX_SAFE_INTEGER;
    const raws = (filter.userID
      ? this.#s.listUser.all(app, filter.userID, before, filter.limit)
      : this.#s.listAll.all(app, before, filter.limit)) as RawDeletion[];
    return raws.map((r) => ({
      id: r.id, userID: r.user_id, conversationID: r.conversation_id, deviceID: r.device_id, mode: r.mode as DeletionMode,
      watermarkSeq: r.watermark_seq, createdAt: r.created_at, purgedAt: r.purged_at, version: r.version,
      undoUntil: r.undo_until, undoneAt: r.undone_at, erasedAt: r.erased_at,
    }));
  }

  async lastDeleters(app: number, userID: string, convKeys: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const convKey of new Set(convKeys)) {
      const row = this.#s.lastDeleter.get(app, userID, convKey) as { device_id: string } | undefined;
      if (row) out.set(convKey, row.device_id);
    }
    return out;
  }

  async purgeQueue(limit: number, now: number): Promise<{ app: number; convKey: string }[]> {
    // Snapshots of deletions whose undo window closed are dropped first: from then on
    // the deletion is irrecoverable, as promised.
    this.#s.expireSnapshots.run(now);
    return (this.#s.queue.all(now, limit) as { app_id: number; conv_key: string }[]).map((r) => ({ app: r.app_id, convKey: r.conv_key }));
  }

  async purgeBacklog(cap: number): Promise<number> {
    return (this.#db.prepare('SELECT count(*) AS n FROM (SELECT 1 FROM purge_queue LIMIT ?)').get(cap) as { n: number }).n;
  }

  async purgeStep(app: number, convKey: string, maxRows: number, now: number, fence?: LeaseFence): Promise<{ erased: number; done: boolean }> {
    return this.#purgeTx(app, convKey, maxRows, now, fence);
  }

  #purge(app: number, convKey: string, maxRows: number, now: number, fence: LeaseFence | undefined): { erased: number; done: boolean } {
    if (fence) {
      const current = (this.#s.leaseToken.get(fence.lease) as { token: number } | undefined)?.token ?? null;
      if (current !== fence.token) throw new StaleLeaseError(fence, current);
    }
    // A deletion that can still be undone holds the whole conversation back, even when it
    // was queued after this run listed the queue.
    const held = this.#s.notBefore.get(app, convKey) as { not_before: number } | undefined;
    if (held && held.not_before > now) return { erased: 0, done: true };
    const floor = (this.#s.floor.get(app, convKey) as { floor: number } | undefined)?.floor ?? null;
    const conversation = this.#s.conversation.get(app, convKey) as { last_seq: number; purged_below_seq: number } | undefined;
    if (floor === null || !conversation) {
      this.#s.markPurged.run(now, app, convKey, Number.MAX_SAFE_INTEGER);
      this.#s.dequeue.run(app, convKey);
      return { erased: 0, done: true };
    }
    // Purge below the lowest watermark of every participant: both sides of a C2C chat,
    // every current and former group member. Nobody can see those messages any more.
    const target = Math.min(floor, conversation.last_seq + 1);
    const from = conversation.purged_below_seq;
    const upTo = Math.min(target, from + maxRows);
    let erased = 0;
    if (upTo > from) {
      const gone = this.#s.erase.all(app, convKey, from, upTo) as { sender: string; client_msg_id: string }[];
      // In the same transaction: from the moment a message is gone, its resend is refused.
      for (const m of gone) this.#s.rememberPurged.run(app, convKey, m.sender, purgedSendKey(app, convKey, m.sender, m.client_msg_id), now);
      // Added before the commit: should the step roll back, the set only says "look".
      if (gone.length) this.#purgedConversations().add(`${app}\u0000${convKey}`);
      erased = gone.length;
      this.#s.setPurged.run(upTo, app, convKey);
    }
    const purgedBelow = Math.max(from, upTo);
    this.#s.markPurged.run(now, app, convKey, purgedBelow);
    const done = purgedBelow >= target;
    if (done) this.#s.dequeue.run(app, convKey);
    return { erased, done };
  }

  async forgetRequests(olderThan: number): Promise<number> {
    return this.#s.forgetRequests.run(olderThan).changes;
  }

  async wasPurged(app: number, convKey: string, sender: string, clientMsgID: string): Promise<boolean> {
    // Every send asks this. Most conversations had nothing purged within the retention:
    // they are answered from memory, with no hash and no read (a profile of the saturated
    // send path showed the read and the SHA-256 at about 12 % of the server's time).
    if (!this.#purgedConversations().has(`${app}\u0000${convKey}`)) return false;
    return this.#s.wasPurged.get(app, convKey, sender, purgedSendKey(app, convKey, sender, clientMsgID)) !== undefined;
  }

  async forgetPurged(olderThan: number): Promise<number> {
    const forgotten = this.#s.forgetPurged.run(olderThan).changes;
    if (forgotten > 0) this.#purged = undefined;
    return forgotten;
  }

  /**
   * The conversations with purge records, kept exactly in memory: this process is the
   * only writer of the file, the purge adds to it and forgetting rebuilds it. Its size is
   * the number of conversations purged within the retention (24 h by default).
   */
  #purgedConversations(): Set<string> {
    this.#purged ??= new Set((this.#s.purgedConversations.all() as { app_id: number; conv_key: string }[]).map((r) => `${r.app_id}\u0000${r.conv_key}`));
    return this.#purged;
  }

  async compact(now = Date.now()): Promise<{ complete: boolean; erased: number }> {
    // Erased rows are zeroed in place (secure_delete); the WAL may still hold older page
    // images with their content until it is checkpointed and truncated. A reader in the
    // middle of a transaction keeps the WAL (busy): then nothing is stamped and the next
    // run tries again.
    const [result] = this.#db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (result && result.busy !== 0) return { complete: false, erased: 0 };
    // Synchronous with the purge steps (one process, one connection): every deletion
    // purged so far had its rows zeroed before this checkpoint.
    return { complete: true, erased: this.#s.markErased.run(now).changes };
  }

  async awaitingErasure(): Promise<boolean> {
    return this.#s.unerased.get() !== undefined;
  }
}
