import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { StaleLeaseError, type Storage } from '../storage/types.js';

/** How long a deletion request ID is remembered. */
const REQUEST_ID_TTL_MS = 90 * 24 * 3600 * 1000;
/** Default of `resendGuardMs`. */
export const DEFAULT_RESEND_GUARD_MS = 24 * 3600 * 1000;
/** Old request IDs and purge records are forgotten at most this often (a scan each time). */
const FORGET_EVERY_MS = 60_000;

export interface PurgeWorkerOptions {
  /**
   * Messages erased per transaction: small enough that a sender's commit never waits long.
   * Default 500: each erased message also writes its content-free resend record, about
   * 13 µs on SQLite, so a step of 500 holds the event loop for about 7 ms (2,000 held it
   * for about 30 ms).
   */
  batchRows?: number;
  /** How often the queue is checked when nothing wakes the worker. */
  intervalMs?: number;
  /**
   * How long the `purge` lease lasts without renewal (default 10 s): after a holder
   * dies, another node takes the work over within about this time. The holder renews it
   * every third of it, idle or busy. Keep it well above the clock skew between nodes.
   * (A clean shutdown releases it, so the next node need not wait.)
   */
  leaseMs?: number;
  /** Who holds the lease: the node's ID (default: random). */
  holder?: string;
  /**
   * How long the purge remembers each erased message's key (a hash of its clientMsgID,
   * no content), so a resend of it is refused with 51013 rather than stored again as a
   * new message (default 24 h; the SDK resends for 15 s, but a device may come back
   * online much later with an unacknowledged message in its outbox).
   */
  resendGuardMs?: number;
  /**
   * On PostgreSQL, how often at most the purge's erasure rewrite runs when the timer or a
   * deletion drives the worker (default 60 s): it rewrites the tables that held the
   * erased rows under a short exclusive lock each (docs/deletion.md, "What is erased
   * where"), so it is batched rather than run after every purge. Until it runs, the
   * deletions it covers are `purged` (rows deleted) but not yet erased. SQLite's erasure
   * is a WAL checkpoint and runs after every purge. `purgeNow()` always erases at once.
   */
  eraseEveryMs?: number;
}

/** The lease that makes one node of a cluster the purger. */
export const PURGE_LEASE = 'purge';

/**
 * Erases deleted messages physically, after the fact. Deleting a conversation only
 * moves a watermark; this worker later removes the rows that no participant can see
 * any more, in bounded batches with a yield between them, and then compacts the
 * database so the erased bytes are gone from its files too.
 *
 * In a cluster every node runs a worker, but only the one holding the `purge` lease
 * drains the queue: the others find the lease taken and do nothing until it expires
 * (its holder died) or is released (its holder shut down).
 */
export class PurgeWorker {
  readonly #storage: Storage;
  readonly #logger: Logger;
  readonly #batchRows: number;
  readonly #intervalMs: number;
  readonly #leaseMs: number;
  readonly #resendGuardMs: number;
  readonly #eraseEveryMs: number;
  readonly holder: string;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #again = false;
  #stopped = true;
  /** Whether this node took the lease at some point (and so may hold it now). */
  #held = false;
  /** The fencing token of this node's current acquisition of the lease. */
  #token: number | null = null;
  #forgotAt = -Infinity;
  /** When this node last ran the erasure; whether purged bytes are known to be waiting for it. */
  #erasedAt = -Infinity;
  #erasePending = false;

  constructor(storage: Storage, logger: Logger, options: PurgeWorkerOptions = {}) {
    this.#storage = storage;
    this.#logger = logger;
    this.#batchRows = options.batchRows ?? 500;
    this.#intervalMs = options.intervalMs ?? 5000;
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#resendGuardMs = options.resendGuardMs ?? DEFAULT_RESEND_GUARD_MS;
    this.#eraseEveryMs = options.eraseEveryMs ?? 60_000;
    this.holder = options.holder ?? randomUUID();
  }

  start(): void {
    this.#stopped = false;
    // Every run renews (or tries to take) the lease first, so runs come at least every
    // third of the TTL: the holder keeps it while idle, and a waiting node notices soon
    // after it expires.
    this.#timer = setInterval(() => this.wake(), Math.min(this.#intervalMs, this.#leaseMs / 3)).unref();
  }

  /** Stops the worker, waits for a run in progress, and gives the lease up for the next node. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
    if (this.#held) {
      this.#held = false;
      await this.#storage.leases.release(PURGE_LEASE, this.holder)
        .catch((err: unknown) => this.#logger.warn({ err }, 'could not release the purge lease; it expires by itself'));
    }
  }

  /**
   * Asks the next run to compact the database although it may erase nothing itself: a
   * recall overwrote a message's content in place, and SQLite's WAL still holds the old
   * page until it is checkpointed.
   */
  compactSoon(): void {
    this.#erasePending = true;
    this.wake();
  }

