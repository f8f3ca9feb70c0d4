/**
 * Token buckets by key (a user, a remote address): each holds up to `burst` tokens and
 * gains `ratePerSecond` of them per second; an action takes one. A key whose bucket has
 * refilled is indistinguishable from a key never seen, so `sweep()` forgets it: memory
 * follows the keys active in the last `burst / rate` seconds, not every key ever seen.
 *
 * The clock is passed in (milliseconds), so tests drive time instead of sleeping.
 */
export class TokenBuckets {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(ratePerSecond: number, burst: number) {
    this.#rate = ratePerSecond / 1000;
    this.#burst = burst;
  }

  /** Takes one token for `key`; false (and nothing taken) when the bucket is empty. */
  take(key: string, now: number): boolean {
    const bucket = this.#refill(key, now);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Whether `key` has a token to take, without taking it. */
  has(key: string, now: number): boolean {
    const bucket = this.#buckets.get(key);
    return !bucket || Math.min(this.#burst, bucket.tokens + Math.max(0, now - bucket.at) * this.#rate) >= 1;
  }

  /** Forgets every bucket that is full again; call now and then (the gateway does at each heartbeat). */
  sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + Math.max(0, now - bucket.at) * this.#rate >= this.#burst) this.#buckets.delete(key);
    }
  }

  /** Buckets held (for tests and metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  #refill(key: string, now: number): { tokens: number; at: number } {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(key, bucket);
      return bucket;
    }
    // A clock that steps back (NTP) must not mint tokens; it only pauses the refill.
    if (now > bucket.at) {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#rate);
      bucket.at = now;
    }
    return bucket;
  }
}
