import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalSync } from '../src/storage/sqlite/wal-sync.js';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import { DEFAULT_APP_SETTINGS } from '../src/storage/types.js';

test('syncs coalesce: requests made during a sync share the next one; the barrier is there only while one is pending', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confab-walsync-'));
  const path = join(dir, 'x.db-wal');
  writeFileSync(path, 'frames');
  const wal = new WalSync(path);
  try {
    assert.equal(wal.barrier(), undefined);
    const first = wal.sync();
    assert.ok(wal.barrier(), 'a sync in flight is a barrier for readers');
    const second = wal.sync();
    const third = wal.sync();
    // The first sync may have started before the second's frames were written: the
    // second must wait for a sync of its own, which the third shares.
    assert.notEqual(second, first);
    assert.equal(third, second);
    assert.equal(wal.barrier() !== undefined, true);
    await first;
    assert.ok(wal.barrier(), 'the follow-up sync is still pending');
    await third;
    assert.equal(wal.barrier(), undefined);

    // SQLite removes the WAL when the last connection closes: a new file at the path is
    // the one synced from then on.
    unlinkSync(path);
    writeFileSync(path, 'new frames');
    await wal.sync();
    unlinkSync(path);
    await assert.rejects(wal.sync(), /could not be synced.*ENOENT/);
    assert.equal(wal.barrier(), undefined, 'a failed sync leaves no barrier behind');
    // A failed sync is final: even with the file back, nothing more is acknowledged.
    writeFileSync(path, 'frames again');
    await assert.rejects(wal.sync(), /could not be synced/);
    assert.throws(() => wal.assertHealthy(), /restart the server/);
  } finally {
    wal.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a message batch on a durable SQLite file resolves only once its WAL sync is done; other writes stay synchronous=FULL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confab-walsync-'));
  const storage = openSqliteStorage({ filename: join(dir, 'confab.db') });
  try {
    await storage.apps.create({ sdkAppID: 1, name: 'a', secretKey: 'k', adminUserID: 'administrator', settings: { ...DEFAULT_APP_SETTINGS }, createdAt: 1 });
    await storage.accounts.ensure(1, 'a', 1);
    await storage.accounts.ensure(1, 'b', 1);
    const recipients = [{ userID: 'a', conversationID: 'c2c_b' }, { userID: 'b', conversationID: 'c2c_a' }];
    const pending = storage.messages.appendBatch([{ app: 1, convKey: 'c2c:a|b', sender: 'a', clientMsgID: 'm1', elem: { type: 'text', text: 'hi' }, recipients, now: 1 }]);
    assert.ok(storage.readBarrier?.(), 'the commit is readable but not yet synced: readers must wait');
    const { results } = await pending;
    assert.equal(results[0]!.message.seq, 1);
    assert.equal(storage.readBarrier?.(), undefined);
    assert.equal((await storage.messages.get(1, 'c2c:a|b', 1))?.clientMsgID, 'm1');
    assert.equal((storage as unknown as { messages: { db: { pragma(s: string, o: object): unknown } } }).messages.db.pragma('synchronous', { simple: true }), 2,
      'the connection is back to FULL (2) for every other write');
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
