import type Database from 'better-sqlite3';
import type { MessageElem } from '@confab/protocol';
import { encodeExtra, parseExtra, type AppendBatchResult, type AppendRequest, type AppendResult, type MessageStore, type StoredMessage, type UserChange } from '../types.js';
import type { WalSync } from './wal-sync.js';
import { newConversationRow, prepareRowStatements, UserChangeSet } from './rows.js';
import { applyToSender, passedOverRange } from '../fanout-rules.js';
import { withMutations, type RawMutationColumns } from '../message-mutations.js';

interface RawMessage extends RawMutationColumns {
  conv_key: string;
  seq: number;
  sender: string;
  client_msg_id: string;
  created_at: number;
  elem: string;
  extra?: string | null;
}

export function toStoredMessage(raw: RawMessage): StoredMessage {
  const message: StoredMessage = {
    convKey: raw.conv_key, seq: raw.seq, sender: raw.sender, clientMsgID: raw.client_msg_id,
    createdAt: raw.created_at, elem: JSON.parse(raw.elem) as MessageElem,
  };
  const extra = parseExtra(raw.extra);
  if (extra) message.extra = extra;
  return withMutations(message, raw);
}

export class SqliteMessageStore implements MessageStore {
  readonly #db: Database.Database;
  readonly #rowStatements;
  readonly #byClientID: Database.Statement;
  readonly #insert: Database.Statement;
  readonly #lastSeq: Database.Statement;
  readonly #setLastSeq: Database.Statement;
  readonly #get: Database.Statement;
  readonly #rangeAsc: Database.Statement;
  readonly #rangeDesc: Database.Statement;
  readonly #enqueue: Database.Statement;
  readonly #firstAt: Database.Statement;
  readonly #lastAt: Database.Statement;
  /**
   * Last seq per conversation, kept in memory because this process is the only writer
   * of the file: it saves a read per message on the hot path. Updated only after a
   * transaction commits, so a rolled-back batch leaves no trace here.
   */
  readonly #seqCache = new Map<string, number>();
  readonly #appendTx: (batch: AppendRequest[]) => { result: AppendBatchResult; seqs: Map<string, number> };

  /** Set when commits must be synced to disk (durability `full` on a file): see wal-sync.ts. */
  readonly #walSync: WalSync | undefined;

