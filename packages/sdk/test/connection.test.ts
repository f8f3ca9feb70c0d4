/**
 * The connection state machine against a scripted fake socket. A fake (not the real
 * server) because these cases need exact control over when a socket drops relative to a
 * request — something a real server cannot be told to do deterministically.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../src/connection/connection.js';
import { createLogger } from '../src/log.js';
import { FakeSocket } from './fake-socket.js';

const tick = () => new Promise((r) => setTimeout(r, 0));
const LOGIN_RESULT = { userID: 'alice', serverTime: 1, protocolVersion: 1, version: 0, profile: {} };

function make(url: string | string[] = 'ws://fake/ws') {
  FakeSocket.all = [];
  const conn = new Connection({
    url, WebSocket: FakeSocket, log: createLogger('silent'), requestTimeoutMs: 1000,
    backoff: { baseMs: 1, capMs: 2, random: () => 0 },
    login: { sdkAppID: 1, userID: 'alice', userSig: 's', deviceID: 'd', protocolVersion: 1 },
  });
  const states: string[] = [];
  conn.on('state', (s) => states.push(s.newState));
  return { conn, states };
}

async function connected() {
  const m = make();
  const started = m.conn.start();
  await tick();
  const ws = FakeSocket.all[0]!;
  ws.open();
  ws.reply(ws.last('login').id, LOGIN_RESULT);
  await started;
  return { ...m, ws };
}

describe('Connection', () => {
  it('logs in on open and reaches connected', async () => {
    const { conn, states, ws } = await connected();
    assert.deepEqual(ws.sent[0]!.body, { sdkAppID: 1, userID: 'alice', userSig: 's', deviceID: 'd', protocolVersion: 1 });
    assert.deepEqual(states, ['connecting', 'connected']);
    assert.equal(conn.state, 'connected');
    conn.close();
  });

  it('a refused first login fails with the server code and does not retry', async () => {
    const { conn } = make();
    const started = conn.start();
    await tick();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.fail(ws.last('login').id, 70001, 'UserSig expired');
    await assert.rejects(started, { code: 70001 });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(FakeSocket.all.length, 1);
    assert.equal(conn.state, 'closed');
  });

  it('an unreachable server fails the first connect with 9508', async () => {
    const { conn } = make();
    const started = conn.start();
    await tick();
    FakeSocket.all[0]!.drop();
    await assert.rejects(started, { code: 9508 });
  });

  it('requests while disconnected fail with 9508; in-flight ones with 9520 unless idempotent', async () => {
    const { conn, ws } = await connected();
    const plain = conn.request('friend.list', {});
    const idem = conn.request('conv.pin', { conversationID: 'c2c_bob', isPinned: true }, { resend: true });
    ws.drop();
    await assert.rejects(plain, { code: 9520 });
    await assert.rejects(conn.request('friend.list', {}), { code: 9508 });
    await new Promise((r) => setTimeout(r, 10)); // backoff
    const ws2 = FakeSocket.all[1]!;
    ws2.open();
    ws2.reply(ws2.last('login').id, LOGIN_RESULT);
    const resent = ws2.last('conv.pin');
    assert.ok(resent, 'the idempotent request is re-sent on the new socket');
    ws2.reply(resent.id, { marker: 1 });
    assert.deepEqual(await idem, { marker: 1 });
    // Stale-transport guard: the old socket's late events change nothing.
    ws.drop();
    ws.push('kicked', { code: 6208, desc: 'late' });
    assert.equal(conn.state, 'connected');
    conn.close();
  });

  it('a kicked push closes for good and reports the code', async () => {
    const { conn, ws } = await connected();
    const closed: unknown[] = [];
    conn.on('closed', (c) => closed.push(c));
    const pending = conn.request('friend.list', {});
    ws.push('kicked', { code: 6208, desc: 'replaced' });
    await assert.rejects(pending, { code: 6208 });
    assert.deepEqual(closed, [{ code: 6208, desc: 'replaced' }]);
    assert.equal(conn.state, 'closed');
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(FakeSocket.all.length, 1, 'no reconnect');
  });

  it('times out a request with 6012', async () => {
    const { conn } = await connected();
    await assert.rejects(conn.request('friend.list', {}, { timeoutMs: 5 }), { code: 6012 });
    conn.close();
  });
});

describe('Connection with several server URLs (failover)', () => {
  const NODES = ['ws://node1/ws', 'ws://node2/ws', 'ws://node3/ws'];
  const backoff = () => new Promise((r) => setTimeout(r, 10));

  /** Opens the newest socket and answers its login. */
  function accept(): FakeSocket {
    const ws = FakeSocket.all.at(-1)!;
    ws.open();
    ws.reply(ws.last('login').id, LOGIN_RESULT);
    return ws;
  }

  it('one URL: every reconnect goes to that URL, as before', async () => {
    const { conn, ws } = await connected();
    ws.drop();
    await backoff();
    FakeSocket.all.at(-1)!.drop(); // a failed attempt
    await backoff();
    accept();
    assert.equal(conn.state, 'connected');
    assert.deepEqual(FakeSocket.all.map((s) => s.url), ['ws://fake/ws', 'ws://fake/ws', 'ws://fake/ws']);
    conn.close();
  });

  it('the first connect tries the URLs in order and succeeds on the first that answers', async () => {
    const { conn, states } = make(NODES);
    const failed: unknown[] = [];
    conn.on('connectFailed', (f) => failed.push(f));
    const started = conn.start();
    await tick();
    FakeSocket.all[0]!.drop(); // node 1 is down
    await tick();
    assert.equal(FakeSocket.all.length, 2, 'the next node is tried at once, without a backoff');
    accept();
    await started;
    assert.deepEqual(FakeSocket.all.map((s) => s.url), ['ws://node1/ws', 'ws://node2/ws']);
    assert.equal(conn.url, 'ws://node2/ws');
    assert.equal(failed.length, 1);
    assert.deepEqual(states, ['connecting', 'disconnected', 'connecting', 'connected']);
    conn.close();
  });

  it('the first connect fails with 9508 only after every URL failed, each tried once', async () => {
    const { conn } = make(NODES);
    const started = conn.start();
    for (let i = 0; i < NODES.length; i++) {
      await tick();
      FakeSocket.all[i]!.drop();
    }
    await assert.rejects(started, (err: { code: number; desc: string }) => err.code === 9508 && /any of the 3 servers/.test(err.desc));
    await backoff();
    assert.deepEqual(FakeSocket.all.map((s) => s.url), NODES);
    assert.equal(conn.state, 'closed');
  });

  it('a busy node (transient login code) on the first connect sends it to the next; bad credentials stop at once', async () => {
    const busy = make(NODES);
    const started = busy.conn.start();
    await tick();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.fail(ws.last('login').id, 6012, 'server busy');
    await tick();
    accept();
    await started;
    assert.equal(busy.conn.url, 'ws://node2/ws');
    busy.conn.close();

    const refused = make(NODES);
    const denied = refused.conn.start();
    await tick();
    const ws2 = FakeSocket.all[0]!;
    ws2.open();
    ws2.fail(ws2.last('login').id, 70001, 'UserSig expired');
    await assert.rejects(denied, { code: 70001 });
    await backoff();
    assert.equal(FakeSocket.all.length, 1, 'no other node is asked');
  });

  it('after a drop, reconnects rotate through the nodes (wrapping round)', async () => {
    const { conn } = make(NODES);
    const started = conn.start();
    await tick();
    FakeSocket.all[0]!.drop();
    await tick();
    const onNode2 = accept();
    await started;
    const pin = conn.request('conv.pin', { conversationID: 'c2c_bob', isPinned: true }, { resend: true });
    onNode2.drop(); // node 2 is killed
    await backoff();
    assert.equal(FakeSocket.all.at(-1)!.url, 'ws://node3/ws');
    FakeSocket.all.at(-1)!.drop(); // node 3 refuses too
    await backoff();
    assert.equal(FakeSocket.all.at(-1)!.url, 'ws://node1/ws', 'wraps round to the first node');
    const onNode1 = accept();
    const resent = onNode1.last('conv.pin');
    assert.ok(resent, 'the idempotent request is re-sent on the new node');
    onNode1.reply(resent.id, { marker: 1 });
    assert.deepEqual(await pin, { marker: 1 });
    assert.equal(conn.state, 'connected');
    assert.equal(conn.url, 'ws://node1/ws');
    conn.close();
  });

  it('rejects an empty list of URLs', () => {
    assert.throws(() => make([]), { code: 6017 });
  });
});

