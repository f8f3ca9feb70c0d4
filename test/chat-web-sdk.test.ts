/**
 * `@confab/chat`, the reference's Web SDK API, against a real server — written the way
 * the reference's Web documentation writes it: `TencentCloudChat.create`, `chat.on(EVENT…)`,
 * `await chat.login(...)`, wait for SDK_READY, then promise results `{ code, data }` and
 * errors `{ code, message }`.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import TencentCloudChat, { UNSUPPORTED_METHODS, type Chat, type ChatEvent, type WebConversation, type WebMessage } from '@confab/chat';
import { startTestServer, waitFor } from './helpers/sdk-harness.js';

type Env = Awaited<ReturnType<typeof startTestServer>>;
let env: Env;
const open: Chat[] = [];
const { EVENT, TYPES } = TencentCloudChat;

before(async () => { env = await startTestServer(); });
after(async () => { await env.stop(); });
afterEach(async () => {
  for (const chat of open.splice(0)) await chat.destroy().catch(() => undefined);
});

/** One instance and everything it emitted, by event name. */
function createChat(extra: Record<string, unknown> = {}) {
  const chat = TencentCloudChat.create({ SDKAppID: env.app.sdkAppID, serverUrl: env.server.wsUrl, ...extra });
  chat.setLogLevel(4);
  open.push(chat);
  const seen: ChatEvent[] = [];
  for (const name of Object.values(EVENT)) chat.on(name, (event: ChatEvent) => { seen.push(event); });
  const events = (name: string) => seen.filter((e) => e.name === name).map((e) => e.data);
  const lastList = () => events(EVENT.CONVERSATION_LIST_UPDATED).at(-1) as WebConversation[] | undefined;
  const received = () => events(EVENT.MESSAGE_RECEIVED).flat() as WebMessage[];
  return { chat, seen, events, lastList, received };
}

async function ready(userID: string, extra: Record<string, unknown> = {}) {
  const c = createChat(extra);
  const res = await c.chat.login({ userID, userSig: await env.sig(userID) });
  assert.equal(res.code, 0);
  await waitFor(() => c.chat.isReady(), `${userID} SDK_READY`);
  return c;
}

function textTo(chat: Chat, to: string, text: string, conversationType: string = TYPES.CONV_C2C) {
  return chat.createTextMessage({ to, conversationType, payload: { text } });
}

