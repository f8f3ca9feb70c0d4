import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Storage } from '../storage/types.js';

/** How long a deletion request ID is remembered. */
const REQUEST_ID_TTL_MS = 90 * 24 * 3600 * 1000;

export interface PurgeWorkerOptions {
  /** Messages erased per transaction: small enough that a sender's commit never waits long. */
  batchRows?: number;
  /** How often the queue is checked when nothing wakes the worker. */
  intervalMs?: number;
  /**
   * How long the `purge` lease lasts without renewal (default 30 s): after a holder
   * dies, another node takes the work over within this time. It is renewed on every run
   * and, during a long run, every third of it. Keep it well above `intervalMs` and the
   * clock skew between nodes.
   */
  leaseMs?: number;
  /** Who holds the lease: the node's ID (default: random). */
  holder?: string;
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
  readonly holder: string;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #again = false;
  #stopped = true;
  /** Whether this node took the lease at some point (and so may hold it now). */
  #held = false;

  constructor(storage: Storage, logger: Logger, options: PurgeWorkerOptions = {}) {
    this.#storage = storage;
    this.#logger = logger;
    this.#batchRows = options.batchRows ?? 2000;
    this.#intervalMs = options.intervalMs ?? 5000;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.holder = options.holder ?? randomUUID();
  }

  start(): void {
    this.#stopped = false;
    this.#timer = setInterval(() => this.wake(), this.#intervalMs).unref();
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

  /** Asks for a run soon; coalesces with a run in progress. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    void this.runOnce().catch((err: unknown) => this.#logger.error({ err }, 'purge failed; it will be retried'));
  }

  /**
   * Drains the purge queue if this node holds (or can take) the purge lease; resolves
   * with the number of messages this node erased (0 when another node holds the lease).
   */
  runOnce(): Promise<number> {
    if (this.#running) {
      this.#again = true;
      return this.#running.then(() => this.runOnce());
    }
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.wake();
      }
    });
    return this.#running;
  }

  /** Takes or renews the lease; false when another node holds it. */
  async #lease(): Promise<boolean> {
    const held = await this.#storage.leases.tryAcquire(PURGE_LEASE, this.holder, this.#leaseMs, Date.now());
    if (held && !this.#held) this.#logger.info({ holder: this.holder }, 'this node is now the purger');
    if (!held && this.#held) this.#logger.warn({ holder: this.holder }, 'the purge lease went to another node');
    this.#held = held;
    return held;
  }

  async #drain(): Promise<number> {
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
          const { erased, done } = await this.#storage.deletions.purgeStep(app, convKey, this.#batchRows, Date.now());
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
      await this.#storage.deletions.compact();
      this.#logger.info({ erased: total }, 'purged deleted messages');
    }
    // Request IDs only need to outlive any retry: a device's pending deletion is re-sent
    // at its next login, and 90 days covers a device left in a drawer for a season.
    await this.#storage.deletions.forgetRequests(Date.now() - REQUEST_ID_TTL_MS);
    return total;
  }
}
