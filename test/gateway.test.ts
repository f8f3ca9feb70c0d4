/**
 * Protocol-level behaviour of the gateway over loopback: a real server on port 0 with a
 * real SQLite file in a temp dir, and raw WebSocket clients sending JSON frames (no SDK).
 * docs/protocol.md is the contract these tests hold the server to.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { genUserSig, startServer, type AppRecord, type ConfabServer } from '@confab/server';
import {
  ErrorCode, GroupType, MAX_FRAME_BYTES, PROTOCOL_VERSION,
  type UserUpdate, type WireConversation, type WireMessage,
} from '@confab/protocol';
import { RawClient } from './helpers/raw-client.js';

let server: ConfabServer;
let dir: string;
let app: AppRecord;
let clients: RawClient[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confab-gateway-'));
  server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent' });
  app = await server.createApp({ name: 'gateway-test' });
});

afterEach(async () => {
  for (const client of clients) await client.close();
  clients = [];
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(): Promise<RawClient> {
  const client = await RawClient.connect(server.wsUrl);
  clients.push(client);
  return client;
}

async function sig(userID: string): Promise<string> {
  return server.genUserSig(app.sdkAppID, userID);
}

async function login(userID: string, deviceID = `dev-${userID}`): Promise<RawClient> {
  const client = await connect();
  await client.login({ sdkAppID: app.sdkAppID, userID, userSig: await sig(userID), deviceID });
  return client;
}

/** Creates accounts by logging each user in once on a throwaway socket. */
async function accounts(...userIDs: string[]): Promise<void> {
  for (const userID of userIDs) {
    const client = await login(userID, `setup-${userID}`);
    await client.close();
  }
}

function text(t: string) {
  return { type: 'text' as const, text: t };
}

async function send(client: RawClient, conversationID: string, clientMsgID: string, body: string) {
  return client.ok('msg.send', { conversationID, clientMsgID, elem: text(body) });
}

function convOf(update: UserUpdate, conversationID: string): WireConversation {
  const found = update.conversations.find((c) => c.conversationID === conversationID);
  assert.ok(found, `update ${update.prevVersion}->${update.version} carries ${conversationID}`);
  return found;
}

function texts(messages: WireMessage[]): string[] {
  return messages.map((m) => (m.elem.type === 'text' ? m.elem.text : `<${m.elem.type}>`));
}

/** A ping round trip: every frame the server sent this socket before it has arrived. */
async function flush(client: RawClient): Promise<void> {
  await client.ok('ping', {});
}

