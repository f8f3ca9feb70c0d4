import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { V2TIMManager } from '@confab/sdk';
import { SqliteStore } from '@confab/sdk/sqlite-store';
import { device, startTestServer, texts, waitFor } from './helpers/sdk-harness.js';

type Env = Awaited<ReturnType<typeof startTestServer>>;
let env: Env;
const open: V2TIMManager[] = [];
let n = 0;

before(async () => { env = await startTestServer({ purge: false }); });
after(async () => { await env.stop(); });
afterEach(async () => {
  for (const im of open.splice(0)) await im.logout().catch(() => undefined);
  await env.server.domain.apps.updateSettings(env.app.sdkAppID, { syncConversationDeletion: false, deletionUndoSeconds: 0 });
});

async function loggedIn(userID: string, opts: Parameters<typeof device>[1] = {}) {
  const d = device(env, opts);
  open.push(d.im);
  await d.im.login(userID, await env.sig(userID));
  return d;
}

/** A user with three devices and a peer who has written to them. */
async function threeDevices(opts: { cStore?: SqliteStore } = {}) {
  n += 1;
  const alice = `md${n}-alice`;
  const bob = `md${n}-bob`;
  const a = await loggedIn(alice, { deviceID: 'A' });
  const b = await loggedIn(alice, { deviceID: 'B' });
  const c = await loggedIn(alice, { deviceID: 'C', store: opts.cStore });
  const peer = await loggedIn(bob);
  await peer.im.sendC2CTextMessage('one', alice);
  await peer.im.sendC2CTextMessage('two', alice);
  for (const d of [a, b, c]) await waitFor(() => d.events.received.length === 2, 'every device has both messages');
  return { alice, bob, conv: `c2c_${bob}`, a, b, c, peer };
}

const listed = async (d: { im: V2TIMManager }, id: string) =>
  (await d.im.getConversationManager().getConversationList(0, 100)).conversationList.some((c) => c.conversationID === id);

function setSettings(patch: { syncConversationDeletion?: boolean; deletionUndoSeconds?: number }) {
  return env.server.domain.apps.updateSettings(env.app.sdkAppID, patch);
}

