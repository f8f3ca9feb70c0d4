import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommitter, isDataError } from '../src/services/group-commit.js';

function failing(code: string) {
  return Object.assign(new Error(code), { code });
}

test('a data error in one request fails only that request: the others are retried alone', async () => {
  const writes: number[][] = [];
  const committer = new GroupCommitter<number, string>(async (batch) => {
    writes.push(batch);
    if (batch.includes(13)) throw failing('SQLITE_CONSTRAINT_CHECK');
    return batch.map((n) => `ok ${n}`);
  });
  const results = await Promise.allSettled([1, 13, 2].map((n) => committer.submit(n)));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.deepEqual(writes, [[1, 13, 2], [1], [13], [2]]);
});

test('a storage failure fails the whole batch at once instead of retrying each request', async () => {
  let writes = 0;
  const committer = new GroupCommitter<number, string>(async () => {
    writes += 1;
    throw failing('ECONNREFUSED');
  });
  const results = await Promise.allSettled([1, 2, 3, 4].map((n) => committer.submit(n)));
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected', 'rejected']);
  assert.equal(writes, 1);
});

test('isDataError knows SQLite constraint errors and PostgreSQL classes 22 and 23, nothing else', () => {
  assert.equal(isDataError(failing('SQLITE_CONSTRAINT_UNIQUE')), true);
  assert.equal(isDataError(failing('22021')), true);
  assert.equal(isDataError(failing('23505')), true);
  assert.equal(isDataError(failing('SQLITE_BUSY')), false);
  assert.equal(isDataError(failing('57P01')), false);
  assert.equal(isDataError(new Error('x')), false);
});

test('a writer that reports its commit early lets the next batch commit while it waits for durability; results keep commit order', async () => {
  const events: string[] = [];
  const durable: (() => void)[] = [];
  const committer = new GroupCommitter<number, number>(async (batch, committed) => {
    events.push(`commit ${batch.join(',')}`);
    committed();
    await new Promise<void>((resolve) => durable.push(resolve));
    events.push(`durable ${batch.join(',')}`);
    return batch;
  });
  const first = committer.submit(1);
  while (durable.length < 1) await new Promise((r) => setImmediate(r));
  // Batch [1] is committed and waiting for its sync; [2, 3] commits meanwhile.
  const second = committer.submit(2);
  const third = committer.submit(3);
  while (durable.length < 2) await new Promise((r) => setImmediate(r));
  assert.deepEqual(events, ['commit 1', 'commit 2,3']);
  const order: number[] = [];
  void first.then((n) => order.push(n));
  void second.then((n) => order.push(n));
  durable[0]!();
  durable[1]!();
  assert.deepEqual(await Promise.all([first, second, third]), [1, 2, 3]);
  assert.deepEqual(order, [1, 2]);
});

test('a writer that never reports an early commit is run one batch at a time', async () => {
  let running = 0;
  let most = 0;
  const committer = new GroupCommitter<number, number>(async (batch) => {
    running += 1;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 5));
    running -= 1;
    return batch;
  });
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    await new Promise((r) => setTimeout(r, i % 4));
    return committer.submit(i);
  }));
  assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(most, 1);
});

test('under a backlog the next batch takes high-priority requests first, low ones last, in arrival order within each', async () => {
  // The first batch is held open until released, so the requests submitted meanwhile
  // form a backlog; what the next batches contain is then decided by rank alone.
  type Req = { id: string; rank: number };
  const writes: string[][] = [];
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  let first = true;
  const committer = new GroupCommitter<Req, string>(async (batch) => {
    writes.push(batch.map((r) => r.id));
    if (first) {
      first = false;
      await held;
    }
    return batch.map((r) => r.id);
  }, 3, undefined, (req) => req.rank);

  const blocker = committer.submit({ id: 'first', rank: 1 });
  // Wait until the first batch is being written (it is taken on the next turn of the loop).
  while (writes.length === 0) await new Promise((resolve) => setImmediate(resolve));
  const backlog: Req[] = [
    { id: 'low-1', rank: 2 }, { id: 'normal-1', rank: 1 }, { id: 'high-1', rank: 0 },
    { id: 'low-2', rank: 2 }, { id: 'high-2', rank: 0 }, { id: 'normal-2', rank: 1 },
  ];
  const pending = backlog.map((r) => committer.submit(r));
  assert.equal(committer.pending, 6);
  release();
  await Promise.all([blocker, ...pending]);
  assert.deepEqual(writes, [
    ['first'],
    ['high-1', 'high-2', 'normal-1'],
    ['normal-2', 'low-1', 'low-2'],
  ]);
});
