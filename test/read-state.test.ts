/**
 * Read state over loopback with the SDK: C2C read receipts (isPeerRead,
 * onRecvC2CReadReceipt), receive options (recvOpt, total unread, across devices),
 * @-mentions (groupAtInfoList set by the fan-out, cleared by reading), partial and
 * whole-account reads, group read receipts behind the app setting, and the REST calls.
 */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '@confab/protocol';
import {
  V2TIMReceiveMessageOpt, kImSDK_MesssageAtALL,
  type V2TIMManager, type V2TIMMessage, type V2TIMMessageReceipt,
} from '@confab/sdk';
import { device, startTestServer, waitFor } from './helpers/sdk-harness.js';

let env: Awaited<ReturnType<typeof startTestServer>>;
const started: V2TIMManager[] = [];

beforeEach(async () => {
  env = await startTestServer({ purge: false });
});

afterEach(async () => {
  for (const im of started.splice(0)) await im.logout().catch(() => undefined);
  await env.stop();
});

/** Two devices of one user, logged in, with their receipts recorded. */
async function user(userID: string) {
  const out = [];
  for (const deviceID of ['phone', 'laptop']) {
    const d = device(env, { deviceID: `${userID}-${deviceID}` });
    const c2c: V2TIMMessageReceipt[] = [];
    const group: V2TIMMessageReceipt[] = [];
    d.im.getMessageManager().addAdvancedMsgListener({
      onRecvC2CReadReceipt: (l) => c2c.push(...l),
      onRecvMessageReadReceipts: (l) => group.push(...l),
    });
    await d.im.login(userID, await env.sig(userID));
    started.push(d.im);
    out.push({ ...d, receipts: { c2c, group } });
  }
  return out as [(typeof out)[number], (typeof out)[number]];
}

async function send(im: V2TIMManager, text: string, to: { userID?: string; groupID?: string }, build?: (m: V2TIMMessage) => void) {
  const m = im.getMessageManager().createTextMessage(text);
  build?.(m);
  return im.getMessageManager().sendMessage(m, to.userID ?? null, to.groupID ?? null);
}

const conv = (im: V2TIMManager, id: string) => im.getConversationManager().getConversation(id);
const total = (im: V2TIMManager) => im.getConversationManager().getTotalUnreadMessageCount();

test('C2C read receipts: the peer reads, both of the sender\'s devices hear it and see isPeerRead', async () => {
  const [alicePhone, aliceLaptop] = await user('alice');
  const [bobPhone, bobLaptop] = await user('bob');
  await send(alicePhone.im, 'one', { userID: 'bob' });
  await send(alicePhone.im, 'two', { userID: 'bob' });
  await waitFor(async () => (await conv(bobLaptop.im, 'c2c_alice')).unreadCount === 2, 'bob\'s laptop has 2 unread');
  let history = await alicePhone.im.getMessageManager().getC2CHistoryMessageList('bob', 10, null);
  assert.deepEqual(history.map((m) => m.isPeerRead), [false, false]);

  await bobPhone.im.getMessageManager().markC2CMessageAsRead('alice');
  for (const d of [alicePhone, aliceLaptop]) {
    await waitFor(() => d.receipts.c2c.length > 0, `onRecvC2CReadReceipt on ${String(d)}`);
    assert.equal(d.receipts.c2c[0]!.userID, 'bob');
    assert.equal(d.receipts.c2c[0]!.isPeerRead, true);
  }
  history = await aliceLaptop.im.getMessageManager().getC2CHistoryMessageList('bob', 10, null);
  assert.deepEqual(history.map((m) => m.isPeerRead), [true, true]);
  assert.equal((await conv(aliceLaptop.im, 'c2c_bob')).lastMessage?.isPeerRead, true);
  await waitFor(async () => (await conv(bobLaptop.im, 'c2c_alice')).unreadCount === 0, 'bob\'s other device is read too');
  const receipts = await alicePhone.im.getMessageManager().getMessageReadReceipts(history);
  assert.deepEqual(receipts.map((r) => r.isPeerRead), [true, true]);
  assert.equal(bobPhone.receipts.c2c.length, 0, 'the reader hears no receipt of its own');
});

