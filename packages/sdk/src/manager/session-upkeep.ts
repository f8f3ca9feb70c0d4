/**
 * What keeps a logged-in session healthy besides the socket itself:
 *
 * - **UserSig renewal.** With a `userSigProvider` in the config, the SDK asks the app for
 *   a new UserSig some time before the current one expires and hands it to the server
 *   (`auth.renew`), so the connection is never cut at expiry. Example: a UserSig valid
 *   for 24 h and the default 5 minutes ahead — at 23 h 55 min the provider is called;
 *   if it fails (the app's back end is down), it is asked again after a pause, until
 *   the old UserSig runs out and the server ends the session (`onUserSigExpired`).
 * - **Network hints.** A browser's `online` event and a tab becoming visible again mean
 *   the network may be back or the socket may have died while the device slept: the
 *   connection checks at once (`Connection.checkNow`) instead of waiting out its backoff
 *   or two missed pings.
 */
import type { LoginResult } from '@confab/protocol';
import type { Connection } from '../connection/connection.js';
import type { Logger } from '../log.js';

/** Returns a fresh UserSig for the user (usually fetched from the app's back end). */
export type UserSigProvider = (userID: string) => Promise<string> | string;

export interface SessionUpkeepOptions {
  userID: string;
  connection: Connection;
  log: Logger;
  userSigProvider?: UserSigProvider;
  /** How long before expiry to renew; at most half the remaining lifetime. Default 5 min. */
  refreshAheadMs?: number;
  /** Called after the server accepted a renewed UserSig. */
  onRenewed?: (userSigExpireAt: number) => void;
}

/** setTimeout's longest delay; a UserSig valid for 180 days is re-checked in steps of this. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A failed renewal is retried after this long (or sooner, near expiry). */
const RETRY_MS = 30_000;

export class SessionUpkeep {
  readonly #opts: SessionUpkeepOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expireAt = 0;
  #stopped = false;
  readonly #unwatch: (() => void)[] = [];

  constructor(opts: SessionUpkeepOptions) {
    this.#opts = opts;
  }

  /** A login (first or reconnect) succeeded with this result. */
  loggedIn(result: LoginResult): void {
    if (result.userSigExpireAt === undefined) return; // an older server: nothing to renew
    this.#expireAt = result.userSigExpireAt;
    this.#schedule();
  }

  /** Listens for the browser's network and visibility hints (no-op where there are none). */
  watchNetwork(): void {
    const g = globalThis as {
      addEventListener?: (type: string, fn: () => void) => void;
      removeEventListener?: (type: string, fn: () => void) => void;
      document?: {
        visibilityState?: string;
        addEventListener?: (type: string, fn: () => void) => void;
        removeEventListener?: (type: string, fn: () => void) => void;
      };
    };
    const { connection } = this.#opts;
    if (typeof g.addEventListener === 'function') {
      const onOnline = () => connection.checkNow('the network came back');
      g.addEventListener('online', onOnline);
      this.#unwatch.push(() => g.removeEventListener?.('online', onOnline));
    }
    const doc = g.document;
    if (doc && typeof doc.addEventListener === 'function') {
      const onVisible = () => {
        if (doc.visibilityState === 'visible') connection.checkNow('the page became visible');
      };
      doc.addEventListener('visibilitychange', onVisible);
      this.#unwatch.push(() => doc.removeEventListener?.('visibilitychange', onVisible));
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const unwatch of this.#unwatch.splice(0)) unwatch();
  }

  #schedule(delay?: number): void {
    clearTimeout(this.#timer);
    if (this.#stopped || !this.#opts.userSigProvider) return;
    const remaining = this.#expireAt - Date.now();
    const ahead = Math.min(this.#opts.refreshAheadMs ?? 5 * 60_000, Math.max(0, remaining) / 2);
    const wait = Math.max(0, delay ?? remaining - ahead);
    if (wait > MAX_TIMER_MS) {
      this.#timer = setTimeout(() => this.#schedule(), MAX_TIMER_MS);
      return;
    }
    this.#timer = setTimeout(() => void this.#renew(), wait);
  }

  async #renew(): Promise<void> {
    const { connection, userID, log } = this.#opts;
    try {
      const userSig = await this.#opts.userSigProvider!(userID);
      if (this.#stopped) return;
      if (typeof userSig !== 'string' || userSig === '') throw new Error('userSigProvider returned no UserSig');
      // Whatever happens next, a reconnect logs in with the new one.
      connection.setUserSig(userSig);
      if (connection.state !== 'connected') return; // the next login reports its expiry
      const { userSigExpireAt } = await connection.request('auth.renew', { userSig });
      if (this.#stopped) return;
      const extended = userSigExpireAt > this.#expireAt;
      this.#expireAt = Math.max(this.#expireAt, userSigExpireAt);
      this.#opts.onRenewed?.(userSigExpireAt);
      if (extended) {
        this.#schedule();
      } else {
        // The provider handed back a UserSig that lasts no longer (a cached one, say):
        // ask again later instead of at ever shorter intervals.
        log.warn('userSigProvider returned a UserSig that expires no later than the current one');
        this.#schedule(Math.min(RETRY_MS, Math.max(0, this.#expireAt - Date.now()) / 2));
      }
    } catch (err) {
      if (this.#stopped) return;
      const remaining = this.#expireAt - Date.now();
      log.warn(`could not renew the UserSig (${(err as Error).message ?? String(err)}); ${remaining > 0 ? 'trying again' : 'it has expired'}`);
      if (remaining > 0) this.#schedule(Math.min(RETRY_MS, remaining / 2));
    }
  }
}