describe('TencentCloudChat: create, login, SDK_READY', () => {
  test('the statics carry the reference\'s values', () => {
    assert.equal(TYPES.CONV_C2C, 'C2C');
    assert.equal(TYPES.CONV_GROUP, 'GROUP');
    assert.equal(TYPES.MSG_TEXT, 'TIMTextElem');
    assert.equal(TYPES.MSG_CUSTOM, 'TIMCustomElem');
    assert.equal(TYPES.MSG_IMAGE, 'TIMImageElem');
    assert.equal(TYPES.GRP_WORK, 'Private', 'the reference\'s runtime value (its wire name for Work groups)');
    assert.equal(TYPES.MSG_REMIND_ACPT_AND_NOTE, 'AcceptAndNotify');
    assert.equal(TYPES.CONV_MARK_TYPE_HIDE, 8);
    assert.equal(EVENT.SDK_READY, 'sdkStateReady');
    assert.equal(EVENT.CONVERSATION_LIST_UPDATED, 'onConversationListUpdated');
    assert.equal(EVENT.MESSAGE_RECEIVED, 'onMessageReceived');
    assert.equal(EVENT.KICKED_OUT, 'kickedOut');
    assert.equal(EVENT.NET_STATE_CHANGE, 'netStateChange');
    assert.equal(Object.keys(EVENT).length, 37);
    assert.throws(() => TencentCloudChat.create({ SDKAppID: 0, serverUrl: env.server.wsUrl }), { code: 2000 });
    assert.throws(() => TencentCloudChat.create({ SDKAppID: env.app.sdkAppID }), { code: 2905 }, 'no page origin in Node: serverUrl is required');
  });

  test('create: a new instance per call in Node; in a page, one per SDKAppID until destroy()', async () => {
    const options = { SDKAppID: env.app.sdkAppID, serverUrl: env.server.wsUrl };
    assert.notEqual(TencentCloudChat.create(options), TencentCloudChat.create(options));
    const g = globalThis as { document?: unknown };
    g.document = {};
    let first: Chat;
    try {
      first = TencentCloudChat.create(options);
      assert.equal(TencentCloudChat.create({ SDKAppID: env.app.sdkAppID }), first, 'the same instance, with or without serverUrl');
    } finally {
      delete g.document;
    }
    await first.destroy();
    g.document = {};
    try {
      const second = TencentCloudChat.create(options);
      assert.notEqual(second, first, 'destroy() forgets the instance');
      open.push(second);
    } finally {
      delete g.document;
    }
  });

  test('login resolves first, then SDK_READY; before it calls reject with the not-ready codes', async () => {
    const { chat, seen } = createChat();
    assert.equal(chat.isReady(), false);
    await assert.rejects(chat.getConversationList(), { code: 2024 });
    await assert.rejects(chat.login({ userID: 'w-ready', userSig: '' }), { code: 2003 });
    await assert.rejects(chat.login({ userID: '', userSig: 'x' }), { code: 2002 });
    await assert.rejects(chat.login({ userID: 'w-ready', userSig: 'garbage' }), { code: 70003 });

    const order: string[] = [];
    chat.on(EVENT.SDK_READY, function (this: { tag: string }) { order.push(`ready:${this.tag}`); }, { tag: 'ctx' });
    const res = await chat.login({ userID: 'w-ready', userSig: await env.sig('w-ready') });
    order.push('login');
    assert.deepEqual(res, { code: 0, data: { actionStatus: 'OK', errorCode: 0, errorInfo: '', repeatLogin: false } });
    await waitFor(() => chat.isReady(), 'SDK_READY');
    assert.deepEqual(order, ['login', 'ready:ctx'], 'login resolves before SDK_READY; handlers run with their context');
    const again = await chat.login({ userID: 'w-ready', userSig: await env.sig('w-ready') });
    assert.equal(again.data.repeatLogin, true);
    assert.ok(seen.some((e) => e.name === EVENT.NET_STATE_CHANGE && (e.data as { state: string }).state === TYPES.NET_STATE_CONNECTED));
    const list = await chat.getConversationList();
    assert.deepEqual(list, { code: 0, data: { conversationList: [], isSyncCompleted: true } });

    const notReady = waitFor(() => seen.some((e) => e.name === EVENT.SDK_NOT_READY), 'SDK_NOT_READY');
    assert.equal((await chat.logout()).code, 0);
    await notReady;
    assert.equal(chat.isReady(), false);
    await assert.rejects(chat.getConversationList(), { code: 2024 });

    // Logging in again (as another user) gets a fresh SDK_READY and that user's list.
    await ready('w-ready-2'); // the account exists once it has logged in somewhere
    const peer = await ready('w-ready-peer');
    await peer.chat.sendMessage(textTo(peer.chat, 'w-ready-2', 'welcome'));
    const readies = seen.filter((e) => e.name === EVENT.SDK_READY).length;
    await chat.login({ userID: 'w-ready-2', userSig: await env.sig('w-ready-2') });
    await waitFor(() => seen.filter((e) => e.name === EVENT.SDK_READY).length === readies + 1, 'second SDK_READY');
    const relisted = await chat.getConversationList();
    assert.deepEqual(relisted.data.conversationList.map((c) => [c.conversationID, c.unreadCount, c.lastMessage.messageForShow]), [['C2Cw-ready-peer', 1, 'welcome']]);
    assert.equal(chat.getTotalUnreadMessageCount(), 1);
  });
});

describe('the lite-chat entries', () => {
  test('/basic, /standard, /professional and every plugin resolve; use() registers nothing and the SDK works', async () => {
    for (const entry of ['basic', 'standard', 'professional']) {
      const mod = await import(`@confab/chat/${entry}`) as { default: typeof TencentCloudChat };
      assert.equal(mod.default.create, TencentCloudChat.create, entry);
      assert.equal(mod.default.EVENT, EVENT);
    }
    const plugins = ['avchatroom', 'cloud-search', 'conversation-group', 'conversation', 'follow', 'friend', 'group',
      'message-enhancer', 'offline-message-synchronizer', 'push-token-register', 'rich-media-message', 'signaling', 'topic'];
    const loaded = await Promise.all(plugins.map(async (name) => (await import(`@confab/chat/plugins/${name}`) as { default: { name: string } }).default));
    assert.deepEqual(loaded.map((p) => p.name), plugins);
    const c = createChat();
    c.chat.use(loaded[3], [loaded[5]]);
    await c.chat.login({ userID: 'w-lite', userSig: await env.sig('w-lite') });
    await waitFor(() => c.chat.isReady(), 'ready');
    assert.deepEqual((await c.chat.getConversationList()).data.conversationList, []);
  });
});

