/**
 * The connection state machine against a scripted fake socket. A fake (not the real
 * server) because these cases need exact control over when a socket drops relative to a
 * request — something a real server cannot be told to do deterministically.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../src/connection/connection.js';
import { createLogger } from '../src/log.js';
import type { WebSocketLike } from '../src/types.js';

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: { id: number; op: string; body: unknown }[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {}
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  reply(id: number, body: unknown) {
    this.onmessage?.({ data: JSON.stringify({ id, ok: true, body }) });
  }
  fail(id: number, code: number, desc: string) {
    this.onmessage?.({ data: JSON.stringify({ id, ok: false, code, desc }) });
  }
  push(push: string, body: unknown) {
    this.onmessage?.({ data: JSON.stringify({ push, body }) });
  }
  drop() {
    this.onclose?.({ code: 1006, reason: '' });
  }
  last(op: string) {
    return [...this.sent].reverse().find((f) => f.op === op)!;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const LOGIN_RESULT = { userID: 'alice', serverTime: 1, protocolVersion: 1, version: 0, profile: {} };

function make() {
  FakeSocket.all = [];
  const conn = new Connection({
    url: 'ws://fake/ws', WebSocket: FakeSocket, log: createLogger('silent'), requestTimeoutMs: 1000,
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
