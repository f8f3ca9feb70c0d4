/**
 * Deleted means gone, on PostgreSQL too (docs/deletion.md, "What is erased where"): a
 * unique marker goes into a message's text and clientMsgID, a draft and custom data, in
 * a one-to-one chat and a group; every participant deletes; the purge runs; then no
 * file of the PostgreSQL data directory outside pg_wal holds the marker. pg_wal still
 * does, and after the operator steps the document gives, it does not either. The same
 * scenario runs on SQLite, where no file of the data folder may hold it.
 *
 * Needs the local PostgreSQL as a superuser (SHOW data_directory, CHECKPOINT, ALTER
 * SYSTEM) and a process that can read its data directory (root, or the postgres user).
 * It makes a database of its own and drops it afterwards. It fails, never skips, when
 * PostgreSQL is not there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { GroupType } from '@confab/protocol';
import { startServer, type AppRecord, type ConfabServer } from '@confab/server';
import { RawClient } from './helpers/raw-client.js';
import { postgresMissing, TEST_DATABASE_URL } from './helpers/postgres.js';
import { filesHolding } from './helpers/data-dir.js';

const GUARD_MS = 20_000;
const DB = `confab_erasure_${randomBytes(5).toString('hex')}`;
const text = (t: string) => ({ type: 'text' as const, text: t });

function urlOf(database: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

let admin: pg.Client;
let dataDir: string;
let server: ConfabServer | undefined;
const clients: RawClient[] = [];

before(async () => {
  const missing = await postgresMissing();
  if (missing) throw new Error(missing);
  admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  dataDir = (await admin.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!.data_directory;
  try {
    accessSync(join(dataDir, 'base'), constants.R_OK | constants.X_OK);
  } catch (err) {
    throw new Error(`this test reads PostgreSQL's data directory ${dataDir}: run it as root or as its owner (${(err as Error).message})`);
  }
  await admin.query(`CREATE DATABASE ${DB}`);
});

after(async () => {
  for (const c of clients.splice(0)) await c.close();
  await server?.close();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
});

async function login(app: AppRecord, userID: string): Promise<RawClient> {
  const client = await RawClient.connect(server!.wsUrl);
  clients.push(client);
  await client.login({ sdkAppID: app.sdkAppID, userID, userSig: await server!.genUserSig(app.sdkAppID, userID), deviceID: `dev-${userID}` });
  return client;
}

async function until<T>(what: string, check: () => Promise<T>): Promise<NonNullable<T>> {
  const deadline = Date.now() + GUARD_MS;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The marker in a one-to-one chat's message text and clientMsgID, in alice's draft and
 * custom data and bob's custom data; and in a group of three, in a message every member
 * receives and in a draft.
 */
async function writeEverywhere(app: AppRecord, marker: string): Promise<void> {
  const alice = await login(app, 'alice');
  const bob = await login(app, 'bob');
  const carol = await login(app, 'carol');
  await alice.ok('msg.send', { conversationID: 'c2c_bob', clientMsgID: `cid-${marker}`, elem: text(`secret ${marker}`) });
  await bob.ok('msg.send', { conversationID: 'c2c_alice', clientMsgID: 'b-1', elem: text('reply') });
  await alice.ok('conv.setDraft', { conversationID: 'c2c_bob', draftText: `draft ${marker}` });
  await alice.ok('conv.setCustomData', { conversationIDs: ['c2c_bob'], customData: `custom ${marker}` });
  await bob.ok('conv.setCustomData', { conversationIDs: ['c2c_alice'], customData: `bob-custom ${marker}` });
  await alice.ok('group.create', { groupID: 'g1', groupType: GroupType.WORK, groupName: 'g', memberUserIDs: ['bob', 'carol'] });
  await carol.ok('msg.send', { conversationID: 'group_g1', clientMsgID: `gcid-${marker}`, elem: text(`group ${marker}`) });
  await until('the group message reached bob', async () =>
    (await bob.ok('msg.history', { conversationID: 'group_g1', count: 10 })).messages.length > 0);
  await bob.ok('conv.setDraft', { conversationID: 'group_g1', draftText: `group-draft ${marker}` });

}

/** Every participant deletes both conversations, history erased. */
async function everyoneDeletes(): Promise<void> {
  const [alice, bob, carol] = clients.slice(-3) as [RawClient, RawClient, RawClient];
  for (const [client, ids] of [[alice, ['c2c_bob', 'group_g1']], [bob, ['c2c_alice', 'group_g1']], [carol, ['group_g1']]] as const) {
    await client.ok('conv.delete', { conversationIDs: [...ids], clearMessages: true });
  }
}

/** Every file of the data directory but pg_wal; pg_wal only. */
const outsideWal = (rel: string) => rel === 'pg_wal' || rel.startsWith(`pg_wal/`);
const walOnly = (rel: string) => !(rel === 'pg_wal' || rel.startsWith('pg_wal/'));