describe('Connection.checkNow (network hints)', () => {
  async function waitFor(cond: () => boolean, what: string) {
    const until = Date.now() + 20_000;
    while (!cond()) {
      if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Connected, with a backoff so long that only checkNow can bring a reconnect within the test. */
  async function slowBackoff() {
    FakeSocket.all = [];
    const conn = new Connection({
      url: 'ws://fake/ws', WebSocket: FakeSocket, log: createLogger('silent'), requestTimeoutMs: 1000,
      backoff: { baseMs: 600_000, capMs: 600_000, random: () => 0.99 },
      login: { sdkAppID: 1, userID: 'alice', userSig: 's', deviceID: 'd', protocolVersion: 1 },
    });
    const started = conn.start();
    await tick();
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.reply(ws.last('login').id, LOGIN_RESULT);
    await started;
    return { conn, ws };
  }

  it('while waiting out the backoff, reconnects at once with the newest UserSig', async () => {
    const { conn, ws } = await slowBackoff();
    ws.drop();
    assert.equal(conn.state, 'disconnected');
    await tick();
    assert.equal(FakeSocket.all.length, 1, 'the backoff holds the reconnect');
    conn.setUserSig('renewed');
    conn.checkNow('online');
    await tick();
    assert.equal(FakeSocket.all.length, 2, 'a new socket opens without waiting');
    const ws2 = FakeSocket.all[1]!;
    ws2.open();
    assert.equal((ws2.last('login').body as { userSig: string }).userSig, 'renewed');
    ws2.reply(ws2.last('login').id, LOGIN_RESULT);
    await waitFor(() => conn.state === 'connected', 'the reconnect');
    conn.close();
  });

  it('when connected, a socket that does not answer the probe ping is dropped', async () => {
    const { conn, ws } = await slowBackoff();
    conn.checkNow('visible');
    const probe = ws.last('ping');
    assert.ok(probe, 'a ping goes out at once');
    await waitFor(() => conn.state !== 'connected', 'the dead socket to be given up');
    assert.equal(conn.state, 'disconnected');
    conn.close();
  });

  it('when connected, an answered probe keeps the socket', async () => {
    const { conn, ws } = await slowBackoff();
    conn.checkNow('visible');
    const first = ws.last('ping');
    ws.reply(first.id, { serverTime: 1 });
    // A second check sends a new ping only once the first probe's timer has run out.
    await waitFor(() => {
      conn.checkNow('visible');
      return ws.last('ping').id !== first.id;
    }, 'the first probe to settle');
    assert.equal(conn.state, 'connected');
    assert.equal(FakeSocket.all.length, 1);
    conn.close();
  });
});