// ---------------------------------------------------------------------------------
describe('login', () => {
  test('a sig from genUserSig logs in and reports version 0', async () => {
    const client = await connect();
    const result = await client.login({ sdkAppID: app.sdkAppID, userID: 'alice', userSig: await sig('alice') });
    assert.equal(result.userID, 'alice');
    assert.equal(result.version, 0);
    assert.equal(result.protocolVersion, PROTOCOL_VERSION);
    assert.deepEqual(result.profile, { userID: 'alice', nickName: '', faceUrl: '', selfSignature: '' });
    assert.equal(typeof result.serverTime, 'number');
    assert.ok((await client.ok('ping', {})).serverTime > 0);
  });

  test('any op before login fails with 6014 and the socket stays open', async () => {
    const client = await connect();
    for (const [op, body] of [
      ['ping', {}], ['msg.send', { conversationID: 'c2c_bob', clientMsgID: 'k', elem: text('x') }], ['conv.sync', { sinceVersion: 0 }], ['logout', {}],
    ] as const) {
      const reply = await client.fail(op, body);
      assert.equal(reply.code, ErrorCode.NOT_LOGGED_IN, `${op} before login`);
    }
    assert.ok(client.isOpen);
    await client.login({ sdkAppID: app.sdkAppID, userID: 'alice', userSig: await sig('alice') });
    await client.ok('ping', {});
  });

  test('unknown SDKAppID fails with 70020', async () => {
    const client = await connect();
    const reply = await client.fail('login', {
      sdkAppID: app.sdkAppID + 1, userID: 'alice', userSig: await sig('alice'), deviceID: 'd', protocolVersion: PROTOCOL_VERSION,
    });
    assert.equal(reply.code, ErrorCode.SDKAPPID_NOT_FOUND);
    assert.ok(client.isOpen);
  });

  test('an expired UserSig fails with 70001', async () => {
    const client = await connect();
    const nowSeconds = Math.floor(Date.now() / 1000);
    const expired = genUserSig({ sdkAppID: app.sdkAppID, secretKey: app.secretKey, userID: 'alice', now: nowSeconds - 3600, expireSeconds: 60 });
    const reply = await client.fail('login', { sdkAppID: app.sdkAppID, userID: 'alice', userSig: expired, deviceID: 'd', protocolVersion: 1 });
    assert.equal(reply.code, ErrorCode.USER_SIG_EXPIRED);
    // The same key with a current issue time is fine: it was the expiry that failed.
    const fresh = genUserSig({ sdkAppID: app.sdkAppID, secretKey: app.secretKey, userID: 'alice', expireSeconds: 60 });
    assert.equal((await client.login({ sdkAppID: app.sdkAppID, userID: 'alice', userSig: fresh })).userID, 'alice');
  });

  test('a sig for another user fails with 70013; the socket stays open for another try', async () => {
    const client = await connect();
    const reply = await client.fail('login', { sdkAppID: app.sdkAppID, userID: 'alice', userSig: await sig('mallory'), deviceID: 'd', protocolVersion: 1 });
    assert.equal(reply.code, ErrorCode.USER_SIG_IDENTIFIER_MISMATCH);
    assert.equal((await client.fail('ping', {})).code, ErrorCode.NOT_LOGGED_IN, 'the failed login did not log anyone in');
    assert.equal((await client.login({ sdkAppID: app.sdkAppID, userID: 'alice', userSig: await sig('alice') })).userID, 'alice');
  });

  test('a forged sig (wrong key) fails with 70009', async () => {
    const client = await connect();
    const forged = genUserSig({ sdkAppID: app.sdkAppID, secretKey: `${app.secretKey}x`, userID: 'alice' });
    const reply = await client.fail('login', { sdkAppID: app.sdkAppID, userID: 'alice', userSig: forged, deviceID: 'd', protocolVersion: 1 });
    assert.equal(reply.code, ErrorCode.USER_SIG_KEY_MISMATCH);
  });

  test('a second login on a logged-in socket fails with 7501', async () => {
    const client = await login('alice');
    const reply = await client.fail('login', { sdkAppID: app.sdkAppID, userID: 'bob', userSig: await sig('bob'), deviceID: 'd2', protocolVersion: 1 });
    assert.equal(reply.code, ErrorCode.LOGIN_IN_PROCESS);
  });

  test('two logins sent back to back on one socket: only one succeeds, the other gets 7501', async () => {
    const client = await connect();
    const first = client.send('login', { sdkAppID: app.sdkAppID, userID: 'alice', userSig: await sig('alice'), deviceID: 'd', protocolVersion: 1 });
    const second = client.send('login', { sdkAppID: app.sdkAppID, userID: 'bob', userSig: await sig('bob'), deviceID: 'd', protocolVersion: 1 });
    const replies = [await client.reply(first), await client.reply(second)];
    assert.equal(replies.filter((r) => r.ok).length, 1,
      `one socket must not log in as two users; replies: ${JSON.stringify(replies.map((r) => (r.ok ? 'ok' : r.code)))}`);
    const failed = replies.find((r) => !r.ok);
    assert.equal(failed && !failed.ok ? failed.code : undefined, ErrorCode.LOGIN_IN_PROCESS);
  });

  test('a second login with the same deviceID kicks the first socket with 6208', async () => {
    const first = await login('alice', 'phone');
    const second = await login('alice', 'phone');
    const kicked = await first.nextPush('kicked');
    assert.equal(kicked.code, ErrorCode.KICKED_OFF_BY_OTHER);
    await first.closed;
    assert.equal(first.isOpen, false);

    await second.ok('ping', {});
    const bob = await login('bob');
    await send(bob, 'c2c_alice', 'k1', 'for the new socket');
    const update = await second.nextPush('update');
    assert.deepEqual(texts(update.messages), ['for the new socket']);
  });

  test('a login with a different deviceID keeps both sockets', async () => {
    const phone = await login('alice', 'phone');
    const laptop = await login('alice', 'laptop');
    await phone.ok('ping', {});
    await laptop.ok('ping', {});
    assert.deepEqual(phone.pushesSeen('kicked'), []);
    assert.deepEqual(laptop.pushesSeen('kicked'), []);
    assert.ok(phone.isOpen && laptop.isOpen);

    // The same login of another user with the phone's device ID does not touch alice.
    await login('bob', 'phone');
    await flush(phone);
    assert.deepEqual(phone.pushesSeen('kicked'), []);
  });
});

