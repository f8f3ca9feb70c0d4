/**
 * Conversation deletion end to end (docs/deletion.md): the SDK's deleteConversation /
 * deleteConversationList / clearXxxHistoryMessage against a real server on port 0 with a
 * real SQLite file in a temp dir, over loopback. Waits poll with a generous guard that
 * fails the test; nothing here asserts on timing.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type AppRecord, type ConfabServer } from '@confab/server';
import {
  ConfabError, ErrorCode, GroupType, MemoryStore, MetaKey, V2TIMManager,
  type LocalStore, type V2TIMConversation, type V2TIMConversationListener,
} from '@confab/sdk';
import { SqliteStore } from '@confab/sdk/sqlite-store';
import { RawClient } from './helpers/raw-client.js';

const GUARD_MS = 10_000;

let server: ConfabServer;
let dir: string;
let app: AppRecord;
let clients: Client[] = [];
let raws: RawClient[] = [];

interface Events {
  added: V2TIMConversation[];
  changed: V2TIMConversation[];
  deleted: string[][];
  totals: number[];
  /** Every conversation event in order, for "same step" checks. */
  log: string[];
}

interface Client {
  im: V2TIMManager;
  userID: string;
  store: LocalStore;
  ev: Events;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confab-deletion-'));
  server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent', purge: false });
  app = await server.createApp({ name: 'deletion-test' });
});