describe('erasure on PostgreSQL', { timeout: 180_000 }, () => {
  test('after every participant deletes and the purge runs, no file outside pg_wal holds the marker; pg_wal neither after the documented steps', async () => {
    const marker = `MARKER${randomBytes(8).toString('hex')}`;
    server = await startServer({ port: 0, logLevel: 'silent', purge: false, databaseUrl: urlOf(DB) });
    const app = await server.createApp({ name: 'erasure' });
    const dbOid = (await admin.query<{ oid: number }>('SELECT oid FROM pg_database WHERE datname = $1', [DB])).rows[0]!.oid;

    await writeEverywhere(app, marker);

    await admin.query('CHECKPOINT');
    const before = filesHolding(join(dataDir, 'base', String(dbOid)), marker);
    assert.ok(before.length > 0, 'the test sees the marker in the database files before the deletion');

    await everyoneDeletes();
    const t0 = Date.now();
    const erased = await server.purgeNow();
    console.log(`# purge took ${Date.now() - t0} ms`);
    assert.ok(erased >= 3, `purged ${erased} messages`);

    // The audit trail says both: rows deleted, then bytes erased.
    const audit = await server.domain.storage.deletions.list(app.sdkAppID, { limit: 10 });
    assert.equal(audit.length, 5);
    for (const entry of audit) {
      assert.ok(entry.purgedAt !== null && entry.erasedAt !== null && entry.erasedAt >= entry.purgedAt,
        `${entry.userID} ${entry.conversationID}: purged ${entry.purgedAt}, erased ${entry.erasedAt}`);
    }

    // Whatever still sits in shared buffers goes to the files too, so the search sees it.
    await admin.query('CHECKPOINT');
    assert.deepEqual(filesHolding(dataDir, marker, outsideWal), [], 'no file of the data directory outside pg_wal holds the marker');

    const walBefore = filesHolding(dataDir, marker, walOnly);
    // Reported, not asserted: PostgreSQL's own log of the writes keeps them until its
    // segments are removed (docs/deletion.md).
    console.log(`# pg_wal segments holding the marker after the purge: ${walBefore.length} (${walBefore.join(', ')})`);

    // The documented operator steps: removed segments deleted rather than recycled, then
    // switch to a new segment and checkpoint until none of the segments present now remain.
    const settings = (await admin.query<{ name: string; setting: string }>(`SELECT name, setting FROM pg_settings
      WHERE name IN ('archive_mode', 'wal_keep_size')`)).rows;
    assert.deepEqual(Object.fromEntries(settings.map((s) => [s.name, s.setting])), { archive_mode: 'off', wal_keep_size: '0' },
      'the steps assume no archive and no kept WAL (docs/deletion.md says what else to do)');
    assert.equal((await admin.query('SELECT 1 FROM pg_replication_slots')).rowCount, 0, 'no replication slot holds WAL back');
    const segments = readdirSync(join(dataDir, 'pg_wal')).filter((f) => /^[0-9A-F]{24}$/.test(f));
    await admin.query('ALTER SYSTEM SET wal_recycle = off');
    try {
      await admin.query('SELECT pg_reload_conf()');
      await until('wal_recycle off', async () => {
        const probe = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await probe.connect();
        try {
          return (await probe.query<{ wal_recycle: string }>('SHOW wal_recycle')).rows[0]!.wal_recycle === 'off';
        } finally {
          await probe.end();
        }
      });
      for (let i = 0; i < segments.length + 2; i++) {
        await admin.query('SELECT pg_switch_wal()');
        await admin.query('CHECKPOINT');
        const left = new Set(readdirSync(join(dataDir, 'pg_wal')));
        if (!segments.some((s) => left.has(s))) break;
      }
    } finally {
      await admin.query('ALTER SYSTEM RESET wal_recycle');
      await admin.query('SELECT pg_reload_conf()');
    }
    assert.deepEqual(filesHolding(dataDir, marker, walOnly), [], 'after the steps pg_wal holds no marker either');
    assert.deepEqual(filesHolding(dataDir, marker, outsideWal), [], 'and nothing else does');
    for (const c of clients.splice(0)) await c.close();
    await server.close();
    server = undefined;
  });
});

describe('the same on SQLite', { timeout: 60_000 }, () => {
  test('after every participant deletes and the purge runs, no file of the data folder holds the marker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'confab-erasure-'));
    try {
      const marker = `MARKER${randomBytes(8).toString('hex')}`;
      server = await startServer({ port: 0, logLevel: 'silent', purge: false, dataDir: dir });
      const app = await server.createApp({ name: 'erasure' });
      await writeEverywhere(app, marker);
      assert.ok(filesHolding(dir, marker).length > 0, 'the test sees the marker in the data folder before the deletion');
      await everyoneDeletes();
      assert.ok((await server.purgeNow()) >= 3);
      const audit = await server.domain.storage.deletions.list(app.sdkAppID, { limit: 10 });
      assert.equal(audit.length, 5);
      assert.ok(audit.every((e) => e.purgedAt !== null && e.erasedAt !== null), 'rows deleted and bytes erased');
      assert.deepEqual(filesHolding(dir, marker), [], 'no file holds the marker while the server runs');
      for (const c of clients.splice(0)) await c.close();
      await server.close();
      server = undefined;
      assert.deepEqual(filesHolding(dir, marker), [], 'nor after it stopped');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
