/**
 * Server behaviour under misuse and races: pipelining without
 * reading, NUL characters, resends of deleted messages, undo of a history clear, expired
 * UserSigs, and the admin API's handling of odd input. Real server, raw sockets.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { genUserSig, startServer, type AppRecord, type ConfabServer } from '@confab/server';
import { ErrorCode, type ReplyFrame } from '@confab/protocol';
import { RawClient } from './helpers/raw-client.js';

let server: ConfabServer;
let dir: string;
let app: AppRecord;
const clients: RawClient[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confab-misuse-'));
  server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent', purge: false, heartbeatMs: 2000, adminToken: 'op' });
  app = await server.createApp({ name: 'misuse' });
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function login(userID: string, deviceID = `dev-${userID}`, userSig?: string): Promise<RawClient> {
  const client = await RawClient.connect(server.wsUrl);
  clients.push(client);
  await client.login({ sdkAppID: app.sdkAppID, userID, userSig: userSig ?? await server.genUserSig(app.sdkAppID, userID), deviceID });
  return client;
}

const text = (t: string) => ({ type: 'text' as const, text: t });

describe('backpressure', () => {
  test('a client that pipelines far more than it reads is told 60022 for the excess; nothing of those is applied', async () => {
    const alice = await login('alice');
    await login('bob');
    const ids: number[] = [];
    for (let i = 0; i < 300; i++) {
      ids.push(alice.send('msg.send', { conversationID: 'c2c_bob', clientMsgID: `p${i}`, elem: text(`m${i}`) }));
    }
    const replies: ReplyFrame[] = await Promise.all(ids.map((id) => alice.reply(id)));
    const refused = replies.filter((r) => !r.ok && r.code === ErrorCode.SERVER_OVERLOADED).length;
    const accepted = replies.filter((r) => r.ok).length;
    assert.ok(refused > 0, 'some requests were refused');
    assert.equal(accepted + refused, 300, 'every request got exactly one answer');
    const history = await alice.ok('msg.history', { conversationID: 'c2c_bob', count: 100, afterSeq: 0 });
    let stored = history.messages.length;
    if (!history.isFinished) {
      const more = await alice.ok('msg.history', { conversationID: 'c2c_bob', count: 100, afterSeq: 100 });
      stored += more.messages.length;
      if (!more.isFinished) stored += (await alice.ok('msg.history', { conversationID: 'c2c_bob', count: 100, afterSeq: 200 })).messages.length;
    }
    assert.equal(stored, accepted, 'exactly the accepted messages were stored');
    assert.equal((await alice.ok('ping', {})).serverTime > 0, true, 'the connection still works');
  });
});

describe('SDK window', () => {
  test('an app that fires 200 sends at once gets 200 successes: the SDK queues beyond its window', async () => {
    const { V2TIMManager } = await import('@confab/sdk');
    await login('bob');
    const im = new V2TIMManager();
    im.initSDK(app.sdkAppID, { serverUrl: server.wsUrl, logLevel: 'silent' });
    await im.login('alice', await server.genUserSig(app.sdkAppID, 'alice'));
    try {
      const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => im.sendC2CTextMessage(`burst ${i}`, 'bob')));
      const failed = results.filter((r) => r.status === 'rejected');
      assert.equal(failed.length, 0, `failures: ${JSON.stringify(failed.slice(0, 3))}`);
    } finally {
      await im.logout();
    }
  });
});

describe('input', () => {
  test('text that quotes the escape \\u0000 (a backslash, then u0000) is an ordinary message', async () => {
    const alice = await login('alice');
    await login('bob');
    const sent = await alice.ok('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'q', elem: text('in C write "\\u0000" for NUL') });
    assert.deepEqual(sent.message.elem, text('in C write "\\u0000" for NUL'));
  });

  test('a NUL character anywhere is refused with 6017 and does not affect other requests', async () => {
    const alice = await login('alice');
    const carol = await login('carol');
    await login('bob');
    const bad = alice.send('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'k\u0000', elem: text('x') });
    const good = carol.send('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'k1', elem: text('fine') });
    const badReply = await alice.reply(bad);
    assert.equal(badReply.ok, false);
    assert.equal(!badReply.ok && badReply.code, ErrorCode.INVALID_PARAMETERS);
    assert.equal((await carol.reply(good)).ok, true);
    const draft = await alice.fail('conv.setDraft', { conversationID: 'c2c_bob', draftText: 'a\u0000b' });
    assert.equal(draft.code, ErrorCode.INVALID_PARAMETERS);
  });

  test('more than 100 conversations in one delete is 51006, and a bad item gets its own result', async () => {
    const alice = await login('alice');
    const many = Array.from({ length: 1001 }, (_, i) => `c2c_u${i}`);
    assert.equal((await alice.fail('conv.delete', { conversationIDs: many, clearMessages: true })).code, ErrorCode.TOO_MANY_CONVERSATIONS);
    const mixed = await alice.ok('conv.delete', { conversationIDs: ['', 'c2c_bob'], clearMessages: true });
    assert.deepEqual(mixed.results.map((r) => r.resultCode), [ErrorCode.INVALID_PARAMETERS, 0]);
  });
});

describe('deletion races', () => {
  test('resending a message after deleting its conversation does not hand the deleted content back', async () => {
    const alice = await login('alice');
    await login('bob');
    await alice.ok('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'once', elem: text('secret') });
    await alice.ok('conv.delete', { conversationIDs: ['c2c_bob'], clearMessages: true });
    const resent = await alice.fail('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'once', elem: text('secret') });
    assert.equal(resent.code, ErrorCode.MESSAGE_DELETED);
    assert.doesNotMatch(resent.desc, /secret/);
  });

  test('undoing a history clear gives the history back and keeps what happened since', async () => {
    await server.domain.apps.updateSettings(app.sdkAppID, { deletionUndoSeconds: 60 });
    const alice = await login('alice');
    const bob = await login('bob');
    await bob.ok('msg.send', { conversationID: 'c2c_alice', clientMsgID: 'b1', elem: text('one') });
    await bob.ok('msg.send', { conversationID: 'c2c_alice', clientMsgID: 'b2', elem: text('two') });
    await alice.ok('conv.clearHistory', { conversationID: 'c2c_bob' });
    for (const k of ['a1', 'a2', 'a3']) await alice.ok('msg.send', { conversationID: 'c2c_bob', clientMsgID: k, elem: text(k) });
    await alice.ok('conv.pin', { conversationID: 'c2c_bob', isPinned: true });
    const undone = await alice.ok('conv.undoDelete', { conversationID: 'c2c_bob' });
    const row = undone.update?.conversations.find((c) => c.conversationID === 'c2c_bob');
    assert.equal(row?.unreadCount, 0, 'her own replies are not unread');
    assert.equal(row?.readSeq, 5);
    assert.equal(row?.isPinned, true, 'the pin set after the clear stays');
    assert.equal(row?.visibleFromSeq, 1, 'the history is back');
    const history = await alice.ok('msg.history', { conversationID: 'c2c_bob', count: 10 });
    assert.deepEqual(history.messages.map((m) => m.elem.type === 'text' ? m.elem.text : ''), ['one', 'two', 'a1', 'a2', 'a3']);
  });
});

describe('retries and rejoins', () => {
  test('a retried deletion with the same requestID never removes messages that arrived after it', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    await bob.ok('msg.send', { conversationID: 'c2c_alice', clientMsgID: 'b1', elem: text('old') });
    await alice.ok('conv.delete', { conversationIDs: ['c2c_bob'], clearMessages: true, requestID: 'req-1' });
    await bob.ok('msg.send', { conversationID: 'c2c_alice', clientMsgID: 'b2', elem: text('new') });
    const retry = await alice.ok('conv.delete', { conversationIDs: ['c2c_bob'], clearMessages: true, requestID: 'req-1' });
    assert.deepEqual(retry.results.map((r) => r.resultCode), [0]);
    assert.equal(retry.update, undefined, 'nothing changed');
    const history = await alice.ok('msg.history', { conversationID: 'c2c_bob', count: 10 });
    assert.deepEqual(history.messages.map((m) => m.elem.type === 'text' ? m.elem.text : ''), ['new']);
    const again = await alice.ok('conv.delete', { conversationIDs: ['c2c_bob'], clearMessages: true, requestID: 'req-2' });
    assert.ok(again.update, 'a new request ID deletes again');
    assert.equal((await alice.fail('conv.delete', { conversationIDs: ['c2c_bob'], clearMessages: true, requestID: 'no spaces' })).code, ErrorCode.INVALID_PARAMETERS);
  });

  test('after leaving and rejoining a group, an earlier deletion can no longer be undone', async () => {
    await server.domain.apps.updateSettings(app.sdkAppID, { deletionUndoSeconds: 600 });
    const owner = await login('owner');
    const bob = await login('bob');
    const { group } = await owner.ok('group.create', { groupType: 'Public', groupName: 'club', memberUserIDs: ['bob'] });
    const conv = `group_${group.groupID}`;
    await owner.ok('msg.send', { conversationID: conv, clientMsgID: 'o1', elem: text('before') });
    await bob.ok('conv.delete', { conversationIDs: [conv], clearMessages: true });
    await bob.ok('group.leave', { groupID: group.groupID });
    await owner.ok('msg.send', { conversationID: conv, clientMsgID: 'o2', elem: text('while bob is away') });
    await bob.ok('group.join', { groupID: group.groupID });
    assert.equal((await bob.fail('conv.undoDelete', { conversationID: conv })).code, ErrorCode.NOTHING_TO_UNDO);
    const history = await bob.ok('msg.history', { conversationID: conv, count: 10 });
    assert.deepEqual(history.messages, []);
  });
});

describe('sessions', () => {
  test('a session ends with a 70001 kick when its UserSig expires', async () => {
    const now = Math.floor(Date.now() / 1000);
    // Long enough to log in on a loaded machine; the 2 s heartbeat then ends the session.
    const shortSig = genUserSig({ sdkAppID: app.sdkAppID, secretKey: app.secretKey, userID: 'alice', expireSeconds: 4, now });
    const alice = await login('alice', 'phone', shortSig);
    const kicked = await alice.nextPush('kicked');
    assert.equal(kicked.code, ErrorCode.USER_SIG_EXPIRED);
    assert.equal((await alice.closed).code, 4001);
  });
});

describe('admin API', () => {
  test('odd input gets a 4xx with a code, never 500', async () => {
    const bad = await fetch(`${server.httpUrl}/admin/api/apps/%E0%A4%A`, { headers: { authorization: 'Bearer x' } });
    assert.ok(bad.status === 400 || bad.status === 401, `status ${bad.status}`);
    const nullToken = `${Buffer.from('null').toString('base64url')}.abc`;
    const res = await fetch(`${server.httpUrl}/admin/api/apps`, { headers: { authorization: `Bearer ${nullToken}` } });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { code: number }).code, ErrorCode.REST_ADMIN_REQUIRED);
  });

  test('the user view says whether a draft or custom data exists, never what it says', async () => {
    const alice = await login('alice');
    await login('bob');
    await alice.ok('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'k', elem: text('hi') });
    await alice.ok('conv.setDraft', { conversationID: 'c2c_bob', draftText: 'my password is hunter2' });
    await alice.ok('conv.setCustomData', { conversationIDs: ['c2c_bob'], customData: 'private note' });
    const login2 = await fetch(`${server.httpUrl}/admin/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ operatorToken: 'op' }) });
    const { token } = (await login2.json()) as { token: string };
    const view = await fetch(`${server.httpUrl}/admin/api/apps/${app.sdkAppID}/users/alice`, { headers: { authorization: `Bearer ${token}` } });
    const body = await view.text();
    assert.equal(view.status, 200);
    assert.doesNotMatch(body, /hunter2|private note|"hi"/);
    const parsed = JSON.parse(body) as { conversations: { hasDraft: boolean; hasCustomData: boolean }[] };
    assert.deepEqual([parsed.conversations[0]?.hasDraft, parsed.conversations[0]?.hasCustomData], [true, true]);
  });
});
