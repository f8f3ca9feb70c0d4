/**
 * The gateway's abuse limits over loopback (docs/protocol.md, "Limits"): a real server
 * with small limits where a test exercises the rule, and raw sockets that misbehave.
 * Waits are on events (a close, a reply, the node's session count), never on time.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { CloseCode, startServer, type AppRecord, type ConfabServer, type GatewayLimits } from '@confab/server';
import { ErrorCode, MAX_FRAME_BYTES, type ReplyFrame } from '@confab/protocol';
import { RawClient } from './helpers/raw-client.js';
import { waitFor } from './helpers/sdk-harness.js';

let server: ConfabServer | undefined;
let dir: string | undefined;
let app: AppRecord;
const clients: RawClient[] = [];

async function start(limits: Partial<GatewayLimits> = {}): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'confab-limits-'));
  server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent', purge: false, limits });
  app = await server.createApp({ name: 'limits' });
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await server?.close();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function connect(): Promise<RawClient> {
  const client = await RawClient.connect(server!.wsUrl);
  clients.push(client);
  return client;
}

async function login(userID: string, deviceID = `dev-${userID}`): Promise<RawClient> {
  const client = await connect();
  await client.login({ sdkAppID: app.sdkAppID, userID, userSig: await server!.genUserSig(app.sdkAppID, userID), deviceID });
  return client;
}

async function sessionsOnNode(): Promise<number> {
  const res = await fetch(`${server!.httpUrl}/healthz`);
  return ((await res.json()) as { sessions: number }).sessions;
}

/** The TCP socket under a ws client: pausing it stops reading, so the server's output piles up. */
function tcpOf(client: RawClient): { pause(): void; resume(): void } {
  return (client.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
}

describe('output budget', () => {
  test('a client that sends without reading is disconnected (4002) while another keeps getting answers', async () => {
    const budget = 64 * 1024;
    await start({ outputBudgetBytes: budget, userRequestBurst: 1e9, userRequestsPerSecond: 1e9 });
    const flooder = await login('mallory');
    const polite = await login('alice');
    assert.equal(await sessionsOnNode(), 2);
    tcpOf(flooder).pause();
    // Pings until the node has dropped the flooder: first the kernel's socket buffers fill
    // (their size depends on the machine), then the budget, then the close. Each round the
    // other client must still be answered.
    let rounds = 0;
    let sent = 0;
    while (await sessionsOnNode() === 2) {
      assert.ok(rounds++ < 100, `the flooder was not disconnected after ${sent} pings`);
      for (let i = 0; i < 2000; i++) flooder.send('ping', {});
      sent += 2000;
      assert.ok((await polite.ok('ping', {})).serverTime > 0);
    }
    assert.ok((await polite.ok('ping', {})).serverTime > 0, 'the other client is still served');
    // Reading again, the flooder gets what was buffered, then the close with its reason.
    tcpOf(flooder).resume();
    const closed = await flooder.closed;
    assert.equal(closed.code, CloseCode.OUTPUT_BUDGET);
    assert.ok(flooder.frames.length < sent, `${flooder.frames.length} of ${sent} pings were answered before the close`);
  });
});

describe('frames', () => {
  test('a NUL nested half a million arrays deep is refused with 6017 like any other; the socket stays usable', async () => {
    await start();
    const client = await login('alice');
    const depth = 500_000;
    client.sendRaw(`{"id":3,"op":"ping","body":{"a":${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}}}`);
    const reply = await client.reply(3);
    assert.equal(!reply.ok && reply.code, ErrorCode.INVALID_PARAMETERS);
    // The same depth without a NUL is an ordinary ping (unknown keys are ignored).
    client.sendRaw(`{"id":4,"op":"ping","body":{"a":${'['.repeat(depth)}"x"${']'.repeat(depth)}}}`);
    assert.equal((await client.reply(4)).ok, true);
  });

  test('a frame between 1 MiB and the ceiling is answered with 9522, then closed with 1009', async () => {
    await start();
    const client = await login('alice');
    const seen = client.frames.length;
    client.sendRaw(JSON.stringify({ id: 9, op: 'ping', body: {}, pad: 'x'.repeat(MAX_FRAME_BYTES * 1.5) }));
    const closed = await client.closed;
    assert.equal(closed.code, 1009);
    assert.deepEqual(client.frames.slice(seen), [{ id: 0, ok: false, code: ErrorCode.PACKET_TOO_LARGE, desc: `frames are limited to ${MAX_FRAME_BYTES} bytes` }]);
  });

  test('a frame over the ceiling (2 MiB by default) is cut off by ws: 1009, no reply', async () => {
    await start();
    const client = await login('alice');
    const seen = client.frames.length;
    client.sendRaw(JSON.stringify({ id: 9, op: 'ping', body: {}, pad: 'x'.repeat(2 * MAX_FRAME_BYTES) }));
    const closed = await client.closed;
    assert.equal(closed.code, 1009);
    assert.deepEqual(client.frames.slice(seen), []);
  });
});

describe('before login', () => {
  test('a socket that does not log in within the deadline is closed with 4003; one that logged in stays', async () => {
    await start({ loginTimeoutMs: 1000 });
    const member = await login('alice');
    // Opened after the member's socket, so when its deadline fires the member's has passed too.
    const idle = await connect();
    const closed = await idle.closed;
    assert.equal(closed.code, CloseCode.LOGIN_TIMEOUT);
    assert.ok(member.isOpen);
    assert.ok((await member.ok('ping', {})).serverTime > 0);
  });

  test('sockets that have not logged in are capped per address: over it the upgrade gets HTTP 503', async () => {
    await start({ maxUnauthenticatedPerAddress: 3 });
    const waiting = [await connect(), await connect(), await connect()];
    assert.equal(await refusedStatus(), 503);
    // Logging in frees a place; so does closing.
    await waiting[0]!.login({ sdkAppID: app.sdkAppID, userID: 'alice', userSig: await server!.genUserSig(app.sdkAppID, 'alice') });
    const fourth = await connect();
    assert.equal(await refusedStatus(), 503);
    await fourth.close();
    await waitFor(async () => (await refusedStatus()) === undefined, 'a place is free again');
  });

  test('sockets that have not logged in are capped on the node as a whole', async () => {
    await start({ maxUnauthenticated: 2 });
    await connect();
    await connect();
    assert.equal(await refusedStatus(), 503);
    assert.ok((await login('alice').catch(() => undefined)) === undefined, 'no room even to log in');
  });

  test('failed logins from one address are limited: after the burst even a valid login gets 70050', async () => {
    await start({ loginFailureBurst: 3, loginFailuresPerMinute: 0.001 });
    const client = await connect();
    const bad = { sdkAppID: app.sdkAppID, userID: 'alice', userSig: 'forged', deviceID: 'd1', protocolVersion: 1 };
    for (let i = 0; i < 3; i++) assert.notEqual((await client.fail('login', bad)).code, ErrorCode.LOGIN_FAILURE_LIMIT);
    const good = { ...bad, userSig: await server!.genUserSig(app.sdkAppID, 'alice') };
    assert.equal((await client.fail('login', good)).code, ErrorCode.LOGIN_FAILURE_LIMIT);
    const other = await connect();
    assert.equal((await other.fail('login', good)).code, ErrorCode.LOGIN_FAILURE_LIMIT, 'the limit is per address, not per socket');
  });

  test('the SDK reports a login refused by a limit to the login call and does not retry', async () => {
    await start({ loginFailureBurst: 1, loginFailuresPerMinute: 0.001 });
    const client = await connect();
    await client.fail('login', { sdkAppID: app.sdkAppID, userID: 'alice', userSig: 'forged', deviceID: 'd1', protocolVersion: 1 });
    const { V2TIMManager } = await import('@confab/sdk');
    const im = new V2TIMManager();
    im.initSDK(app.sdkAppID, { serverUrl: server!.wsUrl, logLevel: 'silent' });
    const err = await im.login('alice', await server!.genUserSig(app.sdkAppID, 'alice')).then(() => undefined, (e: unknown) => e as { code: number });
    assert.equal(err?.code, ErrorCode.LOGIN_FAILURE_LIMIT);
    assert.equal(im.getLoginStatus(), 3, 'logged out, not reconnecting');
    await waitFor(async () => (await sessionsOnNode()) === 1, 'the SDK closed its socket; only the raw one is left');
  });
});

/** Opens one more socket; returns the HTTP status when the upgrade is refused, undefined when it opens. */
function refusedStatus(): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(server!.wsUrl);
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode);
      socket.terminate();
    });
    socket.once('open', () => {
      resolve(undefined);
      socket.close();
    });
    socket.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