describe('messages between two instances', () => {
  test('send, MESSAGE_RECEIVED, CONVERSATION_LIST_UPDATED, unread and read', async () => {
    const alice = await ready('w-alice');
    const bob = await ready('w-bob');
    const message = textTo(alice.chat, 'w-bob', 'hello bob');
    assert.equal(message.status, 'unSend');
    assert.equal(message.flow, 'out');
    assert.equal(message.conversationID, 'C2Cw-bob');
    const sent = await alice.chat.sendMessage(message);
    assert.equal(sent.code, 0);
    assert.equal(sent.data.message, message, 'the same object comes back');
    assert.equal(message.status, 'success');
    assert.ok(message.sequence > 0);

    await waitFor(() => bob.received().length === 1, 'bob MESSAGE_RECEIVED');
    const got = bob.received()[0]!;
    assert.equal(got.ID, message.ID, 'one ID on both sides');
    assert.equal(got.type, TYPES.MSG_TEXT);
    assert.deepEqual(got.payload, { text: 'hello bob' });
    assert.equal(got.conversationID, 'C2Cw-alice');
    assert.equal(got.conversationType, TYPES.CONV_C2C);
    assert.equal(got.from, 'w-alice');
    assert.equal(got.to, 'w-bob');
    assert.equal(got.flow, 'in');
    assert.equal(got.status, 'success');
    assert.equal(got.sequence, message.sequence);
    assert.equal(alice.received().length, 0, 'no MESSAGE_RECEIVED for one\'s own send');

    await waitFor(() => bob.lastList()?.[0]?.unreadCount === 1, 'bob list update');
    const row = bob.lastList()![0]!;
    assert.equal(row.conversationID, 'C2Cw-alice');
    assert.equal(row.type, TYPES.CONV_C2C);
    assert.equal(row.lastMessage.messageForShow, 'hello bob');
    assert.equal(row.lastMessage.fromAccount, 'w-alice');
    assert.equal(row.userProfile?.userID, 'w-alice');
    assert.equal(row.isPinned, false);
    assert.equal(row.messageRemindType, TYPES.MSG_REMIND_ACPT_AND_NOTE);
    await waitFor(() => bob.events(EVENT.TOTAL_UNREAD_MESSAGE_COUNT_UPDATED).at(-1) === 1, 'total 1');
    assert.equal(bob.chat.getTotalUnreadMessageCount(), 1);
    assert.equal(alice.lastList()?.[0]?.conversationID, 'C2Cw-bob', 'the sender\'s list shows the chat too');

    assert.deepEqual(await bob.chat.setMessageRead({ conversationID: 'C2Cw-alice' }), { code: 0, data: {} });
    await waitFor(() => bob.events(EVENT.TOTAL_UNREAD_MESSAGE_COUNT_UPDATED).at(-1) === 0, 'total 0');
    assert.equal(bob.lastList()![0]!.unreadCount, 0);
    assert.equal(bob.chat.getTotalUnreadMessageCount(), 0);

    await alice.chat.sendMessage(textTo(alice.chat, 'w-bob', 'again'));
    await waitFor(() => bob.chat.getTotalUnreadMessageCount() === 1, 'one unread again');
    const unreadOnly = await bob.chat.getConversationList({ hasUnreadCount: true });
    assert.deepEqual(unreadOnly.data.conversationList.map((c) => c.conversationID), ['C2Cw-alice']);
    assert.deepEqual(await bob.chat.setAllMessageRead({ scope: TYPES.READ_ALL_MSG }), { code: 0, data: {} });
    await waitFor(() => bob.chat.getTotalUnreadMessageCount() === 0, 'all read');
    await assert.rejects(bob.chat.setAllMessageRead({ scope: 'everything' }), { code: 6017 });
  });

  test('getMessageList pages oldest-first with nextReqMessageID and isCompleted', async () => {
    const alice = await ready('w-pager-a');
    await ready('w-pager-b');
    for (const t of ['m1', 'm2', 'm3', 'm4', 'm5']) await alice.chat.sendMessage(textTo(alice.chat, 'w-pager-b', t));
    const first = await alice.chat.getMessageList({ conversationID: 'C2Cw-pager-b', count: 2 });
    assert.deepEqual(first.data.messageList.map((m) => m.payload.text), ['m4', 'm5']);
    assert.equal(first.data.isCompleted, false);
    assert.equal(first.data.nextReqMessageID, first.data.messageList[0]!.ID);
    const second = await alice.chat.getMessageList({ conversationID: 'C2Cw-pager-b', nextReqMessageID: first.data.nextReqMessageID, count: 2 });
    assert.deepEqual(second.data.messageList.map((m) => m.payload.text), ['m2', 'm3']);
    const third = await alice.chat.getMessageList({ conversationID: 'C2Cw-pager-b', nextReqMessageID: second.data.nextReqMessageID });
    assert.deepEqual(third.data.messageList.map((m) => m.payload.text), ['m1']);
    assert.equal(third.data.isCompleted, true);
    assert.equal(alice.chat.findMessage(third.data.messageList[0]!.ID)?.payload.text, 'm1');
    await assert.rejects(alice.chat.getMessageList({ conversationID: 'bogus' }), { code: 2503 });

    const seq3 = [...first.data.messageList, ...second.data.messageList].find((m) => m.payload.text === 'm3')!.sequence;
    const older = await alice.chat.getMessageListHopping({ conversationID: 'C2Cw-pager-b', sequence: seq3, count: 2 });
    assert.deepEqual(older.data.messageList.map((m) => m.payload.text), ['m2', 'm3']);
    assert.equal(older.data.isCompleted, false);
    const newer = await alice.chat.getMessageListHopping({ conversationID: 'C2Cw-pager-b', sequence: seq3, count: 5, direction: 1 });
    assert.deepEqual(newer.data.messageList.map((m) => m.payload.text), ['m3', 'm4', 'm5']);
    assert.equal(newer.data.isCompleted, true);
  });

  test('custom and @ messages; a failed send rejects with the message attached and can be resent', async () => {
    const alice = await ready('w-custom-a');
    const bob = await ready('w-custom-b');
    const custom = alice.chat.createCustomMessage({ to: 'w-custom-b', conversationType: TYPES.CONV_C2C, payload: { data: '{"k":1}', description: 'd', extension: 'e' } });
    await alice.chat.sendMessage(custom);
    await waitFor(() => bob.received().length === 1, 'custom received');
    assert.equal(bob.received()[0]!.type, TYPES.MSG_CUSTOM);
    assert.deepEqual(bob.received()[0]!.payload, { data: '{"k":1}', description: 'd', extension: 'e' });
    await waitFor(() => bob.lastList()?.[0]?.lastMessage.type === TYPES.MSG_CUSTOM, 'custom last message');

    const lost = textTo(alice.chat, 'w-nobody-here', 'anyone?');
    await assert.rejects(alice.chat.sendMessage(lost), (err: { code: number; data: { message: WebMessage } }) => {
      assert.equal(err.code, 20003);
      assert.equal(err.data.message, lost);
      return true;
    });
    assert.equal(lost.status, 'fail');
    await assert.rejects(alice.chat.resendMessage(lost), { code: 20003 });
    assert.equal(lost.isResend, true);

    assert.throws(() => alice.chat.createTextMessage({ to: 'w-custom-b', conversationType: 'BOGUS', payload: { text: 'x' } }), { code: 2106 });
    await assert.rejects(alice.chat.sendMessage({ ID: 'forged' } as WebMessage), { code: 2105 });
  });
});

