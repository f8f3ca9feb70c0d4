/**
 * getHistoryMessageList(option), findMessages and searchLocalMessages end to end: a real
 * server, two users, two devices each where it matters.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  V2TIMElemType, V2TIMKeywordListMatchType, V2TIMManager, V2TIMMessageGetType, type V2TIMMessage,
} from '@confab/sdk';
import { RawClient } from './helpers/raw-client.js';
import { device, startTestServer, texts, waitFor } from './helpers/sdk-harness.js';

type Env = Awaited<ReturnType<typeof startTestServer>>;
let env: Env;
const open: V2TIMManager[] = [];

// One test sends 1,100 messages back to back: above the default per-user rate.
before(async () => { env = await startTestServer({ limits: { userRequestsPerSecond: 100_000, userRequestBurst: 100_000 } }); });
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

const OLDER = V2TIMMessageGetType.V2TIM_GET_CLOUD_OLDER_MSG;
const NEWER = V2TIMMessageGetType.V2TIM_GET_CLOUD_NEWER_MSG;
const LOCAL_OLDER = V2TIMMessageGetType.V2TIM_GET_LOCAL_OLDER_MSG;
const LOCAL_NEWER = V2TIMMessageGetType.V2TIM_GET_LOCAL_NEWER_MSG;
const label = (m: V2TIMMessage) => m.textElem?.text ?? m.faceElem?.data ?? m.customElem?.data ?? m.locationElem?.desc ?? '?';

/** Alice sends bob: t1 f1 t2 c1 t3 f2 t4 (t = text, f = face, c = custom). */
async function seed(prefix: string) {
  const alice = await loggedIn(`${prefix}-alice`);
  const bob = await loggedIn(`${prefix}-bob`);
  const mm = alice.im.getMessageManager();
  const to = `${prefix}-bob`;
  const sent: V2TIMMessage[] = [];
  for (const make of [
    () => mm.createTextMessage('t1'), () => mm.createFaceMessage(1, 'f1'), () => mm.createTextMessage('t2'),
    () => mm.createCustomMessage('c1'), () => mm.createTextMessage('t3'), () => mm.createFaceMessage(2, 'f2'), () => mm.createTextMessage('t4'),
  ]) sent.push(await mm.sendMessage(make(), to, null));
  await waitFor(() => bob.events.received.length === 7, 'bob receives all');
  return { alice, bob, sent };
}