// ---------------------------------------------------------------------------------
describe('frames', () => {
  test('a frame that is not JSON gets 6027 with id 0 and the socket stays open', async () => {
    const client = await connect();
    client.sendRaw('{"id": 1, "op": "ping"');
    const reply = await client.reply(0);
    assert.equal(reply.ok, false);
    assert.equal(!reply.ok && reply.code, ErrorCode.INVALID_JSON);
    client.sendRaw('hello');
    assert.equal(!(await client.reply(0)).ok, true);
    assert.ok(client.isOpen);
    assert.equal((await client.fail('ping', {})).code, ErrorCode.NOT_LOGGED_IN, 'the socket still answers');
  });

  test('malformed envelopes get 6017 with a desc naming the problem', async () => {
    const client = await login('alice');
    const cases: { frame: unknown; id: number; desc: RegExp }[] = [
      { frame: [1, 'ping', {}], id: 0, desc: /object/ },
      { frame: 'ping', id: 0, desc: /object/ },
      { frame: null, id: 0, desc: /object/ },
      { frame: { op: 'ping', body: {} }, id: 0, desc: /id/ },
      { frame: { id: -1, op: 'ping', body: {} }, id: 0, desc: /id/ },
      { frame: { id: 'seven', op: 'ping', body: {} }, id: 0, desc: /id/ },
      { frame: { id: 41, op: 'msg.fly', body: {} }, id: 41, desc: /unknown op.*msg\.fly/ },
    ];
    for (const c of cases) {
      client.sendJSON(c.frame);
      const reply = await client.reply(c.id);
      assert.equal(reply.ok, false, JSON.stringify(c.frame));
      if (reply.ok) continue;
      assert.equal(reply.code, ErrorCode.INVALID_PARAMETERS, JSON.stringify(c.frame));
      assert.match(reply.desc, c.desc, `desc for ${JSON.stringify(c.frame)}`);
    }
    assert.ok(client.isOpen);
    await client.ok('ping', {});
  });

  test('a body that fails its schema gets 6017 naming the field', async () => {
    const client = await connect();
    const badLogin = await client.fail('login', { sdkAppID: 'one', userID: 'alice', userSig: 'x', deviceID: 'd', protocolVersion: 1 });
    assert.equal(badLogin.code, ErrorCode.INVALID_PARAMETERS);
    assert.match(badLogin.desc, /body\.sdkAppID/);

    await client.login({ sdkAppID: app.sdkAppID, userID: 'alice', userSig: await sig('alice') });
    const cases: [string, unknown, RegExp][] = [
      ['conv.sync', { sinceVersion: -1 }, /body\.sinceVersion/],
      ['conv.sync', {}, /body\.sinceVersion/],
      ['msg.send', { conversationID: 'c2c_bob', clientMsgID: 'k1' }, /body\.elem/],
      ['msg.send', { conversationID: 'c2c_bob', clientMsgID: 'k1', elem: { type: 'text', text: '' } }, /body\.elem\.text/],
      ['msg.send', { conversationID: 'c2c_bob', clientMsgID: 'k1', elem: { type: 'image', url: 'x' } }, /body\.elem/],
      ['conv.pin', { conversationID: 'c2c_bob', isPinned: 'yes' }, /body\.isPinned/],
      ['msg.history', { conversationID: 'c2c_bob', count: 1000 }, /body\.count/],
    ];
    for (const [op, body, desc] of cases) {
      const reply = await client.fail(op, body);
      assert.equal(reply.code, ErrorCode.INVALID_PARAMETERS, `${op} ${JSON.stringify(body)}`);
      assert.match(reply.desc, desc, `${op} ${JSON.stringify(body)}`);
    }
    // A frame whose body is not an object.
    client.sendJSON({ id: client.nextID(), op: 'ping', body: [] });
    const reply = await client.nextError();
    assert.equal(reply.code, ErrorCode.INVALID_PARAMETERS);
    assert.match(reply.desc, /body/);
    await client.ok('ping', {});
  });

  test('op names inherited from Object.prototype are unknown ops (6017), not server errors', async () => {
    const client = await login('alice');
    for (const op of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      const reply = await client.fail(op, {});
      assert.equal(reply.code, ErrorCode.INVALID_PARAMETERS, `op ${op}: got ${reply.code} ${reply.desc}`);
      assert.match(reply.desc, /unknown op/);
    }
  });

  test('a frame with a readable id but no op is answered with its own id', async () => {
    // docs/protocol.md: answered with `id: 0` (or its own id when readable).
    const client = await login('alice');
    client.sendJSON({ id: 77, body: {} });
    const reply = await client.nextError();
    assert.equal(reply.code, ErrorCode.INVALID_PARAMETERS);
    assert.match(reply.desc, /op/);
    assert.equal(reply.id, 77);
  });

  test('a frame of exactly 1 MiB is accepted', async () => {
    const client = await connect();
    const head = `{"id":5,"op":"ping","body":{},"pad":"`;
    const tail = `"}`;
    const frame = head + 'x'.repeat(MAX_FRAME_BYTES - head.length - tail.length) + tail;
    assert.equal(Buffer.byteLength(frame), MAX_FRAME_BYTES);
    client.sendRaw(frame);
    const reply = await client.reply(5);
    assert.equal(!reply.ok && reply.code, ErrorCode.NOT_LOGGED_IN, 'the frame was read and answered');
    assert.ok(client.isOpen);
  });

  test('a frame over 1 MiB closes the socket with status 1009', async () => {
    const client = await login('alice');
    client.sendRaw(JSON.stringify({ id: 9, op: 'ping', body: {}, pad: 'x'.repeat(MAX_FRAME_BYTES) }));
    const closed = await client.closed;
    assert.equal(closed.code, 1009);
    assert.equal(client.isOpen, false);
  });

  test('a frame over 1 MiB is answered with 9522 before the socket closes', async () => {
    // docs/protocol.md: "closes the connection with WebSocket status 1009 after an error reply 9522".
    const client = await login('alice');
    client.sendRaw(JSON.stringify({ id: 9, op: 'ping', body: {}, pad: 'x'.repeat(MAX_FRAME_BYTES) }));
    await client.closed;
    const replies = client.frames.filter((f) => 'ok' in f && !f.ok);
    assert.deepEqual(replies.map((f) => ('code' in f ? f.code : undefined)), [ErrorCode.PACKET_TOO_LARGE]);
  });
});

