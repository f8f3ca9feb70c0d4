/** The sync engine's version rules and catch-up, with a scripted requester and a MemoryStore. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfabError, ErrorCode, type WireConversation, type WireMessage } from '@confab/protocol';
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

  it('a deletion learnt through a gap sync is acknowledged, and its late update is dropped without a second sync', async () => {
    const { engine, calls } = await setup({
      'conv.sync': () => ({ conversations: [row('c2c_bob', { version: 7, deleted: true })], version: 7, isFinished: true }),
      'sync.ack': () => ({}),
    }, 5);
    // The deletion's update (6 -> 7) comes after something made the device sync first.
    await engine.handleUpdate({ prevVersion: 6, version: 7, conversations: [], messages: [] });
    assert.equal(engine.version, 7);
    assert.deepEqual(calls.filter(([op]) => op === 'sync.ack').map(([, b]) => b), [{ version: 7 }], 'the wipe is acknowledged once');
    await engine.handleUpdate({ prevVersion: 6, version: 7, conversations: [row('c2c_bob', { version: 7, deleted: true })], messages: [], deletion: { mode: 'delete', conversationIDs: ['c2c_bob'], deviceID: 'A' } });
    assert.equal(calls.filter(([op]) => op === 'conv.sync').length, 1);
  });

  it('a gap triggers conv.sync from the stored version, then catch-up via msg.history', async () => {
    const { engine, got, calls, store } = await setup({
      'conv.sync': () => ({ conversations: [row('c2c_bob', { version: 8, lastSeq: 3 }), row('c2c_gone', { version: 9, deleted: true })], version: 9, isFinished: true }),
      'msg.history': (b) => ({ messages: [1, 2, 3].filter((s) => s > b.afterSeq).map((s) => msg('c2c_bob', s)), isFinished: true }),
    }, 5);
    await store.apply({ upsertConversations: [conv('c2c_gone', { version: 2 })] });
    await engine.handleUpdate({ prevVersion: 7, version: 8, conversations: [], messages: [] });
    // The gap sync ends with an acknowledgement: it may have carried a deletion (c2c_gone).
    assert.deepEqual(calls.map((c) => c[0]), ['conv.sync', 'msg.history', 'sync.ack']);
    assert.equal(calls[2]![1].version, 9);
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

  it('a first sync (version 0) takes every page as history: no msg.history, nothing announced, total from the rows', async () => {
    // Three pages of rows, each with unread messages and a last message; the later pages
    // arrive after the stored version has already moved past 0.
    const pages = [0, 1, 2].map((p) => Array.from({ length: 4 }, (_, i) => row(`c2c_u${p * 4 + i}`, {
      version: p + 1, lastSeq: 10, readSeq: 7, unreadCount: 3, orderKey: p * 4 + i, lastMessage: msg(`c2c_u${p * 4 + i}`, 10),
    })));
    const { engine, got, calls, store } = await setup({
      'conv.sync': (b) => {
        const p = b.sinceVersion as number;
        return { conversations: pages[p], version: p + 1, isFinished: p === 2 };
      },
    });
    await engine.sync();
    assert.deepEqual(calls.map((c) => c[0]), ['conv.sync', 'conv.sync', 'conv.sync', 'sync.ack']);
    assert.equal(got.messages.length, 0);
    assert.equal(got.added.length, 12);
    assert.equal(got.totals.at(-1), 36);
    assert.equal(await store.getTotalUnread(), 36);
    assert.equal((await store.getConversation('c2c_u11'))?.deliveredSeq, 10);
    // After the first sync the device is live: a message that arrives is announced.
    await engine.handleUpdate({
      prevVersion: 3, version: 4, messages: [msg('c2c_u0', 11)],
      conversations: [row('c2c_u0', { version: 4, lastSeq: 11, readSeq: 7, unreadCount: 4, orderKey: 40, lastMessage: msg('c2c_u0', 11) })],
    });
    assert.deepEqual(got.messages.map((m) => m.msgID), ['c2c_u0/11']);
    assert.equal(got.totals.at(-1), 37);
  });

  it('a later sync catches up only the conversations it changed, and retries a failed one at the next pass', async () => {
    let failBob = true;
    const { engine, got, calls, store } = await setup({
      'conv.sync': (b) => (b.sinceVersion === 5
        ? { conversations: [row('c2c_bob', { version: 6, lastSeq: 2 }), row('c2c_carol', { version: 6, lastSeq: 1 })], version: 6, isFinished: true }
        : { conversations: [], version: 6, isFinished: true }),
      'msg.history': (b) => {
        if (b.conversationID === 'c2c_bob' && failBob) throw new Error('boom');
        const top = b.conversationID === 'c2c_bob' ? 2 : 1;
        return { messages: Array.from({ length: top }, (_, i) => msg(b.conversationID, i + 1)).filter((m) => m.seq > b.afterSeq), isFinished: true };
      },
    }, 5);
    // Rows the device already delivered are left alone, however many there are.
    await store.apply({ upsertConversations: Array.from({ length: 30 }, (_, i) => conv(`c2c_old${i}`, { lastSeq: 4, deliveredSeq: 4 })) });
    await engine.sync();
    const history = () => calls.filter((c) => c[0] === 'msg.history').map((c) => c[1].conversationID).sort();
    assert.deepEqual(history(), ['c2c_bob', 'c2c_carol']);
    assert.deepEqual(got.messages.map((m) => m.msgID), ['c2c_carol/1']);
    failBob = false;
    await engine.sync();
    assert.deepEqual(history(), ['c2c_bob', 'c2c_bob', 'c2c_carol']);
    assert.deepEqual(got.messages.map((m) => m.msgID).sort(), ['c2c_bob/1', 'c2c_bob/2', 'c2c_carol/1']);
  });

  it('load() picks up conversations a previous run left behind', async () => {
    const store = new MemoryStore();
    await store.open({ sdkAppID: 1, userID: 'alice' });
    await store.apply({ syncVersion: 5, upsertConversations: [conv('c2c_bob', { lastSeq: 2, deliveredSeq: 1 }), conv('c2c_carol', { lastSeq: 3, deliveredSeq: 3 })] });
    const calls: string[] = [];
    const got: WireMessage[] = [];
    const engine = new SyncEngine({
      store, log: createLogger('silent'), isOwnOutgoing: () => false,
      request: (async (op: string, body: any) => {
        if (op === 'msg.history') calls.push(body.conversationID);
        if (op === 'conv.sync') return { conversations: [], version: 5, isFinished: true };
        if (op === 'msg.history') return { messages: [msg('c2c_bob', 2)], isFinished: true };
        return {};
      }) as Requester,
      events: { syncStart() {}, syncFinish() {}, syncFailed() {}, conversations() {}, totalUnread() {}, newMessages: (ms) => got.push(...ms) },
    });
    await engine.load();
    await engine.sync();
    assert.deepEqual(calls, ['c2c_bob']);
    assert.deepEqual(got.map((m) => m.msgID), ['c2c_bob/2']);
  });

  it('a first sync cut off after one page still takes the remaining pages as history after a restart', async () => {
    const store = new MemoryStore();
    await store.open({ sdkAppID: 1, userID: 'alice' });
    const page = (p: number) => Array.from({ length: 3 }, (_, i) => row(`c2c_p${p}x${i}`, { version: p + 1, lastSeq: 5, readSeq: 2, unreadCount: 3, orderKey: p * 3 + i }));
    const history: string[] = [];
    const engineOn = (failSecondPage: boolean) => new SyncEngine({
      store, log: createLogger('silent'), isOwnOutgoing: () => false,
      request: (async (op: string, body: any) => {
        if (op === 'msg.history') {
          history.push(body.conversationID);
          return { messages: [], isFinished: true };
        }
        if (op !== 'conv.sync') return {};
        if (body.sinceVersion === 1 && failSecondPage) throw new ConfabError(ErrorCode.NETWORK_DISCONNECTED, 'gone');
        return { conversations: page(body.sinceVersion), version: body.sinceVersion + 1, isFinished: body.sinceVersion === 2 };
      }) as Requester,
      events: { syncStart() {}, syncFinish() {}, syncFailed() {}, conversations() {}, totalUnread() {}, newMessages() {} },
    });
    const first = engineOn(true);
    await first.load();
    await first.sync();
    assert.equal(first.version, 1, 'one page applied before the connection dropped');
    assert.equal(await store.getMeta('initialSync'), 'pending');
    const restarted = engineOn(false);
    await restarted.load();
    await restarted.sync();
    assert.equal(restarted.version, 3);
    assert.deepEqual(history, [], 'no page of the first sync pulls messages');
    assert.equal(await store.getMeta('initialSync'), 'done');
    assert.equal((await store.getConversation('c2c_p2x0'))?.deliveredSeq, 5);
  });
});