describe('getHistoryMessageList', () => {
  test('cloud older and newer pages, from lastMsg and lastMsgSeq, with a message type filter', async () => {
    const { alice, sent } = await seed('h');
    // A fresh device of bob: everything comes from the server.
    const bob2 = await loggedIn('h-bob', { deviceID: 'fresh' });
    const bm = bob2.im.getMessageManager();
    const older = await bm.getHistoryMessageList({ getType: OLDER, userID: 'h-alice', count: 3 });
    assert.deepEqual(older.map(label), ['t4', 'f2', 't3'], 'older pages are newest first');
    const next = await bm.getHistoryMessageList({ getType: OLDER, userID: 'h-alice', count: 3, lastMsg: older[2]! });
    assert.deepEqual(next.map(label), ['c1', 't2', 'f1']);
    const newer = await bm.getHistoryMessageList({ getType: NEWER, userID: 'h-alice', count: 3, lastMsg: sent[1]! });
    assert.deepEqual(newer.map(label), ['t2', 'c1', 't3'], 'newer pages are oldest first');
    const fromStart = await bm.getHistoryMessageList({ getType: NEWER, userID: 'h-alice', count: 2 });
    assert.deepEqual(fromStart.map(label), ['t1', 'f1']);
    // lastMsgSeq is included in the page.
    const bySeq = await bm.getHistoryMessageList({ getType: OLDER, userID: 'h-alice', count: 2, lastMsgSeq: sent[3]!.seq });
    assert.deepEqual(bySeq.map(label), ['c1', 't2']);
    const bySeqNewer = await bm.getHistoryMessageList({ getType: NEWER, userID: 'h-alice', count: 2, lastMsgSeq: sent[3]!.seq });
    assert.deepEqual(bySeqNewer.map(label), ['c1', 't3']);

    const faces = await bm.getHistoryMessageList({ getType: OLDER, userID: 'h-alice', count: 10, messageTypeList: [V2TIMElemType.FACE] });
    assert.deepEqual(faces.map(label), ['f2', 'f1']);
    const textsNewer = await bm.getHistoryMessageList({ getType: NEWER, userID: 'h-alice', count: 2, lastMsg: sent[0]!, messageTypeList: [V2TIMElemType.TEXT] });
    assert.deepEqual(textsNewer.map(label), ['t2', 't3']);
    const mixed = await bm.getHistoryMessageList({ getType: OLDER, userID: 'h-alice', count: 10, messageTypeList: [V2TIMElemType.CUSTOM, V2TIMElemType.FACE] });
    assert.deepEqual(mixed.map(label), ['f2', 'c1', 'f1']);
    // The sender's side reads the same conversation.
    const own = await alice.im.getMessageManager().getHistoryMessageList({ getType: OLDER, userID: 'h-bob', count: 1 });
    assert.deepEqual(own.map(label), ['t4']);
    assert.equal(own[0]!.isRead, true);

    await assert.rejects(bm.getHistoryMessageList({ getType: 9, userID: 'h-alice', count: 3 }), { code: 6017 });
    await assert.rejects(bm.getHistoryMessageList({ getType: OLDER, userID: 'h-alice', groupID: 'g', count: 3 }), { code: 6017 });
    await assert.rejects(bm.getHistoryMessageList({ getType: OLDER, userID: 'h-alice', count: 101 }), { code: 6017 });
  });

  test('a time range: messages inside it come back, a range before them is empty', async () => {
    const { bob, sent } = await seed('ht');
    const bm = bob.im.getMessageManager();
    const firstSecond = sent[0]!.timestamp;
    const lastSecond = sent[6]!.timestamp;
    const before = await bm.getHistoryMessageList({ getType: OLDER, userID: 'ht-alice', count: 10, getTimeBegin: firstSecond - 5, getTimePeriod: 100 });
    assert.deepEqual(before, [], 'older from 5 s before the first message: nothing');
    const inside = await bm.getHistoryMessageList({ getType: OLDER, userID: 'ht-alice', count: 10, getTimeBegin: lastSecond + 1, getTimePeriod: lastSecond - firstSecond + 2 });
    assert.equal(inside.length, 7);
    const newerInside = await bm.getHistoryMessageList({ getType: NEWER, userID: 'ht-alice', count: 3, getTimeBegin: firstSecond, getTimePeriod: 3600 });
    assert.deepEqual(newerInside.map(label), ['t1', 'f1', 't2']);
    const after = await bm.getHistoryMessageList({ getType: NEWER, userID: 'ht-alice', count: 10, getTimeBegin: lastSecond + 5 });
    assert.deepEqual(after, []);
    const facesInRange = await bm.getHistoryMessageList({
      getType: NEWER, userID: 'ht-alice', count: 10, getTimeBegin: firstSecond, getTimePeriod: 3600, messageTypeList: [V2TIMElemType.FACE],
    });
    assert.deepEqual(facesInRange.map(label), ['f1', 'f2']);
    // The same on this device's cache.
    const local = await bm.getHistoryMessageList({ getType: LOCAL_OLDER, userID: 'ht-alice', count: 10, getTimeBegin: firstSecond - 5, getTimePeriod: 100 });
    assert.deepEqual(local, []);
  });

  test('local pulls read this device only', async () => {
    const { bob } = await seed('hl');
    const bm = bob.im.getMessageManager();
    const local = await bm.getHistoryMessageList({ getType: LOCAL_OLDER, userID: 'hl-alice', count: 3 });
    assert.deepEqual(local.map(label), ['t4', 'f2', 't3']);
    const localNewer = await bm.getHistoryMessageList({ getType: LOCAL_NEWER, userID: 'hl-alice', count: 10, messageTypeList: [V2TIMElemType.FACE] });
    assert.deepEqual(localNewer.map(label), ['f1', 'f2']);
    // A fresh device holds nothing: local pulls are empty, cloud pulls are not.
    const fresh = await loggedIn('hl-bob', { deviceID: 'fresh' });
    const fm = fresh.im.getMessageManager();
    assert.deepEqual(await fm.getHistoryMessageList({ getType: LOCAL_OLDER, userID: 'hl-alice', count: 3 }), []);
    assert.equal((await fm.getHistoryMessageList({ getType: OLDER, userID: 'hl-alice', count: 3 })).length, 3);
  });

  test('the server reads a bounded stretch per filtered page and says where to go on', async () => {
    const alice = await loggedIn('hb-alice');
    await loggedIn('hb-bob');
    const mm = alice.im.getMessageManager();
    await mm.sendMessage(mm.createFaceMessage(1, 'old face'), 'hb-bob', null);
    // 1,100 texts after it, sent as raw requests 50 at a time (within the in-flight window).
    const raw = await RawClient.connect(env.server.wsUrl);
    await raw.login({ sdkAppID: env.app.sdkAppID, userID: 'hb-alice', userSig: await env.sig('hb-alice'), deviceID: 'raw' });
    for (let batch = 0; batch < 22; batch++) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => raw.ok('msg.send', {
        conversationID: 'c2c_hb-bob', clientMsgID: `bulk-${batch}-${i}`, elem: { type: 'text', text: `x${batch}-${i}` },
      })));
    }
    const page1 = await raw.ok('msg.history', { conversationID: 'c2c_hb-bob', count: 5, elemTypes: [8] });
    assert.deepEqual(page1.messages, [], 'the first 1000 messages read hold no face');
    assert.equal(page1.isFinished, false);
    assert.equal(page1.nextSeq, 1101 - 1000 + 1, 'the next read starts below the 1000 read');
    const second = await raw.ok('msg.history', { conversationID: 'c2c_hb-bob', count: 5, elemTypes: [8], beforeSeq: page1.nextSeq! });
    assert.deepEqual(second.messages.map((m) => m.elem), [{ type: 'face', index: 1, data: 'old face' }]);
    assert.equal(second.isFinished, true);
    await raw.close();
    // The SDK pages on by itself.
    const faces = await mm.getHistoryMessageList({ getType: OLDER, userID: 'hb-bob', count: 5, messageTypeList: [V2TIMElemType.FACE] });
    assert.deepEqual(faces.map(label), ['old face']);
  });
});