describe('per user', () => {
  test('over the session limit the oldest session is signed out (6208, 4000) and the new login succeeds', async () => {
    await start({ maxSessionsPerUser: 2 });
    const first = await login('alice', 'phone');
    const second = await login('alice', 'tablet');
    const third = await login('alice', 'laptop');
    const kicked = await first.nextPush('kicked');
    assert.equal(kicked.code, ErrorCode.KICKED_OFF_BY_OTHER);
    assert.equal((await first.closed).code, CloseCode.KICKED);
    assert.ok(second.isOpen && third.isOpen);
    // A login from a device that already has a session replaces it and signs out no one else.
    const again = await login('alice', 'laptop');
    assert.equal((await third.closed).code, CloseCode.KICKED);
    assert.ok(second.isOpen);
    assert.ok((await again.ok('ping', {})).serverTime > 0);
    assert.deepEqual(second.pushesSeen('kicked'), []);
  });

  test('over the device limit a login from a new device succeeds and the server forgets an older device', async () => {
    await start({ maxDevicesPerUser: 2 });
    for (const deviceID of ['d1', 'd2', 'd3']) await (await login('alice', deviceID)).close();
    const latest = await login('alice', 'd4');
    const known = (await server!.domain.storage.devices.list(app.sdkAppID, 'alice')).map((d) => d.deviceID);
    assert.equal(known.length, 2);
    assert.ok(known.includes('d4'), `the device logging in is kept (known: ${known.join(', ')})`);
    assert.ok((await latest.ok('ping', {})).serverTime > 0);
  });

  test('requests over the per-user rate get 9506 across the user\'s sessions, and are not applied', async () => {
    await start({ userRequestBurst: 4, userRequestsPerSecond: 0.001 });
    const bob = await login('bob');
    const phone = await login('alice', 'phone');
    const laptop = await login('alice', 'laptop');
    const ids = [0, 1, 2, 3, 4, 5].map((i) => (i % 2 ? phone : laptop).send('msg.send', { conversationID: 'c2c_bob', clientMsgID: `k${i}`, elem: { type: 'text', text: `m${i}` } }));
    const replies: ReplyFrame[] = await Promise.all(ids.map((id, i) => (i % 2 ? phone : laptop).reply(id)));
    assert.equal(replies.filter((r) => r.ok).length, 4);
    assert.deepEqual(replies.filter((r) => !r.ok).map((r) => !r.ok && r.code), [ErrorCode.REQUEST_RATE_LIMIT, ErrorCode.REQUEST_RATE_LIMIT]);
    // Bob's own budget is untouched, and he has exactly the four accepted messages.
    const history = await bob.ok('msg.history', { conversationID: 'c2c_alice', count: 100 });
    assert.equal(history.messages.length, 4);
    assert.ok(phone.isOpen && laptop.isOpen, 'a refused request does not close the connection');
  });

  test('the SDK sends a request refused with 9506 again after a pause: a burst over the rate still succeeds in full', async () => {
    await start({ userRequestBurst: 3, userRequestsPerSecond: 5 });
    const bob = await login('bob');
    const { V2TIMManager } = await import('@confab/sdk');
    const im = new V2TIMManager();
    im.initSDK(app.sdkAppID, { serverUrl: server!.wsUrl, logLevel: 'silent' });
    await im.login('alice', await server!.genUserSig(app.sdkAppID, 'alice'));
    try {
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => im.sendC2CTextMessage(`burst ${i}`, 'bob')));
      assert.deepEqual(results.filter((r) => r.status === 'rejected'), []);
      const history = await bob.ok('msg.history', { conversationID: 'c2c_alice', count: 100 });
      assert.equal(history.messages.length, 10, 'each message stored once');
    } finally {
      await im.logout();
    }
  });
});

