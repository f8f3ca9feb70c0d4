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
