/**
 * Edge cases of the sync engine and the deletion flow, without a server: the sync engine with a
 * scripted requester, the deletion flow with a scripted connection object, the whole SDK
 * over a scripted fake WebSocket, and the SQLite store's files on disk.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfabError, ErrorCode, type WireConversation, type WireMessage } from '@confab/protocol';
import { createLogger, type Logger } from '../src/log.js';
import { V2TIMManager } from '../src/manager/v2tim-manager.js';
import { Session } from '../src/manager/core.js';
import { recoverPendingDeletions, removeConversations } from '../src/manager/deletion.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { MetaKey } from '../src/store/types.js';
import { REQUEST_ID_PATTERN } from '../src/sync/pending-deletions.js';
import { SyncEngine, type Requester } from '../src/sync/sync-engine.js';
import type { WebSocketLike } from '../src/types.js';
import { conv, msg } from './store-conformance.js';

const row = (id: string, extra: Partial<WireConversation>): WireConversation => ({ ...conv(id), deleted: false, ...extra } as WireConversation);

/** A logger that keeps warnings, to check that a stuck sync says so. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const base = createLogger('silent');
  return { ...base, warn: (...args: unknown[]) => { warnings.push(args.map(String).join(' ')); }, warnings };
}

async function engineWith(handlers: Record<string, (body: any) => unknown>, version: number, log: Logger = createLogger('silent')) {
  const store = new MemoryStore();
  await store.open({ sdkAppID: 1, userID: 'alice' });
  if (version) await store.apply({ syncVersion: version });
  const calls: [string, any][] = [];
  const got = { messages: [] as WireMessage[], added: [] as string[], changed: [] as string[], removed: [] as string[], totals: [] as number[] };
  const request = (async (op: string, body: any) => {
    calls.push([op, body]);
    const h = handlers[op];
    if (!h) throw new Error(`unexpected ${op}`);
    return h(body);
  }) as Requester;
  const engine = new SyncEngine({
    store, request, log, isOwnOutgoing: () => false,
    events: {
      syncStart() {}, syncFinish() {}, syncFailed() {},
      conversations: (a, c, r) => { got.added.push(...a.map((x) => x.conversationID)); got.changed.push(...c.map((x) => x.conversationID)); got.removed.push(...r); },
      totalUnread: (t) => got.totals.push(t),
      newMessages: (ms) => got.messages.push(...ms),
    },
  });
  await engine.load();
  return { store, engine, calls, got, request };
}

describe('conv.sync keeps paging past pages of hidden tombstones', () => {
  it('an empty page that is not finished but advances the version is followed by the next page', async () => {
    const { engine, calls, got, store } = await engineWith({
      'conv.sync': (b) => {
        // Versions 6..105 are deletions made elsewhere (tombstones hidden from this device);
        // version 106 is a new message from bob.
        if (b.sinceVersion === 5) return { conversations: [], version: 105, isFinished: false };
        if (b.sinceVersion === 105) return { conversations: [row('c2c_bob', { version: 106, lastSeq: 1, unreadCount: 1 })], version: 106, isFinished: true };
        throw new Error(`unexpected sinceVersion ${b.sinceVersion}`);
      },
      'msg.history': () => ({ messages: [msg('c2c_bob', 1)], isFinished: true }),
      'sync.ack': () => ({}),
    }, 5);
    await engine.sync();
    assert.deepEqual(calls.filter((c) => c[0] === 'conv.sync').map((c) => c[1].sinceVersion), [5, 105]);
    assert.equal(engine.version, 106);
    assert.deepEqual(got.added, ['c2c_bob']);
    assert.deepEqual(got.totals, [1]);
    assert.deepEqual(got.messages.map((m) => m.msgID), ['c2c_bob/1']);
    assert.equal((await store.getConversation('c2c_bob'))?.unreadCount, 1);
  });

  it('a page that neither finishes nor advances stops the sync with a warning instead of looping', async () => {
    const log = recordingLogger();
    const { engine, calls } = await engineWith({
      'conv.sync': () => ({ conversations: [], version: 5, isFinished: false }),
      'sync.ack': () => ({}),
    }, 5, log);
    await engine.sync();
    assert.equal(calls.filter((c) => c[0] === 'conv.sync').length, 1);
    assert.equal(engine.version, 5);
    assert.ok(log.warnings.some((w) => /does not advance/.test(w)), `warned: ${JSON.stringify(log.warnings)}`);
  });
});

describe('markRead answered without an update clears the local badge', () => {
  it('markReadLocally sets unread 0 and readSeq to lastSeq in one batch, and announces the change and the total', async () => {
    const { engine, store, got } = await engineWith({}, 7);
    await store.apply({
      upsertConversations: [conv('c2c_bob', { version: 4, lastSeq: 3, readSeq: 0, unreadCount: 3 }), conv('c2c_carol', { version: 5, lastSeq: 1, unreadCount: 1 })],
    });
    await engine.load();
    const applied: unknown[] = [];
    const original = store.apply.bind(store);
    store.apply = async (batch) => { applied.push(batch); return original(batch); };
    await engine.markReadLocally('c2c_bob');
    const c = await store.getConversation('c2c_bob');
    assert.equal(c?.unreadCount, 0);
    assert.equal(c?.readSeq, 3);
    assert.equal(c?.version, 4, 'the row keeps its server version: a later server row still replaces it');
    assert.equal(applied.length, 1, 'one store batch');
    assert.deepEqual(got.changed, ['c2c_bob']);
    assert.deepEqual(got.totals, [1]);
    // Already read, or unknown: nothing is written or announced.
    await engine.markReadLocally('c2c_bob');
    await engine.markReadLocally('c2c_nobody');
    assert.equal(applied.length, 1);
    assert.deepEqual(got.changed, ['c2c_bob']);
  });
});

describe('cached history respects the conversation row', () => {
  it('caches nothing for a conversation the store has no row for, and only seqs at or above the watermark otherwise', async () => {
    const { engine, store } = await engineWith({}, 3);
    await store.apply({ upsertConversations: [conv('c2c_carol', { version: 3, lastSeq: 6, visibleFromSeq: 4 })] });
    await engine.cacheHistory([msg('c2c_bob', 1), msg('c2c_bob', 2), ...[2, 3, 4, 5, 6].map((s) => msg('c2c_carol', s))]);
    assert.deepEqual(await store.getMessages('c2c_bob', { limit: 10 }), [], 'deleted or unknown conversation: nothing cached');
    assert.deepEqual((await store.getMessages('c2c_carol', { limit: 10 })).map((m) => m.seq), [4, 5, 6]);
  });
});

describe('deletion requests carry a requestID that every re-issue repeats', () => {
  async function sessionWith(handlers: Record<string, (body: any) => unknown>, version = 5) {
    const t = await engineWith(handlers, version);
    const connection = { state: 'connected', request: (op: string, body: unknown) => t.request(op as never, body as never) };
    const session = new Session('alice', t.store, connection as never, t.engine);
    return { ...t, session };
  }
  const ok = (ids: string[]) => ({ results: ids.map((id) => ({ id, resultCode: 0, resultInfo: '' })) });

  it('conv.delete: the re-issue at login sends the requestID of the original attempt', async () => {
    let lost = true;
    const t = await sessionWith({
      'conv.delete': (b) => {
        if (lost) throw new ConfabError(ErrorCode.NETWORK_WAIT_ACK_TIMEOUT, 'connection lost before the reply');
        return ok(b.conversationIDs);
      },
      'sync.ack': () => ({}),
    });
    await t.store.apply({ upsertConversations: [conv('c2c_bob', { version: 4, unreadCount: 1 })] });
    await assert.rejects(removeConversations(t.session, ['c2c_bob'], 'delete'), { code: ErrorCode.NETWORK_WAIT_ACK_TIMEOUT });
    const [pending] = await t.session.pending.list();
    assert.ok(pending?.requestID && REQUEST_ID_PATTERN.test(pending.requestID), `stored requestID ${pending?.requestID}`);

    // Still unreachable at the next login, then reachable at the one after.
    await recoverPendingDeletions(t.session, createLogger('silent'));
    lost = false;
    await recoverPendingDeletions(t.session, createLogger('silent'));
    const sent = t.calls.filter((c) => c[0] === 'conv.delete').map((c) => c[1]);
    assert.equal(sent.length, 3);
    assert.ok(sent.every((b) => b.requestID === pending.requestID), `requestIDs: ${sent.map((b) => b.requestID)}`);
    assert.deepEqual(await t.session.pending.list(), []);
    assert.equal(await t.store.getConversation('c2c_bob'), undefined);
  });

  it('conv.clearHistory carries it too; two calls get different requestIDs', async () => {
    const t = await sessionWith({ 'conv.clearHistory': () => ({}), 'sync.ack': () => ({}) });
    await removeConversations(t.session, ['c2c_bob'], 'clearHistory');
    await removeConversations(t.session, ['c2c_bob'], 'clearHistory');
    const ids = t.calls.filter((c) => c[0] === 'conv.clearHistory').map((c) => c[1].requestID);
    assert.equal(ids.length, 2);
    assert.ok(ids.every((id) => typeof id === 'string' && REQUEST_ID_PATTERN.test(id)));
    assert.notEqual(ids[0], ids[1]);
  });

  it('an entry of an older SDK (no requestID) gets one, stored before it is sent, and keeps it across re-issues', async () => {
    let lost = true;
    const t = await sessionWith({
      'conv.delete': (b) => {
        if (lost) throw new ConfabError(ErrorCode.NETWORK_DISCONNECTED, 'offline');
        return ok(b.conversationIDs);
      },
      'sync.ack': () => ({}),
    });
    await t.store.setMeta(MetaKey.PENDING_DELETIONS, JSON.stringify([{ id: 'old', conversationIDs: ['c2c_bob'], mode: 'delete' }]));
    await recoverPendingDeletions(t.session, createLogger('silent'));
    const [kept] = await t.session.pending.list();
    assert.ok(kept?.requestID && REQUEST_ID_PATTERN.test(kept.requestID));
    lost = false;
    await recoverPendingDeletions(t.session, createLogger('silent'));
    const sent = t.calls.filter((c) => c[0] === 'conv.delete').map((c) => c[1].requestID);
    assert.deepEqual(sent, [kept.requestID, kept.requestID]);
    assert.deepEqual(await t.session.pending.list(), []);
  });

  it('a re-issue the server answers as already done keeps a conversation a later message brought back', async () => {
    const t = await sessionWith({ 'conv.delete': (b) => ok(b.conversationIDs), 'sync.ack': () => ({}) }, 9);
    // First attempt sent at version 5; the deletion committed, then bob wrote again
    // (version 8) and this device synced that before the re-issue.
    await t.session.pending.add({ id: 'p', conversationIDs: ['c2c_bob', 'c2c_carol'], mode: 'delete', requestID: 'req-1', version: 5 });
    await t.store.apply({
      upsertConversations: [conv('c2c_bob', { version: 8, lastSeq: 4, visibleFromSeq: 4, unreadCount: 1 }), conv('c2c_carol', { version: 3, lastSeq: 2 })],
      putMessages: [msg('c2c_bob', 4), msg('c2c_carol', 2)],
    });
    await recoverPendingDeletions(t.session, createLogger('silent'));
    assert.ok(await t.store.getConversation('c2c_bob'), 'the comeback stays');
    assert.deepEqual((await t.store.getMessages('c2c_bob', { limit: 10 })).map((m) => m.seq), [4]);
    assert.equal(await t.store.getConversation('c2c_carol'), undefined, 'what predates the deletion is wiped');
    assert.deepEqual(await t.session.pending.list(), []);
  });
});

// ---------------------------------------------------------------------------------------
// The whole SDK over a scripted socket, to see which requests survive a drop.

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: { id: number; op: string; body: any }[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
    // Opens, and answers login and conv.sync, like a server with nothing for this user.
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }
  send(data: string) {
    const frame = JSON.parse(data) as { id: number; op: string; body: any };
    this.sent.push(frame);
    if (frame.op === 'login') this.reply(frame.id, { userID: 'alice', serverTime: 1, protocolVersion: 1, version: 0, profile: {} });
    if (frame.op === 'conv.sync') this.reply(frame.id, { conversations: [], version: 0, isFinished: true });
  }
  close() {}
  reply(id: number, body: unknown) {
    setTimeout(() => this.onmessage?.({ data: JSON.stringify({ id, ok: true, body }) }), 0);
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: '' });
  }
  sentOps() {
    return this.sent.map((f) => f.op);
  }
}

async function until<T>(what: string, check: () => T): Promise<NonNullable<T>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Settles within `ms`, or reports that it is still pending. */
function settled<T>(p: Promise<T>, ms = 300): Promise<{ ok: true; value: T } | { ok: false; err: any } | 'pending'> {
  return Promise.race([
    p.then((value) => ({ ok: true as const, value }), (err) => ({ ok: false as const, err })),
    new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms)),
  ]);
}

