/**
 * Send options across a cluster: an `onlineUserOnly` message sent on one node reaches
 * the recipient's session on another (it travels on the bus, never through storage), and
 * the offline push of a node knows about sessions on the other node (the presence table).
 * Two nodes on one PostgreSQL schema and NATS; skipped with a message when either is not
 * reachable.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connect } from 'nats';
import { startServer, type AppRecord, type ConfabServer, type OfflinePushNotification } from '@confab/server';
import type { V2TIMManager } from '@confab/sdk';
import { postgresMissing, TEST_DATABASE_URL as DATABASE_URL } from './helpers/postgres.js';
import { device, texts, waitFor } from './helpers/sdk-harness.js';

const NATS_URL = process.env.CONFAB_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

async function missing(): Promise<string | undefined> {
  const pgMissing = await postgresMissing();
  if (pgMissing) return pgMissing;
  try {
    const nc = await connect({ servers: NATS_URL, timeout: 3000, reconnect: false });
    await nc.close();
    return undefined;
  } catch (err) {
    return `no NATS server reachable at ${NATS_URL} (${(err as Error).message}); start nats-server or set CONFAB_TEST_NATS_URL`;
  }
}

describe('send options across two nodes', { skip: await missing() }, () => {
  const SCHEMA = `confab_sendopt_${randomBytes(6).toString('hex')}`;
  const PREFIX = `confab-sendopt-${randomBytes(4).toString('hex')}`;
  const nodes: ConfabServer[] = [];
  const ims: V2TIMManager[] = [];
  const pushes: OfflinePushNotification[] = [];
  let app: AppRecord;

  before(async () => {
    for (const nodeID of ['node-a', 'node-b']) {
      nodes.push(await startServer({
        port: 0, logLevel: 'silent', purge: false, nodeID, databaseUrl: DATABASE_URL, databaseSchema: SCHEMA,
        natsUrl: NATS_URL, natsPrefix: PREFIX, pushProvider: { push: (n) => { pushes.push(n); } },
      }));
    }
    app = await nodes[0]!.createApp({ name: 'send-options' });
  });

  after(async () => {
    for (const im of ims) await im.logout().catch(() => undefined);
    for (const node of nodes) await node.close();
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await admin.end();
  });

  async function on(node: ConfabServer, userID: string) {
    const d = device({ server: node, app }, {});
    ims.push(d.im);
    await d.im.login(userID, await node.genUserSig(app.sdkAppID, userID));
    return d;
  }

  test('an online-only message from node A reaches the peer on node B, and nothing of it is stored', async () => {
    const alice = await on(nodes[0]!, 'alice');
    const bob = await on(nodes[1]!, 'bob');
    const mm = alice.im.getMessageManager();
    const sent = await mm.sendMessage(mm.createTextMessage('ping across'), 'bob', null, 0, true);
    assert.equal(sent.seq, 0);
    await waitFor(() => bob.events.received.length === 1, 'bob on node B receives it', 20_000);
    assert.equal(bob.events.received[0]!.textElem?.text, 'ping across');
    assert.equal(bob.events.received[0]!.isOnlineOnly, true);
    assert.deepEqual(texts(await bob.im.getMessageManager().getC2CHistoryMessageList('alice', 10, null)), []);

    // A stored message to bob (online on the other node) is not pushed offline.
    pushes.length = 0;
    await mm.sendMessage(mm.createTextMessage('stored'), 'bob', null, 0, false, { title: 'hi' });
    await waitFor(() => bob.events.received.length === 2, 'bob receives the stored one', 20_000);
    for (const node of nodes) await node.domain.offlinePush.idle();
    assert.deepEqual(pushes, []);
  });
});
