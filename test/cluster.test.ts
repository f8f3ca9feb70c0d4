/**
 * A cluster on loopback: three server nodes sharing one PostgreSQL schema and one NATS
 * server, with real SDK clients of one user spread over the nodes. Whatever a client
 * sees must be what it would see with a single node.
 *
 * PostgreSQL comes from CONFAB_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)
 * and NATS from CONFAB_TEST_NATS_URL (default nats://127.0.0.1:4222); every run gets a
 * schema and a NATS subject prefix of its own. When either is unreachable the tests are
 * skipped with a message naming what is missing.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { connect } from 'nats';
import { GroupType } from '@confab/protocol';
import { startServer, type AppRecord, type AppSettings, type ConfabServer } from '@confab/server';
import type { V2TIMManager, V2TIMMessage } from '@confab/sdk';
import { SqliteStore } from '@confab/sdk/sqlite-store';
import { device, texts, waitFor } from './helpers/sdk-harness.js';

const DATABASE_URL = process.env.CONFAB_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS_URL = process.env.CONFAB_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
/** How long a guarded wait may take before it fails the test (never a timing assertion). */
const GUARD_MS = 20_000;

function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Undefined when both services answer; otherwise what is missing. */
async function missing(): Promise<string | undefined> {
  const why: string[] = [];
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    why.push(`PostgreSQL not reachable at ${redacted(DATABASE_URL)} (${(err as Error).message}); start it or set CONFAB_TEST_DATABASE_URL`);
  } finally {
    await client.end().catch(() => undefined);
  }
  try {
    const nc = await connect({ servers: NATS_URL, timeout: 3000, reconnect: false });
    await nc.close();
  } catch (err) {
    why.push(`no NATS server reachable at ${NATS_URL} (${(err as Error).message}); start nats-server or set CONFAB_TEST_NATS_URL`);
  }
  return why.length ? `cluster tests need PostgreSQL and NATS: ${why.join('; ')}` : undefined;
}

const skip = await missing();
const RUN = randomBytes(6).toString('hex');
const SCHEMA = `confab_cluster_${RUN}`;

type Device = ReturnType<typeof device>;