describe('face, location, merger and forwarded messages', () => {
  test('arrive with the reference\'s types and payloads; cloudCustomData and priority travel', async () => {
    const alice = await ready('w-kinds-a');
    const bob = await ready('w-kinds-b');
    const to = { to: 'w-kinds-b', conversationType: TYPES.CONV_C2C };
    const face = alice.chat.createFaceMessage({ ...to, payload: { index: 3, data: 'smile' } });
    const place = alice.chat.createLocationMessage({ ...to, payload: { description: 'office', longitude: 113.9, latitude: 22.5 }, cloudCustomData: '{"tag":1}' });
    const text = alice.chat.createTextMessage({ ...to, payload: { text: 'urgent' }, priority: TYPES.MSG_PRIORITY_HIGH });
    for (const m of [face, place, text]) await alice.chat.sendMessage(m);
    const merger = alice.chat.createMergerMessage({ ...to, payload: { messageList: [text, place], title: 'History', abstractList: ['alice: urgent'], compatibleText: 'upgrade to see' } });
    await alice.chat.sendMessage(merger);
    const forward = alice.chat.createForwardMessage({ ...to, payload: text });
    await alice.chat.sendMessage(forward);
    assert.notEqual(forward.ID, text.ID);

    await waitFor(() => bob.received().length === 5, 'five messages');
    const [gotFace, gotPlace, gotText, gotMerger, gotForward] = bob.received();
    assert.deepEqual([gotFace!.type, gotFace!.payload], [TYPES.MSG_FACE, { index: 3, data: 'smile' }]);
    assert.deepEqual([gotPlace!.type, gotPlace!.payload], [TYPES.MSG_LOCATION, { description: 'office', longitude: 113.9, latitude: 22.5 }]);
    assert.equal(gotPlace!.cloudCustomData, '{"tag":1}');
    assert.equal(gotText!.priority, TYPES.MSG_PRIORITY_HIGH);
    assert.equal(gotMerger!.type, TYPES.MSG_MERGER);
    assert.equal(gotMerger!.payload.title, 'History');
    const inner = gotMerger!.payload.messageList as { from: string; messageBody: { type: string; payload: unknown }[] }[];
    assert.deepEqual(inner.map((m) => [m.from, m.messageBody[0]!.type]), [['w-kinds-a', TYPES.MSG_TEXT], ['w-kinds-a', TYPES.MSG_LOCATION]]);
    const downloaded = await bob.chat.downloadMergerMessage(gotMerger!);
    assert.equal(downloaded.data, gotMerger);
    assert.deepEqual([gotForward!.type, gotForward!.payload], [TYPES.MSG_TEXT, { text: 'urgent' }]);
    await waitFor(() => bob.lastList()?.[0]?.lastMessage.messageForShow === 'urgent', 'last message');
    const history = await bob.chat.getMessageList({ conversationID: 'C2Cw-kinds-a' });
    assert.deepEqual(history.data.messageList.map((m) => m.type), [TYPES.MSG_FACE, TYPES.MSG_LOCATION, TYPES.MSG_TEXT, TYPES.MSG_MERGER, TYPES.MSG_TEXT]);
    assert.equal(history.data.messageList[2]!.priority, TYPES.MSG_PRIORITY_HIGH);
  });
});

