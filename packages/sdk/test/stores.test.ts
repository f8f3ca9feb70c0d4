import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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

describe('SqliteStore migration', () => {
  it('a file written before the list index opens with the index filled and each scope\'s total counted', async () => {
    const path = join(dir, 'version-0.db');
    // The layout SDKs wrote before version 1 (no user_version, JSON rows only).
    const old = new Database(path);
    old.exec(`
      CREATE TABLE meta (scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (scope, key));
      CREATE TABLE conversations (scope TEXT NOT NULL, conversation_id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (scope, conversation_id));
      CREATE TABLE messages (scope TEXT NOT NULL, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, msg_id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (scope, conversation_id, seq));
      CREATE UNIQUE INDEX messages_by_id ON messages (scope, msg_id);`);
    const rows = [
      ['1400000001:alice', conv('c2c_bob', { orderKey: 5, unreadCount: 2 })],
      ['1400000001:alice', conv('c2c_carol', { orderKey: 9, unreadCount: 1 })],
      ['1400000001:alice', conv('group_g1', { orderKey: 1, isPinned: true, unreadCount: 4 })],
      ['1400000001:dave', conv('c2c_erin', { orderKey: 3, unreadCount: 7 })],
    ] as const;
    const insert = old.prepare('INSERT INTO conversations (scope, conversation_id, data) VALUES (?, ?, ?)');
    for (const [scope, c] of rows) insert.run(scope, c.conversationID, JSON.stringify(c));
    old.prepare("INSERT INTO meta VALUES ('1400000001:alice', 'syncVersion', '9')").run();
    old.close();

    const store = new SqliteStore(path);
    await store.open({ sdkAppID: 1400000001, userID: 'alice' });
    assert.equal(await store.getMeta('syncVersion'), '9');
    assert.deepEqual((await store.listConversationPage(undefined, 10)).map((c) => c.conversationID), ['group_g1', 'c2c_carol', 'c2c_bob']);
    assert.equal(await store.getTotalUnread(), 7);
    await store.apply({ upsertConversations: [conv('c2c_bob', { orderKey: 10, unreadCount: 0 })] });
    assert.equal(await store.getTotalUnread(), 5);
    await store.open({ sdkAppID: 1400000001, userID: 'dave' });
    assert.equal(await store.getTotalUnread(), 7);
    await store.close();

    const check = new Database(path, { readonly: true });
    assert.equal(check.pragma('user_version', { simple: true }), 1);
    // The page query runs on the index, not a scan and sort.
    const plan = check.prepare(`EXPLAIN QUERY PLAN SELECT data FROM conversations WHERE scope = ?
      AND (pin_rank, neg_order, conversation_id) > (?, ?, ?) ORDER BY pin_rank, neg_order, conversation_id LIMIT 10`)
      .all('1400000001:alice', 1, -5, 'c2c_bob') as { detail: string }[];
    const details = plan.map((r) => r.detail).join(' | ');
    assert.match(details, /conversations_in_order/);
    assert.doesNotMatch(details, /TEMP B-TREE/);
    check.close();
  });
});