describe('filtered pages and size', () => {
  test('a filtered page stops near 1 MiB and says where the next one starts', async () => {
    await loggedIn('hs-bob');
    await env.server.domain.apps.updateSettings(env.app.sdkAppID, { maxMessageBytes: 400 * 1024 });
    const raw = await RawClient.connect(env.server.wsUrl);
    try {
      await raw.login({ sdkAppID: env.app.sdkAppID, userID: 'hs-alice', userSig: await env.sig('hs-alice'), deviceID: 'raw' });
      for (let i = 1; i <= 5; i++) {
        await raw.ok('msg.send', { conversationID: 'c2c_hs-bob', clientMsgID: `big-${i}`, elem: { type: 'custom', data: String(i).repeat(300 * 1024) } });
      }
      const page1 = await raw.ok('msg.history', { conversationID: 'c2c_hs-bob', count: 5, elemTypes: [2] });
      assert.deepEqual(page1.messages.map((m) => m.seq), [3, 4, 5], 'the newest that fit in about 1 MiB');
      assert.equal(page1.isFinished, false);
      const page2 = await raw.ok('msg.history', { conversationID: 'c2c_hs-bob', count: 5, elemTypes: [2], beforeSeq: page1.nextSeq! });
      assert.deepEqual(page2.messages.map((m) => m.seq), [1, 2]);
      assert.equal(page2.isFinished, true);
      const newer = await raw.ok('msg.history', { conversationID: 'c2c_hs-bob', count: 5, elemTypes: [2], afterSeq: 0 });
      assert.deepEqual(newer.messages.map((m) => m.seq), [1, 2, 3]);
      const rest = await raw.ok('msg.history', { conversationID: 'c2c_hs-bob', count: 5, elemTypes: [2], afterSeq: newer.nextSeq! });
      assert.deepEqual(rest.messages.map((m) => m.seq), [4, 5]);
    } finally {
      await raw.close();
      await env.server.domain.apps.updateSettings(env.app.sdkAppID, { maxMessageBytes: 12 * 1024 });
    }
  });
});