  /** Asks for a run soon; coalesces with a run in progress. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    void this.#run(false).catch((err: unknown) => this.#logger.error({ err }, 'purge failed; it will be retried'));
  }

  /**
   * Drains the purge queue if this node holds (or can take) the purge lease, and erases
   * the purged bytes at once; resolves with the number of messages this node erased (0
   * when another node holds the lease).
   */
  runOnce(): Promise<number> {
    if (this.#running) {
      this.#again = true;
      return this.#running.then(() => this.runOnce());
    }
    return this.#run(true);
  }

  #run(eraseNow: boolean): Promise<number> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#drain(eraseNow).finally(() => {
      this.#running = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.wake();
      }
    });
    return this.#running;
  }

  /** The fencing token the current lease of this node has, if it holds it. */
  get token(): number | null {
    return this.#held ? this.#token : null;
  }

  /** Takes or renews the lease; false when another node holds it. */
  async #lease(): Promise<boolean> {
    const token = await this.#storage.leases.tryAcquire(PURGE_LEASE, this.holder, this.#leaseMs, Date.now());
    const held = token !== null;
    if (held && !this.#held) this.#logger.info({ holder: this.holder, token }, 'this node is now the purger');
    if (!held && this.#held) this.#logger.warn({ holder: this.holder }, 'the purge lease went to another node');
    this.#held = held;
    this.#token = token;
    return held;
  }

  async #drain(eraseNow: boolean): Promise<number> {
    if (!(await this.#lease())) return 0;
    let renewed = Date.now();
    // Renewing is one small write; a third of the TTL leaves two chances before it runs out.
    const stillHeld = async (): Promise<boolean> => {
      if (Date.now() - renewed < this.#leaseMs / 3) return true;
      renewed = Date.now();
      return this.#lease();
    };
    let total = 0;
    drain: for (;;) {
      const queue = await this.#storage.deletions.purgeQueue(100, Date.now());
      if (queue.length === 0) break;
      let progressed = false;
      for (const { app, convKey } of queue) {
        for (;;) {
          if (!(await stillHeld())) break drain;
          let step;
          try {
            // Fenced: if this node was paused past its TTL and another took the lease, the
            // step is refused in its own transaction instead of racing the new holder.
            step = await this.#storage.deletions.purgeStep(app, convKey, this.#batchRows, Date.now(),
              { lease: PURGE_LEASE, token: this.#token! });
          } catch (err) {
            if (!(err instanceof StaleLeaseError)) throw err;
            this.#logger.warn({ holder: this.holder, token: this.#token, current: err.current }, 'the purge lease went to another node mid-run');
            this.#held = false;
            this.#token = null;
            break drain;
          }
          const { erased, done } = step;
          total += erased;
          if (erased > 0) progressed = true;
          if (done) {
            progressed = true;
            break;
          }
          // Let message commits and socket I/O run between batches.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      if (!progressed) break;
    }
    if (total > 0) {
      this.#erasePending = true;
      this.#logger.info({ erased: total }, 'purged deleted messages');
    }
    if (this.#held) await this.#erase(eraseNow);
    if (this.#held && Date.now() - this.#forgotAt >= FORGET_EVERY_MS) {
      this.#forgotAt = Date.now();
      // Request IDs only need to outlive any retry: a device's pending deletion is re-sent
      // at its next login, and 90 days covers a device left in a drawer for a season.
      await this.#storage.deletions.forgetRequests(Date.now() - REQUEST_ID_TTL_MS);
      await this.#storage.deletions.forgetPurged(Date.now() - this.#resendGuardMs);
    }
    return total;
  }

  /** Makes purged bytes unreadable from the files when due (see `eraseEveryMs`). */
  async #erase(eraseNow: boolean): Promise<void> {
    const batched = this.#storage.kind === 'postgres';
    if (batched && !eraseNow && Date.now() - this.#erasedAt < this.#eraseEveryMs) return;
    // After a restart, or purges by the node that held the lease before, this node learns
    // of waiting bytes from the audit trail (one probe of a partial index).
    if (!this.#erasePending && !(await this.#storage.deletions.awaitingErasure())) return;
    this.#erasedAt = Date.now();
    const { complete, erased } = await this.#storage.deletions.compact(Date.now());
    if (complete) {
      this.#erasePending = false;
      if (erased > 0) this.#logger.info({ deletions: erased }, 'erased the bytes of purged messages');
    } else {
      this.#erasePending = true;
      this.#logger.warn('could not erase the bytes of purged messages yet; will retry');
    }
  }
}
