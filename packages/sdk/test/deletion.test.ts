/**
 * Deletion in the SDK without a server: the batch builder's tombstone / watermark /
 * comeback rules, the engine's local wipe (`applyRemoval`), the pending-deletion list and
 * the login-time recovery with a scripted connection.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfabError, ErrorCode, type WireConversation } from '@confab/protocol';
import { createLogger } from '../src/log.js';
import { recoverPendingDeletions } from '../src/manager/deletion.js';
import { Session } from '../src/manager/core.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { MetaKey, type StoredConversation } from '../src/store/types.js';
import { buildBatch } from '../src/sync/batch.js';
import { PendingDeletions } from '../src/sync/pending-deletions.js';
import { SyncEngine } from '../src/sync/sync-engine.js';
import { conv, msg } from './store-conformance.js';

const row = (id: string, extra: Partial<WireConversation>): WireConversation => ({ ...conv(id), deleted: false, ...extra } as WireConversation);

async function setup(version: number, handlers: Record<string, (body: any) => unknown> = {}) {
  const store = new MemoryStore();
  await store.open({ sdkAppID: 1, userID: 'alice' });
  await store.apply({ syncVersion: version });
  const got = { added: [] as string[], changed: [] as string[], removed: [] as string[], totals: [] as number[], log: [] as string[] };
  const calls: [string, any][] = [];
  const request = async (op: string, body: any) => {
    calls.push([op, body]);
    const h = handlers[op];
    if (!h) throw new Error(`unexpected ${op}`);
    return h(body);
  };
  const engine = new SyncEngine({
    store, request: request as never, log: createLogger('silent'), isOwnOutgoing: () => false,
    events: {
      syncStart() {}, syncFinish() {}, syncFailed() {},
      conversations: (a, c, r) => {
        got.added.push(...a.map((x) => x.conversationID)); got.changed.push(...c.map((x) => x.conversationID)); got.removed.push(...r);
        if (r.length) got.log.push(`deleted:${r.join(',')}`);
      },
      totalUnread: (t) => { got.totals.push(t); got.log.push(`total:${t}`); },
      newMessages() {},
    },
  });
  return { store, engine, got, calls, request };
}

describe('buildBatch and deletion', () => {
  it('a tombstone removes the row and all its messages in the same batch; a raised watermark drops below it', () => {
    const existing = new Map<string, StoredConversation>([
      ['c2c_bob', conv('c2c_bob', { version: 3, lastSeq: 5 })],
      ['c2c_carol', conv('c2c_carol', { version: 3, lastSeq: 5, visibleFromSeq: 0 })],
    ]);
    const built = buildBatch({
      conversations: [row('c2c_bob', { version: 4, deleted: true }), row('c2c_carol', { version: 4, lastSeq: 5, visibleFromSeq: 6 })],
      messages: [], syncVersion: 4, fresh: false,
    }, existing);
    assert.deepEqual(built.batch.removeConversations, ['c2c_bob']);
    assert.deepEqual(built.removed, ['c2c_bob']);
    assert.deepEqual(built.batch.dropMessagesBelow, [{ conversationID: 'c2c_carol', seq: 6 }]);
    assert.deepEqual(built.changed.map((c) => c.conversationID), ['c2c_carol']);
  });

  it('a row whose watermark jumped past everything held and has something above it is new again', () => {
    const existing = new Map<string, StoredConversation>([['c2c_bob', { ...conv('c2c_bob', { version: 3, lastSeq: 5, unreadCount: 5 }), deliveredSeq: 5 }]]);
    const built = buildBatch({
      conversations: [row('c2c_bob', { version: 6, lastSeq: 6, visibleFromSeq: 6, unreadCount: 1 })],
      messages: [msg('c2c_bob', 6), msg('c2c_bob', 4)], syncVersion: 6, fresh: false,
    }, existing);
    assert.deepEqual(built.added.map((c) => c.conversationID), ['c2c_bob']);
    assert.deepEqual(built.changed, []);
    assert.deepEqual(built.batch.clearMessages, ['c2c_bob']);
    assert.deepEqual(built.messages.map((m) => m.seq), [6]);
  });

  it('a new message after a clear this device applied is a change, not a new conversation', () => {
    const existing = new Map<string, StoredConversation>([['c2c_bob', conv('c2c_bob', { version: 4, lastSeq: 5, visibleFromSeq: 6 })]]);
    const built = buildBatch({ conversations: [row('c2c_bob', { version: 5, lastSeq: 6, visibleFromSeq: 6 })], messages: [msg('c2c_bob', 6)], syncVersion: 5, fresh: false }, existing);
    assert.deepEqual(built.added, []);
    assert.deepEqual(built.changed.map((c) => c.conversationID), ['c2c_bob']);
  });
});

describe('SyncEngine.applyRemoval', () => {
  it('applies the update, announces the deletion and the new total in one step', async () => {
    const { store, engine, got } = await setup(5);
    await store.apply({ upsertConversations: [conv('c2c_bob', { version: 4, lastSeq: 2, unreadCount: 2 }), conv('c2c_carol', { version: 5, unreadCount: 1 })], putMessages: [msg('c2c_bob', 1), msg('c2c_bob', 2)] });
    await engine.load();
    const done = await engine.applyRemoval({
      update: { prevVersion: 5, version: 6, conversations: [row('c2c_bob', { version: 6, deleted: true })], messages: [] },
      conversationIDs: ['c2c_bob'], mode: 'delete', upToVersion: 5,
    });
    assert.equal(done, true);
    assert.deepEqual(got.log, ['deleted:c2c_bob', 'total:1']);
    assert.equal(await store.getConversation('c2c_bob'), undefined);
    assert.deepEqual(await store.getMessages('c2c_bob', { limit: 10 }), []);
  });

  it('wipes rows the update could not reach (no update, or a gap) but keeps rows changed after the deletion', async () => {
    const { store, engine, got } = await setup(9);
    await store.apply({ upsertConversations: [conv('c2c_bob', { version: 4, unreadCount: 2 }), conv('c2c_carol', { version: 9, unreadCount: 1 })], putMessages: [msg('c2c_bob', 1)] });
    await engine.load();
    await engine.applyRemoval({ update: undefined, conversationIDs: ['c2c_bob', 'c2c_carol', 'bad'], mode: 'delete', upToVersion: 8 });
    assert.deepEqual(got.removed, ['c2c_bob']);
    assert.ok(await store.getConversation('c2c_carol'));
    assert.deepEqual(await store.getMessages('c2c_bob', { limit: 10 }), []);
    assert.deepEqual(got.totals, [1]);
  });

  it('clearHistory without an update empties the row locally', async () => {
    const { store, engine, got } = await setup(3);
    await store.apply({ upsertConversations: [conv('c2c_bob', { version: 3, lastSeq: 2, unreadCount: 2, lastMessage: msg('c2c_bob', 2) })], putMessages: [msg('c2c_bob', 1), msg('c2c_bob', 2)] });
    await engine.load();
    await engine.applyRemoval({ update: undefined, conversationIDs: ['c2c_bob'], mode: 'clearHistory', upToVersion: 3 });
    const c = await store.getConversation('c2c_bob');
    assert.ok(c);
    assert.equal(c.lastMessage, null);
    assert.equal(c.unreadCount, 0);
    assert.equal(c.visibleFromSeq, 3);
    assert.deepEqual(await store.getMessages('c2c_bob', { limit: 10 }), []);
    assert.deepEqual(got.changed, ['c2c_bob']);
    assert.deepEqual(got.totals, [0]);
  });

  it('resolves false once stopped (logout): the pending entry must stay', async () => {
    const { engine } = await setup(1);
    engine.stop();
    assert.equal(await engine.applyRemoval({ update: undefined, conversationIDs: ['c2c_bob'], mode: 'delete', upToVersion: 1 }), false);
  });
});

describe('pending deletions', () => {
  it('round-trips through the store meta; concurrent adds and removes do not lose entries', async () => {
    const store = new MemoryStore();
    await store.open({ sdkAppID: 1, userID: 'alice' });
    const p = new PendingDeletions(store);
    await Promise.all([1, 2, 3].map((i) => p.add({ id: `e${i}`, conversationIDs: [`c2c_u${i}`], mode: 'delete' })));
    await Promise.all([p.remove('e2'), p.add({ id: 'e4', conversationIDs: ['group_g'], mode: 'clearHistory' })]);
    assert.deepEqual((await p.list()).map((e) => e.id).sort(), ['e1', 'e3', 'e4']);
    await store.setMeta(MetaKey.PENDING_DELETIONS, 'not json');
    assert.deepEqual(await p.list(), []);
  });

  it('recovery: re-issues and wipes; keeps an entry on a network error; drops one the server refuses', async () => {
    let offline = false;
    const t = await setup(5, {
      'conv.delete': (b) => {
        if (offline) throw new ConfabError(ErrorCode.NETWORK_WAIT_ACK_TIMEOUT, 'lost');
        if (b.conversationIDs.length === 0) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'empty');
        return { results: b.conversationIDs.map((id: string) => ({ id, resultCode: 0, resultInfo: '' })) };
      },
    });
    await t.store.apply({ upsertConversations: [conv('c2c_bob', { version: 4, unreadCount: 1 })], putMessages: [msg('c2c_bob', 1)] });
    await t.engine.load();
    const connection = { state: 'connected', request: (op: string, body: unknown) => t.request(op, body) };
    const session = new Session('alice', t.store, connection as never, t.engine);
    await session.pending.add({ id: 'bad', conversationIDs: [], mode: 'delete' });
    await session.pending.add({ id: 'p1', conversationIDs: ['c2c_bob'], mode: 'delete' });

    offline = true;
    await recoverPendingDeletions(session, createLogger('silent'));
    assert.deepEqual((await session.pending.list()).map((e) => e.id), ['bad', 'p1'], 'offline: everything kept');
    assert.ok(await t.store.getConversation('c2c_bob'));

    offline = false;
    await recoverPendingDeletions(session, createLogger('silent'));
    assert.deepEqual(await session.pending.list(), []);
    assert.equal(await t.store.getConversation('c2c_bob'), undefined);
    assert.deepEqual(t.got.removed, ['c2c_bob']);
  });
});