describe('getHistoryMessageList in a group', () => {
  test('older and newer pages with a type filter; a member who joined later sees from the join', async () => {
    const owner = await loggedIn('hg-owner');
    const early = await loggedIn('hg-early');
    const late = await loggedIn('hg-late');
    const groupID = await owner.im.createGroup('Work', null, 'History');
    await owner.im.getGroupManager().inviteUserToGroup(groupID, ['hg-early']);
    const om = owner.im.getMessageManager();
    await om.sendMessage(om.createTextMessage('g1'), null, groupID);
    await om.sendMessage(om.createLocationMessage('here', 1, 1), null, groupID);
    await owner.im.getGroupManager().inviteUserToGroup(groupID, ['hg-late']);
    await om.sendMessage(om.createTextMessage('g2'), null, groupID);
    await om.sendMessage(om.createLocationMessage('there', 2, 2), null, groupID);
    await waitFor(() => early.events.received.length === 4, 'the early member receives all');
    const fresh = await loggedIn('hg-early', { deviceID: 'fresh' });
    const em = fresh.im.getMessageManager();
    const places = await em.getHistoryMessageList({ getType: OLDER, groupID, count: 10, messageTypeList: [V2TIMElemType.LOCATION] });
    assert.deepEqual(places.map(label), ['there', 'here']);
    const newer = await em.getHistoryMessageList({ getType: NEWER, groupID, count: 2, lastMsg: places[1]! });
    assert.deepEqual(newer.map(label), ['g2', 'there']);
    await waitFor(() => late.events.received.length === 2, 'the late member receives from the join');
    const seen = await late.im.getMessageManager().getHistoryMessageList({ getType: NEWER, groupID, count: 10 });
    assert.deepEqual(seen.map(label), ['g2', 'there']);
  });
});

describe('findMessages', () => {
  test('from this device first, then the server; only what the caller may see, in the order asked', async () => {
    const { sent } = await seed('fm');
    const fresh = await loggedIn('fm-bob', { deviceID: 'fresh' });
    const ids = [sent[4]!.msgID, 'c2c:nobody|x/1', sent[0]!.msgID, 'garbage'];
    const found = await fresh.im.getMessageManager().findMessages(ids);
    assert.deepEqual(found.map(label), ['t3', 't1']);
    assert.equal(found[0]!.msgID, sent[4]!.msgID);
    assert.equal(found[0]!.isSelf, false);
    // Now cached on that device: a local pull sees them.
    const local = await fresh.im.getMessageManager().getHistoryMessageList({ getType: LOCAL_NEWER, userID: 'fm-alice', count: 10 });
    assert.deepEqual(local.map(label), ['t1', 't3']);
    // Someone outside the conversation finds nothing.
    const carol = await loggedIn('fm-carol');
    assert.deepEqual(await carol.im.getMessageManager().findMessages([sent[0]!.msgID]), []);
    // Nothing visible below a cleared history.
    await fresh.im.getMessageManager().clearC2CHistoryMessage('fm-alice');
    const other = await loggedIn('fm-bob', { deviceID: 'third' });
    assert.deepEqual(await other.im.getMessageManager().findMessages([sent[0]!.msgID]), []);
  });
});

