/**
 * Browser entry for the IndexedDbStore tests, bundled by packages/sdk/test/indexeddb.test.ts
 * with `node:test` → ./node-test-shim.ts and `node:assert/strict` → ./assert-shim.ts, so
 * the SAME suite as MemoryStore and SqliteStore (../store-conformance.ts) runs against
 * real IndexedDB in Chromium.
 *
 * Page protocol (the Node side drives it through playwright-core):
 * - `/?run=conformance` runs every registered test on load and sets
 *   `window.__results = { done: true, results: BrowserTestResult[] }` (also shown on the page);
 * - `window.__confab` exposes helpers for the reload test: `write`, `deleteSome` and
 *   `snapshot`, each taking a database name and resolving with plain JSON.
 */
import assert from './assert-shim.js';
import { describe, it, run, type BrowserTestResult } from './node-test-shim.js';
import { conv, msg, runStoreConformance } from '../store-conformance.js';
import { IndexedDbStore } from '../../src/store/indexeddb-store.js';
import type { IdbFactory } from '../../src/store/idb-types.js';
import type { StoreScope } from '../../src/store/types.js';

interface PageGlobals {
  __results?: { done: boolean; results: BrowserTestResult[]; error?: string };
  __confab?: typeof api;
  location?: { search: string };
  document?: { body: { textContent: string | null } };
  indexedDB?: IdbFactory;
}
const page = globalThis as unknown as PageGlobals;

const APP: StoreScope = { sdkAppID: 1400000001, userID: 'alice' };
/** Database names unique to this page load, so a re-run never sees an old run's data. */
const RUN = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
let n = 0;
const freshName = (what: string) => `confab-test-${what}-${RUN}-${++n}`;

runStoreConformance('IndexedDbStore', () => new IndexedDbStore({ dbName: freshName('conformance') }));

/** Every primary key in one object store, read with the raw API (bypassing the store). */
function rawKeys(dbName: string, storeName: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const req = page.indexedDB!.open(dbName);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const keys: unknown[] = [];
      const cursorReq = db.transaction(storeName, 'readonly').objectStore(storeName).openCursor();
      cursorReq.onerror = () => reject(cursorReq.error);
      cursorReq.onsuccess = () => {
        const cursor = cursorReq.result;
        if (cursor) {
          keys.push(cursor.primaryKey);
          cursor.continue();
        } else {
          db.close();
          resolve(keys);
        }
      };
    };
  });
}

