/**
 * Crash recovery of a deletion when a message landed in the conversation in the same
 * moment (docs/deletion.md, "Retry-safe"), with deletion sync off (the default): real
 * server and SDK over loopback, the crash simulated by stopping the device after its
 * request committed and before its local wipe.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore, MetaKey, type V2TIMManager } from '@confab/sdk';
import { RawClient } from './helpers/raw-client.js';
import { device, startTestServer, waitFor } from './helpers/sdk-harness.js';

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

async function raw(userID: string, deviceID: string): Promise<RawClient> {
  const r = await RawClient.connect(env.server.wsUrl);
  raws.push(r);
  await r.login({ sdkAppID: env.app.sdkAppID, userID, userSig: await env.sig(userID), deviceID });
  return r;
}

async function storedVersion(store: MemoryStore, userID: string): Promise<number> {
  await store.open({ sdkAppID: env.app.sdkAppID, userID });
  const version = Number(await store.getMeta(MetaKey.SYNC_VERSION));
  await store.close();
  return version;
}

describe('deletion crash recovery, deletion sync off', () => {
  test('a message that landed between the deletion request and its commit is wiped at the next login', async () => {
    const alice = 'rc1-alice';
    const bob = 'rc1-bob';
    const store = new MemoryStore();
    const d = device(env, { deviceID: 'D', store });
    let synced = 0;
    d.im.getConversationManager().addConversationListener({ onSyncServerFinish: () => { synced++; } });
    const login = async () => {
      const before = synced;
      await d.im.login(alice, await env.sig(alice));
      open.push(d.im);
      await waitFor(() => synced > before, 'D synced');
    };
    const texts = async () => (await store.getMessages(`c2c_${bob}`, { limit: 10 })).map((m) => (m.elem.type === 'text' ? m.elem.text : '?'));

    await login();
    const peer = await raw(bob, 'raw-bob');
    await peer.ok('msg.send', { conversationID: `c2c_${alice}`, clientMsgID: 'rc1-old', elem: { type: 'text', text: 'old' } });
    await waitFor(async () => (await texts()).length === 1, 'D has the first message');
    await d.im.logout();
    // The version D holds when it sends the deletion.
    const versionAtSend = await storedVersion(store, alice);

    // D sends the deletion; before the server commits it, bob's message lands and D
    // applies its push; the deletion then commits (its watermark past bob's message), and
    // D dies before its reply is applied: the pending entry stays, the wipe never ran.
    await login();
    await peer.ok('msg.send', { conversationID: `c2c_${alice}`, clientMsgID: 'rc1-racing', elem: { type: 'text', text: 'racing' } });
    await waitFor(async () => (await texts()).length === 2, 'D applied the racing message');
    await d.im.logout();
    assert.ok(await storedVersion(store, alice) > versionAtSend, 'D holds the racing message\'s version step');
    const requestID = 'rc1-delete-1';
    const asD = await raw(alice, 'D');
    await asD.ok('conv.delete', { conversationIDs: [`c2c_${bob}`], clearMessages: true, requestID });
    await asD.close();
    await store.open({ sdkAppID: env.app.sdkAppID, userID: alice });
    await store.setMeta(MetaKey.PENDING_DELETIONS, JSON.stringify([
      { id: 'p1', conversationIDs: [`c2c_${bob}`], mode: 'delete', requestID, version: versionAtSend },
    ]));
    await store.close();

    await login();
    assert.equal(await store.getMeta(MetaKey.PENDING_DELETIONS), '[]', 'the re-issue completed');
    await waitFor(async () => (await store.getConversation(`c2c_${bob}`)) === undefined, 'no stale row');
    assert.deepEqual(await texts(), [], 'no stale message');
    const list = await d.im.getConversationManager().getConversationList(0, 100);
    assert.deepEqual(list.conversationList.map((c) => c.conversationID), []);

    // Another device of alice's, not told of deletions, still keeps its copy: the
    // tombstone is shown only to the device that made the deletion.
    const otherStore = new MemoryStore();
    const other = device(env, { deviceID: 'E', store: otherStore });
    let otherSynced = 0;
    other.im.getConversationManager().addConversationListener({ onSyncServerFinish: () => { otherSynced++; } });
    await other.im.login(alice, await env.sig(alice));
    open.push(other.im);
    await waitFor(() => otherSynced > 0, 'E synced');
    assert.equal(await otherStore.getConversation(`c2c_${bob}`), undefined, 'a fresh device is not shown the deleted conversation');
  });

  test('conv.sync shows a tombstone to the device that made the deletion, not to the user\'s other devices', async () => {
    const alice = 'rc2-alice';
    const phone = await raw(alice, 'phone');
    const tablet = await raw(alice, 'tablet');
    const peer = await raw('rc2-bob', 'raw-bob');
    await peer.ok('msg.send', { conversationID: `c2c_${alice}`, clientMsgID: 'rc2-1', elem: { type: 'text', text: 'hi' } });
    const since = (await phone.ok('conv.sync', { sinceVersion: 0 })).version;
    await phone.ok('conv.delete', { conversationIDs: ['c2c_rc2-bob'], clearMessages: true });
    const own = await phone.ok('conv.sync', { sinceVersion: since });
    assert.deepEqual(own.conversations.map((c) => [c.conversationID, c.deleted]), [['c2c_rc2-bob', true]]);
    const elsewhere = await tablet.ok('conv.sync', { sinceVersion: since });
    assert.deepEqual(elsewhere.conversations, [], 'hidden from the tablet: deletion sync is off');
    assert.equal(elsewhere.version, own.version);
  });
});