describe('deletion sync across a user\'s devices', () => {
  test('off (the default): other devices are not told and keep their copy; the server history is gone for the user', async () => {
    const { a, b, c, conv, peer, alice } = await threeDevices();
    await a.im.getConversationManager().deleteConversation(conv);
    assert.deepEqual(a.events.deleted, [conv]);
    // Let any push arrive: a round trip on each device orders it behind everything sent before.
    await b.im.getConversationManager().pinConversation('c2c_nobody-known', false).catch(() => undefined);
    await c.im.getConversationManager().pinConversation('c2c_nobody-known', false).catch(() => undefined);
    assert.deepEqual(b.events.deleted, []);
    assert.equal(await listed(b, conv), true);
    assert.equal(await listed(c, conv), true);
    // A fresh device finds nothing older than the deletion point on the server.
    const fresh = await loggedIn(alice, { deviceID: 'fresh' });
    assert.equal(await listed(fresh, conv), false);
    assert.deepEqual(await fresh.im.getMessageManager().getC2CHistoryMessageList(peer === undefined ? '' : conv.slice(4), 10, null), []);
  });

  test('on: every other online device wipes the conversation and fires onConversationDeleted; acks show "wiped on 3 of 3"', async () => {
    await setSettings({ syncConversationDeletion: true });
    const { a, b, c, conv, bob } = await threeDevices();
    await a.im.getConversationManager().deleteConversation(conv);
    for (const d of [b, c]) {
      await waitFor(() => d.events.deleted.includes(conv), 'the other device hears of the deletion');
      assert.equal(await listed(d, conv), false);
      assert.deepEqual(await d.im.getMessageManager().getC2CHistoryMessageList(bob, 10, null), [], 'nothing cached or on the server');
      assert.equal(await d.im.getConversationManager().getTotalUnreadMessageCount(), 0);
    }
    const status = await waitFor(async () => {
      const [s] = await a.im.getConversationManager().getConversationDeletionStatus(conv);
      return s && s.devices.length === 3 && s.devices.every((d) => d.wiped) ? s : undefined;
    }, 'all three devices acknowledge');
    assert.deepEqual(status.devices.map((d) => d.deviceID).sort(), ['A', 'B', 'C']);
    assert.equal(status.state, 'pending', 'rows are erased later by the purge worker');
  });

  test('toggled live in the app settings: the same devices, no restart', async () => {
    const { a, b, conv, peer, alice } = await threeDevices();
    await a.im.getConversationManager().deleteConversation(conv);
    await b.im.getConversationManager().pinConversation('c2c_nobody-known', false).catch(() => undefined);
    assert.deepEqual(b.events.deleted, [], 'not told while off');
    await setSettings({ syncConversationDeletion: true });
    await peer.im.sendC2CTextMessage('three', alice);
    await waitFor(async () => (await listed(a, conv)) && (await listed(b, conv)), 'the conversation is back on both');
    await a.im.getConversationManager().deleteConversation(conv);
    await waitFor(() => b.events.deleted.includes(conv), 'told once on');
    assert.equal(await listed(b, conv), false);
  });

  test('a device that was offline catches up on restart: the deletion is applied and never comes back', async () => {
    await setSettings({ syncConversationDeletion: true });
    const file = join(env.dataDir, `offline-${n + 1}.db`);
    const { a, c, conv, alice, bob } = await threeDevices({ cStore: new SqliteStore(file) });
    await c.im.logout();
    await a.im.getConversationManager().deleteConversationList([conv], true);
    const back = await loggedIn(alice, { deviceID: 'C', store: new SqliteStore(file) });
    await waitFor(() => back.events.deleted.includes(conv), 'the restarted device applies the missed deletion');
    assert.equal(await listed(back, conv), false);
    assert.deepEqual(await back.im.getMessageManager().getC2CHistoryMessageList(bob, 10, null), []);
  });

  test('a client too old for deletion sync is not sent it and keeps working', async () => {
    await setSettings({ syncConversationDeletion: true });
    const { a, b, conv, alice, peer } = await threeDevices();
    const old = await loggedIn(alice, { deviceID: 'old', capabilities: [] });
    await waitFor(async () => listed(old, conv), 'the old client has the conversation');
    await a.im.getConversationManager().deleteConversation(conv);
    await waitFor(() => b.events.deleted.includes(conv), 'a new client is told');
    await peer.im.sendC2CTextMessage('still works', alice);
    await waitFor(() => old.events.received.some((m) => m.textElem?.text === 'still works'), 'the old client still receives');
    assert.deepEqual(old.events.deleted, [], 'the old client was not sent the deletion');
    const [status] = await a.im.getConversationManager().getConversationDeletionStatus(conv);
    assert.equal(status?.devices.some((d) => d.deviceID === 'old'), false, 'and is not counted among the devices to wipe');
  });

  test('clear history and batch deletion reach the other devices too', async () => {
    await setSettings({ syncConversationDeletion: true });
    const { a, b, conv, bob } = await threeDevices();
    await a.im.getMessageManager().clearC2CHistoryMessage(bob);
    await waitFor(async () => (await b.im.getConversationManager().getConversation(conv)).lastMessage === null, 'B sees the clear');
    assert.equal(await listed(b, conv), true, 'the conversation stays');
    assert.deepEqual(await b.im.getMessageManager().getC2CHistoryMessageList(bob, 10, null), []);
    const results = await a.im.getConversationManager().deleteConversationList([conv, 'c2c_never-there'], true);
    assert.deepEqual(results.map((r) => r.resultCode), [0, 0]);
    await waitFor(() => b.events.deleted.includes(conv), 'B hears of the batch deletion');
  });

  test('undo window: any device can undo until it closes; the history comes back everywhere without replaying as new', async () => {
    await setSettings({ syncConversationDeletion: true, deletionUndoSeconds: 60 });
    const { a, b, conv, bob } = await threeDevices();
    await a.im.getConversationManager().deleteConversation(conv);
    await waitFor(() => b.events.deleted.includes(conv), 'B wiped it');
    assert.equal(await env.server.purgeNow(), 0, 'nothing is purged while the deletion can be undone');
    const receivedBefore = b.events.received.length;
    await b.im.getConversationManager().undoDeleteConversation(conv);
    await waitFor(async () => (await listed(a, conv)) && (await listed(b, conv)), 'back on both devices');
    assert.deepEqual(texts(await a.im.getMessageManager().getC2CHistoryMessageList(bob, 10, null)), ['two', 'one']);
    assert.equal(b.events.received.length, receivedBefore, 'restored history is not announced as new messages');
    const [status] = await a.im.getConversationManager().getConversationDeletionStatus(conv);
    assert.equal(status?.state, 'undone');
    await assert.rejects(a.im.getConversationManager().undoDeleteConversation(conv), { code: 51012 });
  });

  test('after the undo window closes the deletion is final and purged', async () => {
    await setSettings({ syncConversationDeletion: true, deletionUndoSeconds: 1 });
    const { a, conv, peer, alice } = await threeDevices();
    await a.im.getConversationManager().deleteConversation(conv);
    await peer.im.getConversationManager().deleteConversation(`c2c_${alice}`);
    await new Promise((r) => setTimeout(r, 1100));
    await assert.rejects(a.im.getConversationManager().undoDeleteConversation(conv), { code: 51012 });
    assert.equal(await env.server.purgeNow(), 2, 'both messages erased once both sides deleted and the window closed');
    const [status] = await a.im.getConversationManager().getConversationDeletionStatus(conv);
    assert.equal(status?.state, 'purged');
  });

  test('without an undo window, undo is refused with 51012', async () => {
    const { a, conv } = await threeDevices();
    await a.im.getConversationManager().deleteConversation(conv);
    await assert.rejects(a.im.getConversationManager().undoDeleteConversation(conv), { code: 51012 });
  });
});
