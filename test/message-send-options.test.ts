/**
 * sendMessage's options and the message fields, end to end: a real server, real SDK
 * clients over WebSocket. Online-only delivery, priority, offline push through a
 * recording push provider, the sender's profile, isRead, cloud custom data, local custom
 * data, and the face, location, merger and forwarded messages.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { OfflinePushNotification, PushProvider } from '@confab/server';
import { V2TIMElemType, V2TIMManager, V2TIMMessageGetType, V2TIMMessagePriority, type V2TIMMessage } from '@confab/sdk';
import { RawClient } from './helpers/raw-client.js';
import { device, startTestServer, texts, waitFor } from './helpers/sdk-harness.js';

type Env = Awaited<ReturnType<typeof startTestServer>>;
let env: Env;
const pushes: OfflinePushNotification[] = [];
const recorder: PushProvider = { push: (n) => { pushes.push(n); } };
const open: V2TIMManager[] = [];

before(async () => { env = await startTestServer({ pushProvider: recorder }); });
after(async () => { await env.stop(); });
afterEach(async () => {
  for (const im of open.splice(0)) await im.logout().catch(() => undefined);
});

async function loggedIn(userID: string, opts: Parameters<typeof device>[1] = {}) {
  const d = device(env, opts);
  open.push(d.im);
  await d.im.login(userID, await env.sig(userID));
  return d;
}

/** Logs a user in once (so the account exists) and out again, and waits until no session of theirs is listed online. */
async function offlineUser(userID: string): Promise<void> {
  const d = device(env);
  await d.im.login(userID, await env.sig(userID));
  await d.im.logout();
  await waitFor(async () => (await env.server.domain.storage.presence.online(env.app.sdkAppID, userID, Date.now())).length === 0, `${userID} offline`);
}

describe('onlineUserOnly', () => {
  test('reaches the online peer as onRecvNewMessage, is never stored, unread or in history; an offline device never gets it', async () => {
    const alice = await loggedIn('on-alice');
    const bob = await loggedIn('on-bob');
    const mm = alice.im.getMessageManager();
    await mm.sendMessage(mm.createTextMessage('stored'), 'on-bob', null);
    await waitFor(() => bob.events.received.length === 1, 'bob receives the stored one');
    const ping = mm.createTextMessage('typing…');
    ping.cloudCustomData = 'typing';
    const sent = await mm.sendMessage(ping, 'on-bob', null, V2TIMMessagePriority.V2TIM_PRIORITY_DEFAULT, true);
    assert.equal(sent.status, 2, 'the sender gets its reply');
    assert.equal(sent.seq, 0);
    assert.equal(sent.isOnlineOnly, true);
    await waitFor(() => bob.events.received.length === 2, 'bob receives the online one');
    const got = bob.events.received[1]!;
    assert.equal(got.textElem?.text, 'typing…');
    assert.equal(got.isOnlineOnly, true);
    assert.equal(got.conversationID, 'c2c_on-alice');
    assert.equal(got.cloudCustomData, 'typing');
    // Not unread, not stored, not in history on either side (a fresh device of bob included).
    await bob.im.getMessageManager().markC2CMessageAsRead('on-alice');
    assert.equal(await bob.im.getConversationManager().getTotalUnreadMessageCount(), 0);
    assert.deepEqual(texts(await bob.im.getMessageManager().getC2CHistoryMessageList('on-alice', 10, null)), ['stored']);
    assert.deepEqual(texts(await mm.getC2CHistoryMessageList('on-bob', 10, null)), ['stored']);
    const conv = await alice.im.getConversationManager().getConversation('c2c_on-bob');
    assert.equal(conv.lastMessage?.textElem?.text, 'stored');
    const fresh = await loggedIn('on-bob', { deviceID: 'fresh' });
    const cloud = await fresh.im.getMessageManager().getHistoryMessageList({ getType: V2TIMMessageGetType.V2TIM_GET_CLOUD_OLDER_MSG, userID: 'on-alice', count: 10 });
    assert.deepEqual(texts(cloud), ['stored']);

    // Carol is offline when the online-only message goes out; she never sees it.
    await offlineUser('on-carol');
    await mm.sendMessage(mm.createTextMessage('only now'), 'on-carol', null, 0, true);
    await mm.sendMessage(mm.createTextMessage('kept'), 'on-carol', null);
    const carol = await loggedIn('on-carol');
    const history = await carol.im.getMessageManager().getC2CHistoryMessageList('on-alice', 10, null);
    assert.deepEqual(texts(history), ['kept']);
    assert.equal(carol.events.received.some((m) => m.textElem?.text === 'only now'), false);
  });

  test('in a group, every online member but the sender gets it', async () => {
    const owner = await loggedIn('ong-owner');
    const member = await loggedIn('ong-member');
    const groupID = await owner.im.createGroup('Work', null, 'Online');
    await owner.im.getGroupManager().inviteUserToGroup(groupID, ['ong-member']);
    const mm = owner.im.getMessageManager();
    await mm.sendMessage(mm.createCustomMessage('{"signal":"ring"}'), null, groupID, 0, true);
    await waitFor(() => member.events.received.some((m) => m.customElem?.data === '{"signal":"ring"}'), 'member gets the signal');
    const got = member.events.received.find((m) => m.isOnlineOnly)!;
    assert.equal(got.groupID, groupID);
    assert.equal(got.conversationID, `group_${groupID}`);
    assert.equal(owner.events.received.length, 0);
    assert.deepEqual(await member.im.getMessageManager().getGroupHistoryMessageList(groupID, 10, null), []);
  });
});

