import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';

const noop = (): void => undefined;

/**
 * Makes commits durable without blocking the event loop: the message group commit
 * commits with `synchronous = NORMAL` (SQLite appends to the WAL, no sync), then syncs
 * the WAL file here, on libuv's thread pool, before anyone is answered. While the disk
 * syncs, the process keeps reading frames and preparing the next batch; with
 * `synchronous = FULL` the sync ran inside COMMIT and held the whole process (a CPU
 * profile of the saturated message path: about 30 % of the time in that COMMIT).
 *
 * An acknowledged message is exactly as durable as under FULL: fdatasync of the WAL
 * after the commit wrote its frames is what FULL does. What differs is visibility: for
 * the duration of the sync, the committed rows are readable in this process before they
 * are on disk. Readers therefore wait for `barrier()` first (the gateway and the HTTP
 * router do), so nothing a client is shown can be lost by a power cut.
 *
 * Syncs coalesce: a request made while one is in flight shares the next one, which
 * starts when the current one ends (it must: the current one may have started before
 * the new commit's frames were written).
 */
export class WalSync {
  readonly #path: string;
  #fd: number | undefined;
  #inode = 0;
  #inFlight: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  constructor(walPath: string) {
    this.#path = walPath;
  }

  /**
   * Set by a failed sync, for good. After an fdatasync error the kernel may have dropped
   * the unsynced pages, and a later sync that succeeds says nothing about them: a batch
   * committed after it could be acknowledged and still vanish with the broken WAL tail
   * at the next recovery. So nothing more is acknowledged or committed (`assertHealthy`);
   * the operator restarts the process, which recovers from what is on disk.
   */
  #failed: Error | undefined;

  /** Throws when a sync has failed: a message batch must not commit any more. */
  assertHealthy(): void {
    if (this.#failed) throw this.#failed;
  }

  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (!this.#inFlight) return this.#start();
    this.#next ??= this.#inFlight.then(noop, noop).then(() => {
      this.#next = undefined;
      return this.#start();
    });
    return this.#next;
  }

  /** A promise while a sync is pending (readers wait for it; it never rejects), otherwise undefined. */
  barrier(): Promise<void> | undefined {
    return (this.#next ?? this.#inFlight)?.then(noop, noop);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #start(): Promise<void> {
    const run = this.#run();
    this.#inFlight = run;
    run.finally(() => {
      if (this.#inFlight === run) this.#inFlight = undefined;
    }).catch(noop);
    return run;
  }

  async #run(): Promise<void> {
    if (this.#failed) throw this.#failed;
    try {
      const fd = this.#open();
      await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
    } catch (err) {
      this.#failed = Object.assign(new Error(`the WAL could not be synced to disk (${(err as Error).message}); restart the server`), { cause: err, code: 'SQLITE_IOERR_FSYNC' });
      throw this.#failed;
    }
  }

  /**
   * The WAL file's descriptor, reopened when the file at the path is no longer the one
   * held (SQLite deletes the WAL when the last connection closes; a sync must reach the
   * file SQLite writes now, never a deleted one).
   */
  #open(): number {
    const current = statSync(this.#path).ino;
    if (this.#fd === undefined || current !== this.#inode) {
      if (this.#fd !== undefined) closeSync(this.#fd);
      this.#fd = openSync(this.#path, 'r+');
      this.#inode = fstatSync(this.#fd).ino;
    }
    return this.#fd;
  }
}
