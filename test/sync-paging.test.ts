/**
 * `conv.sync` paging over a real server: a page may end inside one version step (one
 * deletion of 100 conversations is one step), and the cursor carries the position so no
 * page reads more than it returns. Whatever the page size, every conversation comes
 * exactly once and the last page lands on the user's version; a device that stops
 * midway and resumes from the version it stored converges too; the SDK's paging loop
 * follows the cursor.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type AppRecord, type ConfabServer } from '@confab/server';
import { Capability, ErrorCode, type OpResult, type WireConversation } from '@confab/protocol';
import { RawClient } from './helpers/raw-client.js';
import { createLogger } from '../packages/sdk/src/log.js';
import { MemoryStore } from '../packages/sdk/src/store/memory-store.js';
import { SyncEngine, type Requester } from '../packages/sdk/src/sync/sync-engine.js';

let server: ConfabServer;
let dir: string;
let app: AppRecord;
const clients: RawClient[] = [];

const peers = Array.from({ length: 130 }, (_, i) => `p${String(i).padStart(3, '0')}`);
const deleted = peers.slice(10, 110);
const live = peers.filter((p) => !deleted.includes(p)).map((p) => `c2c_${p}`).sort();

async function login(userID: string, capabilities?: string[]): Promise<RawClient> {
  const client = await RawClient.connect(server.wsUrl);
  clients.push(client);
  await client.login({ sdkAppID: app.sdkAppID, userID, userSig: await server.genUserSig(app.sdkAppID, userID), deviceID: `d-${clients.length}`,
    ...(capabilities ? { capabilities } : {}) });
  return client;
}

async function sendFrom(peer: string, text: string): Promise<void> {
  await server.domain.messages.send({ app, userID: peer, deviceID: 'setup', capabilities: new Set<string>() }, 'c2c_alice', `${peer}-${text}`, { type: 'text', text });
}

/** One conv.sync request; asserts the reply's shape rules. */
async function page(client: RawClient, sinceVersion: number, count: number, cursor?: string): Promise<OpResult<'conv.sync'>> {
  const res = await client.ok('conv.sync', { sinceVersion, count, ...(cursor !== undefined ? { cursor } : {}) });
  assert.ok(res.version >= sinceVersion, 'a page never goes back');
  if (res.cursor !== undefined) assert.equal(res.isFinished, false, 'a page with a cursor is not the last');
  return res;
}

/** Pages to the end as a device would: store the version, pass the cursor on. */
async function syncAll(client: RawClient, from: number, count: number, stopAfter = Infinity) {
  const rows: WireConversation[] = [];
  let version = from;
  let cursor: string | undefined;
  let midStep = 0;
  for (let n = 0; n < stopAfter; n++) {
    const res = await page(client, version, count, cursor);
    rows.push(...res.conversations);
    version = res.version;
    cursor = res.cursor;
    if (cursor !== undefined) midStep++;
    if (res.isFinished) return { rows, version, finished: true, midStep };
    assert.ok(n < 2000, 'paging ends');
  }
  return { rows, version, finished: false, midStep };
}

/** The conversation list a device holds after applying rows in order. */
function applied(rows: WireConversation[], initial = new Map<string, WireConversation>()): string[] {
  const state = new Map(initial);
  for (const r of rows) {
    if (r.deleted) state.delete(r.conversationID);
    else state.set(r.conversationID, r);
  }
  return [...state.keys()].sort();
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confab-sync-paging-'));
  server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent' });
  app = await server.createApp({ name: 'sync-paging' });
  for (const id of ['alice', ...peers]) await server.domain.storage.accounts.ensure(app.sdkAppID, id, Date.now());
  // Steps before the deletion: one message, then many at once (group commit: multi-row steps).
  await sendFrom(peers[0]!, 'first');
  await Promise.all(peers.slice(1, 120).map((p) => sendFrom(p, 'hello')));
  // One step with 100 rows: alice deletes 100 conversations in one call.
  const alice = await login('alice');
  const { results } = await alice.ok('conv.delete', { conversationIDs: deleted.map((p) => `c2c_${p}`), clearMessages: true });
  assert.ok(results.every((r) => r.resultCode === 0));
  // Steps after it.
  for (const p of peers.slice(120)) await sendFrom(p, 'later');
});