describe('priority and offline push', () => {
  test('priority is stored and delivered; offlinePushInfo goes to the push provider for offline recipients only', async () => {
    const alice = await loggedIn('push-alice');
    const bob = await loggedIn('push-bob');
    await offlineUser('push-carol');
    const mm = alice.im.getMessageManager();
    pushes.length = 0;
    const info = { title: 'New message', desc: 'Alice wrote', ext: '{"open":"chat"}' };
    await mm.sendMessage(mm.createTextMessage('to online bob'), 'push-bob', null, V2TIMMessagePriority.V2TIM_PRIORITY_HIGH, false, info);
    const toCarol = await mm.sendMessage(mm.createTextMessage('to offline carol'), 'push-carol', null, V2TIMMessagePriority.V2TIM_PRIORITY_LOW, false, info);
    await mm.sendMessage(mm.createTextMessage('silent'), 'push-carol', null, 0, false, { disablePush: true });
    await env.server.domain.offlinePush.idle();
    assert.deepEqual(pushes.map((p) => [p.userID, p.message.elem]), [['push-carol', { type: 'text', text: 'to offline carol' }]]);
    assert.deepEqual(pushes[0]!.offlinePushInfo, info);
    assert.equal(pushes[0]!.message.msgID, toCarol.msgID);
    assert.equal(pushes[0]!.message.conversationID, 'c2c_push-alice');
    assert.equal(pushes[0]!.sdkAppID, env.app.sdkAppID);

    await waitFor(() => bob.events.received.length === 1, 'bob receives');
    assert.equal(bob.events.received[0]!.priority, V2TIMMessagePriority.V2TIM_PRIORITY_HIGH);
    assert.deepEqual(bob.events.received[0]!.offlinePushInfo, info);
    const carol = await loggedIn('push-carol');
    const [silent, low] = await carol.im.getMessageManager().getC2CHistoryMessageList('push-alice', 10, null);
    assert.equal(low!.priority, V2TIMMessagePriority.V2TIM_PRIORITY_LOW);
    assert.deepEqual(low!.offlinePushInfo, info);
    assert.deepEqual(silent!.offlinePushInfo, { disablePush: true });
  });

  test('group members with no session get an offline push from the fan-out; online ones and the sender do not', async () => {
    const owner = await loggedIn('pg-owner');
    const online = await loggedIn('pg-online');
    await offlineUser('pg-offline');
    const groupID = await owner.im.createGroup('Work', null, 'Pushes');
    await owner.im.getGroupManager().inviteUserToGroup(groupID, ['pg-online', 'pg-offline']);
    pushes.length = 0;
    await owner.im.getMessageManager().sendMessage(owner.im.getMessageManager().createTextMessage('standup'), null, groupID, 0, false, { title: 'Team' });
    await waitFor(() => online.events.received.length === 1, 'the online member receives');
    await waitFor(() => pushes.length > 0, 'the offline member is pushed');
    await env.server.domain.fanout.runOnce();
    await env.server.domain.offlinePush.idle();
    assert.deepEqual(pushes.map((p) => [p.userID, p.message.conversationID, p.offlinePushInfo.title]), [['pg-offline', `group_${groupID}`, 'Team']]);
  });
});

