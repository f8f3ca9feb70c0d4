/**
 * The SDK against a real server over loopback, with deletion sync off (the default): a device that catches up across more than a page of deletions made on another
 * device, a badge on a conversation the server has tombstoned, and a deletion re-issued
 * after a crash that must not erase what arrived after the original.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore, MetaKey, type V2TIMManager } from '@confab/sdk';
import { RawClient } from './helpers/raw-client.js';
import { device, startTestServer, texts, waitFor } from './helpers/sdk-harness.js';

type Env = Awaited<ReturnType<typeof startTestServer>>;
let env: Env;
const open: V2TIMManager[] = [];
const raws: RawClient[] = [];

before(async () => { env = await startTestServer({ purge: false }); });
after(async () => { await env.stop(); });
afterEach(async () => {
  for (const im of open.splice(0)) await im.logout().catch(() => undefined);
  for (const r of raws.splice(0)) await r.close();
});

async function loggedIn(userID: string, opts: Parameters<typeof device>[1] = {}) {
  const d = device(env, opts);
  let synced = 0;
  d.im.getConversationManager().addConversationListener({ onSyncServerFinish: () => { synced++; } });
  open.push(d.im);
  await d.im.login(userID, await env.sig(userID));
  await waitFor(() => synced > 0, `${userID} synced`);
  return { ...d, synced: () => synced };
}

/** A raw protocol client logged in as `userID` (no SDK: cheap enough for a hundred peers). */
async function raw(userID: string): Promise<RawClient> {
  const r = await RawClient.connect(env.server.wsUrl);
  raws.push(r);
  await r.login({ sdkAppID: env.app.sdkAppID, userID, userSig: await env.sig(userID), deviceID: `raw-${userID}` });
  return r;
}

let n = 0;
async function rawSend(r: RawClient, to: string, text: string): Promise<void> {
  n += 1;
  await r.ok('msg.send', { conversationID: `c2c_${to}`, clientMsgID: `rv-${n}`, elem: { type: 'text', text } });
}

const total = (d: { im: V2TIMManager }) => d.im.getConversationManager().getTotalUnreadMessageCount();