// ---------------------------------------------------------------------------------
describe('messages', () => {
  test('msg.send to a user with no account fails with 20003 and stores nothing', async () => {
    const alice = await login('alice');
    const reply = await alice.fail('msg.send', { conversationID: 'c2c_ghost', clientMsgID: 'k1', elem: text('anyone?') });
    assert.equal(reply.code, ErrorCode.UNKNOWN_RECEIVER);

    const sync = await alice.ok('conv.sync', { sinceVersion: 0 });
    assert.deepEqual(sync.conversations, []);
    assert.equal(sync.version, 0);
    assert.deepEqual(await server.domain.storage.messages.range(app.sdkAppID, 'c2c:alice|ghost', 1, 100, 100, 'asc'), []);
    // The user appears later: nothing of the failed send is there.
    const ghost = await login('ghost');
    assert.deepEqual((await ghost.ok('conv.sync', { sinceVersion: 0 })).conversations, []);
    assert.deepEqual((await ghost.ok('msg.history', { conversationID: 'c2c_alice' })).messages, []);
    // And the clientMsgID is still free.
    const sent = await send(alice, 'c2c_ghost', 'k1', 'now you exist');
    assert.equal(sent.message.seq, 1);
  });

  test('msg.send to a group you are not in fails with 10007; to a missing group with 10010', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const { group } = await alice.ok('group.create', { groupType: GroupType.PUBLIC, groupName: 'club' });
    const reply = await bob.fail('msg.send', { conversationID: `group_${group.groupID}`, clientMsgID: 'k1', elem: text('let me in') });
    assert.equal(reply.code, ErrorCode.GROUP_PERMISSION_DENIED);
    const missing = await bob.fail('msg.send', { conversationID: 'group_nope', clientMsgID: 'k2', elem: text('?') });
    assert.equal(missing.code, ErrorCode.GROUP_NOT_FOUND);
    assert.deepEqual((await alice.ok('msg.history', { conversationID: `group_${group.groupID}` })).messages, []);
  });

  test('a message body over 12 KiB fails with 80002; one at the limit is accepted', async () => {
    await accounts('bob');
    const alice = await login('alice');
    const overhead = JSON.stringify(text('')).length;
    const limit = 12 * 1024;
    const tooBig = await alice.fail('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'big', elem: text('x'.repeat(limit - overhead + 1)) });
    assert.equal(tooBig.code, ErrorCode.SERVER_MESSAGE_TOO_LARGE);
    assert.equal((await alice.ok('conv.sync', { sinceVersion: 0 })).version, 0, 'nothing was written');

    const atLimit = await alice.ok('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'max', elem: text('x'.repeat(limit - overhead)) });
    assert.equal(atLimit.message.seq, 1);
    // Multi-byte text counts in bytes, not characters.
    const wide = await alice.fail('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'wide', elem: text('é'.repeat(Math.ceil(limit / 2))) });
    assert.equal(wide.code, ErrorCode.SERVER_MESSAGE_TOO_LARGE);
  });

  test('the same clientMsgID twice returns the same message and stores it once', async () => {
    const bob = await login('bob');
    const alice = await login('alice');
    const first = await send(alice, 'c2c_bob', 'k1', 'hello');
    const again = await send(alice, 'c2c_bob', 'k1', 'hello (retry)');
    assert.equal(again.message.msgID, first.message.msgID);
    assert.equal(again.message.seq, first.message.seq);
    assert.deepEqual(again.message, first.message, 'the stored message, not the retry\'s text');
    assert.ok(first.update, 'the first send changed state');
    assert.equal(again.update, undefined, 'the retry changed nothing');

    // Two sends of one key in flight at once.
    const a = alice.send('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'k2', elem: text('twice') });
    const b = alice.send('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'k2', elem: text('twice') });
    const [ra, rb] = [await alice.reply(a), await alice.reply(b)];
    assert.ok(ra.ok && rb.ok);
    const ma = (ra.body as { message: WireMessage }).message;
    const mb = (rb.body as { message: WireMessage }).message;
    assert.deepEqual(ma, mb);
    assert.equal(ma.seq, 2);

    const third = await send(alice, 'c2c_bob', 'k3', 'next');
    assert.equal(third.message.seq, 3, 'no seq was consumed by the duplicates');
    const history = await bob.ok('msg.history', { conversationID: 'c2c_alice' });
    assert.deepEqual(texts(history.messages), ['hello', 'twice', 'next']);
    await flush(bob);
    assert.equal(bob.pushesSeen('update').length, 3, 'bob got one update per stored message');
    assert.equal((await bob.ok('conv.sync', { sinceVersion: 0 })).conversations[0]?.unreadCount, 3);
  });

  test('the receiver gets an update push stepping the version by one, and conv.sync returns the same row', async () => {
    const bob = await login('bob');
    const alice = await login('alice');

    const sent = await send(alice, 'c2c_bob', 'k1', 'hi bob');
    assert.equal(sent.message.conversationID, 'c2c_bob');
    assert.equal(sent.message.sender, 'alice');
    assert.equal(sent.message.receiver, 'bob');
    assert.ok(sent.update);
    assert.deepEqual([sent.update.prevVersion, sent.update.version], [0, 1]);
    assert.equal(convOf(sent.update, 'c2c_bob').unreadCount, 0, 'the sender has no unread');
    assert.deepEqual(sent.update.messages, [], 'the reply leaves the sent message out of its update: it is `message`');
    await flush(alice);
    assert.deepEqual(alice.pushesSeen('update'), [], 'the sending session gets its update in the reply, not as a push');

    const first = await bob.nextPush('update');
    assert.deepEqual([first.prevVersion, first.version], [0, 1]);
    const row1 = convOf(first, 'c2c_alice');
    assert.equal(row1.unreadCount, 1);
    assert.equal(row1.type, 1);
    assert.equal(row1.userID, 'alice');
    assert.equal(row1.lastSeq, 1);
    assert.equal(row1.version, 1);
    assert.equal(row1.deleted, false);
    assert.equal(first.messages.length, 1);
    const received = first.messages[0]!;
    assert.equal(received.msgID, sent.message.msgID);
    assert.equal(received.conversationID, 'c2c_alice', 'the receiver sees the conversation from its side');
    assert.deepEqual(received.elem, text('hi bob'));
    assert.deepEqual(row1.lastMessage, received);

    await send(alice, 'c2c_bob', 'k2', 'again');
    const second = await bob.nextPush('update');
    assert.deepEqual([second.prevVersion, second.version], [1, 2]);
    const row2 = convOf(second, 'c2c_alice');
    assert.equal(row2.unreadCount, 2);

    const sync = await bob.ok('conv.sync', { sinceVersion: 0 });
    assert.deepEqual(sync.conversations, [row2], 'conv.sync returns the row as last pushed');
    assert.equal(sync.version, 2);
    assert.equal(sync.isFinished, true);
    const since1 = await bob.ok('conv.sync', { sinceVersion: 1 });
    assert.deepEqual(since1.conversations, [row2]);
    const since2 = await bob.ok('conv.sync', { sinceVersion: 2 });
    assert.deepEqual(since2, { conversations: [], version: 2, isFinished: true });

    // A new session of bob starts at the current version.
    const relogin = await connect();
    assert.equal((await relogin.login({ sdkAppID: app.sdkAppID, userID: 'bob', userSig: await sig('bob'), deviceID: 'bob-pc' })).version, 2);
  });

  test('conv.sync pages with count and isFinished, never losing a row', async () => {
    await accounts('p1', 'p2', 'p3', 'p4', 'p5');
    const alice = await login('alice');
    for (const p of ['p1', 'p2', 'p3', 'p4', 'p5']) await send(alice, `c2c_${p}`, 'k', `to ${p}`);
    let since = 0;
    const seen: string[] = [];
    let pages = 0;
    for (;;) {
      const page = await alice.ok('conv.sync', { sinceVersion: since, count: 2 });
      pages++;
      seen.push(...page.conversations.map((c) => c.conversationID));
      assert.ok(page.version > since || page.isFinished);
      since = page.version;
      if (page.isFinished) break;
      assert.ok(pages < 10);
    }
    assert.equal(since, 5);
    assert.equal(pages, 3);
    assert.deepEqual(seen.sort(), ['c2c_p1', 'c2c_p2', 'c2c_p3', 'c2c_p4', 'c2c_p5']);
  });

  test('msg.history pages backwards with beforeSeq and forwards with afterSeq, ascending, with isFinished', async () => {
    const bob = await login('bob');
    const alice = await login('alice');
    for (let i = 1; i <= 7; i++) await send(i % 3 ? alice : bob, i % 3 ? 'c2c_bob' : 'c2c_alice', `k${i}`, `m${i}`);

    const page = async (req: { beforeSeq?: number; afterSeq?: number; count?: number }) => {
      const res = await bob.ok('msg.history', { conversationID: 'c2c_alice', ...req });
      return [res.messages.map((m) => m.seq), res.isFinished] as const;
    };
    assert.deepEqual(await page({ count: 3 }), [[5, 6, 7], false], 'newest page first');
    assert.deepEqual(await page({ beforeSeq: 5, count: 3 }), [[2, 3, 4], false]);
    assert.deepEqual(await page({ beforeSeq: 2, count: 3 }), [[1], true]);
    assert.deepEqual(await page({ beforeSeq: 4, count: 3 }), [[1, 2, 3], true], 'a page ending at seq 1 is the last');
    assert.deepEqual(await page({ beforeSeq: 1, count: 3 }), [[], true]);
    assert.deepEqual(await page({ count: 20 }), [[1, 2, 3, 4, 5, 6, 7], true]);
    assert.deepEqual(await page({ afterSeq: 0, count: 3 }), [[1, 2, 3], false]);
    assert.deepEqual(await page({ afterSeq: 3, count: 3 }), [[4, 5, 6], false]);
    assert.deepEqual(await page({ afterSeq: 4, count: 3 }), [[5, 6, 7], true], 'a page ending at the last seq is the last');
    assert.deepEqual(await page({ afterSeq: 6, count: 3 }), [[7], true]);
    assert.deepEqual(await page({ afterSeq: 7, count: 3 }), [[], true]);

    const full = await bob.ok('msg.history', { conversationID: 'c2c_alice', count: 20 });
    assert.deepEqual(texts(full.messages), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    assert.deepEqual(full.messages.map((m) => m.sender), ['alice', 'alice', 'bob', 'alice', 'alice', 'bob', 'alice']);
    for (const m of full.messages) assert.equal(m.conversationID, 'c2c_alice');
    const fromAlice = await alice.ok('msg.history', { conversationID: 'c2c_bob', count: 20 });
    assert.deepEqual(fromAlice.messages.map((m) => m.msgID), full.messages.map((m) => m.msgID), 'both sides share one sequence');
    assert.deepEqual((await alice.ok('msg.history', { conversationID: 'c2c_nobody' })), { messages: [], isFinished: true });
  });
});

// ---------------------------------------------------------------------------------
describe('groups', () => {
  test('members receive messages; a late joiner sees only what follows the join; a leaver keeps history but cannot send', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const carol = await login('carol');

    const created = await alice.ok('group.create', { groupType: GroupType.PUBLIC, groupName: 'club', memberUserIDs: ['bob'] });
    const groupID = created.group.groupID;
    const conv = `group_${groupID}`;
    assert.equal(created.group.memberCount, 2);
    assert.equal(created.group.owner, 'alice');
    assert.ok(created.update);
    assert.equal(convOf(created.update, conv).groupID, groupID);
    const bobJoined = await bob.nextPush('update');
    assert.equal(convOf(bobJoined, conv).type, 2);
    assert.deepEqual(await bob.nextPush('group.event'), { groupID, event: 'joined', userIDs: ['bob'] });

    await send(alice, conv, 'g1', 'one');
    const bobUpdate = await bob.nextPush('update', (u) => u.messages.length > 0);
    assert.deepEqual(texts(bobUpdate.messages), ['one']);
    assert.equal(bobUpdate.messages[0]?.groupID, groupID);
    assert.equal(bobUpdate.messages[0]?.conversationID, conv);
    assert.equal(convOf(bobUpdate, conv).unreadCount, 1);
    assert.equal(bobUpdate.prevVersion, bobJoined.version);

    const joined = await carol.ok('group.join', { groupID });
    assert.equal(joined.group.memberCount, 3);
    assert.ok(joined.update);
    const carolRow = convOf(joined.update, conv);
    assert.equal(carolRow.unreadCount, 0);
    assert.equal(carolRow.lastMessage, null, 'nothing from before the join');
    assert.deepEqual(await carol.ok('msg.history', { conversationID: conv }), { messages: [], isFinished: true });

    await send(bob, conv, 'g2', 'two');
    const carolUpdate = await carol.nextPush('update', (u) => u.messages.length > 0);
    assert.deepEqual(texts(carolUpdate.messages), ['two']);
    assert.deepEqual(texts((await carol.ok('msg.history', { conversationID: conv })).messages), ['two']);
    assert.deepEqual(texts((await carol.ok('msg.history', { conversationID: conv, afterSeq: 0 })).messages), ['two']);
    assert.deepEqual(texts((await carol.ok('msg.history', { conversationID: conv, beforeSeq: 2 })).messages), []);

    await bob.ok('group.leave', { groupID });
    await send(alice, conv, 'g3', 'three');
    await send(carol, conv, 'g4', 'four');

    const bobHistory = await bob.ok('msg.history', { conversationID: conv });
    assert.deepEqual(texts(bobHistory.messages), ['one', 'two'], 'the former member reads up to the leave');
    assert.deepEqual(texts((await bob.ok('msg.history', { conversationID: conv, afterSeq: 2 })).messages), []);
    const bobRows = (await bob.ok('conv.sync', { sinceVersion: 0 })).conversations;
    const bobRow = bobRows.find((c) => c.conversationID === conv);
    assert.ok(bobRow, 'the conversation row is still there');
    assert.equal(bobRow.deleted, false);
    assert.equal(bobRow.lastSeq, 2);
    assert.deepEqual(bobRow.lastMessage && texts([bobRow.lastMessage]), ['two']);
    assert.equal(bob.pushesSeen('update').some((u) => u.messages.some((m) => m.seq > 2)), false, 'no pushes after leaving');
    const denied = await bob.fail('msg.send', { conversationID: conv, clientMsgID: 'g5', elem: text('still here?') });
    assert.equal(denied.code, ErrorCode.GROUP_PERMISSION_DENIED);

    assert.deepEqual(texts((await carol.ok('msg.history', { conversationID: conv })).messages), ['two', 'three', 'four']);
    assert.deepEqual(texts((await alice.ok('msg.history', { conversationID: conv })).messages), ['one', 'two', 'three', 'four']);
  });

  test('a former member who rejoins starts again like a new member and never sees the gap', async () => {
    // docs/protocol.md: "New group members see messages from their join onwards; former
    // members keep what was sent while they were members. A member who leaves and rejoins
    // starts again from the rejoin, like a new member."
    const alice = await login('alice');
    const bob = await login('bob');
    const { group } = await alice.ok('group.create', { groupType: GroupType.PUBLIC, groupName: 'club', memberUserIDs: ['bob'] });
    const conv = `group_${group.groupID}`;
    await send(alice, conv, 'k1', 'while bob is in');
    await bob.ok('group.leave', { groupID: group.groupID });
    await send(alice, conv, 'k2', 'while bob is away');
    assert.deepEqual(texts((await bob.ok('msg.history', { conversationID: conv })).messages), ['while bob is in']);

    await bob.ok('group.join', { groupID: group.groupID });
    await send(alice, conv, 'k3', 'after bob is back');
    const history = texts((await bob.ok('msg.history', { conversationID: conv, count: 20 })).messages);
    assert.equal(history.includes('while bob is away'), false, 'nothing from the gap');
    assert.deepEqual(history, ['after bob is back']);
  });

  test('after a dismissal the conversation and history stay, and sending fails with 10010', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const { group } = await alice.ok('group.create', { groupType: GroupType.WORK, groupName: 'team', memberUserIDs: ['bob'] });
    const conv = `group_${group.groupID}`;
    await send(alice, conv, 'k1', 'before');
    await alice.ok('group.dismiss', { groupID: group.groupID });
    assert.deepEqual(await bob.nextPush('group.event', (e) => e.event === 'dismissed'), { groupID: group.groupID, event: 'dismissed', userIDs: [], opUser: 'alice' }, 'the push names who dismissed it');
    assert.deepEqual(texts((await bob.ok('msg.history', { conversationID: conv })).messages), ['before']);
    const row = (await bob.ok('conv.sync', { sinceVersion: 0 })).conversations.find((c) => c.conversationID === conv);
    assert.equal(row?.deleted, false);
    assert.equal((await bob.fail('msg.send', { conversationID: conv, clientMsgID: 'k2', elem: text('x') })).code, ErrorCode.GROUP_NOT_FOUND);
    assert.deepEqual((await bob.ok('group.joinedList', {})).groups, []);
  });
});

// ---------------------------------------------------------------------------------
describe('friends', () => {
  test('deleting a friend leaves the C2C conversation and its history on both sides', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const added = await alice.ok('friend.add', { userID: 'bob', remark: 'Bobby' });
    assert.equal(added.friend!.userID, 'bob');
    assert.equal(added.friend!.friendRemark, 'Bobby');
    assert.deepEqual((await bob.ok('friend.list', {})).friends.map((f) => f.userID), ['alice'], 'friendship is mutual');
    await send(alice, 'c2c_bob', 'a1', 'hi');
    await send(bob, 'c2c_alice', 'b1', 'hello');

    const removed = await alice.ok('friend.delete', { userIDs: ['bob'] });
    assert.deepEqual(removed.results, [{ id: 'bob', resultCode: 0, resultInfo: '' }]);
    assert.deepEqual(await bob.nextPush('friend.event', (e) => e.event === 'deleted'), { event: 'deleted', userIDs: ['alice'] });
    assert.deepEqual((await alice.ok('friend.list', {})).friends, []);
    assert.deepEqual((await bob.ok('friend.list', {})).friends, []);
    const again = await alice.ok('friend.delete', { userIDs: ['bob'] });
    assert.equal(again.results[0]?.resultCode, ErrorCode.NOT_FRIENDS);

    for (const [client, conv] of [[alice, 'c2c_bob'], [bob, 'c2c_alice']] as const) {
      const rows = (await client.ok('conv.sync', { sinceVersion: 0 })).conversations;
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.conversationID, conv);
      assert.equal(rows[0]?.deleted, false);
      assert.equal(rows[0]?.lastSeq, 2);
      assert.deepEqual(texts((await client.ok('msg.history', { conversationID: conv })).messages), ['hi', 'hello']);
    }
  });
});

// ---------------------------------------------------------------------------------
describe('multi-device', () => {
  test('markRead, pin and draft reach every other session of the user; the asking session gets it in the reply', async () => {
    const phone = await login('alice', 'phone');
    const laptop = await login('alice', 'laptop');
    const bob = await login('bob');
    await send(bob, 'c2c_alice', 'b1', 'one');
    await send(bob, 'c2c_alice', 'b2', 'two');
    for (const device of [phone, laptop]) {
      assert.deepEqual((await device.nextPush('update')).version, 1);
      const second = await device.nextPush('update');
      assert.deepEqual([second.prevVersion, second.version], [1, 2]);
      assert.equal(convOf(second, 'c2c_bob').unreadCount, 2);
    }

    const read = await phone.ok('conv.markRead', { conversationID: 'c2c_bob' });
    assert.ok(read.update);
    assert.deepEqual([read.update.prevVersion, read.update.version], [2, 3]);
    assert.equal(convOf(read.update, 'c2c_bob').unreadCount, 0);
    assert.equal(convOf(read.update, 'c2c_bob').readSeq, 2);
    assert.deepEqual(await laptop.nextPush('update'), read.update, 'the other device gets the read mark');

    const pinned = await laptop.ok('conv.pin', { conversationID: 'c2c_bob', isPinned: true });
    assert.ok(pinned.update);
    assert.deepEqual([pinned.update.prevVersion, pinned.update.version], [3, 4]);
    assert.equal(convOf(pinned.update, 'c2c_bob').isPinned, true);
    assert.deepEqual(await phone.nextPush('update'), pinned.update);

    const drafted = await phone.ok('conv.setDraft', { conversationID: 'c2c_bob', draftText: 'typing…' });
    assert.ok(drafted.update);
    assert.deepEqual([drafted.update.prevVersion, drafted.update.version], [4, 5]);
    assert.equal(convOf(drafted.update, 'c2c_bob').draftText, 'typing…');
    assert.deepEqual(await laptop.nextPush('update'), drafted.update);
    // The device that asked got each update in its reply, never as a push as well.
    await flush(phone);
    assert.deepEqual(phone.pushesSeen('update').map((u) => u.version), [1, 2, 4]);
    await flush(laptop);
    assert.deepEqual(laptop.pushesSeen('update').map((u) => u.version), [1, 2, 3, 5]);

    // Bob's own sends came back in his replies, not as pushes; the read reached him as
    // his read receipt (the peer's read point on his row), and the pin and draft did not.
    await flush(bob);
    const bobPushes = bob.pushesSeen('update');
    assert.equal(bobPushes.length, 1);
    assert.equal(convOf(bobPushes[0]!, 'c2c_alice').peerReadSeq, 2);
    const laptopView = (await laptop.ok('conv.sync', { sinceVersion: 0 })).conversations;
    assert.deepEqual(laptopView, [convOf(drafted.update, 'c2c_bob')]);
    assert.equal(laptopView[0]?.isPinned, true);
    assert.equal(laptopView[0]?.unreadCount, 0);
  });
});