describe('history page size', () => {
  test('a history page stops near 1 MiB whatever its count; paging on returns the rest, each message once', async () => {
    await start();
    await server!.domain.apps.updateSettings(app.sdkAppID, { maxMessageBytes: 1024 * 1024 });
    const alice = await login('alice');
    await login('bob');
    const big = 'x'.repeat(400 * 1024);
    for (let i = 0; i < 5; i++) {
      const r = await alice.call('msg.send', { conversationID: 'c2c_bob', clientMsgID: `big-${i}`, elem: { type: 'text', text: `${i}${big}` } });
      assert.equal(r.ok, true, JSON.stringify(r).slice(0, 200));
    }
    const seen: number[] = [];
    let beforeSeq: number | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await alice.call('msg.history', { conversationID: 'c2c_bob', count: 100, ...(beforeSeq ? { beforeSeq } : {}) });
      assert.equal(r.ok, true);
      const body = (r as { body: { messages: { seq: number }[]; isFinished: boolean } }).body;
      assert.ok(body.messages.length <= 3, `a page of ${body.messages.length} messages of 400 KiB stays near 1 MiB`);
      seen.unshift(...body.messages.map((m) => m.seq));
      if (body.isFinished) break;
      beforeSeq = body.messages[0]!.seq;
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  });
});
