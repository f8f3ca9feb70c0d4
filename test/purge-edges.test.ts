/**
 * Edges of the purge (docs/deletion.md, "Purge"): a resend of a message the purge erased,
 * a single node restarted after a crash, and a purger paused past its lease on a cluster.
 * Real servers on port 0 over loopback, raw clients; the cluster case runs two nodes on
 * PostgreSQL and is skipped with a message when PostgreSQL is not reachable.
 */
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ErrorCode } from '@confab/protocol';
import {
  openPostgresStorage, openSqliteStorage, startServer, type AppRecord, type ConfabServer, type Storage,
} from '@confab/server';
import { RawClient } from './helpers/raw-client.js';
import { postgresMissing, TEST_DATABASE_URL as DATABASE_URL } from './helpers/postgres.js';

const text = (t: string) => ({ type: 'text' as const, text: t });
const clients: RawClient[] = [];

async function login(server: ConfabServer, app: AppRecord, userID: string): Promise<RawClient> {
  const client = await RawClient.connect(server.wsUrl);
  clients.push(client);
  await client.login({ sdkAppID: app.sdkAppID, userID, userSig: await server.genUserSig(app.sdkAppID, userID), deviceID: `dev-${userID}` });
  return client;
}

/** Both sides send, then both delete the conversation (history erased for each). */
async function chatThenBothDelete(alice: RawClient, bob: RawClient): Promise<void> {
  await alice.ok('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'a-1', elem: text('secret words') });
  await bob.ok('msg.send', { conversationID: 'c2c_alice', clientMsgID: 'b-1', elem: text('reply') });
  await alice.ok('conv.delete', { conversationIDs: ['c2c_bob'], clearMessages: true });
  await bob.ok('conv.delete', { conversationIDs: ['c2c_alice'], clearMessages: true });
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

describe('a resend after the purge', () => {
  let server: ConfabServer;
  let dir: string;
  let app: AppRecord;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'confab-purge-edges-'));
    server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent', purge: false });
    app = await server.createApp({ name: 'purge-edges' });
  });

  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('is refused with 51013 as before the purge, and the deleted conversation stays deleted for both sides', async () => {
    const alice = await login(server, app, 'alice');
    const bob = await login(server, app, 'bob');
    await chatThenBothDelete(alice, bob);

    const beforePurge = await alice.fail('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'a-1', elem: text('secret words') });
    assert.equal(beforePurge.code, ErrorCode.MESSAGE_DELETED, 'before the purge: the stored original is below her watermark');
    assert.equal(await server.purgeNow(), 2, 'both messages erased');

    const aliceVersion = (await alice.ok('conv.sync', { sinceVersion: 0 })).version;
    const bobVersion = (await bob.ok('conv.sync', { sinceVersion: 0 })).version;
    const bobPushes = () => bob.frames.filter((f) => 'push' in f).length;
    const pushesBefore = bobPushes();
    const resent = await alice.fail('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'a-1', elem: text('secret words') });
    assert.equal(resent.code, ErrorCode.MESSAGE_DELETED, 'after the purge: still refused, not stored again');
    assert.doesNotMatch(resent.desc, /secret/);
    const bobResent = await bob.fail('msg.send', { conversationID: 'c2c_alice', clientMsgID: 'b-1', elem: text('reply') });
    assert.equal(bobResent.code, ErrorCode.MESSAGE_DELETED);

    for (const [client, peer, version] of [[alice, 'c2c_bob', aliceVersion], [bob, 'c2c_alice', bobVersion]] as const) {
      const sync = await client.ok('conv.sync', { sinceVersion: version });
      assert.equal(sync.version, version, 'nothing changed for either side');
      assert.deepEqual(sync.conversations, []);
      const history = await client.ok('msg.history', { conversationID: peer, count: 20 });
      assert.deepEqual(history.messages, [], 'no message came back');
      const row = (await client.ok('conv.sync', { sinceVersion: 0 })).conversations.find((c) => c.conversationID === peer);
      assert.equal(row?.deleted, true, 'still a tombstone');
    }
    assert.equal(bobPushes(), pushesBefore, 'nothing was pushed to bob');
    assert.deepEqual(await server.domain.storage.messages.range(app.sdkAppID, 'c2c:alice|bob', 1, 100, 100, 'asc'), []);

    // A new message (another clientMsgID) is not caught by the record: the conversation comes back with it alone.
    await alice.ok('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'a-2', elem: text('hello again') });
    const history = await bob.ok('msg.history', { conversationID: 'c2c_alice', count: 20 });
    assert.deepEqual(history.messages.map((m) => m.clientMsgID), ['a-2']);
  });

  test('the record of an erased message holds no content and no clientMsgID', async () => {
    const alice = await login(server, app, 'alice');
    const bob = await login(server, app, 'bob');
    await alice.ok('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'very-distinctive-id', elem: text('very distinctive words') });
    await alice.ok('conv.delete', { conversationIDs: ['c2c_bob'], clearMessages: true });
    await bob.ok('conv.delete', { conversationIDs: ['c2c_alice'], clearMessages: true });
    assert.equal(await server.purgeNow(), 1);
    await server.close();
    for (const file of ['confab.db', 'confab.db-wal']) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(dir, file));
      } catch {
        continue;
      }
      assert.equal(bytes.includes('very-distinctive'), false, `${file} holds neither the words nor the clientMsgID`);
    }
    server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent', purge: false });
    const again = await login(server, app, 'alice');
    assert.equal((await again.fail('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'very-distinctive-id', elem: text('x') })).code,
      ErrorCode.MESSAGE_DELETED, 'the record survives a restart');
  });
});

describe('a single node restarted after a crash', () => {
  test('keeps its node ID in the data folder and gets its purge lease back at once; a clean shutdown releases it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'confab-purge-restart-'));
    try {
      const first = await startServer({ dataDir: dir, port: 0, logLevel: 'silent', purge: false });
      const app = await first.createApp({ name: 'restart' });
      const nodeID = first.nodeID;
      await first.close();
      // What a crash leaves behind: the lease still held by this node for a long while.
      const storage = openSqliteStorage({ filename: join(dir, 'confab.db') });
      assert.notEqual(await storage.leases.tryAcquire('purge', nodeID, 3_600_000, Date.now()), null);
      await storage.close();

      const second = await startServer({ dataDir: dir, port: 0, logLevel: 'silent', purge: false });
      try {
        assert.equal(second.nodeID, nodeID, 'the same node ID without CONFAB_NODE_ID');
        const alice = await login(second, app, 'alice');
        const bob = await login(second, app, 'bob');
        await chatThenBothDelete(alice, bob);
        assert.equal(await second.purgeNow(), 2, 'purges at once instead of waiting out the crashed run\'s lease');
      } finally {
        for (const c of clients.splice(0)) await c.close();
        await second.close();
      }
      const reopened = openSqliteStorage({ filename: join(dir, 'confab.db') });
      assert.equal(await reopened.leases.holder('purge', Date.now()), undefined, 'released on a clean shutdown');
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});



/** A property of `target`, methods bound to it (the stores keep their state in private fields). */
function bound(target: object, prop: string | symbol): unknown {
  const value: unknown = Reflect.get(target, prop, target);
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}

describe('a purger paused past its lease on a cluster', { skip: await postgresMissing() }, () => {
  const SCHEMA = `confab_purge_fence_${randomBytes(6).toString('hex')}`;
  const nodes: ConfabServer[] = [];

  after(async () => {
    for (const node of nodes) await node.close();
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await admin.end();
  });

  test('cannot complete a purge step with its old token once another node took the lease', async () => {
    // Node A's storage stops at its first purge step until the test lets it go: a long
    // GC pause or a stopped VM, between taking the lease and writing.
    const real = await openPostgresStorage({ connectionString: DATABASE_URL, schema: SCHEMA });
    let paused!: () => void;
    const pausedAt = new Promise<void>((resolve) => { paused = resolve; });
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => { resume = resolve; });
    let held = false;
    const purgeStep: Storage['deletions']['purgeStep'] = async (...args) => {
      if (!held) {
        held = true;
        paused();
        await resumed;
      }
      return real.deletions.purgeStep(...args);
    };
    const deletions = new Proxy(real.deletions, {
      get: (target, prop) => (prop === 'purgeStep' ? purgeStep : bound(target, prop)),
    });
    const pausable = new Proxy(real, { get: (target, prop) => (prop === 'deletions' ? deletions : bound(target, prop)) });
    const a = await startServer({ port: 0, logLevel: 'silent', purge: false, nodeID: 'node-a', storage: pausable });
    nodes.push(a);
    const b = await startServer({ port: 0, logLevel: 'silent', purge: false, nodeID: 'node-b', databaseUrl: DATABASE_URL, databaseSchema: SCHEMA });
    nodes.push(b);
    const app = await b.createApp({ name: 'fence' });
    const alice = await login(b, app, 'alice');
    const bob = await login(b, app, 'bob');
    await chatThenBothDelete(alice, bob);

    const aRun = a.purgeNow();
    await pausedAt;
    const aToken = a.domain.purge.token;
    assert.notEqual(aToken, null, 'node A holds the lease and is about to purge');
    // Node B takes the lease over as it would once A's lease expired (B's clock an hour on).
    const bToken = await b.domain.storage.leases.tryAcquire('purge', 'node-b', 10_000, Date.now() + 3_600_000);
    assert.ok(bToken !== null && bToken > aToken!);
    resume();
    assert.equal(await aRun, 0, 'the paused node erased nothing');
    assert.equal(a.domain.purge.token, null, 'and knows it lost the lease');
    const left = await b.domain.storage.messages.range(app.sdkAppID, 'c2c:alice|bob', 1, 100, 100, 'asc');
    assert.deepEqual(left.map((m) => m.clientMsgID), ['a-1', 'b-1']);

    assert.equal(await b.purgeNow(), 2, 'the new holder purges');
    assert.deepEqual(await b.domain.storage.messages.range(app.sdkAppID, 'c2c:alice|bob', 1, 100, 100, 'asc'), []);
  });
});