afterEach(async () => {
  for (const c of clients) await c.im.logout().catch(() => undefined);
  clients = [];
  for (const r of raws) await r.close();
  raws = [];
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Polls `check` until it is truthy; fails the test after the guard. */
async function until<T>(what: string, check: () => Promise<T> | T): Promise<NonNullable<T>> {
  const deadline = Date.now() + GUARD_MS;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function login(userID: string, opts: { store?: LocalStore; deviceID?: string; capabilities?: string[] } = {}): Promise<Client> {
  const im = new V2TIMManager();
  const store = opts.store ?? new MemoryStore();
  assert.ok(im.initSDK(app.sdkAppID, {
    serverUrl: server.wsUrl, store, logLevel: 'silent',
    ...(opts.deviceID ? { deviceID: opts.deviceID } : {}),
    ...(opts.capabilities ? { capabilities: opts.capabilities } : {}),
  }));
  const ev: Events = { added: [], changed: [], deleted: [], totals: [], log: [] };
  let synced = false;
  const listener: V2TIMConversationListener = {
    onSyncServerFinish: () => { synced = true; },
    onNewConversation: (l) => { ev.added.push(...l); ev.log.push(`new:${l.map((c) => c.conversationID).join(',')}`); },
    onConversationChanged: (l) => { ev.changed.push(...l); ev.log.push(`changed:${l.map((c) => c.conversationID).join(',')}`); },
    onConversationDeleted: (ids) => { ev.deleted.push(ids); ev.log.push(`deleted:${ids.join(',')}`); },
    onTotalUnreadMessageCountChanged: (t) => { ev.totals.push(t); ev.log.push(`total:${t}`); },
  };
  im.getConversationManager().addConversationListener(listener);
  await im.login(userID, await server.genUserSig(app.sdkAppID, userID));
  const client = { im, userID, store, ev };
  clients.push(client);
  await until(`${userID} synced`, () => synced);
  return client;
}

async function logout(c: Client): Promise<void> {
  await c.im.logout();
  clients = clients.filter((x) => x !== c);
}

async function rawLogin(userID: string, deviceID: string): Promise<RawClient> {
  const raw = await RawClient.connect(server.wsUrl);
  raws.push(raw);
  await raw.login({ sdkAppID: app.sdkAppID, userID, userSig: await server.genUserSig(app.sdkAppID, userID), deviceID });
  return raw;
}

async function convs(c: Client): Promise<V2TIMConversation[]> {
  return (await c.im.getConversationManager().getConversationList(0, 100)).conversationList;
}

async function conv(c: Client, id: string): Promise<V2TIMConversation | undefined> {
  return (await convs(c)).find((x) => x.conversationID === id);
}

async function cached(c: Client, id: string): Promise<string[]> {
  return (await c.store.getMessages(id, { limit: 1000 })).map((m) => (m.elem.type === 'text' ? m.elem.text : '?'));
}

async function send(from: Client, to: string, ...texts: string[]): Promise<void> {
  for (const t of texts) await from.im.sendC2CTextMessage(t, to);
}

/** `to` has the conversation with `from` holding `n` unread messages. */
async function waitUnread(c: Client, id: string, n: number): Promise<V2TIMConversation> {
  return until(`${c.userID} sees ${id} with unread ${n}`, async () => {
    const x = await conv(c, id);
    return x && x.unreadCount === n ? x : undefined;
  });
}

async function historyTexts(c: Client, peer: string): Promise<string[]> {
  const list = await c.im.getMessageManager().getC2CHistoryMessageList(peer, 100, null);
  return list.map((m) => m.textElem?.text ?? '?').reverse();
}

async function rejects(p: Promise<unknown>, code: number | number[]): Promise<ConfabError> {
  const codes = Array.isArray(code) ? code : [code];
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConfabError, `a ConfabError, got ${String(err)}`);
    assert.ok(codes.includes(err.code), `code ${err.code} (${err.desc}) is one of ${codes.join(',')}`);
    return err;
  }
  return assert.fail(`expected failure with ${codes.join('/')}`);
}

describe('deleteConversation', () => {
  test('the seed sample with callbacks: gone here with its messages and unread, kept by the peer, gone from server history', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const carol = await login('carol');
    await send(bob, 'alice', 'b1', 'b2', 'b3');
    await send(carol, 'alice', 'c1');
    await waitUnread(alice, 'c2c_bob', 3);
    await waitUnread(alice, 'c2c_carol', 1);
    await until('alice caches bob\'s messages', async () => (await cached(alice, 'c2c_bob')).length === 3);
    assert.equal(await alice.im.getConversationManager().getTotalUnreadMessageCount(), 4);
    alice.ev.log.length = 0;

    // The reference's seed sample, as written.
    const outcome = await new Promise<string>((resolve) => {
      void alice.im.getConversationManager().deleteConversation('c2c_bob', {
        onSuccess() { resolve('ok'); },
        onError(code, desc) { resolve(`error ${code} ${desc}`); },
      });
    });
    assert.equal(outcome, 'ok');
    // By the time onSuccess runs the device has wiped it and told the listeners, in one step.
    assert.deepEqual(alice.ev.log, ['deleted:c2c_bob', 'total:1']);
    assert.equal(await conv(alice, 'c2c_bob'), undefined);
    assert.ok(await conv(alice, 'c2c_carol'));
    assert.deepEqual(await cached(alice, 'c2c_bob'), []);
    assert.equal(await alice.store.getConversation('c2c_bob'), undefined);
    assert.equal(await alice.im.getConversationManager().getTotalUnreadMessageCount(), 1);
    assert.deepEqual(await historyTexts(alice, 'bob'), [], 'nothing from before the deletion on the server');
    assert.equal(await alice.store.getMeta(MetaKey.PENDING_DELETIONS), '[]');

    // The peer keeps the conversation and the full history.
    assert.ok(await conv(bob, 'c2c_alice'));
    assert.deepEqual(await historyTexts(bob, 'alice'), ['b1', 'b2', 'b3']);
    const fresh = await login('bob', { deviceID: 'bob-2' });
    assert.deepEqual(await historyTexts(fresh, 'alice'), ['b1', 'b2', 'b3']);
  });

  test('returns a promise without a callback; idempotent; unknown valid ID succeeds; 6017 / 6014', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    await send(bob, 'alice', 'hi');
    await waitUnread(alice, 'c2c_bob', 1);
    const cm = alice.im.getConversationManager();
    assert.equal(await cm.deleteConversation('c2c_bob'), undefined);
    await cm.deleteConversation('c2c_bob'); // again
    await cm.deleteConversation('c2c_nobody'); // never existed
    await cm.deleteConversation('group_nogroup');
    await rejects(cm.deleteConversation('bob'), ErrorCode.INVALID_PARAMETERS);
    await rejects(cm.deleteConversation('c2c_'), ErrorCode.INVALID_PARAMETERS);
    await rejects(cm.deleteConversation(42 as unknown as string), ErrorCode.INVALID_PARAMETERS);
    let code = 0;
    await cm.deleteConversation('nope', { onError: (c) => { code = c; } });
    assert.equal(code, ErrorCode.INVALID_PARAMETERS);

    const idle = new V2TIMManager();
    idle.initSDK(app.sdkAppID, { serverUrl: server.wsUrl, logLevel: 'silent' });
    await rejects(idle.getConversationManager().deleteConversation('c2c_bob'), ErrorCode.NOT_LOGGED_IN);
    await rejects(idle.getConversationManager().deleteConversationList(['c2c_bob'], true), ErrorCode.NOT_LOGGED_IN);
    await rejects(idle.getMessageManager().clearC2CHistoryMessage('bob'), ErrorCode.NOT_LOGGED_IN);
  });

  test('server unreachable: network error code, local copy untouched, nothing pending', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    await send(bob, 'alice', 'keep me');
    await waitUnread(alice, 'c2c_bob', 1);
    await until('cached', async () => (await cached(alice, 'c2c_bob')).length === 1);
    let down = false;
    alice.im.addSDKListener({ onConnecting: () => { down = true; }, onConnectFailed: () => { down = true; } });
    await server.close();
    await until('alice notices the server is gone', () => down);
    // Not connected: refused before sending, so nothing is pending either.
    await rejects(alice.im.getConversationManager().deleteConversation('c2c_bob'), ErrorCode.NETWORK_DISCONNECTED);
    let code = 0;
    await alice.im.getConversationManager().deleteConversation('c2c_bob', { onSuccess() {}, onError(c) { code = c; } });
    assert.equal(code, ErrorCode.NETWORK_DISCONNECTED);
    await rejects(alice.im.getConversationManager().deleteConversationList(['c2c_bob'], true),
      [ErrorCode.NETWORK_DISCONNECTED, ErrorCode.NETWORK_WAIT_ACK_TIMEOUT]);
    await rejects(alice.im.getMessageManager().clearC2CHistoryMessage('bob'),
      [ErrorCode.NETWORK_DISCONNECTED, ErrorCode.NETWORK_WAIT_ACK_TIMEOUT]);
    const still = await alice.store.getConversation('c2c_bob');
    assert.ok(still, 'the local conversation is still there');
    assert.equal(still.unreadCount, 1);
    assert.deepEqual(await cached(alice, 'c2c_bob'), ['keep me']);
    assert.equal(alice.ev.deleted.length, 0);
    assert.ok(!(await alice.store.getMeta(MetaKey.PENDING_DELETIONS))?.includes('c2c_bob'), 'not sent, so not pending');
  });

  test('group: delete after leaving, and after dismissal (member and owner)', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const g1 = await alice.im.createGroup(GroupType.PUBLIC, 'leaveme', 'leave me');
    await bob.im.joinGroup(g1, '');
    await alice.im.sendGroupTextMessage('hello g1', g1);
    await waitUnread(bob, `group_${g1}`, 1);
    await bob.im.quitGroup(g1);
    // Leaving is not deleting.
    await until('bob still has the group conversation after leaving', async () => !!(await conv(bob, `group_${g1}`)));
    await bob.im.getConversationManager().deleteConversation(`group_${g1}`);
    assert.equal(await conv(bob, `group_${g1}`), undefined);
    assert.deepEqual(await cached(bob, `group_${g1}`), []);
    assert.ok(bob.ev.deleted.some((ids) => ids.includes(`group_${g1}`)));
    assert.ok(await conv(alice, `group_${g1}`), 'the other member keeps it');

    const g2 = await alice.im.createGroup(GroupType.PUBLIC, 'dismissme', 'dismiss me');
    await bob.im.joinGroup(g2, '');
    await alice.im.sendGroupTextMessage('hello g2', g2);
    await waitUnread(bob, `group_${g2}`, 1);
    await alice.im.dismissGroup(g2);
    await bob.im.getConversationManager().deleteConversation(`group_${g2}`);
    await alice.im.getConversationManager().deleteConversation(`group_${g2}`);
    assert.equal(await conv(bob, `group_${g2}`), undefined);
    assert.equal(await conv(alice, `group_${g2}`), undefined);
    const history = await bob.im.getMessageManager().getGroupHistoryMessageList(g2, 100, null);
    assert.deepEqual(history, []);
  });
});