describe('searchLocalMessages', () => {
  test('keywords (or / and), senders, types, time window, one conversation or all, paging', async () => {
    const alice = await loggedIn('s-alice');
    const bob = await loggedIn('s-bob');
    const carol = await loggedIn('s-carol');
    const am = alice.im.getMessageManager();
    await am.sendMessage(am.createTextMessage('Lunch at noon?'), 's-bob', null);
    await am.sendMessage(am.createTextMessage('meeting moved'), 's-bob', null);
    await am.sendMessage(am.createLocationMessage('Lunch place', 1, 2), 's-bob', null);
    await carol.im.getMessageManager().sendMessage(carol.im.getMessageManager().createTextMessage('lunch tomorrow and a meeting'), 's-bob', null);
    const bm = bob.im.getMessageManager();
    await bm.sendMessage(bm.createCustomMessage('{}', 'lunch menu', ''), 's-alice', null);
    await waitFor(() => bob.events.received.length === 4, 'bob receives four');

    let r = await bm.searchLocalMessages({ keywordList: ['lunch'], conversationID: 'c2c_s-alice' });
    assert.equal(r.totalCount, 3);
    assert.equal(r.messageSearchResultItems.length, 1);
    assert.equal(r.messageSearchResultItems[0]!.conversationID, 'c2c_s-alice');
    assert.equal(r.messageSearchResultItems[0]!.messageCount, 3);
    assert.deepEqual(r.messageSearchResultItems[0]!.messageList.map(label), ['{}', 'Lunch place', 'Lunch at noon?'], 'newest first');

    r = await bm.searchLocalMessages({ keywordList: ['lunch'], conversationID: 'c2c_s-alice', pageSize: 2, pageIndex: 1 });
    assert.equal(r.totalCount, 3);
    assert.deepEqual(r.messageSearchResultItems[0]!.messageList.map(label), ['Lunch at noon?']);

    // All conversations: counted per conversation; the message itself only when it is the only one.
    r = await bm.searchLocalMessages({ keywordList: ['lunch'] });
    assert.equal(r.totalCount, 2);
    const byConv = new Map(r.messageSearchResultItems.map((i) => [i.conversationID, i]));
    assert.equal(byConv.get('c2c_s-alice')!.messageCount, 3);
    assert.deepEqual(byConv.get('c2c_s-alice')!.messageList, []);
    assert.equal(byConv.get('c2c_s-carol')!.messageCount, 1);
    assert.deepEqual(byConv.get('c2c_s-carol')!.messageList.map(label), ['lunch tomorrow and a meeting']);

    r = await bm.searchLocalMessages({ keywordList: ['lunch', 'meeting'], keywordListMatchType: V2TIMKeywordListMatchType.V2TIM_KEYWORD_LIST_MATCH_TYPE_AND });
    assert.deepEqual(r.messageSearchResultItems.map((i) => i.conversationID), ['c2c_s-carol']);
    r = await bm.searchLocalMessages({ keywordList: ['noon', 'moved'], conversationID: 'c2c_s-alice' });
    assert.equal(r.totalCount, 2, 'or: either keyword');
    r = await bm.searchLocalMessages({ keywordList: ['lunch'], senderUserIDList: ['s-bob'] });
    assert.deepEqual(r.messageSearchResultItems.map((i) => [i.conversationID, i.messageCount]), [['c2c_s-alice', 1]]);
    r = await bm.searchLocalMessages({ messageTypeList: [V2TIMElemType.LOCATION] });
    assert.deepEqual(r.messageSearchResultItems[0]!.messageList.map(label), ['Lunch place']);
    r = await bm.searchLocalMessages({ keywordList: ['lunch'], searchTimePosition: Math.floor(Date.now() / 1000) - 3600, searchTimePeriod: 60 });
    assert.equal(r.totalCount, 0, 'an hour ago there was no lunch talk');
    r = await bm.searchLocalMessages({ keywordList: ['lunch'], searchTimePeriod: 3600 });
    assert.equal(r.totalCount, 2);
    // Local only: another device of bob that holds nothing finds nothing.
    const fresh = await loggedIn('s-bob', { deviceID: 'empty' });
    assert.equal((await fresh.im.getMessageManager().searchLocalMessages({ keywordList: ['lunch'] })).totalCount, 0);
    await assert.rejects(bm.searchLocalMessages({}), { code: 6017 });
    await assert.rejects(bm.searchLocalMessages({ keywordList: ['a', 'b', 'c', 'd', 'e', 'f'] }), { code: 6017 });
    assert.deepEqual(texts([]), []);
  });
});
