/**
 * What an operator's tooling sees of one node: `/readyz` (200 when it may take clients,
 * 503 with the reason when its storage or bus is down or it is draining), Prometheus
 * `/metrics` counting real traffic, the admin API's secret rotation, and a drain that
 * answers what is in flight and closes sessions with 4004 while an SDK device moves on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, PROTOCOL_VERSION } from '@confab/protocol';
import {
  CloseCode, genUserSig, MemoryBus, openSqliteStorage, startServer,
  type AppRecord, type Bus, type ConfabServer, type Storage,
} from '@confab/server';
import { RawClient } from './helpers/raw-client.js';
import { device, waitFor } from './helpers/sdk-harness.js';

const OPERATOR = 'op-token';

/** A value of one sample in Prometheus text, e.g. `confab_messages_total`. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  assert.ok(line, `no sample ${name}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function login(client: RawClient, app: AppRecord, userID: string, secretKey = app.secretKey) {
  return client.call('login', {
    sdkAppID: app.sdkAppID, userID, userSig: genUserSig({ sdkAppID: app.sdkAppID, secretKey, userID }), deviceID: `dev-${userID}`, protocolVersion: PROTOCOL_VERSION,
  });
}

describe('readiness and metrics', () => {
  let dir: string;
  let server: ConfabServer;
  let app: AppRecord;
  let storageDown = false;
  let busDown = false;
  let closeSqlite: (() => Promise<void>) | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'confab-ops-'));
    const sqlite = openSqliteStorage({ filename: join(dir, 'confab.db') });
    // The storage and bus a node would see failing: the database stops answering, NATS drops.
    const storage: Storage = { ...sqlite, ping: async () => { if (storageDown) throw new Error('database unreachable'); } };
    const memory = new MemoryBus();
    const bus: Bus = {
      kind: 'memory', publish: (t, m) => memory.publish(t, m), subscribe: (t, h) => memory.subscribe(t, h),
      connected: () => !busDown, close: () => memory.close(),
    };
    server = await startServer({ storage, bus, port: 0, logLevel: 'silent', adminToken: OPERATOR, purge: false });
    app = await server.createApp({ name: 'ops' });
    closeSqlite = () => sqlite.close();
  });

  after(async () => {
    await server?.close();
    await closeSqlite?.();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/readyz is 200 when up, 503 naming the storage or the bus when either is down', async () => {
    let res = await fetch(`${server.httpUrl}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ready: true, node: server.nodeID });
    storageDown = true;
    res = await fetch(`${server.httpUrl}/readyz`);
    assert.equal(res.status, 503);
    assert.match((await res.json() as { reason: string }).reason, /storage unavailable: database unreachable/);
    storageDown = false;
    busDown = true;
    res = await fetch(`${server.httpUrl}/readyz`);
    assert.equal(res.status, 503);
    assert.equal((await res.json() as { reason: string }).reason, 'bus disconnected');
    busDown = false;
    assert.equal((await fetch(`${server.httpUrl}/readyz`)).status, 200);
    // Liveness does not depend on them.
    assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200);
  });

  test('/metrics counts connections, sessions, messages, deletions and group-commit batches', async () => {
    const before = await (await fetch(`${server.httpUrl}/metrics`)).text();
    const a = await RawClient.connect(server.wsUrl);
    const b = await RawClient.connect(server.wsUrl);
    const idle = await RawClient.connect(server.wsUrl);
    try {
      assert.equal((await login(a, app, 'alice')).ok, true);
      assert.equal((await login(b, app, 'bob')).ok, true);
      for (let i = 0; i < 5; i++) {
        const reply = await a.call('msg.send', { conversationID: 'c2c_bob', clientMsgID: `m${i}`, elem: { type: 'text', text: `hi ${i}` } } as never);
        assert.equal(reply.ok, true);
      }
      // A resend of a stored message is not a new message.
      assert.equal((await a.call('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'm0', elem: { type: 'text', text: 'hi 0' } } as never)).ok, true);
      assert.equal((await b.call('conv.delete', { conversationIDs: ['c2c_alice'], clearMessages: true })).ok, true);
      // Once both sides deleted it, nobody can see the messages: they wait for the (stopped) purge.
      assert.equal((await a.call('conv.delete', { conversationIDs: ['c2c_bob'], clearMessages: true })).ok, true);

      const res = await fetch(`${server.httpUrl}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await res.text();
      assert.equal(sample(text, 'confab_connections'), 3);
      assert.equal(sample(text, 'confab_sessions'), 2);
      assert.equal(sample(text, 'confab_messages_total') - sample(before, 'confab_messages_total'), 5);
      assert.equal(sample(text, 'confab_conversation_deletions_total') - sample(before, 'confab_conversation_deletions_total'), 2);
      assert.ok(sample(text, 'confab_group_commit_batch_size_count') >= 1);
      assert.equal(sample(text, 'confab_group_commit_batch_size_sum'), 6, 'five new messages and the resend went through the committer');
      assert.ok(sample(text, 'confab_group_commit_seconds_count') >= 1);
      assert.ok(Number.isFinite(sample(text, 'confab_nodejs_eventloop_lag_seconds')));
      assert.equal(sample(text, 'confab_purge_backlog'), 1, 'the conversation deleted on both sides waits for the (stopped) purge');
      assert.equal(await server.purgeNow(), 5);
      const purged = await (await fetch(`${server.httpUrl}/metrics`)).text();
      assert.equal(sample(purged, 'confab_purged_messages_total') - sample(before, 'confab_purged_messages_total'), 5);
      assert.equal(sample(purged, 'confab_purge_backlog'), 0, 'nothing left queued');
    } finally {
      await a.close();
      await b.close();
      await idle.close();
    }
  });

  test('the admin API rotates an app\'s secret: old UserSigs are refused, the app\'s own session carries on', async () => {
    const signIn = await fetch(`${server.httpUrl}/admin/api/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sdkAppID: app.sdkAppID, secretKey: app.secretKey }),
    });
    const { token } = await signIn.json() as { token: string };
    const res = await fetch(`${server.httpUrl}/admin/api/apps/${app.sdkAppID}/rotate-secret`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const body = await res.json() as { app: { secretKey: string }; session: { token: string } };
    assert.match(body.app.secretKey, /^[0-9a-f]{64}$/);
    assert.notEqual(body.app.secretKey, app.secretKey);
    assert.equal((await server.domain.apps.get(app.sdkAppID))?.secretKey, body.app.secretKey);
    // The old session was signed with the old key; the new one works.
    const old = await fetch(`${server.httpUrl}/admin/api/apps/${app.sdkAppID}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(old.status, 401);
    const renewed = await fetch(`${server.httpUrl}/admin/api/apps/${app.sdkAppID}`, { headers: { authorization: `Bearer ${body.session.token}` } });
    assert.equal(renewed.status, 200);

    const client = await RawClient.connect(server.wsUrl);
    try {
      const refused = await login(client, app, 'carol');
      assert.equal(refused.ok, false);
      assert.equal((refused as { code: number }).code, ErrorCode.USER_SIG_KEY_MISMATCH);
    } finally {
      await client.close();
    }
    const fresh = await RawClient.connect(server.wsUrl);
    try {
      assert.equal((await login(fresh, app, 'carol', body.app.secretKey)).ok, true);
    } finally {
      await fresh.close();
    }
    app = { ...app, secretKey: body.app.secretKey };

    const unknown = await fetch(`${server.httpUrl}/admin/api/apps/1400000000/rotate-secret`, {
      method: 'POST', headers: { authorization: `Bearer ${body.session.token}` },
    });
    assert.equal(unknown.status, 403, 'an app session manages its own app only');
  });
});

describe('drain', () => {
  test('answers requests in flight, closes sessions with 4004, refuses new sockets; an SDK device moves to the next URL', async () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'confab-drain-a-')), mkdtempSync(join(tmpdir(), 'confab-drain-b-'))];
    // Node a's message commits wait at a gate the test opens, so a send is certainly in
    // flight (inside its commit) when the drain starts.
    const sqlite = openSqliteStorage({ filename: join(dirs[0]!, 'confab.db') });
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => { openGate = resolve; });
    let committing = false;
    const append = sqlite.messages.appendBatch.bind(sqlite.messages);
    sqlite.messages.appendBatch = async (...args) => {
      committing = true;
      await gate;
      return append(...args);
    };
    // Two nodes cannot share one SQLite file; two nodes with the same app (SDKAppID and
    // key) are enough for the device's move.
    const a = await startServer({ storage: sqlite, port: 0, logLevel: 'silent', purge: false });
    const b = await startServer({ dataDir: dirs[1], port: 0, logLevel: 'silent', purge: false });
    const app = await a.createApp({ name: 'drain' });
    await b.createApp({ name: 'drain', sdkAppID: app.sdkAppID, secretKey: app.secretKey });
    const { im, events } = device({ server: a, app }, { serverUrl: [a.wsUrl, b.wsUrl] });
    try {
      const raw = await RawClient.connect(a.wsUrl);
      assert.equal((await login(raw, app, 'dave')).ok, true);
      await im.login('erin', genUserSig({ sdkAppID: app.sdkAppID, secretKey: app.secretKey, userID: 'erin' }));
      assert.equal(a.sessionCount, 2);

      const sendID = raw.send('msg.send', { conversationID: 'c2c_erin', clientMsgID: 'inflight', elem: { type: 'text', text: 'x' } });
      await waitFor(() => committing, 'the send inside its commit');
      const drained = a.drain(20_000);
      assert.equal(a.ready, false);
      // The device with nothing in flight is let go at once; the busy session waits.
      await waitFor(() => b.sessionCount === 1, 'the SDK device reconnected to node b');
      assert.equal(raw.isOpen, true, 'a session with a request in flight stays open');
      openGate();
      const reply = await raw.reply(sendID);
      assert.equal(reply.ok, true, 'the request in flight is answered');
      assert.equal((await raw.closed).code, CloseCode.DRAINING);
      assert.equal(await drained, true);
      await assert.rejects(RawClient.connect(a.wsUrl), 'the port no longer accepts connections');
      // What was acknowledged is stored.
      const stored = await sqlite.messages.range(app.sdkAppID, 'c2c:dave|erin', 1, 10, 10, 'asc');
      assert.deepEqual(stored.map((m) => m.clientMsgID), ['inflight']);
      assert.ok(events.sdk.filter((e) => e === 'connected').length >= 1);
    } finally {
      openGate();
      await im.logout().catch(() => undefined);
      await a.close();
      await b.close();
      await sqlite.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