describe('resurrection', () => {
  test('a new message brings it back with only that message and unread 1: second device, restart with SqliteStore, fresh install', async () => {
    const file = join(dir, 'alice-phone.db');
    const alice = await login('alice', { store: new SqliteStore(file), deviceID: 'alice-phone' });
    const tablet = await login('alice', { deviceID: 'alice-tablet' }); // deletion sync is off for the app
    const bob = await login('bob');
    await send(bob, 'alice', 'old1', 'old2');
    await waitUnread(alice, 'c2c_bob', 2);
    await waitUnread(tablet, 'c2c_bob', 2);
    await until('tablet caches old messages', async () => (await cached(tablet, 'c2c_bob')).length === 2);

    await alice.im.getConversationManager().deleteConversation('c2c_bob');
    assert.equal(await conv(alice, 'c2c_bob'), undefined);
    assert.ok(await conv(tablet, 'c2c_bob'), 'without deletion sync the other device keeps its copy');
    await logout(alice);

    tablet.ev.added.length = 0;
    await send(bob, 'alice', 'new1');
    const back = await until('tablet sees it come back', () => tablet.ev.added.find((c) => c.conversationID === 'c2c_bob'));
    assert.equal(back.unreadCount, 1);
    await waitUnread(tablet, 'c2c_bob', 1);
    await until('tablet holds only the new message', async () => (await cached(tablet, 'c2c_bob')).join() === 'new1');

    // The deleting phone restarts with its file store.
    const phone = await login('alice', { store: new SqliteStore(file), deviceID: 'alice-phone' });
    const again = await until('phone sees it come back', () => phone.ev.added.find((c) => c.conversationID === 'c2c_bob'));
    assert.equal(again.unreadCount, 1);
    assert.equal((await waitUnread(phone, 'c2c_bob', 1)).lastMessage?.textElem?.text, 'new1');
    await until('phone caches the new message', async () => (await cached(phone, 'c2c_bob')).join() === 'new1');
    assert.deepEqual(await historyTexts(phone, 'bob'), ['new1']);

    // A fresh install.
    const fresh = await login('alice', { deviceID: 'alice-new' });
    const row = await waitUnread(fresh, 'c2c_bob', 1);
    assert.equal(row.lastMessage?.textElem?.text, 'new1');
    assert.deepEqual(await historyTexts(fresh, 'bob'), ['new1']);
    // Peer still sees all.
    assert.deepEqual(await historyTexts(bob, 'alice'), ['old1', 'old2', 'new1']);
  });

  test('with deletion sync on, the other device is wiped too, then sees it come back as new', async () => {
    await server.domain.apps.updateSettings(app.sdkAppID, { syncConversationDeletion: true });
    const alice = await login('alice', { deviceID: 'alice-phone' });
    const tablet = await login('alice', { deviceID: 'alice-tablet' });
    const old = await login('alice', { deviceID: 'alice-old', capabilities: [] }); // an SDK without the capability
    const bob = await login('bob');
    await send(bob, 'alice', 'x1', 'x2');
    for (const c of [alice, tablet, old]) await waitUnread(c, 'c2c_bob', 2);
    await until('tablet caches', async () => (await cached(tablet, 'c2c_bob')).length === 2);

    await alice.im.getConversationManager().deleteConversation('c2c_bob');
    await until('tablet told of the deletion', () => tablet.ev.deleted.some((ids) => ids.includes('c2c_bob')));
    assert.equal(await conv(tablet, 'c2c_bob'), undefined);
    assert.deepEqual(await cached(tablet, 'c2c_bob'), []);
    assert.ok(tablet.ev.totals.includes(0), 'tablet badge drops to 0');
    assert.ok(await conv(old, 'c2c_bob'), 'a client without the capability keeps its copy');

    await send(bob, 'alice', 'x3');
    for (const c of [alice, tablet, old]) {
      await until(`${c.userID} gets onNewConversation`, () => c.ev.added.some((x) => x.conversationID === 'c2c_bob' && x.unreadCount === 1));
      await waitUnread(c, 'c2c_bob', 1);
      await until('only the new message cached', async () => (await cached(c, 'c2c_bob')).join() === 'x3');
    }
  });
});

