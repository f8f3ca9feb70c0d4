/**
 * How the purge worker paces the erasure (docs/deletion.md, "What is erased where"): on
 * PostgreSQL the rewrite runs at most once per `eraseEveryMs` and at most
 * `eraseDutyCycle` of the time when the timer or a deletion drives the worker, while
 * `runOnce()` (purgeNow) erases at once; on SQLite the checkpoint follows every run.
 * The storage is a stub that counts erasures; nothing here waits on a timer.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { PurgeWorker } from '../src/services/purge-worker.js';
import type { Storage } from '../src/storage/types.js';

function stub(kind: 'postgres' | 'sqlite', compactTakesMs = 0) {
  const calls = { compact: 0 };
  const storage = {
    kind,
    leases: { tryAcquire: async () => 1, release: async () => true },
    deletions: {
      purgeQueue: async () => [],
      awaitingErasure: async () => true,
      compact: async () => {
        calls.compact++;
        if (compactTakesMs > 0) {
          const until = Date.now() + compactTakesMs;
          while (Date.now() < until) await new Promise((r) => setImmediate(r));
        }
        return { complete: true, erased: 1 };
      },
      forgetRequests: async () => 0,
      forgetPurged: async () => 0,
    },
  } as unknown as Storage;
  return { storage, calls };
}

/** One run driven the way a deletion or the timer drives it (not forced). */
async function driven(worker: PurgeWorker): Promise<void> {
  worker.start();
  worker.wake();
  await worker.stop(); // waits for the run in progress
}

const quiet = pino({ level: 'silent' });
// Timers that never fire during the test: the runs are driven by hand.
const idle = { intervalMs: 3_600_000, leaseMs: 3_600_000 };

describe('erasure pacing', () => {
  test('PostgreSQL: at most once per eraseEveryMs when driven; runOnce erases at once', async () => {
    const { storage, calls } = stub('postgres');
    const worker = new PurgeWorker(storage, quiet, { ...idle, eraseEveryMs: 3_600_000 });
    await driven(worker);
    assert.equal(calls.compact, 1, 'the first run erases what waits');
    await driven(worker);
    await driven(worker);
    assert.equal(calls.compact, 1, 'not again within eraseEveryMs');
    await worker.runOnce();
    assert.equal(calls.compact, 2, 'purgeNow erases at once');
  });

  test('PostgreSQL: a rewrite that took d is not followed by another for d / eraseDutyCycle', async () => {
    const { storage, calls } = stub('postgres', 50);
    const worker = new PurgeWorker(storage, quiet, { ...idle, eraseEveryMs: 0, eraseDutyCycle: 0.0001 });
    await driven(worker);
    assert.equal(calls.compact, 1);
    await driven(worker);
    assert.equal(calls.compact, 1, 'a 50 ms rewrite at 0.01 % waits about 500 s');
    const unpaced = stub('postgres');
    const eager = new PurgeWorker(unpaced.storage, quiet, { ...idle, eraseEveryMs: 0, eraseDutyCycle: 1 });
    await driven(eager);
    await driven(eager);
    assert.equal(unpaced.calls.compact, 2, 'with no pacing each driven run erases');
  });

  test('SQLite: the checkpoint follows every run', async () => {
    const { storage, calls } = stub('sqlite');
    const worker = new PurgeWorker(storage, quiet, { ...idle });
    await driven(worker);
    await driven(worker);
    assert.equal(calls.compact, 2);
  });
});