describe('a cluster of three nodes on PostgreSQL and NATS', { skip, timeout: 120_000 }, () => {
  const nodes: ConfabServer[] = [];
  const down = new Set<ConfabServer>();
  const open: V2TIMManager[] = [];
  const dirs: string[] = [];
  let app: AppRecord;
  let n = 0;

  const live = () => nodes.filter((node) => !down.has(node));

  before(async () => {
    // Started together: they migrate the fresh schema once between them.
    nodes.push(...await Promise.all([1, 2, 3].map((i) => startServer({
      port: 0, logLevel: 'silent', purge: false, nodeID: `node-${i}`,
      databaseUrl: DATABASE_URL, databaseSchema: SCHEMA, natsUrl: NATS_URL, natsPrefix: `confabtest.cluster.${RUN}`,
    }))));
    app = await nodes[0]!.createApp({ name: 'cluster' });
    // Every node has the app cached, as it would after its first logins: a settings
    // change elsewhere must reach those caches.
    for (const node of nodes) assert.equal((await node.domain.apps.get(app.sdkAppID))?.sdkAppID, app.sdkAppID);
  });

  after(async () => {
    for (const im of open.splice(0)) await im.logout().catch(() => undefined);
    for (const node of nodes) await node.close();
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await admin.end();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const im of open.splice(0)) await im.logout().catch(() => undefined);
    await setSettings(live()[0]!, { syncConversationDeletion: false, deletionUndoSeconds: 0 });
  });

  /** Fresh user IDs for one test. */
  function users<K extends string>(...names: K[]): Record<K, string> {
    n += 1;
    return Object.fromEntries(names.map((name) => [name, `cl${n}-${name}`])) as Record<K, string>;
  }

  /** A logged-in SDK instance talking to node `at` (an index), or to the nodes listed, in that order. */
  async function loggedIn(userID: string, at: number | number[], opts: Parameters<typeof device>[1] = {}): Promise<Device> {
    const serverUrl = Array.isArray(at) ? at.map((i) => nodes[i]!.wsUrl) : nodes[at]!.wsUrl;
    const d = device({ server: nodes[Array.isArray(at) ? at[0]! : at]!, app }, { ...opts, serverUrl });
    open.push(d.im);
    await d.im.login(userID, await live()[0]!.genUserSig(app.sdkAppID, userID));
    return d;
  }

  /** Changes settings through one node and waits until every running node applies them. */
  async function setSettings(via: ConfabServer, patch: Partial<AppSettings>): Promise<void> {
    await via.domain.apps.updateSettings(app.sdkAppID, patch);
    await waitFor(() => live().every((node) => {
      const settings = node.domain.apps.peek(app.sdkAppID)?.settings;
      return settings && Object.entries(patch).every(([key, value]) => settings[key as keyof AppSettings] === value);
    }), 'every node has the new settings', GUARD_MS);
  }

  const listed = async (d: Device, id: string) =>
    (await d.im.getConversationManager().getConversationList(0, 100)).conversationList.some((c) => c.conversationID === id);
  const conversation = (d: Device, id: string) => d.im.getConversationManager().getConversation(id);
  const totalUnread = (d: Device) => d.im.getConversationManager().getTotalUnreadMessageCount();

  /** Each text exactly once, however it was delivered (push or catch-up). */
  function assertOnce(received: V2TIMMessage[], expected: string[], what: string): void {
    const got = texts(received).filter((t): t is string => t !== undefined && expected.includes(t));
    assert.deepEqual([...got].sort(), [...expected].sort(), `${what}: every message exactly once`);
    const ids = received.map((m) => m.msgID);
    assert.equal(new Set(ids).size, ids.length, `${what}: no message delivered twice`);
  }

  /** Sends one message, retrying the SAME message (same clientMsgID) until the cluster acknowledges it. */
  async function sendSurely(d: Device, text: string, to: string): Promise<V2TIMMessage> {
    const message = d.im.getMessageManager().createTextMessage(text);
    const start = Date.now();
    for (;;) {
      try {
        return await d.im.getMessageManager().sendMessage(message, to, null);
      } catch (err) {
        if (Date.now() - start > GUARD_MS) throw err;
        await delay(50);
      }
    }
  }

  test('messages across nodes: each device gets every message once, and unread counts and the conversation list agree everywhere', async () => {
    const u = users('alice', 'bob', 'carol');
    const a1 = await loggedIn(u.alice, 0, { deviceID: 'A1' });
    const a2 = await loggedIn(u.alice, 1, { deviceID: 'A2' });
    const bob = await loggedIn(u.bob, 2);
    const carol = await loggedIn(u.carol, 1);
    const N = 12;
    const fromBob = Array.from({ length: N }, (_, i) => `b${i}`);
    const fromCarol = Array.from({ length: N }, (_, i) => `c${i}`);
    // Two senders on two nodes at once, to one user whose devices are on two nodes.
    await Promise.all([
      (async () => { for (const t of fromBob) await bob.im.sendC2CTextMessage(t, u.alice); })(),
      (async () => { for (const t of fromCarol) await carol.im.sendC2CTextMessage(t, u.alice); })(),
    ]);
    for (const [name, d] of [['A1 (node 1)', a1], ['A2 (node 2)', a2]] as const) {
      await waitFor(() => d.events.received.length >= 2 * N, `${name} receives all ${2 * N}`, GUARD_MS);
      assertOnce(d.events.received, [...fromBob, ...fromCarol], name);
      assert.deepEqual(texts(d.events.received).filter((t) => /^b\d+$/.test(t ?? '')), fromBob, `${name}: bob's in the order sent`);
      await waitFor(async () => (await totalUnread(d)) === 2 * N, `${name}: ${2 * N} unread`, GUARD_MS);
      for (const [peer, sent] of [[u.bob, fromBob], [u.carol, fromCarol]] as const) {
        const c = await conversation(d, `c2c_${peer}`);
        assert.equal(c.unreadCount, N, `${name}: unread with ${peer}`);
        assert.equal(c.lastMessage?.textElem?.text, sent.at(-1));
      }
    }
    // A fresh device on the third node finds the same list in the shared database.
    const fresh = await loggedIn(u.alice, 2, { deviceID: 'A3' });
    await waitFor(async () => (await totalUnread(fresh)) === 2 * N, 'the fresh device on node 3 syncs the unread counts', GUARD_MS);
    const list = (await fresh.im.getConversationManager().getConversationList(0, 100)).conversationList;
    assert.deepEqual(list.map((c) => [c.conversationID, c.unreadCount]).sort(), [[`c2c_${u.bob}`, N], [`c2c_${u.carol}`, N]]);

    // State changes made on one node reach the devices on the others.
    await a1.im.getMessageManager().markC2CMessageAsRead(u.bob);
    await a2.im.getConversationManager().pinConversation(`c2c_${u.carol}`, true);
    for (const d of [a1, a2, fresh]) {
      await waitFor(async () => (await conversation(d, `c2c_${u.bob}`)).unreadCount === 0, 'read on node 1 reaches every device', GUARD_MS);
      await waitFor(async () => (await conversation(d, `c2c_${u.carol}`)).isPinned, 'pinned on node 2 reaches every device', GUARD_MS);
      assert.equal(await totalUnread(d), N);
    }
    // Late duplicates would show now.
    for (const d of [a1, a2]) assertOnce(d.events.received, [...fromBob, ...fromCarol], 'after the state changes');
  });

  test('a group with members on every node: everyone gets every message once, in the same order', async () => {
    const u = users('owner', 'm2', 'm3');
    const owner = await loggedIn(u.owner, 0);
    const m2 = await loggedIn(u.m2, 1);
    const m3 = await loggedIn(u.m3, 2);
    const groupID = await owner.im.getGroupManager().createGroup({ groupType: GroupType.WORK, groupID: null, groupName: 'spread out' },
      [{ userID: u.m2 }, { userID: u.m3 }]);
    const members = [owner, m2, m3];
    await Promise.all(members.map((d) => waitFor(() => listed(d, `group_${groupID}`), 'every member has the group', GUARD_MS)));
    const sent = members.map((_, k) => Array.from({ length: 6 }, (__, i) => `g${k}-${i}`));
    await Promise.all(members.map(async (d, k) => { for (const t of sent[k]!) await d.im.sendGroupTextMessage(t, groupID); }));
    const histories: string[][] = [];
    for (const [k, d] of members.entries()) {
      const others = sent.filter((_, j) => j !== k).flat();
      await waitFor(() => d.events.received.length >= others.length, `member ${k + 1} receives the others' messages`, GUARD_MS);
      assertOnce(d.events.received, others, `member ${k + 1}`);
      const history = await d.im.getMessageManager().getGroupHistoryMessageList(groupID, 50, null);
      histories.push(history.map((m) => m.msgID));
      assert.deepEqual([...texts(history)].sort(), sent.flat().sort(), `member ${k + 1}'s history holds all 18 once`);
    }
    assert.deepEqual(histories[1], histories[0], 'the same order on node 2 as on node 1');
    assert.deepEqual(histories[2], histories[0], 'the same order on node 3 as on node 1');
  });

  test('deleting on node 1 reaches the user\'s device on node 2 only with deletion sync on', async () => {
    // Off (the default): the device on node 2 is not told and keeps its copy.
    {
      const u = users('alice', 'bob', 'carol');
      const a = await loggedIn(u.alice, 0, { deviceID: 'A' });
      const b = await loggedIn(u.alice, 1, { deviceID: 'B' });
      const peer = await loggedIn(u.bob, 2);
      await loggedIn(u.carol, 2);
      await peer.im.sendC2CTextMessage('one', u.alice);
      await peer.im.sendC2CTextMessage('two', u.alice);
      for (const d of [a, b]) await waitFor(() => d.events.received.length === 2, 'both devices have both messages', GUARD_MS);
      await a.im.getConversationManager().deleteConversation(`c2c_${u.bob}`);
      // A's next change goes out from the same node on the same topic, so it reaches B
      // after the deletion's version step: once B has it, B has handled the deletion.
      await a.im.sendC2CTextMessage('marker', u.carol);
      await waitFor(() => listed(b, `c2c_${u.carol}`), 'B has the change that followed the deletion', GUARD_MS);
      assert.deepEqual(b.events.deleted, [], 'not told with deletion sync off');
      assert.equal(await listed(b, `c2c_${u.bob}`), true, 'B keeps its copy');
      assert.equal(await listed(a, `c2c_${u.bob}`), false);
    }
    // On, switched on through node 2 while node 1 and 3 have the app cached.
    {
      await setSettings(nodes[1]!, { syncConversationDeletion: true });
      const u = users('alice', 'bob');
      const a = await loggedIn(u.alice, 0, { deviceID: 'A' });
      const b = await loggedIn(u.alice, 1, { deviceID: 'B' });
      const peer = await loggedIn(u.bob, 2);
      await peer.im.sendC2CTextMessage('one', u.alice);
      await peer.im.sendC2CTextMessage('two', u.alice);
      for (const d of [a, b]) await waitFor(() => d.events.received.length === 2, 'both devices have both messages', GUARD_MS);
      await a.im.getConversationManager().deleteConversation(`c2c_${u.bob}`);
      await waitFor(() => b.events.deleted.includes(`c2c_${u.bob}`), 'B on node 2 hears of the deletion on node 1', GUARD_MS);
      assert.equal(await listed(b, `c2c_${u.bob}`), false);
      assert.deepEqual(await b.im.getMessageManager().getC2CHistoryMessageList(u.bob, 10, null), [], 'nothing cached or on the server');
      assert.equal(await totalUnread(b), 0);
      // B's acknowledgement goes through node 2; node 1 reads it from the shared database.
      const status = await waitFor(async () => {
        const [s] = await a.im.getConversationManager().getConversationDeletionStatus(`c2c_${u.bob}`);
        return s && s.devices.length === 2 && s.devices.every((d) => d.wiped) ? s : undefined;
      }, 'both devices acknowledge', GUARD_MS);
      assert.deepEqual(status.devices.map((d) => d.deviceID).sort(), ['A', 'B']);
    }
  });

  test('a device offline during messages and a deletion catches up when it restarts against another node', async () => {
    await setSettings(nodes[2]!, { syncConversationDeletion: true });
    const u = users('alice', 'bob', 'carol');
    const dir = mkdtempSync(join(tmpdir(), 'confab-cluster-'));
    dirs.push(dir);
    const file = join(dir, 'alice-c.db');
    const c = await loggedIn(u.alice, 0, { deviceID: 'C', store: new SqliteStore(file) });
    const a = await loggedIn(u.alice, 1, { deviceID: 'A' });
    const bob = await loggedIn(u.bob, 2);
    const carol = await loggedIn(u.carol, 2);
    await bob.im.sendC2CTextMessage('one', u.alice);
    await carol.im.sendC2CTextMessage('hi', u.alice);
    await waitFor(() => c.events.received.length === 2, 'C has both messages', GUARD_MS);
    await c.im.logout();

    await bob.im.sendC2CTextMessage('two', u.alice);
    await bob.im.sendC2CTextMessage('three', u.alice);
    await a.im.getConversationManager().deleteConversation(`c2c_${u.carol}`);

    // C restarts (same store, same device ID) and this time reaches node 3.
    const back = await loggedIn(u.alice, 2, { deviceID: 'C', store: new SqliteStore(file) });
    await waitFor(() => back.events.deleted.includes(`c2c_${u.carol}`), 'the missed deletion is applied', GUARD_MS);
    await waitFor(() => back.events.received.length >= 2, 'the missed messages arrive', GUARD_MS);
    assert.deepEqual(texts(back.events.received), ['two', 'three'], 'only what was missed, once each, in order');
    assert.equal(await listed(back, `c2c_${u.carol}`), false);
    assert.deepEqual(texts(await back.im.getMessageManager().getC2CHistoryMessageList(u.bob, 10, null)), ['three', 'two', 'one']);
    assert.equal((await conversation(back, `c2c_${u.bob}`)).unreadCount, 3);
  });

  test('the purge worker erases on exactly one node: the lease holder', async () => {
    // Whatever earlier tests left in the queue is handled first.
    await Promise.all(nodes.map((node) => node.purgeNow()));
    const u = users('q', 'p1', 'p2', 'p3');
    const q = await loggedIn(u.q, 0);
    const peers = await Promise.all([u.p1, u.p2, u.p3].map((p, i) => loggedIn(p, i)));
    let messages = 0;
    for (const [i, p] of peers.entries()) {
      for (let k = 0; k < 4; k++) await p.im.sendC2CTextMessage(`p${i}-${k}`, u.q);
      await q.im.sendC2CTextMessage(`re ${i}`, [u.p1, u.p2, u.p3][i]!);
      messages += 5;
    }
    // Both sides delete, each through its own node.
    const results = await q.im.getConversationManager().deleteConversationList([u.p1, u.p2, u.p3].map((p) => `c2c_${p}`), true);
    assert.deepEqual(results.map((r) => r.resultCode), [0, 0, 0]);
    for (const p of peers) await p.im.getConversationManager().deleteConversation(`c2c_${u.q}`);

    // All three nodes run the purge at once.
    const erased = await Promise.all(nodes.map((node) => node.purgeNow()));
    assert.equal(erased.reduce((x, y) => x + y, 0), messages, `every deleted message erased exactly once (per node: ${erased.join(', ')})`);
    assert.equal(erased.filter((e) => e > 0).length, 1, `one node did all of it (per node: ${erased.join(', ')})`);
    const holder = await nodes[0]!.domain.storage.leases.holder('purge', Date.now());
    assert.equal(holder?.holder, nodes[erased.findIndex((e) => e > 0)]!.nodeID, 'that node holds the purge lease');
    for (const p of [u.p1, u.p2, u.p3]) {
      const convKey = u.q < p ? `c2c:${u.q}|${p}` : `c2c:${p}|${u.q}`;
      assert.deepEqual(await nodes[1]!.domain.storage.messages.range(app.sdkAppID, convKey, 1, 100, 100, 'asc'), [], `${p}'s conversation erased`);
    }
    const audit = await nodes[2]!.domain.storage.deletions.list(app.sdkAppID, { userID: u.q, limit: 10 });
    assert.equal(audit.length, 3);
    assert.ok(audit.every((e) => e.purgedAt !== null), 'every deletion is marked purged');
    assert.deepEqual(await Promise.all(nodes.map((node) => node.purgeNow())), [0, 0, 0], 'nothing is left to erase');
  });

  test('a node killed while clients are connected: they move to another node and every message arrives exactly once', async () => {
    // Kill the node that holds the purge lease (if any), to see another one take it over.
    const holder = await nodes[0]!.domain.storage.leases.holder('purge', Date.now());
    const v = Math.max(0, nodes.findIndex((node) => node.nodeID === holder?.holder));
    const order = [v, (v + 1) % 3, (v + 2) % 3];
    const victim = nodes[v]!;
    const u = users('alice', 'bob', 'carol');
    // alice and bob know all three nodes and start on the victim; carol is on a survivor.
    const alice = await loggedIn(u.alice, order);
    const bob = await loggedIn(u.bob, order);
    const carol = await loggedIn(u.carol, order[2]!);
    await carol.im.sendC2CTextMessage('before', u.alice);
    await waitFor(() => alice.events.received.length === 1, 'alice is connected and receiving', GUARD_MS);
    assert.equal(alice.events.sdk.filter((e) => e === 'connected').length, 1);

    const fromBob = Array.from({ length: 20 }, (_, i) => `b${i}`);
    const fromCarol = Array.from({ length: 10 }, (_, i) => `c${i}`);
    let acked = 0;
    let killed: Promise<void> | undefined;
    const bobSends = (async () => {
      for (const t of fromBob) {
        await sendSurely(bob, t, u.alice);
        // Mid-stream: the node goes away under alice and bob, with bob's next sends in flight.
        if (++acked === 5) {
          killed = victim.close().then(() => { down.add(victim); });
        }
      }
    })();
    await waitFor(() => acked >= 5, 'bob\'s first five messages are acknowledged', GUARD_MS);
    await killed;
    // Sent while the victim is down and alice is reconnecting.
    const carolSends = (async () => { for (const t of fromCarol) await sendSurely(carol, t, u.alice); })();
    await Promise.all([bobSends, carolSends]);

    const all = ['before', ...fromBob, ...fromCarol];
    await waitFor(() => alice.events.received.length >= all.length, `alice receives all ${all.length}`, GUARD_MS);
    assertOnce(alice.events.received, all, 'alice');
    assert.deepEqual(texts(alice.events.received).filter((t) => /^b\d+$/.test(t ?? '')), fromBob, 'bob\'s in the order sent');
    assert.ok(alice.events.sdk.filter((e) => e === 'connected').length >= 2, 'alice reconnected');
    assert.ok(bob.events.sdk.filter((e) => e === 'connected').length >= 2, 'bob reconnected');
    const bobHistory = await alice.im.getMessageManager().getC2CHistoryMessageList(u.bob, 50, null);
    assert.deepEqual(texts(bobHistory), [...fromBob].reverse(), 'stored once each: no retry made a second copy');
    assert.deepEqual(bobHistory.map((m) => m.seq), fromBob.map((_, i) => fromBob.length - i), 'seqs 1..20 without gaps');
    assert.equal((await conversation(alice, `c2c_${u.bob}`)).unreadCount, fromBob.length);
    assert.equal((await conversation(alice, `c2c_${u.carol}`)).unreadCount, fromCarol.length + 1);
    // Late duplicates would show now.
    await alice.im.getConversationManager().pinConversation(`c2c_${u.bob}`, true);
    assertOnce(alice.events.received, all, 'alice, later');

    // The victim released the purge lease as it closed: a survivor purges at once.
    await alice.im.getConversationManager().deleteConversation(`c2c_${u.bob}`);
    await bob.im.getConversationManager().deleteConversation(`c2c_${u.alice}`);
    const erased = await Promise.all(live().map((node) => node.purgeNow()));
    assert.equal(erased.reduce((x, y) => x + y, 0), fromBob.length, `the survivors erase bob's messages once (per node: ${erased.join(', ')})`);
    assert.equal(erased.filter((e) => e > 0).length, 1);
  });
});