  constructor(db: Database.Database, walSync?: WalSync) {
    this.#db = db;
    this.#walSync = walSync;
    this.#rowStatements = prepareRowStatements(db);
    this.#byClientID = db.prepare(`SELECT * FROM messages WHERE app_id = ? AND conv_key = ? AND sender = ?
      AND confab_msg_key(client_msg_id) = confab_msg_key(?) AND client_msg_id = ?`);
    this.#insert = db.prepare(`INSERT INTO messages (app_id, conv_key, seq, sender, client_msg_id, created_at, elem, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (app_id, conv_key, sender, confab_msg_key(client_msg_id)) DO NOTHING`);
    this.#lastSeq = db.prepare('SELECT last_seq FROM conversations WHERE app_id = ? AND conv_key = ?');
    this.#setLastSeq = db.prepare(`INSERT INTO conversations (app_id, conv_key, last_seq) VALUES (?, ?, ?)
      ON CONFLICT (app_id, conv_key) DO UPDATE SET last_seq = excluded.last_seq`);
    this.#get = db.prepare('SELECT * FROM messages WHERE app_id = ? AND conv_key = ? AND seq = ?');
    this.#rangeAsc = db.prepare('SELECT * FROM messages WHERE app_id = ? AND conv_key = ? AND seq >= ? AND seq <= ? ORDER BY seq ASC LIMIT ?');
    this.#rangeDesc = db.prepare('SELECT * FROM messages WHERE app_id = ? AND conv_key = ? AND seq >= ? AND seq <= ? ORDER BY seq DESC LIMIT ?');
    this.#enqueue = db.prepare(`INSERT INTO fanout_queue (app_id, conv_key, from_seq, to_seq, queued_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (app_id, conv_key) DO UPDATE SET to_seq = excluded.to_seq`);
    this.#firstAt = db.prepare('SELECT seq FROM messages WHERE app_id = ? AND conv_key = ? AND created_at >= ? ORDER BY created_at ASC, seq ASC LIMIT 1').pluck();
    this.#lastAt = db.prepare('SELECT seq FROM messages WHERE app_id = ? AND conv_key = ? AND created_at <= ? ORDER BY created_at DESC, seq DESC LIMIT 1').pluck();
    this.#appendTx = db.transaction((batch: AppendRequest[]) => this.#append(batch));
  }

  async appendBatch(batch: AppendRequest[], onCommitted?: () => void): Promise<AppendBatchResult> {
    // The batch commits without syncing and is synced off the event loop before anyone
    // is answered; every other write keeps synchronous = FULL (wal-sync.ts says why).
    this.#walSync?.assertHealthy();
    if (this.#walSync) this.#db.pragma('synchronous = NORMAL');
    let committed: { result: AppendBatchResult; seqs: Map<string, number> };
    try {
      committed = this.#appendTx(batch);
    } finally {
      if (this.#walSync) this.#db.pragma('synchronous = FULL');
    }
    for (const [key, seq] of committed.seqs) this.#seqCache.set(key, seq);
    if (this.#walSync) {
      // Committed, not yet durable: the next batch may commit meanwhile and share the sync.
      const durable = this.#walSync.sync();
      onCommitted?.();
      await durable;
    }
    return committed.result;
  }

  #append(batch: AppendRequest[]): { result: AppendBatchResult; seqs: Map<string, number> } {
    const seqs = new Map<string, number>();
    const changeSets = new Map<number, UserChangeSet>();
    const inBatch = new Map<string, StoredMessage>();
    const results: AppendResult[] = [];
    /** Fan-out conversations of this batch: the first and last seq queued. */
    const queued = new Map<string, { app: number; convKey: string; from: number; to: number; now: number }>();

    for (const req of batch) {
      const idKey = `${req.app}\u0000${req.convKey}\u0000${req.sender}\u0000${req.clientMsgID}`;
      const inThisBatch = inBatch.get(idKey);
      if (inThisBatch) {
        results.push({ message: inThisBatch, duplicate: true });
        continue;
      }
      const seqKey = `${req.app}\u0000${req.convKey}`;
      const seq = this.#currentSeq(seqs, seqKey, req.app, req.convKey) + 1;
      // Insert first and look up only on a conflict: a resend is rare, so the common case
      // costs one statement, not two. The seq is taken only when the insert happened.
      if (this.#insert.run(req.app, req.convKey, seq, req.sender, req.clientMsgID, req.now, JSON.stringify(req.elem), encodeExtra(req.extra)).changes === 0) {
        results.push({ message: this.#findByClientID(req)!, duplicate: true });
        continue;
      }
      seqs.set(seqKey, seq);
      const message: StoredMessage = { convKey: req.convKey, seq, sender: req.sender, clientMsgID: req.clientMsgID, createdAt: req.now, elem: req.elem };
      if (encodeExtra(req.extra) !== null) message.extra = req.extra;
      inBatch.set(idKey, message);
      const result: AppendResult = { message, duplicate: false };
      results.push(result);

      let changes = changeSets.get(req.app);
      if (!changes) changeSets.set(req.app, (changes = new UserChangeSet(req.app, this.#rowStatements)));
      if (req.fanout) {
        // The sender's row only; the members are the fan-out worker's (fanout_queue).
        const job = queued.get(seqKey);
        if (job) job.to = seq;
        else queued.set(seqKey, { app: req.app, convKey: req.convKey, from: seq, to: seq, now: req.now });
        const conversationID = req.recipients.find((r) => r.userID === req.sender)?.conversationID ?? `group_${req.convKey.slice(6)}`;
        const row = changes.row(req.sender, req.convKey) ?? newConversationRow(req.sender, req.convKey, conversationID, 1);
        const gap = passedOverRange(row, seq);
        if (gap) result.passedOver = (this.#rangeAsc.all(req.app, req.convKey, gap[0], gap[1], gap[1] - gap[0] + 1) as RawMessage[]).map(toStoredMessage);
        applyToSender(row, seq);
        changes.put(row);
        continue;
      }
      for (const { userID, conversationID } of req.recipients) {
        const row = changes.row(userID, req.convKey) ?? newConversationRow(userID, req.convKey, conversationID, 1);
        // A tombstone comes back to life with the new message; its watermark stays, so
        // only messages after the deletion point are visible (the resurrection rule).
        row.deleted = false;
        row.lastSeq = seq;
        // Replying means having read everything before it: the sender's unread resets.
        if (userID === req.sender) {
          row.readSeq = Math.max(row.readSeq, seq);
          row.unreadCount = 0;
        } else {
          row.unreadCount += 1;
        }
        changes.put(row);
      }
    }

    for (const [key, seq] of seqs) {
      const [app, convKey] = key.split('\u0000') as [string, string];
      this.#setLastSeq.run(Number(app), convKey, seq);
    }
    for (const job of queued.values()) this.#enqueue.run(job.app, job.convKey, job.from, job.to, job.now);
    const changes: UserChange[] = [];
    for (const set of changeSets.values()) changes.push(...set.commit(() => true));
    return { result: { results, changes }, seqs };
  }

  #findByClientID(req: AppendRequest): StoredMessage | undefined {
    const raw = this.#byClientID.get(req.app, req.convKey, req.sender, req.clientMsgID, req.clientMsgID) as RawMessage | undefined;
    return raw ? toStoredMessage(raw) : undefined;
  }

  #currentSeq(inBatch: Map<string, number>, key: string, app: number, convKey: string): number {
    const pending = inBatch.get(key);
    if (pending !== undefined) return pending;
    const cached = this.#seqCache.get(key);
    if (cached !== undefined) return cached;
    const row = this.#lastSeq.get(app, convKey) as { last_seq: number } | undefined;
    return row?.last_seq ?? 0;
  }

  async range(app: number, convKey: string, fromSeq: number, toSeq: number, limit: number, order: 'asc' | 'desc'): Promise<StoredMessage[]> {
    if (toSeq < fromSeq || limit <= 0) return [];
    const stmt = order === 'asc' ? this.#rangeAsc : this.#rangeDesc;
    return (stmt.all(app, convKey, fromSeq, toSeq, limit) as RawMessage[]).map(toStoredMessage);
  }

  async get(app: number, convKey: string, seq: number): Promise<StoredMessage | undefined> {
    const raw = this.#get.get(app, convKey, seq) as RawMessage | undefined;
    return raw ? toStoredMessage(raw) : undefined;
  }

  async seqAtTime(app: number, convKey: string, time: number, edge: 'first' | 'last'): Promise<number | undefined> {
    return (edge === 'first' ? this.#firstAt : this.#lastAt).get(app, convKey, time) as number | undefined;
  }

  /** Seq cache reset, for a caller that changed `conversations` directly. */
  forget(app: number, convKey: string): void {
    this.#seqCache.delete(`${app}\u0000${convKey}`);
  }

  get db(): Database.Database {
    return this.#db;
  }
}