describe('deleteConversationList', () => {
  test('per-item results for mixed IDs; >100 is 51006; empty is 6017', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const carol = await login('carol');
    await send(bob, 'alice', 'from bob');
    await send(carol, 'alice', 'from carol');
    await waitUnread(alice, 'c2c_bob', 1);
    await waitUnread(alice, 'c2c_carol', 1);
    const cm = alice.im.getConversationManager();
    const results = await cm.deleteConversationList(['c2c_bob', 'not an id', 'group_nope', 'c2c_', 'c2c_carol'], true);
    assert.deepEqual(results.map((r) => [r.conversationID, r.resultCode]), [
      ['c2c_bob', 0], ['not an id', ErrorCode.INVALID_PARAMETERS], ['group_nope', 0], ['c2c_', ErrorCode.INVALID_PARAMETERS], ['c2c_carol', 0],
    ]);
    assert.deepEqual(await convs(alice), []);
    assert.deepEqual(alice.ev.deleted.flat().sort(), ['c2c_bob', 'c2c_carol']);
    assert.equal(alice.ev.totals.at(-1), 0);

    const many = Array.from({ length: 101 }, (_, i) => `c2c_u${i}`);
    const err = await rejects(cm.deleteConversationList(many, true), ErrorCode.TOO_MANY_CONVERSATIONS);
    assert.equal(err.code, 51006);
    await rejects(cm.deleteConversationList([], true), ErrorCode.INVALID_PARAMETERS);
    let got: unknown;
    await cm.deleteConversationList(['only bad'], true, { onSuccess: (r) => { got = r; } });
    assert.deepEqual(got, [{ conversationID: 'only bad', resultCode: ErrorCode.INVALID_PARAMETERS, resultInfo: 'conversationID must be c2c_<userID> or group_<groupID>' }]);
  });

  test('clearMessage=false: the conversation goes, the history stays pullable', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    await send(bob, 'alice', 'k1', 'k2');
    await waitUnread(alice, 'c2c_bob', 2);
    const [r] = await alice.im.getConversationManager().deleteConversationList(['c2c_bob'], false);
    assert.equal(r?.resultCode, 0);
    assert.equal(await conv(alice, 'c2c_bob'), undefined);
    assert.deepEqual(alice.ev.deleted, [['c2c_bob']]);
    assert.deepEqual(await historyTexts(alice, 'bob'), ['k1', 'k2']);
  });
});