describe('deleting and clearing, in both forms', () => {
  test('deleteConversation(id) and ({ conversationIDList, clearHistoryMessage })', async () => {
    const alice = await ready('w-del-a');
    await ready('w-del-b');
    await ready('w-del-c');
    await alice.chat.sendMessage(textTo(alice.chat, 'w-del-b', 'to b'));
    await alice.chat.sendMessage(textTo(alice.chat, 'w-del-c', 'to c, kept'));
    await waitFor(() => alice.lastList()?.length === 2, 'two conversations');

    const one = await alice.chat.deleteConversation('C2Cw-del-b');
    assert.deepEqual(one, { code: 0, data: { conversationID: 'C2Cw-del-b' } });
    await waitFor(() => alice.lastList()?.map((c) => c.conversationID).join() === 'C2Cw-del-c', 'list without b');
    await assert.rejects(alice.chat.deleteConversation('C2Cw-del-b'), { code: 2500 });
    await assert.rejects(alice.chat.deleteConversation({ conversationIDList: ['C2Cw-del-b', 'C2Cnever'] }), { code: 2500 });
    await assert.rejects(alice.chat.deleteConversation('nonsense'), { code: 2503 });

    const many = await alice.chat.deleteConversation({ conversationIDList: ['C2Cw-del-c', 'C2Cw-del-b'], clearHistoryMessage: false });
    assert.deepEqual(many, { code: 0, data: { conversationIDList: ['C2Cw-del-c'] } });
    await waitFor(() => alice.lastList()?.length === 0, 'empty list');
    const all = await alice.chat.getConversationList();
    assert.deepEqual(all.data.conversationList, []);

    // History kept on the server: a new message brings the chat back with the old one below it.
    await alice.chat.sendMessage(textTo(alice.chat, 'w-del-c', 'again'));
    const kept = await alice.chat.getMessageList({ conversationID: 'C2Cw-del-c' });
    assert.deepEqual(kept.data.messageList.map((m) => m.payload.text), ['to c, kept', 'again']);
    // Cleared with the string form (clearHistoryMessage defaults to true): only the new one.
    await alice.chat.sendMessage(textTo(alice.chat, 'w-del-b', 'after delete'));
    const cleared = await alice.chat.getMessageList({ conversationID: 'C2Cw-del-b' });
    assert.deepEqual(cleared.data.messageList.map((m) => m.payload.text), ['after delete']);
  });

  test('clearHistoryMessage keeps the conversation with no last message and unread 0', async () => {
    const alice = await ready('w-clear-a');
    const bob = await ready('w-clear-b');
    await alice.chat.sendMessage(textTo(alice.chat, 'w-clear-b', 'one'));
    await alice.chat.sendMessage(textTo(alice.chat, 'w-clear-b', 'two'));
    await waitFor(() => bob.lastList()?.[0]?.unreadCount === 2, 'two unread');
    assert.deepEqual(await bob.chat.clearHistoryMessage('C2Cw-clear-a'), { code: 0, data: {} });
    await waitFor(() => bob.lastList()?.[0]?.lastMessage.messageForShow === '', 'last message emptied');
    assert.equal(bob.lastList()![0]!.conversationID, 'C2Cw-clear-a');
    assert.equal(bob.lastList()![0]!.unreadCount, 0);
    assert.equal(bob.chat.getTotalUnreadMessageCount(), 0);
    assert.deepEqual((await bob.chat.getMessageList({ conversationID: 'C2Cw-clear-a' })).data.messageList, []);
    await assert.rejects(bob.chat.clearHistoryMessage('C2Cw-unknown'), { code: 2500 });
    const peer = await alice.chat.getMessageList({ conversationID: 'C2Cw-clear-b' });
    assert.equal(peer.data.messageList.length, 2, 'the peer keeps its history');
  });
});

