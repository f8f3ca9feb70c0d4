/**
 * Pushes lost between the nodes of a cluster still reach the devices, without a
 * reconnect of their WebSocket (bus/sequenced-bus.ts, docs/operations.md "Pushes between
 * nodes"). Two nodes share one PostgreSQL schema; the bus between them is either an
 * in-process one that loses chosen deliveries, or a private NATS server this test starts
 * on a port of its own and restarts in the middle of a stream of messages.
 *
 * PostgreSQL comes from CONFAB_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test);
 * NATS is /usr/sbin/nats-server (CONFAB_TEST_NATS_SERVER). Tests needing what is missing
 * are skipped with a message saying so.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { MemoryBus, connectNatsBus, startServer, type AppRecord, type BusMessage, type ConfabServer } from '@confab/server';
import { MemoryStore, type V2TIMManager } from '@confab/sdk';
import { LossyBus } from '../packages/server/test/lossy-bus.js';
import { device, texts, waitFor } from './helpers/sdk-harness.js';
import { postgresMissing, TEST_DATABASE_URL as DATABASE_URL } from './helpers/postgres.js';
import { freePort, natsServer, noNatsServer } from './helpers/nats-server.js';

/** How long a guarded wait may take before it fails the test (never a timing assertion). */
const GUARD_MS = 15_000;

const noPostgres = await postgresMissing();
const SCHEMA = `confab_busloss_${randomBytes(6).toString('hex')}`;

const quiet = { warn: () => {}, error: () => {} };

type Device = ReturnType<typeof device> & { store: MemoryStore };

