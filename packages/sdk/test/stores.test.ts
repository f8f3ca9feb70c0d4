import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../src/store/memory-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { conv, msg, runStoreConformance } from './store-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'confab-sdk-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

runStoreConformance('MemoryStore', () => new MemoryStore());
runStoreConformance('SqliteStore', () => new SqliteStore(join(dir, `store-${++n}.db`)));

describe('SqliteStore persistence', () => {
  it('reopening the file shows the data written before', async () => {
    const path = join(dir, 'reopen.db');
    const scope = { sdkAppID: 1400000001, userID: 'alice' };
    const first = new SqliteStore(path);
    await first.open(scope);
    await first.setMeta('deviceID', 'phone-1');
    await first.apply({ syncVersion: 12, upsertConversations: [conv('c2c_bob', { lastSeq: 2 })], putMessages: [msg('c2c_bob', 1), msg('c2c_bob', 2)] });
    await first.close();

    const second = new SqliteStore(path);
    await second.open(scope);
    assert.equal(await second.getMeta('deviceID'), 'phone-1');
    assert.equal(await second.getMeta('syncVersion'), '12');
    assert.equal((await second.getConversation('c2c_bob'))?.lastSeq, 2);
    assert.deepEqual((await second.getMessages('c2c_bob', { limit: 10 })).map((m) => m.seq), [1, 2]);
    await second.close();
  });
});
