/**
 * Full-jitter exponential backoff (AWS "Exponential Backoff and Jitter"; centrifuge-js
 * `utils.ts`): delay = random(0, min(cap, base · 2^attempt)).
 *
 * Why jitter: when the server restarts, every client loses its socket in the same
 * millisecond. With plain exponential delays they would all come back in synchronized
 * waves (250 ms, 500 ms, 1 s…) and hammer the fresh server; a uniform random delay spreads
 * them out. The attempt counter is reset by the caller after a successful login.
 */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  /** Injected for tests; returns [0, 1). */
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, capMs: 10_000 };

export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const random = options.random ?? Math.random;
  // 2^31 · 250 ms overflows nothing in JS but is silly; past ~2^16 the cap wins anyway.
  const exp = Math.min(Math.max(0, Math.floor(attempt)), 31);
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** exp);
  return Math.floor(random() * ceiling);
}