describe('IndexedDbStore specifics', () => {
  it('a failure inside the transaction rolls the whole batch back', async () => {
    const store = new IndexedDbStore({ dbName: freshName('rollback') });
    await store.open(APP);
    await store.apply({ syncVersion: 1, upsertConversations: [conv('c2c_bob')], putMessages: [msg('c2c_bob', 1)] });
    // Valid for validateBatch, but a function cannot be structured-cloned: the put throws
    // DataCloneError after the remove, upsert and first put were already issued.
    const uncloneable = msg('c2c_carol', 2, { elem: { type: 'custom', data: 'x', fn: () => 1 } as never });
    await assert.rejects(store.apply({
      removeConversations: ['c2c_bob'], upsertConversations: [conv('c2c_carol')],
      putMessages: [msg('c2c_carol', 1), uncloneable], syncVersion: 2,
    }), { name: 'ConfabError', code: 6019 });
    assert.equal(await store.getMeta('syncVersion'), '1');
    assert.deepEqual((await store.listConversations()).map((c) => c.conversationID), ['c2c_bob']);
    assert.deepEqual((await store.getMessages('c2c_bob', { limit: 10 })).map((m) => m.seq), [1]);
    assert.deepEqual(await store.getMessages('c2c_carol', { limit: 10 }), []);
    // The store is still usable afterwards.
    await store.apply({ syncVersion: 3 });
    assert.equal(await store.getMeta('syncVersion'), '3');
    await store.close();
  });

  it('a deletion leaves no message rows or msgID index entries behind', async () => {
    const dbName = freshName('deletion');
    const store = new IndexedDbStore({ dbName });
    await store.open(APP);
    await store.apply({
      upsertConversations: [conv('c2c_bob'), conv('c2c_carol'), conv('group_g1')],
      putMessages: [1, 2, 3].flatMap((s) => [msg('c2c_bob', s), msg('c2c_carol', s), msg('group_g1', s)]),
    });
    await store.apply({ removeConversations: ['c2c_bob'], clearMessages: ['c2c_carol'], dropMessagesBelow: [{ conversationID: 'group_g1', seq: 3 }] });
    await store.close();
    const keys = await rawKeys(dbName, 'messages');
    assert.deepEqual(keys, [['1400000001:alice', 'group_g1', 3]]);
    assert.deepEqual(await rawKeys(dbName, 'conversations'), [['1400000001:alice', 'c2c_carol'], ['1400000001:alice', 'group_g1']]);
  });

  it('a msgID moving to another seq keeps one row (no unique-index abort)', async () => {
    const store = new IndexedDbStore({ dbName: freshName('move') });
    await store.open(APP);
    await store.apply({ putMessages: [msg('c2c_bob', 1, { msgID: 'm' }), msg('c2c_bob', 2, { msgID: 'm' })] });
    assert.deepEqual((await store.getMessages('c2c_bob', { limit: 10 })).map((m) => [m.msgID, m.seq]), [['m', 2]]);
    assert.deepEqual((await store.getMessagesByID(['m'])).map((m) => m.seq), [2]);
    await store.close();
  });

  it('two store objects on one dbName share data; another dbName is separate', async () => {
    const dbName = freshName('shared');
    const a = new IndexedDbStore({ dbName });
    const b = new IndexedDbStore({ dbName });
    const other = new IndexedDbStore({ dbName: freshName('other') });
    for (const s of [a, b, other]) await s.open(APP);
    await a.apply({ upsertConversations: [conv('c2c_bob')], syncVersion: 4 });
    assert.equal(await b.getMeta('syncVersion'), '4');
    assert.equal((await b.listConversations()).length, 1);
    assert.deepEqual(await other.listConversations(), []);
    for (const s of [a, b, other]) await s.close();
  });

  it('pages a large conversation from one batch', async () => {
    const store = new IndexedDbStore({ dbName: freshName('large') });
    await store.open(APP);
    const seqs = Array.from({ length: 500 }, (_, i) => i + 1);
    await store.apply({ upsertConversations: [conv('group_big', { lastSeq: 500 })], putMessages: seqs.map((s) => msg('group_big', s)) });
    const newest = await store.getMessages('group_big', { limit: 20 });
    assert.deepEqual(newest.map((m) => m.seq), seqs.slice(480));
    const older = await store.getMessages('group_big', { beforeSeq: 481, limit: 20 });
    assert.deepEqual(older.map((m) => m.seq), seqs.slice(460, 480));
    const after = await store.getMessages('group_big', { afterSeq: 495, limit: 20 });
    assert.deepEqual(after.map((m) => m.seq), [496, 497, 498, 499, 500]);
    assert.equal((await store.getMessagesByID(seqs.map((s) => `group_big/${s}`))).length, 500);
    await store.close();
  });

  it('a version-1 database upgrades: its rows join the list index and each scope gets its total', async () => {
    const dbName = freshName('upgrade');
    // The layout version 1 wrote: conversations as { s, c, v } without sort key or unread.
    await new Promise<void>((resolve, reject) => {
      const req = page.indexedDB!.open(dbName, 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        db.createObjectStore('meta', { keyPath: ['s', 'k'] });
        const convs = db.createObjectStore('conversations', { keyPath: ['s', 'c'] });
        db.createObjectStore('messages', { keyPath: ['s', 'c', 'q'] }).createIndex('byID', ['s', 'id'], { unique: true });
        const rows = [
          ['1400000001:alice', conv('c2c_bob', { orderKey: 5, unreadCount: 2 })],
          ['1400000001:alice', conv('c2c_carol', { orderKey: 9, unreadCount: 1 })],
          ['1400000001:alice', conv('group_g1', { orderKey: 1, isPinned: true, unreadCount: 4 })],
          ['1400000001:dave', conv('c2c_erin', { orderKey: 3, unreadCount: 7 })],
        ] as const;
        for (const [sc, c] of rows) convs.put({ s: sc, c: c.conversationID, v: c });
      };
      req.onsuccess = () => {
        req.result.close();
        resolve();
      };
      req.onerror = () => reject(req.error);
    });
    const store = new IndexedDbStore({ dbName });
    await store.open(APP);
    assert.deepEqual((await store.listConversationPage(undefined, 10)).map((c) => c.conversationID), ['group_g1', 'c2c_carol', 'c2c_bob']);
    assert.deepEqual((await store.listConversationPage({ isPinned: false, orderKey: 9, conversationID: 'c2c_carol' }, 10)).map((c) => c.conversationID), ['c2c_bob']);
    assert.equal(await store.getTotalUnread(), 7);
    await store.apply({ removeConversations: ['c2c_carol'] });
    assert.equal(await store.getTotalUnread(), 6);
    await store.open({ sdkAppID: 1400000001, userID: 'dave' });
    assert.equal(await store.getTotalUnread(), 7);
    await store.close();
  });

  it('close() is idempotent and later calls fail with 6019', async () => {
    const store = new IndexedDbStore({ dbName: freshName('close') });
    await store.open(APP);
    await store.close();
    await store.close();
    await assert.rejects(store.getMeta('deviceID'), { code: 6019 });
    await store.open(APP);
    assert.equal(await store.getMeta('deviceID'), undefined);
    await store.close();
  });
});