describe('clear history', () => {
  test('clearC2CHistoryMessage keeps the conversation, empty, unread 0; clearGroupHistoryMessage too', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    await send(bob, 'alice', 'm1', 'm2');
    await waitUnread(alice, 'c2c_bob', 2);
    await until('cached', async () => (await cached(alice, 'c2c_bob')).length === 2);
    await alice.im.getMessageManager().clearC2CHistoryMessage('bob');
    const c = await conv(alice, 'c2c_bob');
    assert.ok(c, 'the conversation stays');
    assert.equal(c.lastMessage, null);
    assert.equal(c.unreadCount, 0);
    assert.deepEqual(await cached(alice, 'c2c_bob'), []);
    assert.deepEqual(await historyTexts(alice, 'bob'), []);
    assert.equal(alice.ev.deleted.length, 0);
    assert.equal(alice.ev.totals.at(-1), 0);
    assert.deepEqual(await historyTexts(bob, 'alice'), ['m1', 'm2'], 'the peer keeps everything');
    await rejects(alice.im.getMessageManager().clearC2CHistoryMessage('bad user!'), [ErrorCode.INVALID_PARAMETERS, ErrorCode.INVALID_IDENTIFIER]);

    // A new message after the clear shows normally.
    await send(bob, 'alice', 'm3');
    await waitUnread(alice, 'c2c_bob', 1);
    assert.deepEqual(await historyTexts(alice, 'bob'), ['m3']);

    const g = await alice.im.createGroup(GroupType.PUBLIC, 'cleared', 'cleared');
    await bob.im.joinGroup(g, '');
    await bob.im.sendGroupTextMessage('g1', g);
    await waitUnread(alice, `group_${g}`, 1);
    await alice.im.getMessageManager().clearGroupHistoryMessage(g);
    const gc = await conv(alice, `group_${g}`);
    assert.ok(gc);
    assert.equal(gc.lastMessage, null);
    assert.equal(gc.unreadCount, 0);
    assert.deepEqual(await alice.im.getMessageManager().getGroupHistoryMessageList(g, 100, null), []);
  });
});