describe('requests that can revive a deleted conversation are not re-sent after a reconnect', () => {
  let im: V2TIMManager | undefined;
  afterEach(async () => {
    await im?.logout().catch(() => undefined);
    im = undefined;
  });

  async function loggedIn() {
    FakeSocket.all = [];
    im = new V2TIMManager();
    assert.ok(im.initSDK(1400000001, { serverUrl: 'ws://fake/ws', WebSocket: FakeSocket, store: new MemoryStore(), deviceID: 'd1', logLevel: 'silent' }));
    await im.login('alice', 'sig');
    const first = FakeSocket.all[0]!;
    await until('first sync sent', () => first.sentOps().includes('conv.sync'));
    return { im, first };
  }

  it('conv.pin and conv.setDraft fail with 9520 on a drop and are not re-sent; msg.send and conv.markRead are', async () => {
    const { im, first } = await loggedIn();
    const cm = im.getConversationManager();
    const pin = cm.pinConversation('c2c_bob', true);
    const draft = cm.setConversationDraft('c2c_bob', 'half a thought');
    const mm = im.getMessageManager();
    const send = mm.sendMessage(mm.createTextMessage('hello'), 'bob', null);
    const read = mm.markC2CMessageAsRead('bob');
    await until('all four requests sent', () => ['conv.pin', 'conv.setDraft', 'msg.send', 'conv.markRead'].every((op) => first.sentOps().includes(op)));
    first.drop();

    const pinResult = await settled(pin);
    const draftResult = await settled(draft);
    assert.ok(pinResult !== 'pending' && !pinResult.ok && pinResult.err.code === ErrorCode.NETWORK_WAIT_ACK_TIMEOUT, `pin: ${JSON.stringify(pinResult)}`);
    assert.ok(draftResult !== 'pending' && !draftResult.ok && draftResult.err.code === ErrorCode.NETWORK_WAIT_ACK_TIMEOUT, `draft: ${JSON.stringify(draftResult)}`);

    const second = await until('reconnected', () => FakeSocket.all[1]);
    await until('resendable requests re-sent', () => second.sentOps().includes('msg.send') && second.sentOps().includes('conv.markRead'));
    assert.ok(!second.sentOps().includes('conv.pin'), `re-sent: ${second.sentOps()}`);
    assert.ok(!second.sentOps().includes('conv.setDraft'), `re-sent: ${second.sentOps()}`);

    const resent = second.sent.find((f) => f.op === 'msg.send')!;
    second.reply(resent.id, {
      message: { ...msg('c2c_bob', 1), sender: 'alice', clientMsgID: resent.body.clientMsgID },
      update: { prevVersion: 0, version: 1, conversations: [row('c2c_bob', { version: 1, lastSeq: 1 })], messages: [] },
    });
    second.reply(second.sent.find((f) => f.op === 'conv.markRead')!.id, {});
    assert.equal((await send).seq, 1);
    await read;
  });
});

