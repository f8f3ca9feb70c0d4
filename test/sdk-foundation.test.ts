import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { V2TIMManager } from '@confab/sdk';
import { SqliteStore } from '@confab/sdk/sqlite-store';
import { device, startTestServer, texts, waitFor } from './helpers/sdk-harness.js';

type Env = Awaited<ReturnType<typeof startTestServer>>;
let env: Env;
const open: V2TIMManager[] = [];

before(async () => { env = await startTestServer(); });
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

describe('a newcomer\'s walk through the SDK', () => {
  test('errors before init and before login carry the reference codes', async () => {
    await assert.rejects(new V2TIMManager().login('x', 'y'), { code: 6013 });
    const d = device(env);
    await assert.rejects(d.im.getConversationManager().getConversationList(0, 10), { code: 6014 });
    await assert.rejects(d.im.login('alice', 'garbage'), { code: 70003 });
    let err: [number, string] | undefined;
    await d.im.login('alice', 'garbage', { onSuccess: (): void => assert.fail('must not succeed'), onError: (code: number, desc: string) => { err = [code, desc]; } });
    assert.equal(err?.[0], 70003);
  });

  test('two users become friends, chat one-to-one, and see unread counts like the reference', async () => {
    const alice = await loggedIn('walk-alice');
    const bob = await loggedIn('walk-bob');
    const friend = await alice.im.getFriendshipManager().addFriend({ userID: 'walk-bob', friendRemark: 'Bobby' });
    assert.equal(friend.resultCode, 0);
    assert.deepEqual((await bob.im.getFriendshipManager().getFriendList()).map((f) => f.userID), ['walk-alice']);

    const sent = await alice.im.sendC2CTextMessage('hello bob', 'walk-bob');
    assert.equal(sent.status, 2);
    await waitFor(() => bob.events.received.length === 1, 'bob receives');
    assert.deepEqual(texts(bob.events.received), ['hello bob']);
    assert.equal(bob.events.received[0]!.conversationID, 'c2c_walk-alice');
    assert.equal(alice.events.received.length, 0, 'the sending device does not receive its own message');

    await alice.im.sendC2CTextMessage('second', 'walk-bob');
    await waitFor(async () => (await bob.im.getConversationManager().getTotalUnreadMessageCount()) === 2, 'two unread');
    const list = await bob.im.getConversationManager().getConversationList(0, 10);
    assert.equal(list.conversationList[0]!.conversationID, 'c2c_walk-alice');
    assert.equal(list.conversationList[0]!.unreadCount, 2);
    assert.equal(list.conversationList[0]!.lastMessage?.textElem?.text, 'second');
    assert.ok(bob.events.totals.includes(2), 'onTotalUnreadMessageCountChanged reported 2');

    await bob.im.getMessageManager().markC2CMessageAsRead('walk-alice');
    assert.equal(await bob.im.getConversationManager().getTotalUnreadMessageCount(), 0);
    assert.equal(bob.events.totals.at(-1), 0);
  });

  test('resending the same message object is idempotent', async () => {
    const alice = await loggedIn('idem-alice');
    await loggedIn('idem-bob');
    const msg = alice.im.getMessageManager().createTextMessage('once');
    const first = await alice.im.getMessageManager().sendMessage(msg, 'idem-bob', null);
    const second = await alice.im.getMessageManager().sendMessage(msg, 'idem-bob', null);
    assert.equal(second.msgID, first.msgID);
    const history = await alice.im.getMessageManager().getC2CHistoryMessageList('idem-bob', 10, null);
    assert.deepEqual(texts(history), ['once']);
  });

  test('group chat: create, invite, send, receive; conversation list orders pinned first, then by activity', async () => {
    const owner = await loggedIn('grp-owner');
    const member = await loggedIn('grp-member');
    const groupID = await owner.im.createGroup('Work', null, 'Team');
    const invite = await owner.im.getGroupManager().inviteUserToGroup(groupID, ['grp-member']);
    assert.equal(invite[0]?.resultCode, 0);
    await owner.im.sendGroupTextMessage('hi team', groupID, 0);
    await waitFor(() => member.events.received.some((m) => m.groupID === groupID), 'member receives group message');

    await owner.im.sendC2CTextMessage('direct', 'grp-member');
    await waitFor(() => member.events.received.length === 2, 'member receives direct message');
    let list = (await member.im.getConversationManager().getConversationList(0, 10)).conversationList.map((c) => c.conversationID);
    assert.deepEqual(list, ['c2c_grp-owner', `group_${groupID}`], 'most recently active first');

    await member.im.getConversationManager().pinConversation(`group_${groupID}`, true);
    list = (await member.im.getConversationManager().getConversationList(0, 10)).conversationList.map((c) => c.conversationID);
    assert.deepEqual(list, [`group_${groupID}`, 'c2c_grp-owner'], 'pinned first');
    const page = await member.im.getConversationManager().getConversationList(0, 1);
    assert.equal(page.isFinished, false);
    const rest = await member.im.getConversationManager().getConversationList(page.nextSeq, 10);
    assert.deepEqual(rest.conversationList.map((c) => c.conversationID), ['c2c_grp-owner']);
    assert.equal(rest.isFinished, true);
  });

  test('a restarted device shows its conversations and messages from its SQLite store before the network answers', async () => {
    const file = join(env.dataDir, 'restart-alice.db');
    const first = await loggedIn('rs-alice', { store: new SqliteStore(file) });
    const bob = await loggedIn('rs-bob');
    await bob.im.sendC2CTextMessage('kept locally', 'rs-alice');
    await waitFor(() => first.events.received.length === 1, 'alice receives');
    await first.im.logout();

    // Stop the network path: a server URL where nothing listens. The store still answers.
    const offline = new V2TIMManager();
    offline.initSDK(env.app.sdkAppID, { serverUrl: 'ws://127.0.0.1:1/ws', store: new SqliteStore(file), logLevel: 'silent' });
    await assert.rejects(offline.login('rs-alice', await env.sig('rs-alice')), { code: 9508 });

    const restarted = await loggedIn('rs-alice', { store: new SqliteStore(file) });
    const list = await restarted.im.getConversationManager().getConversationList(0, 10);
    assert.deepEqual(list.conversationList.map((c) => c.conversationID), ['c2c_rs-bob']);
    assert.equal(list.conversationList[0]!.lastMessage?.textElem?.text, 'kept locally');
  });

  test('a device that was offline catches up every missed message exactly once', async () => {
    const store = new SqliteStore(join(env.dataDir, 'catchup-alice.db'));
    const alice = await loggedIn('cu-alice', { store });
    const bob = await loggedIn('cu-bob');
    await bob.im.sendC2CTextMessage('before', 'cu-alice');
    await waitFor(() => alice.events.received.length === 1, 'first message');
    await alice.im.logout();
    for (let i = 0; i < 5; i++) await bob.im.sendC2CTextMessage(`missed ${i}`, 'cu-alice');
    const back = await loggedIn('cu-alice', { store: new SqliteStore(join(env.dataDir, 'catchup-alice.db')) });
    await waitFor(() => back.events.received.length === 5, 'five missed messages');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(texts(back.events.received), ['missed 0', 'missed 1', 'missed 2', 'missed 3', 'missed 4']);
    const history = await back.im.getMessageManager().getC2CHistoryMessageList('cu-bob', 20, null);
    assert.deepEqual(texts(history), ['missed 4', 'missed 3', 'missed 2', 'missed 1', 'missed 0', 'before']);
  });

  test('pin, draft and read marks reach the user\'s other device; drafts live on the server', async () => {
    const phone = await loggedIn('md-alice');
    const laptop = await loggedIn('md-alice');
    await loggedIn('md-bob');
    await phone.im.sendC2CTextMessage('hi', 'md-bob');
    await phone.im.getConversationManager().pinConversation('c2c_md-bob', true);
    await phone.im.getConversationManager().setConversationDraft('c2c_md-bob', 'half a thought');
    const seen = await waitFor(async () => {
      const c = await laptop.im.getConversationManager().getConversation('c2c_md-bob');
      return c.isPinned && c.draftText === 'half a thought' ? c : undefined;
    }, 'laptop sees pin and draft');
    assert.equal(seen.draftText, 'half a thought');
    // A fresh install gets the draft from the server.
    const fresh = await loggedIn('md-alice');
    const c = await waitFor(async () => (await fresh.im.getConversationManager().getConversationList(0, 10)).conversationList[0], 'fresh install list');
    assert.equal(c.draftText, 'half a thought');
  });
});
