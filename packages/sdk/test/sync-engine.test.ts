/** The sync engine's version rules and catch-up, with a scripted requester and a MemoryStore. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WireConversation, WireMessage } from '@confab/protocol';
import { createLogger } from '../src/log.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { SyncEngine, type Requester } from '../src/sync/sync-engine.js';
import { conv, msg } from './store-conformance.js';

const row = (id: string, extra: Partial<WireConversation>): WireConversation => ({ ...conv(id), deleted: false, ...extra } as WireConversation);

async function setup(handlers: Record<string, (body: any) => unknown>, version = 0) {
  const store = new MemoryStore();
  await store.open({ sdkAppID: 1, userID: 'alice' });
  if (version) await store.apply({ syncVersion: version });
  const calls: [string, any][] = [];
  const got = { messages: [] as WireMessage[], added: [] as string[], changed: [] as string[], removed: [] as string[], totals: [] as number[] };
  const request = (async (op: string, body: any) => {
    calls.push([op, body]);
    return handlers[op]!(body);
  }) as Requester;
  const engine = new SyncEngine({
    store, request, log: createLogger('silent'), isOwnOutgoing: (m) => m.clientMsgID === 'mine',
    events: {
      syncStart() {}, syncFinish() {}, syncFailed() {},
      conversations: (a, c, r) => { got.added.push(...a.map((x) => x.conversationID)); got.changed.push(...c.map((x) => x.conversationID)); got.removed.push(...r); },
      totalUnread: (t) => got.totals.push(t),
      newMessages: (ms) => got.messages.push(...ms),
    },
  });
  await engine.load();
  return { store, engine, calls, got };
}

describe('SyncEngine', () => {
  it('applies an update that follows, drops one already held, announces each message once', async () => {
    const { engine, got, calls } = await setup({}, 5);
    const u = { prevVersion: 5, version: 6, conversations: [row('c2c_bob', { version: 6, lastSeq: 1, unreadCount: 1 })], messages: [msg('c2c_bob', 1)] };
    await engine.handleUpdate(u);
    await engine.handleUpdate(u); // the same update again (reply + push)
    assert.equal(engine.version, 6);
    assert.deepEqual(got.messages.map((m) => m.msgID), ['c2c_bob/1']);
    assert.deepEqual(got.added, ['c2c_bob']);
    assert.deepEqual(got.totals, [1]);
    assert.deepEqual(calls, []);
  });

  it('does not announce this device\'s own outgoing message', async () => {
    const { engine, got } = await setup({}, 5);
    await engine.handleUpdate({ prevVersion: 5, version: 6, conversations: [row('c2c_bob', { version: 6, lastSeq: 1 })], messages: [msg('c2c_bob', 1, { sender: 'alice', clientMsgID: 'mine' })] });
    assert.deepEqual(got.messages, []);
  });

  it('a gap triggers conv.sync from the stored version, then catch-up via msg.history', async () => {
    const { engine, got, calls, store } = await setup({
      'conv.sync': () => ({ conversations: [row('c2c_bob', { version: 8, lastSeq: 3 }), row('c2c_gone', { version: 9, deleted: true })], version: 9, isFinished: true }),
      'msg.history': (b) => ({ messages: [1, 2, 3].filter((s) => s > b.afterSeq).map((s) => msg('c2c_bob', s)), isFinished: true }),
    }, 5);
    await store.apply({ upsertConversations: [conv('c2c_gone', { version: 2 })] });
    await engine.handleUpdate({ prevVersion: 7, version: 8, conversations: [], messages: [] });
    assert.deepEqual(calls.map((c) => c[0]), ['conv.sync', 'msg.history']);
    assert.equal(calls[0]![1].sinceVersion, 5);
    assert.equal(calls[1]![1].afterSeq, 0);
    assert.equal(engine.version, 9);
    assert.deepEqual(got.messages.map((m) => m.seq), [1, 2, 3]);
    assert.deepEqual(got.removed, ['c2c_gone']);
    assert.equal((await store.getConversation('c2c_bob'))?.deliveredSeq, 3);
    // A second sync finds nothing new to announce.
    await engine.sync();
    assert.equal(got.messages.length, 3);
  });
});