describe('conversation profile, pin, draft, groups, profiles', () => {
  test('getConversationProfile adds a new chat to the list; pin and draft re-sort and resolve', async () => {
    const alice = await ready('w-prof-a');
    await ready('w-prof-b');
    await ready('w-prof-c');
    const opened = await alice.chat.getConversationProfile('C2Cw-prof-b');
    assert.equal(opened.data.conversation.conversationID, 'C2Cw-prof-b');
    await waitFor(() => alice.lastList()?.[0]?.conversationID === 'C2Cw-prof-b', 'added to the list');
    await assert.rejects(alice.chat.getConversationProfile('C2Cw-prof-nobody'), { code: 2501 });
    await assert.rejects(alice.chat.getConversationProfile('@TIM#SYSTEM'), { code: 2502 });

    await alice.chat.sendMessage(textTo(alice.chat, 'w-prof-c', 'c'));
    await alice.chat.sendMessage(textTo(alice.chat, 'w-prof-b', 'b'));
    await waitFor(() => alice.lastList()?.map((c) => c.conversationID).join() === 'C2Cw-prof-b,C2Cw-prof-c', 'b above c');
    assert.deepEqual(await alice.chat.pinConversation({ conversationID: 'C2Cw-prof-c', isPinned: true }), { code: 0, data: { conversationID: 'C2Cw-prof-c' } });
    await waitFor(() => alice.lastList()?.[0]?.conversationID === 'C2Cw-prof-c' && alice.lastList()?.[0]?.isPinned, 'pinned first');

    const draft = await alice.chat.setConversationDraft({ conversationID: 'C2Cw-prof-b', draftText: 'half a thought' });
    assert.equal(draft.data.conversation.draftText, 'half a thought');
    await assert.rejects(alice.chat.setConversationDraft({ conversationID: 'C2Cw-prof-zzz', draftText: 'x' }), { code: 2500 });

    const byIDs = await alice.chat.getConversationList(['C2Cw-prof-b', 'C2Cw-nope']);
    assert.deepEqual(byIDs.data.conversationList.map((c) => c.conversationID), ['C2Cw-prof-b']);
    const groupsOnly = await alice.chat.getConversationList({ type: TYPES.CONV_GROUP });
    assert.deepEqual(groupsOnly.data.conversationList, []);

    const marked = await alice.chat.markConversation({ conversationIDList: ['C2Cw-prof-b'], markType: TYPES.CONV_MARK_TYPE_STAR, enableMark: true });
    assert.deepEqual(marked.data, { successConversationIDList: ['C2Cw-prof-b'], failureConversationIDList: [] });
    const custom = await alice.chat.setConversationCustomData({ conversationIDList: ['C2Cw-prof-b'], customData: 'tag' });
    assert.deepEqual(custom.data.successConversationIDList, ['C2Cw-prof-b']);
    await waitFor(() => {
      const row = alice.lastList()?.find((c) => c.conversationID === 'C2Cw-prof-b');
      return row?.customData === 'tag' && row.markList.includes(TYPES.CONV_MARK_TYPE_STAR);
    }, 'mark and custom data in the list');
    const starred = await alice.chat.getConversationList({ markType: TYPES.CONV_MARK_TYPE_STAR });
    assert.deepEqual(starred.data.conversationList.map((c) => c.conversationID), ['C2Cw-prof-b']);
  });

  test('profiles: updateMyProfile emits PROFILE_UPDATED; peers\' nicks reach the list', async () => {
    const alice = await ready('w-nick-a');
    assert.equal((await alice.chat.updateMyProfile({ nick: 'Alice', avatar: 'https://example.com/a.png' })).data.nick, 'Alice');
    assert.equal((alice.events(EVENT.PROFILE_UPDATED).at(-1) as { nick: string }[])[0]!.nick, 'Alice');
    assert.equal((await alice.chat.getMyProfile()).data.avatar, 'https://example.com/a.png');
    await assert.rejects(alice.chat.updateMyProfile({ gender: TYPES.GENDER_MALE }), { code: 2722 });
    const bob = await ready('w-nick-b');
    await alice.chat.sendMessage(textTo(alice.chat, 'w-nick-b', 'hi'));
    await waitFor(() => bob.lastList()?.[0]?.userProfile?.nick === 'Alice', 'the peer\'s nick in bob\'s list');
    const users = await bob.chat.getUserProfile({ userIDList: ['w-nick-a'] });
    assert.equal(users.data[0]!.nick, 'Alice');

    const added = await alice.chat.addFriend({ to: 'w-nick-b', source: 'AddSource_Type_Web', remark: 'Bobby' });
    assert.deepEqual(added.data, { userID: 'w-nick-b', code: 0, message: '' });
    await waitFor(() => alice.lastList()?.[0]?.remark === 'Bobby', 'the remark in alice\'s list');
    const friends = await bob.chat.getFriendList();
    assert.deepEqual(friends.data.map((f) => [f.userID, f.profile.nick]), [['w-nick-a', 'Alice']]);
    const removed = await bob.chat.deleteFriend({ userIDList: ['w-nick-a'] });
    assert.deepEqual(removed.data.successUserIDList.map((r) => r.userID), ['w-nick-a']);
    assert.deepEqual((await alice.chat.getFriendList()).data, []);
    await waitFor(() => alice.lastList()?.[0]?.remark === '', 'the remark leaves alice\'s list when bob removes her');
    assert.ok(alice.events(EVENT.FRIEND_LIST_UPDATED).some((l) => (l as unknown[]).length === 0), 'FRIEND_LIST_UPDATED with the empty list');
  });

  test('groups: create, message, list, members, quit', async () => {
    const owner = await ready('w-grp-owner');
    const member = await ready('w-grp-member');
    const created = await owner.chat.createGroup({ type: TYPES.GRP_WORK, name: 'Team', groupID: 'w-team', memberList: [{ userID: 'w-grp-member' }] });
    assert.equal(created.data.group.groupID, 'w-team');
    assert.equal(created.data.group.type, TYPES.GRP_WORK);
    assert.equal(created.data.group.name, 'Team');
    await owner.chat.sendMessage(textTo(owner.chat, 'w-team', 'hello team', TYPES.CONV_GROUP));
    await waitFor(() => member.received().length === 1, 'member receives');
    const got = member.received()[0]!;
    assert.equal(got.conversationID, 'GROUPw-team');
    assert.equal(got.conversationType, TYPES.CONV_GROUP);
    assert.equal(got.to, 'w-team');
    await waitFor(() => member.lastList()?.[0]?.groupProfile?.name === 'Team', 'group name in the list');
    assert.equal(member.lastList()![0]!.type, TYPES.CONV_GROUP);

    const groups = await member.chat.getGroupList();
    assert.deepEqual(groups.data.groupList.map((g) => g.groupID), ['w-team']);
    const members = await owner.chat.getGroupMemberList({ groupID: 'w-team', count: 15, offset: 0 });
    assert.deepEqual(members.data.memberList.map((m) => [m.userID, m.role]).sort(), [['w-grp-member', 'Member'], ['w-grp-owner', 'Owner']]);
    assert.equal(members.data.offset, 0);
    assert.equal((await member.chat.getGroupProfile({ groupID: 'w-team' })).data.group.ownerID, 'w-grp-owner');
    await assert.rejects(member.chat.getGroupProfile({ groupID: 'w-no-such-group' }), { code: 10010 });
    await assert.rejects(owner.chat.createGroup({ type: TYPES.GRP_AVCHATROOM, name: 'Live' }), { code: 2600 });
    assert.deepEqual(await member.chat.quitGroup('w-team'), { code: 0, data: { groupID: 'w-team' } });
    assert.deepEqual((await member.chat.getGroupList()).data.groupList, []);
    // The conversation of a group left stays in the list until deleted, as in the reference.
    assert.ok((await member.chat.getConversationList()).data.conversationList.some((c) => c.conversationID === 'GROUPw-team'));
    assert.deepEqual(await member.chat.deleteConversation('GROUPw-team'), { code: 0, data: { conversationID: 'GROUPw-team' } });
    await waitFor(() => member.lastList()?.length === 0, 'the left group\'s conversation is gone');
  });
});