describe('message fields', () => {
  test('nickName and faceURL are the sender\'s at send time; isRead follows the read position; cloudCustomData round-trips', async () => {
    const alice = await loggedIn('f-alice');
    const bob = await loggedIn('f-bob');
    await alice.im.setSelfInfo({ nickName: 'Alice A.', faceUrl: 'https://img/a.png' });
    const mm = alice.im.getMessageManager();
    const first = mm.createTextMessage('one');
    first.cloudCustomData = '{"quote":"x"}';
    const sent = await mm.sendMessage(first, 'f-bob', null);
    assert.equal(sent.nickName, 'Alice A.');
    assert.equal(sent.faceURL, 'https://img/a.png');
    assert.equal(sent.isRead, true, 'own messages are read');
    assert.equal(sent.cloudCustomData, '{"quote":"x"}');
    await alice.im.setSelfInfo({ nickName: 'Alice B.' });
    await mm.sendMessage(mm.createTextMessage('two'), 'f-bob', null);

    await waitFor(() => bob.events.received.length === 2, 'bob receives both');
    assert.equal(bob.events.received[0]!.nickName, 'Alice A.');
    assert.equal(bob.events.received[0]!.cloudCustomData, '{"quote":"x"}');
    assert.equal(bob.events.received[0]!.isRead, false);
    assert.equal(bob.events.received[1]!.nickName, 'Alice B.', 'each message keeps the nick of its own send time');
    let history = await bob.im.getMessageManager().getC2CHistoryMessageList('f-alice', 10, null);
    assert.deepEqual(history.map((m) => [m.textElem?.text, m.nickName, m.isRead]), [['two', 'Alice B.', false], ['one', 'Alice A.', false]]);
    assert.equal(history[1]!.faceURL, 'https://img/a.png');
    assert.equal(history[1]!.cloudCustomData, '{"quote":"x"}');
    await bob.im.getMessageManager().markC2CMessageAsRead('f-alice');
    history = await bob.im.getMessageManager().getC2CHistoryMessageList('f-alice', 10, null);
    assert.deepEqual(history.map((m) => m.isRead), [true, true]);
    const conv = await bob.im.getConversationManager().getConversation('c2c_f-alice');
    assert.equal(conv.lastMessage?.isRead, true);
  });

  test('localCustomData and localCustomInt stay on the device that set them, across a reload from the server', async () => {
    const alice = await loggedIn('l-alice');
    const bob = await loggedIn('l-bob');
    await alice.im.getMessageManager().sendMessage(alice.im.getMessageManager().createTextMessage('listen'), 'l-bob', null);
    await waitFor(() => bob.events.received.length === 1, 'bob receives');
    const bm = bob.im.getMessageManager();
    const msg = bob.events.received[0]!;
    await bm.setLocalCustomData(msg, 'played');
    await bm.setLocalCustomInt(msg, 3);
    assert.equal(msg.localCustomData, 'played');
    let [again] = await bm.getC2CHistoryMessageList('l-alice', 1, null);
    assert.equal(again!.localCustomData, 'played');
    assert.equal(again!.localCustomInt, 3);
    // The server's copy comes again (a cloud pull): the local fields stay.
    [again] = await bm.getHistoryMessageList({ getType: V2TIMMessageGetType.V2TIM_GET_CLOUD_NEWER_MSG, userID: 'l-alice', count: 5, messageTypeList: [V2TIMElemType.TEXT] });
    assert.equal(again!.textElem?.text, 'listen');
    [again] = await bm.findMessages([msg.msgID]);
    assert.equal(again!.localCustomData, 'played');
    assert.equal(again!.localCustomInt, 3);
    // Never sent: the sender and bob's other device do not have them.
    const [theirs] = await alice.im.getMessageManager().getC2CHistoryMessageList('l-bob', 1, null);
    assert.equal(theirs!.localCustomData, undefined);
    const other = await loggedIn('l-bob', { deviceID: 'second' });
    const [onOther] = await other.im.getMessageManager().getC2CHistoryMessageList('l-alice', 1, null);
    assert.equal(onOther!.localCustomData, undefined);
    // A message that is not stored cannot keep them.
    await assert.rejects(bm.setLocalCustomData(bm.createTextMessage('unsent'), 'x'), { code: 6017 });
  });
});