after(async () => {
  for (const c of clients) await c.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function currentVersion(): Promise<number> {
  return server.domain.storage.accounts.syncVersion(app.sdkAppID, 'alice');
}

describe('conv.sync paging with a cursor', () => {
  test('a device told of deletions gets every row exactly once with any page size, ending on the user\'s version', async () => {
    await server.domain.apps.updateSettings(app.sdkAppID, { syncConversationDeletion: true });
    try {
      const client = await login('alice', [Capability.DELETION_SYNC]);
      const version = await currentVersion();
      for (let count = 1; count <= 7; count++) {
        const { rows, version: reached, midStep } = await syncAll(client, 0, count);
        const ids = rows.map((r) => r.conversationID);
        assert.equal(ids.length, peers.length, `count ${count}: one row per conversation`);
        assert.equal(new Set(ids).size, peers.length, `count ${count}: no conversation twice`);
        assert.equal(rows.filter((r) => r.deleted).length, deleted.length, `count ${count}: the deletion's tombstones`);
        assert.equal(reached, version, `count ${count}: ends on the user's version`);
        assert.ok(midStep > 0, `count ${count}: some pages ended inside the deletion's step`);
        assert.deepEqual(applied(rows), live);
      }
    } finally {
      await server.domain.apps.updateSettings(app.sdkAppID, { syncConversationDeletion: false });
    }
  });

  test('a page that ends inside a step stores the last complete version and the cursor goes on from there', async () => {
    await server.domain.apps.updateSettings(app.sdkAppID, { syncConversationDeletion: true });
    try {
      await pageInsideStep();
    } finally {
      await server.domain.apps.updateSettings(app.sdkAppID, { syncConversationDeletion: false });
    }
  });

  async function pageInsideStep(): Promise<void> {
    const client = await login('alice', [Capability.DELETION_SYNC]);
    const full = await page(client, 0, 1000);
    assert.equal(full.isFinished, true);
    const stepOfDeletion = full.conversations.find((r) => r.deleted)!.version;
    // Start right before the deletion's step and take 40 of its 100 rows.
    const first = await page(client, stepOfDeletion - 1, 40);
    assert.equal(first.conversations.length, 40);
    assert.ok(first.conversations.every((r) => r.version === stepOfDeletion));
    assert.equal(first.version, stepOfDeletion - 1, 'the step is not complete: the version stays before it');
    assert.ok(first.cursor);
    const second = await page(client, first.version, 40, first.cursor);
    assert.equal(second.conversations.length, 40);
    assert.equal(new Set([...first.conversations, ...second.conversations].map((r) => r.conversationID)).size, 80);
    // Without deletion sync the same pages hide the tombstones but still move on by the cursor.
    await server.domain.apps.updateSettings(app.sdkAppID, { syncConversationDeletion: false });
    const hidden = await page(client, stepOfDeletion - 1, 40);
    assert.deepEqual(hidden.conversations, []);
    assert.equal(hidden.version, stepOfDeletion - 1);
    assert.ok(hidden.cursor, 'an empty page inside a step still carries the position');
  }

  test('a device that stops midway and resumes from its stored version converges', async () => {
    const client = await login('alice');
    const start = await syncAll(client, 0, 3, 40); // stops after 40 pages, inside the deletion's step
    assert.equal(start.finished, false);
    const stored = start.version; // what the device persisted; the cursor is gone (restart)
    // Meanwhile a deleted conversation comes back with a new message, and another one is active.
    await sendFrom(deleted[50]!, 'back');
    await sendFrom(peers[125]!, 'again');
    const fresh = await login('alice');
    const rest = await syncAll(fresh, stored, 5);
    assert.equal(rest.version, await currentVersion());
    const expected = [...live, `c2c_${deleted[50]}`].sort();
    assert.deepEqual(applied(rest.rows, new Map(applied(start.rows).map((id) => [id, {} as WireConversation]))), expected);
  });

  test('a bad cursor or count is refused with 6017', async () => {
    const client = await login('alice');
    let cursor: string | undefined;
    let since = 0;
    for (let v = 0; v < 500 && cursor === undefined; ) {
      const res = await page(client, v, 7);
      cursor = res.cursor;
      since = res.version;
      v = res.version;
      if (res.isFinished) break;
    }
    assert.ok(cursor, 'some page ended inside a step');
    const wrongVersion = await client.fail('conv.sync', { sinceVersion: since + 1, count: 7, cursor });
    assert.equal(wrongVersion.code, ErrorCode.INVALID_PARAMETERS);
    assert.match(wrongVersion.desc, /cursor belongs to sinceVersion/);
    for (const bad of ['garbage', Buffer.from('[1]').toString('base64url'), Buffer.from(JSON.stringify([since + 1, ''])).toString('base64url')]) {
      const reply = await client.fail('conv.sync', { sinceVersion: since, cursor: bad });
      assert.equal(reply.code, ErrorCode.INVALID_PARAMETERS, bad);
    }
    assert.equal((await client.fail('conv.sync', { sinceVersion: 0, count: 1001 })).code, ErrorCode.INVALID_PARAMETERS);
    assert.ok((await client.ok('conv.sync', { sinceVersion: 0, count: 1000 })).isFinished, '1000 is allowed');
  });

  test('the SDK\'s paging loop follows the cursor through a step larger than its page', async () => {
    const client = await login('alice');
    const store = new MemoryStore();
    await store.open({ sdkAppID: app.sdkAppID, userID: 'alice' });
    const requests: { sinceVersion: number; cursor?: string }[] = [];
    // The real server, with pages of 3 instead of the SDK's 1000, so a step of 100 spans pages.
    const request = (async (op: string, body: any) => {
      if (op === 'conv.sync') {
        requests.push(body);
        return client.ok('conv.sync', { ...body, count: 3 });
      }
      if (op === 'msg.history') return { messages: [], isFinished: true };
      if (op === 'sync.ack') return {};
      throw new Error(`unexpected ${op}`);
    }) as Requester;
    const engine = new SyncEngine({
      store, request, log: createLogger('silent'), isOwnOutgoing: () => false,
      events: { syncStart() {}, syncFinish() {}, syncFailed(err) { throw err; }, conversations() {}, totalUnread() {}, newMessages() {} },
    });
    await engine.load();
    await engine.sync();
    assert.equal(engine.version, await currentVersion());
    assert.deepEqual((await store.listConversations()).map((c) => c.conversationID).sort(), [...new Set([...live, `c2c_${deleted[50]}`])].sort());
    assert.ok(requests.some((r) => r.cursor !== undefined), 'the loop sent cursors');
    assert.ok(requests.length < 200, 'and it did not restart the step on each page');
  });
});