/** Every `chat.<method>(` in @tencentcloud/chat-uikit-engine 2.5.8's bundle, and every `EVENT.<name>` it subscribes. */
const UIKIT_ENGINE_METHODS = [
  'acceptFriendApplication', 'addFriend', 'addGroupMember', 'addMessageReaction', 'addToBlacklist',
  'addToFriendGroup', 'callExperimentalAPI', 'changeGroupOwner', 'checkFriend', 'clearHistoryMessage',
  'convertVoiceToText', 'createAudioMessage', 'createCustomMessage', 'createFaceMessage', 'createFileMessage',
  'createForwardMessage', 'createFriendGroup', 'createGroup', 'createImageMessage', 'createLocationMessage',
  'createMergerMessage', 'createTextAtMessage', 'createTextMessage', 'createVideoMessage',
  'decreaseGroupCounter', 'deleteConversation', 'deleteFriend', 'deleteFriendApplication', 'deleteFriendGroup',
  'deleteGroupAttributes', 'deleteGroupMember', 'deleteMessage', 'deleteMessageExtensions', 'destroy',
  'dismissGroup', 'downloadMergerMessage', 'findMessage', 'getAllUserListOfMessageReaction', 'getBlacklist',
  'getConversationList', 'getConversationProfile', 'getFriendApplicationList', 'getFriendGroupList',
  'getFriendList', 'getFriendProfile', 'getGroupApplicationList', 'getGroupAttributes', 'getGroupCounters',
  'getGroupList', 'getGroupMemberList', 'getGroupMemberProfile', 'getGroupMessageReadMemberList',
  'getGroupOnlineMemberCount', 'getGroupProfile', 'getMessageExtensions', 'getMessageList',
  'getMessageListHopping', 'getMessageReactions', 'getMessageReadReceiptList', 'getMyProfile',
  'getSignalingInfo', 'getTotalUnreadMessageCount', 'getUserProfile', 'getUserStatus',
  'handleGroupApplication', 'increaseGroupCounter', 'initGroupAttributes', 'isReady', 'joinGroup', 'login',
  'logout', 'markConversation', 'markGroupMemberList', 'modifyMessage', 'off', 'on', 'pinConversation',
  'quitGroup', 'refuseFriendApplication', 'registerPlugin', 'removeFromBlacklist', 'removeFromFriendGroup',
  'removeMessageReaction', 'renameFriendGroup', 'resendMessage', 'revokeMessage', 'searchCloudGroups',
  'searchCloudMessages', 'searchCloudUsers', 'searchGroupByID', 'sendMessage', 'sendMessageReadReceipt',
  'setConversationDraft', 'setFriendApplicationRead', 'setGroupAttributes', 'setGroupCounters',
  'setGroupMemberCustomField', 'setGroupMemberMuteTime', 'setGroupMemberNameCard', 'setGroupMemberRole',
  'setLogLevel', 'setMessageExtensions', 'setMessageRead', 'setMessageRemindType', 'subscribeUserStatus',
  'translateText', 'unsubscribeUserStatus', 'updateFriend', 'updateGroupProfile', 'updateMyProfile',
];
const UIKIT_ENGINE_EVENTS = [
  'BLACKLIST_UPDATED', 'CONVERSATION_LIST_UPDATED', 'FRIEND_APPLICATION_LIST_UPDATED',
  'FRIEND_GROUP_LIST_UPDATED', 'FRIEND_LIST_UPDATED', 'GROUP_ATTRIBUTES_UPDATED', 'GROUP_COUNTER_UPDATED',
  'GROUP_LIST_UPDATED', 'KICKED_OUT', 'MESSAGE_MODIFIED', 'MESSAGE_REACTIONS_UPDATED', 'MESSAGE_READ_BY_PEER',
  'MESSAGE_READ_RECEIPT_RECEIVED', 'MESSAGE_RECEIVED', 'MESSAGE_REVOKED', 'NET_STATE_CHANGE',
  'PROFILE_UPDATED', 'SDK_NOT_READY', 'SDK_READY', 'TOTAL_UNREAD_MESSAGE_COUNT_UPDATED', 'USER_STATUS_UPDATED',
];

