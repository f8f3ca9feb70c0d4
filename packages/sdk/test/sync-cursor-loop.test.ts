/**
 * The SDK's `conv.sync` paging loop with a scripted server: it stores each page's version,
 * passes the cursor of a page that ended inside a version step, and still stops (with a
 * warning) on a page that moves neither the version nor the cursor.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WireConversation } from '@confab/protocol';
import { createLogger, type Logger } from '../src/log.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { MetaKey } from '../src/store/types.js';
import { SyncEngine, SYNC_PAGE, type Requester } from '../src/sync/sync-engine.js';
import { conv } from './store-conformance.js';

const row = (id: string, version: number): WireConversation => ({ ...conv(id, { version }), deleted: false } as WireConversation);

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...createLogger('silent'), warn: (...args: unknown[]) => { warnings.push(args.map(String).join(' ')); }, warnings };
}

async function engineWith(pages: ((body: any) => unknown)[], log: Logger = createLogger('silent')) {
  const store = new MemoryStore();
  await store.open({ sdkAppID: 1, userID: 'alice' });
  const syncs: any[] = [];
  const request = (async (op: string, body: any) => {
    if (op === 'conv.sync') {
      syncs.push(body);
      const next = pages.shift();
      if (!next) throw new Error('no more scripted pages');
      return next(body);
    }
    if (op === 'msg.history') return { messages: [], isFinished: true };
    if (op === 'sync.ack') return {};
    throw new Error(`unexpected ${op}`);
  }) as Requester;
  const engine = new SyncEngine({
    store, request, log, isOwnOutgoing: () => false,
    events: { syncStart() {}, syncFinish() {}, syncFailed() {}, conversations() {}, totalUnread() {}, newMessages() {} },
  });
  await engine.load();
  return { store, engine, syncs };
}

describe('conv.sync paging loop', () => {
  it('passes the cursor of a page that ends inside a step and stores the last complete version', async () => {
    const { engine, store, syncs } = await engineWith([
      () => ({ conversations: [row('c2c_a', 1), row('c2c_b', 2)], version: 1, isFinished: false, cursor: 'k2' }),
      () => ({ conversations: [row('c2c_c', 2)], version: 1, isFinished: false, cursor: 'k3' }),
      () => ({ conversations: [row('c2c_d', 2), row('c2c_e', 3)], version: 3, isFinished: true }),
    ]);
    await engine.sync();
    assert.deepEqual(syncs.map((b) => [b.sinceVersion, b.cursor]), [[0, undefined], [1, 'k2'], [1, 'k3']]);
    assert.ok(syncs.every((b) => b.count === SYNC_PAGE));
    assert.equal(SYNC_PAGE, 1000);
    assert.equal(engine.version, 3);
    assert.equal(await store.getMeta(MetaKey.SYNC_VERSION), '3');
    assert.deepEqual((await store.listConversations()).map((c) => c.conversationID).sort(), ['c2c_a', 'c2c_b', 'c2c_c', 'c2c_d', 'c2c_e']);
  });

  it('a page inside a step keeps the stored version at the last complete one', async () => {
    let stored: string | undefined;
    const { engine, store } = await engineWith([
      () => ({ conversations: [row('c2c_a', 4)], version: 3, isFinished: false, cursor: 'k1' }),
      async () => {
        stored = await store.getMeta(MetaKey.SYNC_VERSION);
        throw new Error('connection lost');
      },
    ]);
    await engine.sync();
    assert.equal(stored, '3', 'a device that stops here resumes from version 3 and reads step 4 again');
  });

  it('stops on a page that moves neither the version nor the cursor', async () => {
    const log = recordingLogger();
    const { engine, syncs } = await engineWith([
      () => ({ conversations: [], version: 2, isFinished: false, cursor: 'same' }),
      () => ({ conversations: [], version: 2, isFinished: false, cursor: 'same' }),
    ], log);
    await engine.sync();
    assert.equal(syncs.length, 2);
    assert.ok(log.warnings.some((w) => /does not advance/.test(w)), JSON.stringify(log.warnings));
  });

  it('drops a cursor whose version is behind the one already held', async () => {
    const { engine, store, syncs } = await engineWith([
      () => ({ conversations: [], version: 4, isFinished: false, cursor: 'old' }),
      () => ({ conversations: [], version: 9, isFinished: true }),
    ]);
    await store.apply({ syncVersion: 6 });
    await engine.load();
    await engine.sync();
    assert.deepEqual(syncs.map((b) => [b.sinceVersion, b.cursor]), [[6, undefined], [6, undefined]],
      'the reply raced a newer version: its cursor belongs to version 4 and is not sent with 6');
    assert.equal(engine.version, 9);
  });
});
