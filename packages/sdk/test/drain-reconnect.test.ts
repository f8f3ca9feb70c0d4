/**
 * A node that drains closes its sockets with 4004 (docs/protocol.md): the connection
 * moves to the next server URL at once instead of waiting out its backoff. Against a
 * scripted fake socket, with a backoff of minutes, so only the 4004 rule can explain a
 * prompt reconnect (and an ordinary drop shows that it does not happen otherwise).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../src/connection/connection.js';
import { createLogger } from '../src/log.js';
import { FakeSocket } from './fake-socket.js';

const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

async function connectedTo(urls: string[]) {
  FakeSocket.all = [];
  const conn = new Connection({
    url: urls, WebSocket: FakeSocket, log: createLogger('silent'), requestTimeoutMs: 60_000,
    // Ten minutes: an ordinary drop would not reconnect within this test.
    backoff: { baseMs: 600_000, capMs: 600_000, random: () => 0.5 },
    login: { sdkAppID: 1, userID: 'alice', userSig: 's', deviceID: 'd', protocolVersion: 1 },
  });
  const started = conn.start();
  await ticks(2);
  FakeSocket.all[0]!.open();
  FakeSocket.all[0]!.loginOK();
  await started;
  return conn;
}

describe('a draining node (close 4004)', () => {
  it('reconnects at once to the next URL', async () => {
    const conn = await connectedTo(['ws://a/ws', 'ws://b/ws']);
    FakeSocket.all[0]!.onclose?.({ code: 4004, reason: 'node draining; reconnect to another node' });
    await ticks(5);
    assert.equal(FakeSocket.all.length, 2, 'a new socket without a backoff');
    assert.equal(FakeSocket.all[1]!.url, 'ws://b/ws');
    FakeSocket.all[1]!.open();
    FakeSocket.all[1]!.loginOK();
    await ticks(2);
    assert.equal(conn.state, 'connected');
    conn.close();
  });

  it('an ordinary drop waits for its backoff', async () => {
    const conn = await connectedTo(['ws://a/ws', 'ws://b/ws']);
    FakeSocket.all[0]!.onclose?.({ code: 1006, reason: '' });
    await ticks(5);
    assert.equal(FakeSocket.all.length, 1);
    assert.equal(conn.state, 'disconnected');
    conn.close();
  });
});
