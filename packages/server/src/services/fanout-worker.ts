import { randomUUID } from 'node:crypto';
import { publishChanges, type ServiceContext } from './context.js';

export interface FanoutWorkerOptions {
  /** Members whose rows one transaction updates: small enough that a 1:1 commit never waits long. */
  chunkMembers?: number;
  /** Messages one pass over a group's members covers at most (one member update carries at most this many). */
  passMessages?: number;
  /** How often the queue is checked when nothing wakes the worker (jobs another node left behind). */
  intervalMs?: number;
  /** How long the `fanout` lease lasts without renewal (default 30 s); see `PurgeWorkerOptions.leaseMs`. */
  leaseMs?: number;
  /** Who holds the lease: the node's ID (default: random). */
  holder?: string;
  /** Do not start with the server: the queue is worked only by `runOnce()` calls (tests). */
  paused?: boolean;
}

/** The lease that makes one node of a cluster the fan-out worker. */
export const FANOUT_LEASE = 'fanout';

/**
 * Applies group messages to the members' conversation rows after the message itself
 * committed (the sender is acknowledged by then). It works the durable queue
 * (`FanoutStore`) one chunk of members per transaction, yielding to the event loop
 * between chunks so message commits interleave, and publishes each chunk's updates as
 * soon as it commits. Groups take turns chunk by chunk: a 6,000-member group does not
 * hold a 3-member one back for 30 chunks.
 *
 * Consecutive messages to one group coalesce: a pass starts with every message pending
 * (up to `passMessages`), so a burst of 100 messages costs each member one row update
 * and one push, not 100.
 */
export class FanoutWorker {
  readonly #ctx: ServiceContext;
  readonly #chunkMembers: number;
  readonly #passMessages: number;
  readonly #intervalMs: number;
  readonly #leaseMs: number;
  readonly holder: string;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #again = false;
  #stopped = true;
  /** Set by `stop()`: a run in progress ends after its chunk. */
  #closing = false;
  #held = false;
  /** Called after each chunk's updates are published; for tests and benchmarks. */
  onChunk: ((info: { app: number; convKey: string; members: number; done: boolean }) => void) | undefined;

  constructor(ctx: ServiceContext, options: FanoutWorkerOptions = {}) {
    this.#ctx = ctx;
    this.#chunkMembers = options.chunkMembers ?? 200;
    this.#passMessages = options.passMessages ?? 100;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.holder = options.holder ?? randomUUID();
  }

  start(): void {
    this.#stopped = false;
    this.#closing = false;
    this.#timer = setInterval(() => this.wake(), this.#intervalMs).unref();
    // Jobs a previous run of this node (or a crashed node) left in the queue.
    this.wake();
  }

  /** Stops after the chunk in progress (the queue keeps the rest) and gives the lease up. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#closing = true;
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
    if (this.#held) {
      this.#held = false;
      await this.#ctx.storage.leases.release(FANOUT_LEASE, this.holder)
        .catch((err: unknown) => this.#ctx.logger.warn({ err }, 'could not release the fan-out lease; it expires by itself'));
    }
  }

  /** Asks for a run soon; coalesces with a run in progress. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    void this.runOnce().catch((err: unknown) => this.#ctx.logger.error({ err }, 'fan-out failed; it will be retried'));
  }

  /**
   * Works the queue until it is empty (or `maxChunks` chunks ran) if this node holds, or
   * can take, the fan-out lease; resolves with the number of member rows updated.
   */
  runOnce(maxChunks = Number.POSITIVE_INFINITY): Promise<number> {
    this.#closing = false;
    // A run in progress may have started before what the caller wants worked: wait for
    // it, then run again. (Not through `#again`: that would wake a run whose end chains
    // this call again, forever.)
    if (this.#running) return this.#running.then(() => this.runOnce(maxChunks));
    this.#running = this.#drain(maxChunks).finally(() => {
      this.#running = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.wake();
      }
    });
    return this.#running;
  }

  async #lease(): Promise<boolean> {
    // The fencing token is not needed here: a fan-out step repeated by a paused old holder
    // changes nothing twice (FanoutStore), so holding the lease is only about not working twice.
    const held = (await this.#ctx.storage.leases.tryAcquire(FANOUT_LEASE, this.holder, this.#leaseMs, Date.now())) !== null;
    if (held && !this.#held) this.#ctx.logger.info({ holder: this.holder }, 'this node is now the fan-out worker');
    if (!held && this.#held) this.#ctx.logger.warn({ holder: this.holder }, 'the fan-out lease went to another node');
    this.#held = held;
    return held;
  }

  async #drain(maxChunks: number): Promise<number> {
    if (!(await this.#lease())) return 0;
    let renewed = Date.now();
    let chunks = 0;
    let rows = 0;
    for (;;) {
      const jobs = await this.#ctx.storage.fanout.pending(100);
      // Recalls and modifications in groups reach the members' rows the same way, a chunk
      // of members per transaction (storage/message-mutations.ts).
      const changeJobs = await this.#ctx.storage.mutations.changeQueue(100);
      if (jobs.length === 0 && changeJobs.length === 0) return rows;
      for (const job of changeJobs) {
        if (chunks >= maxChunks || this.#closing) return rows;
        const { changes, delivered } = await this.#ctx.storage.mutations.changeStep(job.app, job.convKey, this.#chunkMembers);
        chunks += 1;
        rows += changes.length;
        await publishChanges(this.#ctx, changes, () => [], {}, new Map(), undefined, (_app, userID) => delivered.get(userID));
        await new Promise((resolve) => setImmediate(resolve));
      }
      // One chunk per group per round: groups take turns.
      for (const job of jobs) {
        if (chunks >= maxChunks) return rows;
        // A run stopped by `stop()` leaves the rest queued; the next start resumes it.
        if (this.#closing) return rows;
        if (Date.now() - renewed >= this.#leaseMs / 3) {
          renewed = Date.now();
          if (!(await this.#lease())) return rows;
        }
        const { changes, delivered, done } = await this.#ctx.storage.fanout.step(job.app, job.convKey, this.#chunkMembers, this.#passMessages);
        chunks += 1;
        rows += changes.length;
        await publishChanges(this.#ctx, changes, (_app, userID) => delivered.get(userID) ?? []);
        void this.#ctx.offlinePush?.dispatch(job.app, delivered);
        this.onChunk?.({ app: job.app, convKey: job.convKey, members: changes.length, done });
        // Let message commits and socket I/O run between chunks.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }
}