// ---------------------------------------------------------------------------------------

describe('the SQLite store leaves no deleted text on disk', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** Every file of the store (db, -wal, -shm, journals) that contains `marker`. */
  function filesContaining(folder: string, marker: string): string[] {
    const needle = Buffer.from(marker, 'utf8');
    return readdirSync(folder).filter((name) => readFileSync(join(folder, name)).includes(needle));
  }

  async function storeWithMarker(marker: string) {
    dir = mkdtempSync(join(tmpdir(), 'confab-sqlite-erase-'));
    const store = new SqliteStore(join(dir, 'confab.db'));
    await store.open({ sdkAppID: 1, userID: 'alice' });
    const secret = (seq: number) => msg('c2c_bob', seq, { elem: { type: 'text', text: `${marker}-${seq}` } });
    await store.apply({
      syncVersion: 3,
      upsertConversations: [conv('c2c_bob', { version: 3, lastSeq: 3, lastMessage: secret(3) }), conv('c2c_carol', { version: 2, lastSeq: 1 })],
      putMessages: [secret(1), secret(2), secret(3), msg('c2c_carol', 1)],
    });
    assert.ok(filesContaining(dir, marker).length > 0, 'the marker was written');
    return { store, dir, secret };
  }

  it('removing a conversation erases its text from the db, the WAL and the shm', async () => {
    const marker = `erase-me-${Math.random().toString(36).slice(2)}`;
    const { store, dir } = await storeWithMarker(marker);
    await store.apply({ syncVersion: 4, removeConversations: ['c2c_bob'] });
    assert.deepEqual(filesContaining(dir, marker), []);
    assert.equal((await store.listConversations()).length, 1, 'the rest is intact');
    assert.equal((await store.getMessages('c2c_carol', { limit: 10 })).length, 1);
    await store.close();
    assert.deepEqual(filesContaining(dir, marker), []);
  });

  it('clearing messages and dropping them below a watermark erase them too', async () => {
    const marker = `clear-me-${Math.random().toString(36).slice(2)}`;
    const { store, dir } = await storeWithMarker(marker);
    await store.apply({
      clearMessages: ['c2c_bob'],
      upsertConversations: [conv('c2c_bob', { version: 4, lastSeq: 3, visibleFromSeq: 4, lastMessage: null })],
    });
    assert.deepEqual(filesContaining(dir, marker), []);
    await store.close();

    const other = `drop-me-${Math.random().toString(36).slice(2)}`;
    const again = new SqliteStore(join(dir, 'confab.db'));
    await again.open({ sdkAppID: 1, userID: 'alice' });
    await again.apply({ putMessages: [1, 2, 3].map((seq) => msg('c2c_carol', seq, { elem: { type: 'text', text: `${other}-${seq}` } })) });
    await again.apply({ dropMessagesBelow: [{ conversationID: 'c2c_carol', seq: 4 }] });
    assert.deepEqual(filesContaining(dir, other), []);
    await again.close();
  });
});
