import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, DEFAULT_BACKOFF } from '../src/connection/backoff.js';

describe('full-jitter backoff', () => {
  it('draws from [0, min(cap, base·2^attempt))', () => {
    const top = (attempt: number) => backoffDelay(attempt, { ...DEFAULT_BACKOFF, random: () => 0.999999 });
    assert.deepEqual([0, 1, 2, 3, 4, 5].map(top), [249, 499, 999, 1999, 3999, 7999]);
    assert.equal(top(6), 9999); // 16 s capped to 10 s
    assert.equal(top(1000), 9999); // huge attempts stay capped, no Infinity/NaN
    assert.equal(backoffDelay(3, { ...DEFAULT_BACKOFF, random: () => 0 }), 0);
  });

  it('spreads real delays over the whole window', () => {
    const draws = Array.from({ length: 2000 }, () => backoffDelay(4));
    assert.ok(draws.every((d) => d >= 0 && d < 4000));
    assert.ok(Math.min(...draws) < 400 && Math.max(...draws) > 3600, 'jitter covers the range');
  });
});