describe('elements', () => {
  test('face, location and custom (with description and extension) round-trip to the peer and through history', async () => {
    const alice = await loggedIn('e-alice');
    const bob = await loggedIn('e-bob');
    const mm = alice.im.getMessageManager();
    await mm.sendMessage(mm.createFaceMessage(5, 'smile'), 'e-bob', null);
    await mm.sendMessage(mm.createLocationMessage('Office', 113.93, 22.54), 'e-bob', null);
    await mm.sendMessage(mm.createCustomMessage('{"t":"card"}', 'a card', 'ext-1'), 'e-bob', null);
    await waitFor(() => bob.events.received.length === 3, 'bob receives all three');
    const [face, loc, custom] = bob.events.received;
    assert.equal(face!.elemType, V2TIMElemType.FACE);
    assert.deepEqual(face!.faceElem, { index: 5, data: 'smile' });
    assert.equal(loc!.elemType, V2TIMElemType.LOCATION);
    assert.deepEqual(loc!.locationElem, { desc: 'Office', longitude: 113.93, latitude: 22.54 });
    assert.equal(custom!.elemType, V2TIMElemType.CUSTOM);
    assert.deepEqual(custom!.customElem, { data: '{"t":"card"}', desc: 'a card', extension: 'ext-1' });
    const fresh = await loggedIn('e-bob', { deviceID: 'fresh' });
    const history = await fresh.im.getMessageManager().getC2CHistoryMessageList('e-alice', 10, null);
    assert.deepEqual(history.map((m) => m.elemType), [V2TIMElemType.CUSTOM, V2TIMElemType.LOCATION, V2TIMElemType.FACE]);
    assert.deepEqual(history[1]!.locationElem, loc!.locationElem);
    assert.deepEqual(history[0]!.customElem, custom!.customElem);
    // Out-of-range coordinates are refused before sending.
    await assert.rejects(mm.sendMessage(mm.createLocationMessage('nowhere', 200, 0), 'e-bob', null), { code: 6017 });
  });

  test('a merger carries its messages: the receiver downloads them; it can be forwarded, nested, and a forwarded text is a new message', async () => {
    const alice = await loggedIn('m-alice');
    const bob = await loggedIn('m-bob');
    const carol = await loggedIn('m-carol');
    await alice.im.setSelfInfo({ nickName: 'Al' });
    const am = alice.im.getMessageManager();
    const one = await am.sendMessage(am.createTextMessage('first point'), 'm-bob', null);
    const two = await am.sendMessage(am.createFaceMessage(1, 'thumbs'), 'm-bob', null);
    const merger = am.createMergerMessage([one, two], 'Chat with Bob', ['Al: first point', 'Al: [face]'], '[Chat history]');
    await am.sendMessage(merger, 'm-carol', null);
    await waitFor(() => carol.events.received.length === 1, 'carol receives the merger');
    const got = carol.events.received[0]!;
    assert.equal(got.elemType, V2TIMElemType.MERGER);
    assert.equal(got.mergerElem?.title, 'Chat with Bob');
    assert.deepEqual(got.mergerElem?.abstractList, ['Al: first point', 'Al: [face]']);
    assert.equal(got.mergerElem?.layersOverLimit, false);
    const inner = await got.mergerElem!.downloadMergerMessage();
    assert.deepEqual(inner.map((m) => [m.sender, m.nickName, m.elemType]), [['m-alice', 'Al', V2TIMElemType.TEXT], ['m-alice', 'Al', V2TIMElemType.FACE]]);
    assert.equal(inner[0]!.textElem?.text, 'first point');
    assert.deepEqual(inner[1]!.faceElem, { index: 1, data: 'thumbs' });
    assert.equal(inner[0]!.serverTime, one.serverTime);

    // Carol forwards the merger to bob; and nests it in a merger of her own.
    const cm = carol.im.getMessageManager();
    const fwd = cm.createForwardMessage(got);
    assert.notEqual(fwd.clientMsgID, got.clientMsgID);
    await cm.sendMessage(fwd, 'm-bob', null);
    const outer = cm.createMergerMessage([got], 'Forwarded history', ['Alice: [Chat history]'], '[Chat history]');
    await cm.sendMessage(outer, 'm-bob', null);
    const forwardedText = cm.createForwardMessage(inner[0]!);
    await cm.sendMessage(forwardedText, 'm-bob', null);

    await waitFor(() => bob.events.received.filter((m) => m.conversationID === 'c2c_m-carol').length === 3, 'bob receives carol\'s three');
    const fromCarol = bob.events.received.filter((m) => m.conversationID === 'c2c_m-carol');
    const fwdInner = await fromCarol[0]!.mergerElem!.downloadMergerMessage();
    assert.deepEqual(fwdInner.map((m) => m.textElem?.text ?? m.faceElem?.data), ['first point', 'thumbs']);
    const nested = await fromCarol[1]!.mergerElem!.downloadMergerMessage();
    assert.equal(nested.length, 1);
    assert.equal(nested[0]!.elemType, V2TIMElemType.MERGER);
    const deepest = await nested[0]!.mergerElem!.downloadMergerMessage();
    assert.equal(deepest[0]!.textElem?.text, 'first point');
    assert.equal(fromCarol[2]!.textElem?.text, 'first point');
    assert.equal(fromCarol[2]!.sender, 'm-carol', 'a forwarded message is the forwarder\'s');

    // A merger of messages that were never sent is refused.
    assert.throws(() => am.createMergerMessage([am.createTextMessage('draft')], 't', [], 'x'), { code: 6017 });
  });

  test('a merger nesting more than 100 levels is refused with 8005', async () => {
    const alice = await loggedIn('deep-alice');
    await loggedIn('deep-bob');
    const am = alice.im.getMessageManager();
    let current: V2TIMMessage = await am.sendMessage(am.createTextMessage('root'), 'deep-bob', null);
    // Built locally: merging a merger object nests its element without sending each level.
    for (let i = 0; i < 101; i++) {
      const next = am.createMergerMessage([current], `level ${i + 1}`, [], '[Chat history]');
      next.status = 2;
      current = next;
    }
    await assert.rejects(am.sendMessage(current, 'deep-bob', null), { code: 8005 });
  });
});