describe('pushes lost between nodes', { skip: noPostgres, timeout: 120_000 }, () => {
  const nodes: ConfabServer[] = [];
  const open: V2TIMManager[] = [];
  let n = 0;

  before(async () => {
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA IF NOT EXISTS "${SCHEMA}"`);
    await admin.end();
  });

  async function closeAll(): Promise<void> {
    for (const im of open.splice(0)) await im.logout().catch(() => undefined);
    for (const node of nodes.splice(0)) await node.close();
  }

  afterEach(closeAll);

  after(async () => {
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await admin.end();
  });

  /** Two nodes on the shared schema; `bus(i)` gives node i its bus (or none: `natsUrl` decides). */
  async function twoNodes(options: (i: number) => Parameters<typeof startServer>[0]): Promise<[ConfabServer, ConfabServer]> {
    const started = await Promise.all([0, 1].map((i) => startServer({
      port: 0, logLevel: 'silent', purge: false, nodeID: `node-${'AB'[i]}`, databaseUrl: DATABASE_URL, databaseSchema: SCHEMA, ...options(i),
    })));
    nodes.push(...started);
    return [started[0]!, started[1]!];
  }

  async function loggedIn(node: ConfabServer, app: AppRecord, userID: string): Promise<Device> {
    const store = new MemoryStore();
    const d = device({ server: node, app }, { store });
    open.push(d.im);
    await d.im.login(userID, await node.genUserSig(app.sdkAppID, userID));
    return { ...d, store };
  }

  function users(...names: string[]): string[] {
    n += 1;
    return names.map((name) => `bl${n}-${name}`);
  }

  /** The texts of a conversation in the device's own store, oldest first. */
  async function stored(d: Device, conversationID: string): Promise<string[]> {
    const messages = await d.store.getMessages(conversationID, { limit: 1000 });
    return messages.sort((x, y) => x.seq - y.seq).map((m) => (m.elem.type === 'text' ? m.elem.text : '?'));
  }

  test('a push dropped on its way to node B still reaches the device there, without a reconnect', async () => {
    const shared = new MemoryBus();
    const views = [new LossyBus(shared), new LossyBus(shared)] as const;
    const [nodeA, nodeB] = await twoNodes((i) => ({ bus: views[i] }));
    const app = await nodeA.createApp({ name: 'bus-loss' });
    const [alice, bob] = users('alice', 'bob') as [string, string];
    const sender = await loggedIn(nodeA, app, alice);
    const receiver = await loggedIn(nodeB, app, bob);
    await sender.im.sendC2CTextMessage('before', bob);
    await waitFor(() => texts(receiver.events.received).includes('before'), 'bob on B receives the first message by push', GUARD_MS);

    // Node B now loses every update for bob: only the heartbeats can tell it.
    const isUpdateForBob = (topic: string, message: BusMessage) => topic === `u.${app.sdkAppID}.${bob}` && message.kind === 'update';
    views[1].drop(isUpdateForBob);
    await sender.im.sendC2CTextMessage('dropped', bob);
    await waitFor(() => texts(receiver.events.received).includes('dropped'), 'bob on B receives the message whose push was dropped', GUARD_MS);
    assert.equal(views[1].dropped.filter((d) => isUpdateForBob(d.topic, d.message)).length, 1, 'the push to B was dropped');
    assert.deepEqual(texts(receiver.events.received), ['before', 'dropped'], 'each message announced once');
    assert.deepEqual(await stored(receiver, `c2c_${alice}`), ['before', 'dropped']);
    const c = await receiver.im.getConversationManager().getConversation(`c2c_${alice}`);
    assert.equal(c.lastMessage?.textElem?.text, 'dropped');
    assert.equal(c.unreadCount, 2);
    assert.deepEqual(receiver.events.sdk, ['connected'], 'the WebSocket never reconnected');
  });

  test('an app settings change whose announcement to node B is dropped still reaches B', async () => {
    const shared = new MemoryBus();
    const views = [new LossyBus(shared), new LossyBus(shared)] as const;
    const [nodeA, nodeB] = await twoNodes((i) => ({ bus: views[i] }));
    const app = await nodeA.createApp({ name: 'bus-loss-settings' });
    assert.equal((await nodeB.domain.apps.get(app.sdkAppID))?.settings.syncConversationDeletion, false, 'B has the app cached');
    views[1].drop((topic, message) => message.kind === 'app');
    await nodeA.domain.apps.updateSettings(app.sdkAppID, { syncConversationDeletion: true });
    // On the in-process bus no timer re-reads apps: only the loss report can.
    await waitFor(() => nodeB.domain.apps.peek(app.sdkAppID)?.settings.syncConversationDeletion, 'B re-reads the changed app', GUARD_MS);
    assert.equal(views[1].dropped.filter((d) => d.message.kind === 'app').length, 1, 'the announcement to B was dropped');
  });

  test('a NATS restart in the middle of a stream of messages: all reach the device on the other node, once each, without a reconnect',
    { skip: noNatsServer }, async () => {
      const port = await freePort();
      let nats = await natsServer(port);
      try {
        // Node B retries NATS less often than node A, so after the restart A is back first,
        // and what it publishes before B has resubscribed (its buffer from the outage and
        // the last messages) is lost for B. Nothing follows those: only B's reconnect can
        // tell bob's device, which otherwise would wait for the next message.
        const prefix = `confabtest.busloss.${randomBytes(4).toString('hex')}`;
        const buses = await Promise.all([500, 6000].map((reconnectTimeWait, i) => connectNatsBus({
          servers: `nats://127.0.0.1:${port}`, prefix, name: `bus-loss-${'AB'[i]}`, logger: quiet, connection: { reconnectTimeWait, reconnectJitter: 0 },
        })));
        const [nodeA, nodeB] = await twoNodes((i) => ({ bus: buses[i] }));
        const app = await nodeA.createApp({ name: 'bus-restart' });
        const [alice, bob] = users('alice', 'bob') as [string, string];
        const sender = await loggedIn(nodeA, app, alice);
        const receiver = await loggedIn(nodeB, app, bob);
        const aBack = new Promise<void>((resolve) => buses[0]!.onLoss(resolve));
        const N = 45;
        const sent = Array.from({ length: N }, (_, i) => `m${i}`);
        for (const [i, text] of sent.entries()) {
          if (i === 15) await nats.stop();
          if (i === 30) {
            nats = await natsServer(port);
            await aBack;
          }
          // The sender's socket is to node A, which stays up: every send is acknowledged.
          await sender.im.sendC2CTextMessage(text, bob);
          await delay(20);
        }
        await waitFor(() => sent.every((t) => texts(receiver.events.received).includes(t)), `bob on B receives all ${N} messages`, GUARD_MS);
        const got = texts(receiver.events.received);
        assert.deepEqual([...got].sort(), [...sent].sort(), 'every message announced exactly once');
        assert.deepEqual(await stored(receiver, `c2c_${alice}`), sent, 'the store holds each message once, in order');
        const c = await receiver.im.getConversationManager().getConversation(`c2c_${alice}`);
        assert.equal(c.unreadCount, N);
        assert.deepEqual(receiver.events.sdk, ['connected'], 'the WebSocket never reconnected');
      } finally {
        // The nodes drain their NATS connections while NATS still runs.
        await closeAll();
        await nats.stop();
      }
    });
});
