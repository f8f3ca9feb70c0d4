/**
 * Group commit: requests that arrive while a batch is being written wait for the next
 * one, and each batch is one transaction. Under load many messages share one commit
 * (and one disk sync); when idle a lone message is written on the next turn of the
 * event loop, so latency stays low.
 */
export class GroupCommitter<Req, Res> {
  readonly #write: (batch: Req[]) => Promise<Res[]>;
  readonly #maxBatch: number;
  #queue: { req: Req; resolve: (res: Res) => void; reject: (err: unknown) => void }[] = [];
  #scheduled = false;
  #writing = false;

  constructor(write: (batch: Req[]) => Promise<Res[]>, maxBatch = 1000) {
    this.#write = write;
    this.#maxBatch = maxBatch;
  }

  submit(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.#queue.push({ req, resolve, reject });
      this.#schedule();
    });
  }

  /** Requests waiting for a commit; a health signal for backpressure. */
  get pending(): number {
    return this.#queue.length;
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
    if (this.#writing || this.#queue.length === 0) return;
    this.#writing = true;
    const batch = this.#queue.splice(0, this.#maxBatch);
    try {
      const results = await this.#write(batch.map((item) => item.req));
      batch.forEach((item, i) => item.resolve(results[i]!));
    } catch (err) {
      // The batch's transaction rolled back, so nothing of it was applied. One bad
      // request must not fail its neighbours: each is retried alone, and only the ones
      // that fail alone get the error.
      if (batch.length === 1) batch[0]!.reject(err);
      else {
        for (const item of batch) {
          try {
            item.resolve((await this.#write([item.req]))[0]!);
          } catch (alone) {
            item.reject(alone);
          }
        }
      }
    } finally {
      this.#writing = false;
      if (this.#queue.length) this.#schedule();
    }
  }
}