describe('the server checks elements and options itself', () => {
  test('bad elements and options are refused with stable codes and nothing is stored', async () => {
    await loggedIn('raw-bob');
    const raw = await RawClient.connect(env.server.wsUrl);
    await raw.login({ sdkAppID: env.app.sdkAppID, userID: 'raw-alice', userSig: await env.sig('raw-alice'), deviceID: 'raw' });
    const send = (clientMsgID: string, extra: Record<string, unknown>) => raw.fail('msg.send', { conversationID: 'c2c_raw-bob', clientMsgID, ...extra });
    assert.equal((await send('a', { elem: { type: 'location', desc: 'x', longitude: 200, latitude: 0 } })).code, 6017);
    assert.equal((await send('b', { elem: { type: 'face', index: -1, data: '' } })).code, 6017);
    assert.equal((await send('c', { elem: { type: 'merger', title: 't', abstractList: [], compatibleText: 'x', messageList: [] } })).code, 6017);
    assert.equal((await send('d', { elem: { type: 'text', text: 'x' }, priority: 4 })).code, 6017);
    assert.equal((await send('e', { elem: { type: 'text', text: 'x' }, offlinePushInfo: { title: 1 } })).code, 6017);
    assert.equal((await send('f', { elem: { type: 'text', text: 'x' }, cloudCustomData: 'y'.repeat(13 * 1024) })).code, 80002);
    // 101 levels of mergers: the server's own check answers 8005.
    let elem: Record<string, unknown> = { type: 'text', text: 'root' };
    for (let i = 0; i < 101; i++) elem = { type: 'merger', title: '', abstractList: [], compatibleText: 'x', messageList: [{ sender: 'raw-alice', timestamp: 1, elem }] };
    await env.server.domain.apps.updateSettings(env.app.sdkAppID, { maxMessageBytes: 512 * 1024 });
    try {
      assert.equal((await send('g', { elem })).code, 8005);
    } finally {
      await env.server.domain.apps.updateSettings(env.app.sdkAppID, { maxMessageBytes: 12 * 1024 });
    }
    const history = await raw.ok('msg.history', { conversationID: 'c2c_raw-bob' });
    assert.deepEqual(history.messages, []);
    await raw.close();
  });
});
