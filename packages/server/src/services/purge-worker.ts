import type { Logger } from 'pino';
import type { Storage } from '../storage/types.js';

export interface PurgeWorkerOptions {
  /** Messages erased per transaction: small enough that a sender's commit never waits long. */
  batchRows?: number;
  /** How often the queue is checked when nothing wakes the worker. */
  intervalMs?: number;
}

/**
 * Erases deleted messages physically, after the fact. Deleting a conversation only
 * moves a watermark; this worker later removes the rows that no participant can see
 * any more, in bounded batches with a yield between them, and then compacts the
 * database so the erased bytes are gone from its files too.
 */
export class PurgeWorker {
  readonly #storage: Storage;
  readonly #logger: Logger;
  readonly #batchRows: number;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #again = false;
  #stopped = true;

  constructor(storage: Storage, logger: Logger, options: PurgeWorkerOptions = {}) {
    this.#storage = storage;
    this.#logger = logger;
    this.#batchRows = options.batchRows ?? 2000;
    this.#intervalMs = options.intervalMs ?? 5000;
  }

  start(): void {
    this.#stopped = false;
    this.#timer = setInterval(() => this.wake(), this.#intervalMs).unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
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

  /** Drains the purge queue; resolves with the number of messages erased. */
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

  async #drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const queue = await this.#storage.deletions.purgeQueue(100, Date.now());
      if (queue.length === 0) break;
      let progressed = false;
      for (const { app, convKey } of queue) {
        for (;;) {
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
    return total;
  }
}