describe('what Confab lacks rejects with the reference\'s code', () => {
  test('every method and event the reference\'s UIKit engine uses exists', () => {
    const { chat } = createChat();
    assert.deepEqual(UIKIT_ENGINE_METHODS.filter((m) => typeof (chat as unknown as Record<string, unknown>)[m] !== 'function'), []);
    assert.deepEqual(UIKIT_ENGINE_EVENTS.filter((e) => !(e in EVENT)), []);
    assert.equal(chat.callExperimentalAPI('statTUIKeyFeatures', 1), undefined);
  });

  test('every unsupported method is a function rejecting with 3122; media send fails the message', async () => {
    const { chat } = await ready('w-unsupported');
    for (const name of UNSUPPORTED_METHODS) {
      const fn = (chat as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name];
      assert.equal(typeof fn, 'function', name);
      await assert.rejects(fn!.call(chat, {}), { code: 3122 }, name);
    }
    await assert.rejects(chat.revokeMessage({}), { code: 3122 });
    await assert.rejects(chat.setMessageRemindType({ userIDList: ['x'], messageRemindType: TYPES.MSG_REMIND_DISCARD }), { code: 3122 });
    const image = chat.createImageMessage({ to: 'w-x', conversationType: TYPES.CONV_C2C, payload: { file: {} } });
    assert.equal(image.type, TYPES.MSG_IMAGE);
    await assert.rejects(chat.sendMessage(image), { code: 3122 });
    assert.equal(image.status, 'fail');
    // Lists of things Confab has none of resolve empty: the reference's UIKits read them at login.
    assert.deepEqual(await chat.getBlacklist(), { code: 0, data: [] });
    assert.deepEqual(await chat.getFriendApplicationList(), { code: 0, data: { friendApplicationList: [], unreadCount: 0 } });
    await assert.rejects(chat.callExperimentalAPI('noSuchApi') as Promise<unknown>, { code: 2905 });
    assert.deepEqual(await chat.callExperimentalAPI('isCommercialAbilityEnabled', 1), { code: 0, data: { enabled: false } });
  });

  test('before SDK_READY an unsupported method rejects with the not-ready code, not 3122', async () => {
    const { chat } = createChat();
    await assert.rejects(chat.revokeMessage({}), { code: 2024 });
  });

  test('a second login on the same device kicks the first: KICKED_OUT, then SDK_NOT_READY', async () => {
    const first = await ready('w-kick', { deviceID: 'w-kick-device' });
    await ready('w-kick', { deviceID: 'w-kick-device' });
    await waitFor(() => first.events(EVENT.KICKED_OUT).length === 1, 'KICKED_OUT');
    assert.deepEqual(first.events(EVENT.KICKED_OUT)[0], { type: TYPES.KICKED_OUT_MULT_DEVICE });
    assert.equal(first.events(EVENT.SDK_NOT_READY).length, 1);
    assert.equal(first.chat.isReady(), false);
    await assert.rejects(first.chat.getConversationList(), { code: 3002 });
  });
});