test('receive options: not-notify stays out of the total, syncs to the other device, and not-receive announces nothing', async () => {
  const [alice] = await user('alice');
  const [bobPhone, bobLaptop] = await user('bob');
  await send(alice.im, 'before', { userID: 'bob' });
  await waitFor(async () => (await total(bobLaptop.im)) === 1, 'bob counts one unread');

  await bobPhone.im.getMessageManager().setC2CReceiveMessageOpt(['alice'], V2TIMReceiveMessageOpt.V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE);
  assert.equal(await total(bobPhone.im), 0, 'a not-notify conversation leaves the total at once');
  await waitFor(async () => (await conv(bobLaptop.im, 'c2c_alice')).recvOpt === 2, 'the laptop learns the option');
  assert.equal(await total(bobLaptop.im), 0);
  assert.ok(bobLaptop.events.totals.includes(0), 'onTotalUnreadMessageCountChanged(0) on the laptop');
  assert.deepEqual(await bobLaptop.im.getMessageManager().getC2CReceiveMessageOpt(['alice', 'carol']),
    [{ userID: 'alice', c2CReceiveMessageOpt: 2 }, { userID: 'carol', c2CReceiveMessageOpt: 0 }]);

  await send(alice.im, 'muted', { userID: 'bob' });
  await waitFor(async () => (await conv(bobLaptop.im, 'c2c_alice')).unreadCount === 2, 'the conversation still counts');
  assert.equal(await total(bobLaptop.im), 0, 'the total does not');

  await bobLaptop.im.getMessageManager().setC2CReceiveMessageOpt(['alice'], V2TIMReceiveMessageOpt.V2TIM_NOT_RECEIVE_MESSAGE);
  await waitFor(async () => (await conv(bobPhone.im, 'c2c_alice')).recvOpt === 1, 'the phone learns not-receive');
  const received = bobPhone.events.received.length;
  await send(alice.im, 'unheard', { userID: 'bob' });
  const history = await waitFor(async () => {
    const h = await bobPhone.im.getMessageManager().getC2CHistoryMessageList('alice', 10, null);
    return h[0]?.textElem?.text === 'unheard' ? h : undefined;
  }, 'the message is in the history');
  assert.equal(history.length, 3);
  assert.equal((await conv(bobPhone.im, 'c2c_alice')).unreadCount, 2, 'not counted');
  assert.equal(bobPhone.events.received.length, received, 'not announced');

  // An option set before any message waits for the first one, without a list entry.
  const [carol] = await user('carol');
  await bobPhone.im.getMessageManager().setC2CReceiveMessageOpt(['carol'], V2TIMReceiveMessageOpt.V2TIM_RECEIVE_NOT_NOTIFY_MESSAGE);
  const list = await bobPhone.im.getConversationManager().getConversationList(0, 100);
  assert.deepEqual(list.conversationList.map((c) => c.conversationID), ['c2c_alice']);
  await send(carol.im, 'hello', { userID: 'bob' });
  await waitFor(async () => (await conv(bobLaptop.im, 'c2c_carol')).unreadCount === 1, 'carol\'s message arrives');
  assert.equal((await conv(bobLaptop.im, 'c2c_carol')).recvOpt, 2);
  assert.equal(await total(bobLaptop.im), 0);

  await assert.rejects(bobPhone.im.getMessageManager().setC2CReceiveMessageOpt(['alice'], 7 as never), { code: ErrorCode.INVALID_PARAMETERS });
});

async function groupOf(owner: V2TIMManager, members: string[]): Promise<string> {
  return owner.getGroupManager().createGroup({ groupType: 'Work', groupName: 'team', groupID: 'team' }, members.map((userID) => ({ userID })));
}