describe('SDK with deletion sync off', () => {
  test('a device catching up across more than a page of deletions made elsewhere still gets what came after them', async () => {
    const alice = 'rv1-alice';
    const PEERS = 120;
    const peers = Array.from({ length: PEERS }, (_, i) => `rv1-p${String(i).padStart(3, '0')}`);
    const a = await loggedIn(alice, { deviceID: 'A' });
    const bStore = new MemoryStore();
    const b = await loggedIn(alice, { deviceID: 'B', store: bStore });

    // 120 conversations, one message each, sent in chunks of 20 raw clients.
    const clients = new Map<string, RawClient>();
    for (let i = 0; i < PEERS; i += 20) {
      await Promise.all(peers.slice(i, i + 20).map(async (p) => {
        const r = await raw(p);
        clients.set(p, r);
        await rawSend(r, alice, `hello from ${p}`);
      }));
    }
    for (const d of [a, b]) await waitFor(async () => (await total(d)) === PEERS, 'every device has all 120 conversations');

    // B goes away; A deletes every conversation (two calls: at most 100 per call).
    await b.im.logout();
    const ids = peers.map((p) => `c2c_${p}`);
    const results = [
      ...await a.im.getConversationManager().deleteConversationList(ids.slice(0, 100), true),
      ...await a.im.getConversationManager().deleteConversationList(ids.slice(100), true),
    ];
    assert.ok(results.every((r) => r.resultCode === 0));
    assert.equal(await total(a), 0);

    // One peer writes again: the conversation comes back with only the new messages.
    const back = peers[PEERS - 1]!;
    await rawSend(clients.get(back)!, alice, 'back-1');
    await rawSend(clients.get(back)!, alice, 'back-2');
    await waitFor(async () => (await total(a)) === 2, 'A sees the comeback');

    // B comes back: its first conv.sync pages are all tombstones it is not told of
    // (hidden: empty but unfinished); it must page on to the comeback row.
    const receivedBefore = b.events.received.length;
    const syncsBefore = b.synced();
    await b.im.login(alice, await env.sig(alice));
    open.push(b.im);
    await waitFor(() => b.synced() > syncsBefore, 'B synced again');
    await waitFor(() => b.events.received.length >= receivedBefore + 2, 'B receives the new messages', 10_000);
    assert.deepEqual(texts(b.events.received.slice(receivedBefore)), ['back-1', 'back-2']);
    // Its own copies of the 119 others stay (sync off: it was not told), unread 1 each;
    // the comeback counts only its 2 new messages.
    assert.equal(await total(b), PEERS - 1 + 2);
    const comeback = await b.im.getConversationManager().getConversation(`c2c_${back}`);
    assert.equal(comeback.unreadCount, 2);
    assert.equal(comeback.lastMessage?.textElem?.text, 'back-2');
    assert.deepEqual((await bStore.getMessages(`c2c_${back}`, { limit: 10 })).map((m) => m.elem.type === 'text' ? m.elem.text : '?'), ['back-1', 'back-2']);
  });

  test('marking a conversation read that another device deleted clears the badge on this device', async () => {
    const alice = 'rv2-alice';
    const bob = 'rv2-bob';
    const phone = await loggedIn(alice, { deviceID: 'phone' });
    const tablet = await loggedIn(alice, { deviceID: 'tablet' });
    const peer = await raw(bob);
    for (const t of ['one', 'two', 'three']) await rawSend(peer, alice, t);
    for (const d of [phone, tablet]) await waitFor(async () => (await total(d)) === 3, 'both devices show 3 unread');

    await phone.im.getConversationManager().deleteConversation(`c2c_${bob}`);
    assert.equal(await total(phone), 0);
    // A round trip on the tablet orders any push sent before it; sync off: it keeps its copy.
    await tablet.im.getConversationManager().getConversationDeletionStatus(null);
    assert.equal(await total(tablet), 3);
    assert.equal((await tablet.im.getConversationManager().getConversation(`c2c_${bob}`)).unreadCount, 3);

    const changedBefore = tablet.events.changed.length;
    await tablet.im.getMessageManager().markC2CMessageAsRead(bob);
    assert.equal(await total(tablet), 0);
    assert.equal((await tablet.im.getConversationManager().getConversation(`c2c_${bob}`)).unreadCount, 0);
    assert.equal(tablet.events.totals.at(-1), 0, 'onTotalUnreadMessageCountChanged(0)');
    assert.ok(tablet.events.changed.slice(changedBefore).some((c) => c.conversationID === `c2c_${bob}` && c.unreadCount === 0), 'onConversationChanged with unread 0');
  });

  test('a deletion re-issued at login with its original requestID does not erase messages that arrived after it', async () => {
    const alice = 'rv3-alice';
    const bob = 'rv3-bob';
    const store = new MemoryStore();
    const d = await loggedIn(alice, { deviceID: 'D', store });
    const peer = await raw(bob);
    await rawSend(peer, alice, 'old');
    await waitFor(async () => (await total(d)) === 1, 'D has the first message');
    await d.im.logout();
    await store.open({ sdkAppID: env.app.sdkAppID, userID: alice });
    const versionAtSend = Number(await store.getMeta(MetaKey.SYNC_VERSION));
    await store.close();

    // D sent the deletion with its requestID, the server committed it, and D died before
    // it could apply the reply. Then bob wrote again.
    const sender = await raw(alice);
    const requestID = 'rv3-delete-1';
    await sender.ok('conv.delete', { conversationIDs: [`c2c_${bob}`], clearMessages: true, requestID });
    await rawSend(peer, alice, 'new');

    // D restarts with the pending entry its first attempt left behind.
    await store.open({ sdkAppID: env.app.sdkAppID, userID: alice });
    await store.setMeta(MetaKey.PENDING_DELETIONS, JSON.stringify([
      { id: 'p1', conversationIDs: [`c2c_${bob}`], mode: 'delete', requestID, version: versionAtSend },
    ]));
    await store.close();
    const syncsBefore = d.synced();
    await d.im.login(alice, await env.sig(alice));
    open.push(d.im);
    await waitFor(() => d.synced() > syncsBefore, 'D synced again');

    // (The store is D's, open again since the login.)
    assert.equal(await store.getMeta(MetaKey.PENDING_DELETIONS), '[]', 'the re-issue completed');
    const conv = await waitFor(async () => {
      const c = await d.im.getConversationManager().getConversation(`c2c_${bob}`);
      return c.lastMessage ? c : undefined;
    }, 'the comeback is shown');
    assert.equal(conv.lastMessage?.textElem?.text, 'new');
    assert.equal(conv.unreadCount, 1);
    assert.deepEqual(texts(await d.im.getMessageManager().getC2CHistoryMessageList(bob, 10, null)), ['new']);
    // And on the server: a fresh device of alice's sees the new message too.
    const fresh = await loggedIn(alice, { deviceID: 'fresh' });
    assert.deepEqual(texts(await fresh.im.getMessageManager().getC2CHistoryMessageList(bob, 10, null)), ['new']);
  });
});
