/**
 * Group commit: requests that arrive while a batch is being written wait for the next
 * one, and each batch is one transaction. Under load many messages share one commit
 * (and one disk sync); when idle a lone message is written on the next turn of the
 * event loop, so latency stays low.
 */
/**
 * Writes one batch. A writer whose commit becomes durable later (SQLite's WAL synced off
 * the event loop) calls `committed` as soon as its transaction committed: the next batch
 * may then commit while this one's sync is still on its way, and both ride one sync.
 * Results still resolve in commit order, because syncs complete in order.
 */
export type BatchWriter<Req, Res> = (batch: Req[], committed: () => void) => Promise<Res[]>;

type Waiting<Req, Res> = { req: Req; resolve: (res: Res) => void; reject: (err: unknown) => void };

/**
 * How many lanes requests queue in; a request's lane is its rank (0 first). A batch takes
 * from lane 0 until it is empty, then lane 1, and so on, first come first served within
 * a lane. Example: 1,500 sends queued behind a batch, 3 of them ranked 0 — the next batch
 * takes those 3 first, then 997 of the others in arrival order.
 */
export const COMMIT_LANES = 3;

export class GroupCommitter<Req, Res> {
  readonly #write: BatchWriter<Req, Res>;
  readonly #maxBatch: number;
  readonly #lanes: Waiting<Req, Res>[][] = Array.from({ length: COMMIT_LANES }, () => []);
  #queued = 0;
  /** The lane of a request (0 … COMMIT_LANES-1); all in lane 1 when not given. */
  readonly #rank: (req: Req) => number;
  #scheduled = false;
  #writing = false;

  readonly #isRequestError: (err: unknown) => boolean;

  /**
   * `isRequestError` tells an error caused by the content of one request (retry the
   * others alone) from a failure of the storage (fail the whole batch).
   */
  constructor(write: BatchWriter<Req, Res>, maxBatch = 1000, isRequestError: (err: unknown) => boolean = isDataError,
    rank: (req: Req) => number = () => 1) {
    this.#write = write;
    this.#maxBatch = maxBatch;
    this.#isRequestError = isRequestError;
    this.#rank = rank;
  }

  submit(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const lane = Math.min(Math.max(Math.trunc(this.#rank(req)) || 0, 0), COMMIT_LANES - 1);
      this.#lanes[lane]!.push({ req, resolve, reject });
      this.#queued += 1;
      this.#schedule();
    });
  }

  /** Requests waiting for a commit; a health signal for backpressure. */
  get pending(): number {
    return this.#queued;
  }

  /** Up to maxBatch waiting requests, the best-ranked lanes first. */
  #take(): Waiting<Req, Res>[] {
    const batch: Waiting<Req, Res>[] = [];
    for (const lane of this.#lanes) {
      if (batch.length >= this.#maxBatch) break;
      batch.push(...lane.splice(0, this.#maxBatch - batch.length));
    }
    this.#queued -= batch.length;
    return batch;
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#writing || this.#queued === 0) return;
    this.#writing = true;
    const batch = this.#take();
    let released = false;
    const committed = (): void => {
      if (released) return;
      released = true;
      this.#writing = false;
      if (this.#queued) this.#schedule();
    };
    try {
      const results = await this.#write(batch.map((item) => item.req), committed);
      batch.forEach((item, i) => item.resolve(results[i]!));
    } catch (err) {
      // The batch's transaction rolled back, so nothing of it was applied. When one bad
      // request caused it (a constraint or data error), it must not fail its neighbours:
      // each is retried alone. When the storage itself failed (disk, connection, lock
      // timeout), retrying one by one would only hold every sender for N failures more.
      if (batch.length === 1 || !this.#isRequestError(err)) {
        for (const item of batch) item.reject(err);
      } else {
        for (const item of batch) {
          try {
            // Retries stay one at a time: nothing else commits until they are done.
            item.resolve((await this.#write([item.req], () => undefined))[0]!);
          } catch (alone) {
            item.reject(alone);
          }
        }
      }
    } finally {
      committed();
    }
  }
}

/**
 * Errors caused by what a request contains: SQLite constraint, mismatch and size errors,
 * PostgreSQL SQLSTATE classes 22 (data exception) and 23 (integrity constraint).
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code) || /^2[23][0-9A-Z]{3}$/.test(code);
}