test('mentions: @me and @all reach each member\'s conversation and clear as they read past them', async () => {
  const [alice] = await user('alice');
  const [bobPhone, bobLaptop] = await user('bob');
  const [carol] = await user('carol');
  const groupID = await groupOf(alice.im, ['bob', 'carol']);
  const mm = alice.im.getMessageManager();
  await mm.sendMessage(mm.createTextAtMessage('@bob look', ['bob']), null, groupID);
  const all = await mm.sendMessage(mm.createTextAtMessage('@all lunch', [kImSDK_MesssageAtALL]), null, groupID);
  assert.deepEqual(all.groupAtUserList, [kImSDK_MesssageAtALL]);
  await mm.sendMessage(mm.createTextMessage('plain'), null, groupID);

  const bobAt = await waitFor(async () => {
    const c = await conv(bobLaptop.im, `group_${groupID}`);
    return c.unreadCount === 3 ? c.groupAtInfoList ?? [] : undefined;
  }, 'bob\'s laptop has the group');
  assert.deepEqual(bobAt, [{ seq: 1, atType: 1 }, { seq: 2, atType: 2 }]);
  const carolAt = await waitFor(async () => {
    const c = await conv(carol.im, `group_${groupID}`);
    return c.unreadCount === 3 ? c.groupAtInfoList ?? [] : undefined;
  }, 'carol has the group');
  assert.deepEqual(carolAt, [{ seq: 2, atType: 2 }]);
  assert.deepEqual((await conv(alice.im, `group_${groupID}`)).groupAtInfoList, [], 'the sender is not mentioned');
  const got = await bobPhone.im.getMessageManager().getGroupHistoryMessageList(groupID, 10, null);
  assert.deepEqual(got.find((m) => m.seq === 1)?.groupAtUserList, ['bob']);

  // cleanSequence: read up to seq 1 only.
  await bobPhone.im.getConversationManager().cleanConversationUnreadMessageCount(`group_${groupID}`, 0, 1);
  const partial = await conv(bobPhone.im, `group_${groupID}`);
  assert.equal(partial.unreadCount, 2);
  assert.equal(partial.groupReadSequence, 1);
  assert.deepEqual(partial.groupAtInfoList, [{ seq: 2, atType: 2 }]);
  await waitFor(async () => (await conv(bobLaptop.im, `group_${groupID}`)).unreadCount === 2, 'the laptop follows');

  await bobLaptop.im.getMessageManager().markGroupMessageAsRead(groupID);
  await waitFor(async () => {
    const c = await conv(bobPhone.im, `group_${groupID}`);
    return c.unreadCount === 0 && c.groupAtInfoList?.length === 0;
  }, 'reading clears the mentions on the other device');

  // A C2C message cannot carry an at-list.
  await assert.rejects(mm.sendMessage(mm.createTextAtMessage('hey', ['bob']), 'bob', null), { code: ErrorCode.INVALID_PARAMETERS });
});

test('group read receipts: off → 7013; on → counts, member lists and onRecvMessageReadReceipts', async () => {
  const [alicePhone, aliceLaptop] = await user('alice');
  const [bob] = await user('bob');
  const [carol] = await user('carol');
  const groupID = await groupOf(alicePhone.im, ['bob', 'carol']);
  const first = await send(alicePhone.im, 'off', { groupID }, (m) => { m.needReadReceipt = true; });
  const atBob = await waitFor(async () => (await bob.im.getMessageManager().getGroupHistoryMessageList(groupID, 10, null))[0], 'bob has it');
  await assert.rejects(bob.im.getMessageManager().sendMessageReadReceipts([atBob]), { code: ErrorCode.INTERFACE_NOT_SUPPORT });
  await assert.rejects(alicePhone.im.getMessageManager().getMessageReadReceipts([first]), { code: ErrorCode.INTERFACE_NOT_SUPPORT });

  await env.server.domain.apps.updateSettings(env.app.sdkAppID, { groupReadReceipt: true });
  const asked = await send(alicePhone.im, 'please read', { groupID }, (m) => { m.needReadReceipt = true; });
  const received = await waitFor(async () => (await bob.im.getMessageManager().getGroupHistoryMessageList(groupID, 10, null)).find((m) => m.seq === asked.seq), 'bob has the second');
  assert.equal(received.needReadReceipt, true);
  await bob.im.getMessageManager().sendMessageReadReceipts([received]);
  await bob.im.getMessageManager().sendMessageReadReceipts([received]); // again: counted once
  for (const d of [alicePhone, aliceLaptop]) {
    await waitFor(() => d.receipts.group.length > 0, 'onRecvMessageReadReceipts');
    assert.deepEqual(d.receipts.group.map((r) => [r.msgID, r.readCount, r.unreadCount]), [[asked.msgID, 1, 1]]);
  }
  const counts = await aliceLaptop.im.getMessageManager().getMessageReadReceipts([asked, first]);
  assert.deepEqual(counts.map((r) => [r.readCount, r.unreadCount]), [[1, 1], [0, 2]]);
  const mm = alicePhone.im.getMessageManager();
  assert.deepEqual((await mm.getGroupMessageReadMemberList(asked, 0, 0, 10)).memberInfoList.map((m) => m.userID), ['bob']);
  const unread = await mm.getGroupMessageReadMemberList(asked, 1, 0, 10);
  assert.deepEqual(unread.memberInfoList.map((m) => m.userID), ['carol']);
  assert.equal(unread.isFinished, true);
  // A message that did not ask for receipts takes none.
  const plain = await send(alicePhone.im, 'no receipts', { groupID });
  const plainAtCarol = await waitFor(async () => (await carol.im.getMessageManager().getGroupHistoryMessageList(groupID, 10, null)).find((m) => m.seq === plain.seq), 'carol has it');
  await carol.im.getMessageManager().sendMessageReadReceipts([plainAtCarol]);
  assert.deepEqual((await mm.getMessageReadReceipts([plain])).map((r) => r.readCount), [0]);
});