/** Helpers for the reload test (Node side: packages/sdk/test/indexeddb.test.ts). */
const api = {
  async write(dbName: string): Promise<void> {
    const store = new IndexedDbStore({ dbName });
    await store.open(APP);
    await store.setMeta('deviceID', 'browser-1');
    await store.apply({
      syncVersion: 5,
      upsertConversations: [conv('c2c_bob', { lastSeq: 2 }), conv('c2c_carol', { lastSeq: 2, deliveredSeq: 2 })],
      putMessages: [msg('c2c_bob', 1), msg('c2c_bob', 2), msg('c2c_carol', 1), msg('c2c_carol', 2)],
    });
    await store.close();
  },

  async deleteSome(dbName: string): Promise<void> {
    const store = new IndexedDbStore({ dbName });
    await store.open(APP);
    await store.apply({ syncVersion: 6, removeConversations: ['c2c_bob'], dropMessagesBelow: [{ conversationID: 'c2c_carol', seq: 2 }] });
    await store.close();
  },

  async snapshot(dbName: string) {
    const store = new IndexedDbStore({ dbName });
    await store.open(APP);
    const conversations = await store.listConversations();
    const ids = ['c2c_bob/1', 'c2c_bob/2', 'c2c_carol/1', 'c2c_carol/2'];
    const out = {
      deviceID: (await store.getMeta('deviceID')) ?? null,
      syncVersion: (await store.getMeta('syncVersion')) ?? null,
      conversations: conversations.map((c) => c.conversationID).sort(),
      carolDeliveredSeq: conversations.find((c) => c.conversationID === 'c2c_carol')?.deliveredSeq ?? null,
      bob: (await store.getMessages('c2c_bob', { limit: 10 })).map((m) => m.seq),
      carol: (await store.getMessages('c2c_carol', { limit: 10 })).map((m) => m.seq),
      byID: (await store.getMessagesByID(ids)).map((m) => m.msgID).sort(),
      rawMessageKeys: [] as unknown[],
    };
    await store.close();
    out.rawMessageKeys = await rawKeys(dbName, 'messages');
    return out;
  },
};
page.__confab = api;

function show(results: BrowserTestResult[], error?: string): void {
  if (!page.document) return;
  const lines = results.map((r) => `${r.status.toUpperCase()} ${r.path.join(' › ')}${r.error ? `\n    ${r.error.message}` : ''}`);
  page.document.body.textContent = [...lines, error ? `ERROR ${error}` : ''].join('\n');
}

if (page.location?.search.includes('run=conformance')) {
  const results: BrowserTestResult[] = [];
  page.__results = { done: false, results };
  run({ onResult: (r) => { results.push(r); show(results); } }).then(
    () => { page.__results = { done: true, results }; },
    (err: unknown) => {
      page.__results = { done: true, results, error: String((err as Error)?.stack ?? err) };
      show(results, String(err));
    },
  );
}