describe('crash safety', () => {
  test('a deletion committed on the server but not wiped locally completes at the next login', async () => {
    const file = join(dir, 'alice-crash.db');
    const alice = await login('alice', { store: new SqliteStore(file), deviceID: 'alice-phone' });
    const bob = await login('bob');
    await send(bob, 'alice', 's1', 's2');
    await waitUnread(alice, 'c2c_bob', 2);
    await until('cached', async () => (await cached(alice, 'c2c_bob')).length === 2);
    await logout(alice);

    // The "crash": the pending entry was written and the server committed, the wipe never ran.
    const store = new SqliteStore(file);
    await store.open({ sdkAppID: app.sdkAppID, userID: 'alice' });
    await store.setMeta(MetaKey.PENDING_DELETIONS, JSON.stringify([
      { id: 'refused', conversationIDs: [], mode: 'delete' }, // the server refuses this one: dropped
      { id: 'p1', conversationIDs: ['c2c_bob'], mode: 'delete' },
    ]));
    await store.close();
    const raw = await rawLogin('alice', 'alice-phone-raw');
    const res = await raw.ok('conv.delete', { conversationIDs: ['c2c_bob'], clearMessages: true });
    assert.deepEqual(res.results.map((r) => r.resultCode), [0]);
    await raw.close();

    const restarted = new SqliteStore(file);
    const again = await login('alice', { store: restarted, deviceID: 'alice-phone' });
    await until('the wipe completes', async () => !(await restarted.getConversation('c2c_bob')));
    assert.deepEqual(await cached(again, 'c2c_bob'), []);
    assert.equal(await conv(again, 'c2c_bob'), undefined);
    assert.ok(again.ev.deleted.some((ids) => ids.includes('c2c_bob')));
    assert.equal(again.ev.totals.at(-1), 0);
    await until('pending list emptied', async () => (await restarted.getMeta(MetaKey.PENDING_DELETIONS)) === '[]');
  });

  test('a clear-history interrupted the same way completes too', async () => {
    const file = join(dir, 'alice-clear.db');
    const alice = await login('alice', { store: new SqliteStore(file), deviceID: 'alice-phone' });
    const bob = await login('bob');
    await send(bob, 'alice', 'q1');
    await waitUnread(alice, 'c2c_bob', 1);
    await until('cached', async () => (await cached(alice, 'c2c_bob')).length === 1);
    await logout(alice);
    const store = new SqliteStore(file);
    await store.open({ sdkAppID: app.sdkAppID, userID: 'alice' });
    await store.setMeta(MetaKey.PENDING_DELETIONS, JSON.stringify([{ id: 'c1', conversationIDs: ['c2c_bob'], mode: 'clearHistory' }]));
    await store.close();
    const raw = await rawLogin('alice', 'alice-raw');
    await raw.ok('conv.clearHistory', { conversationID: 'c2c_bob' });
    await raw.close();
    const restarted = new SqliteStore(file);
    const again = await login('alice', { store: restarted, deviceID: 'alice-phone' });
    await until('cleared', async () => (await restarted.getMeta(MetaKey.PENDING_DELETIONS)) === '[]');
    const c = await conv(again, 'c2c_bob');
    assert.ok(c);
    assert.equal(c.unreadCount, 0);
    assert.equal(c.lastMessage, null);
    assert.deepEqual(await cached(again, 'c2c_bob'), []);
  });
});

describe('purge', () => {
  function files(root: string): string[] {
    return readdirSync(root).flatMap((name) => {
      const p = join(root, name);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
  }

  function holders(marker: string): string[] {
    return files(dir).filter((f) => readFileSync(f).includes(marker));
  }

  test('after both sides delete, purgeNow erases the message bytes from every server file', async () => {
    const marker = `MARKER-${Math.random().toString(36).slice(2)}-${Date.now()}`;
    const alice = await login('alice');
    const bob = await login('bob');
    await send(alice, 'bob', `secret ${marker}`);
    // A file message whose bytes carry the marker too: the file store's folder is in the data folder.
    const mm = alice.im.getMessageManager();
    await mm.sendMessage(mm.createFileMessage(Buffer.from(`attached ${marker}`), 'notes.txt'), 'bob', null);
    await send(bob, 'alice', 'reply');
    await waitUnread(alice, 'c2c_bob', 1);
    assert.ok(holders(marker).length > 1, 'the test can see the marker on disk (database and file) before the deletion');
    assert.ok(holders(marker).some((f) => f.startsWith(join(dir, 'files'))), 'the file message is in the file store folder');
    await alice.im.getConversationManager().deleteConversation('c2c_bob');
    await bob.im.getConversationManager().deleteConversation('c2c_alice');
    const erased = await server.purgeNow();
    assert.ok(erased >= 3, `purged ${erased} messages`);
    assert.deepEqual(holders(marker), [], 'marker in no server file while running');
    await logout(alice);
    await logout(bob);
    await server.close();
    assert.deepEqual(holders(marker), [], 'marker in no server file after close');
  });
});