test('markAllMessageAsRead clears every conversation on both devices and tells C2C peers', async () => {
  const [alice] = await user('alice');
  const [carol] = await user('carol');
  const [bobPhone, bobLaptop] = await user('bob');
  const groupID = await groupOf(alice.im, ['bob']);
  await send(alice.im, 'a1', { userID: 'bob' });
  await send(carol.im, 'c1', { userID: 'bob' });
  await send(alice.im, 'g1', { groupID });
  await waitFor(async () => (await total(bobLaptop.im)) === 3, 'bob has 3 unread');

  await bobPhone.im.getMessageManager().markAllMessageAsRead();
  assert.equal(await total(bobPhone.im), 0, 'read when the call resolves');
  await waitFor(async () => (await total(bobLaptop.im)) === 0, 'the laptop follows');
  await waitFor(() => alice.receipts.c2c.length > 0 && carol.receipts.c2c.length > 0, 'both peers hear a read receipt');

  // "c2c" marks only the one-to-one chats.
  await send(alice.im, 'a2', { userID: 'bob' });
  await send(alice.im, 'g2', { groupID });
  await waitFor(async () => (await total(bobPhone.im)) === 2, 'two new unread');
  await bobPhone.im.getConversationManager().cleanConversationUnreadMessageCount('c2c', 0, 0);
  assert.equal((await conv(bobPhone.im, 'c2c_alice')).unreadCount, 0);
  assert.equal((await conv(bobPhone.im, `group_${groupID}`)).unreadCount, 1);
});

test('REST: admin_set_msg_read reads for a user, get_group_msg_receipt counts', async () => {
  const [alice] = await user('alice');
  const [bob] = await user('bob');
  await send(alice.im, 'x', { userID: 'bob' });
  await waitFor(async () => (await conv(bob.im, 'c2c_alice')).unreadCount === 1, 'bob has it');
  const adminSig = await env.sig('administrator');
  const rest = async (command: string, body: unknown) => {
    const url = `${env.server.httpUrl}/v4/${command}?sdkappid=${env.app.sdkAppID}&identifier=administrator&usersig=${encodeURIComponent(adminSig)}&random=1&contenttype=json`;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return (await res.json()) as { ActionStatus: string; ErrorCode: number; [k: string]: unknown };
  };
  assert.equal((await rest('openim/admin_set_msg_read', { Report_Account: 'bob', Peer_Account: 'alice' })).ErrorCode, 0);
  await waitFor(async () => (await conv(bob.im, 'c2c_alice')).unreadCount === 0, 'bob\'s devices are read');
  await waitFor(() => alice.receipts.c2c.length > 0, 'alice hears the receipt');
  assert.equal((await rest('openim/admin_set_msg_read', { Report_Account: 'bob' })).ErrorCode, ErrorCode.INVALID_PARAMETERS);

  const groupID = await groupOf(alice.im, ['bob']);
  const body = { GroupId: groupID, Operator_Account: 'alice', MsgSeqList: [{ MsgSeq: 1 }] };
  assert.equal((await rest('group_open_http_svc/get_group_msg_receipt', body)).ErrorCode, ErrorCode.INTERFACE_NOT_SUPPORT);
  await env.server.domain.apps.updateSettings(env.app.sdkAppID, { groupReadReceipt: true });
  const sent = await send(alice.im, 'r', { groupID }, (m) => { m.needReadReceipt = true; });
  const atBob = await waitFor(async () => (await bob.im.getMessageManager().getGroupHistoryMessageList(groupID, 10, null))[0], 'bob has it');
  await bob.im.getMessageManager().sendMessageReadReceipts([atBob]);
  const answer = await rest('group_open_http_svc/get_group_msg_receipt', { ...body, MsgSeqList: [{ MsgSeq: sent.seq }] });
  assert.deepEqual(answer.MsgReceiptList, [{ MsgSeq: sent.seq, ReadNum: 1, UnreadNum: 0 }]);
});

test('markAllRead of 450 unread conversations is three bounded steps, each one version step pushed to every session', async () => {
  const { RawClient } = await import('./helpers/raw-client.js');
  const { storage } = env.server.domain;
  const app = env.app.sdkAppID;
  await storage.accounts.ensure(app, 'heavy', Date.now());
  const peers = Array.from({ length: 450 }, (_, i) => `p${String(i).padStart(3, '0')}`);
  for (const p of peers) await storage.accounts.ensure(app, p, Date.now());
  // Written straight to storage: 450 one-to-one messages in 3 group commits.
  for (let i = 0; i < peers.length; i += 150) {
    await storage.messages.appendBatch(peers.slice(i, i + 150).map((p) => ({
      app, convKey: `c2c:heavy|${p}`, sender: p, clientMsgID: `m-${p}`, elem: { type: 'text' as const, text: 'hi' },
      recipients: [{ userID: p, conversationID: 'c2c_heavy' }, { userID: 'heavy', conversationID: `c2c_${p}` }], now: Date.now(),
    })));
  }
  const connect = async (deviceID: string) => {
    const c = await RawClient.connect(env.server.wsUrl);
    await c.login({ sdkAppID: app, userID: 'heavy', userSig: await env.sig('heavy'), deviceID });
    return c;
  };
  const [phone, laptop] = [await connect('phone'), await connect('laptop')];
  try {
    const before = await storage.accounts.syncVersion(app, 'heavy');
    assert.deepEqual(await phone.ok('conv.markAllRead', {}), { conversations: 450 });
    for (const c of [phone, laptop]) {
      await c.ok('ping', {});
      const steps = c.pushesSeen('update').filter((u) => u.version > before);
      assert.deepEqual(steps.map((u) => u.version), [before + 1, before + 2, before + 3], 'one version step per page');
      assert.deepEqual(steps.map((u) => u.conversations.length), [200, 200, 50]);
      assert.ok(steps.every((u) => u.conversations.every((r) => r.unreadCount === 0)));
    }
    assert.equal((await storage.conversations.get(app, 'p449', 'c2c:heavy|p449'))?.peerReadSeq, 1, 'each peer learns the read');
    assert.deepEqual(await phone.ok('conv.markAllRead', {}), { conversations: 0 }, 'nothing left: no step');
    assert.equal(await storage.accounts.syncVersion(app, 'heavy'), before + 3);
  } finally {
    await phone.close();
    await laptop.close();
  }
});

test('a device offline while the peer read learns it at catch-up: receipt event and isPeerRead', async () => {
  const { MemoryStore } = await import('@confab/sdk');
  const store = new MemoryStore();
  const [bob] = await user('bob');
  const alice = device(env, { deviceID: 'alice-tablet', store });
  const receipts: V2TIMMessageReceipt[] = [];
  alice.im.getMessageManager().addAdvancedMsgListener({ onRecvC2CReadReceipt: (l) => receipts.push(...l) });
  await alice.im.login('alice', await env.sig('alice'));
  started.push(alice.im);
  const sent = await send(alice.im, 'are you there', { userID: 'bob' });
  await waitFor(async () => (await conv(bob.im, 'c2c_alice')).unreadCount === 1, 'bob has it');
  await alice.im.logout();

  await bob.im.getMessageManager().markC2CMessageAsRead('alice');
  await alice.im.login('alice', await env.sig('alice'));
  await waitFor(() => receipts.length > 0, 'the receipt is announced after the catch-up sync');
  assert.equal(receipts[0]!.userID, 'bob');
  const [again] = await alice.im.getMessageManager().getC2CHistoryMessageList('bob', 1, null);
  assert.equal(again?.msgID, sent.msgID);
  assert.equal(again?.isPeerRead, true);
});
