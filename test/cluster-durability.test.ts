/**
 * Durability of a cluster under failures, end to end: three nodes, each a process of
 * its own, share one PostgreSQL schema and a private NATS server. SDK devices spread
 * over the nodes send a stream of messages in three one-to-one chats and a group while
 *
 * 1. the node holding the fan-out lease is killed with SIGKILL (its devices fail over to
 *    the next URL in their lists and re-send what was in flight; group fan-out waits for
 *    the lease to expire and moves to a survivor),
 * 2. one user deletes a conversation while the peer keeps sending into it (the deletion
 *    is synced to the user's other device; the conversation comes back with only what
 *    follows the deletion), and
 * 3. NATS is killed and started again (pushes between nodes are lost meanwhile; the
 *    nodes' reconnect has every session re-sync, docs/operations.md "Pushes between nodes").
 *
 * Then every device must converge on what the server answers its user (`conv.sync` and
 * `msg.history` through a raw session), and: no acknowledged message is lost, none is
 * stored or shown twice, the deleter never sees anything below its watermark again, and
 * nothing is stored that no one sent.
 *
 * PostgreSQL comes from CONFAB_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test);
 * NATS is /usr/sbin/nats-server (CONFAB_TEST_NATS_SERVER). The test is skipped, saying
 * why, when either is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { GroupType, type WireConversation, type WireMessage } from '@confab/protocol';
import { genUserSig, type AppRecord } from '@confab/server';
import { MemoryStore, type V2TIMManager, type V2TIMMessage } from '@confab/sdk';
import { device, waitFor, type DeviceEvents } from './helpers/sdk-harness.js';
import { freePort, natsServer, noNatsServer, type NatsServer } from './helpers/nats-server.js';
import { startNodeProcess, type NodeProcess } from './helpers/node-process.js';
import { RawClient } from './helpers/raw-client.js';
import { postgresMissing, TEST_DATABASE_URL as DATABASE_URL } from './helpers/postgres.js';

/** How long a guarded wait may take before it fails the test (never a timing assertion). */
const GUARD_MS = 30_000;
/**
 * Pause between two sends of one sender: a steady stream, not a flood. Group senders go
 * slower: while the fan-out lease waits to expire no member row moves, and a device
 * that falls more than 100 messages behind in one conversation (the SDK's catch-up
 * page, CATCH_UP_LIMIT) pulls only the newest 100 and leaves the rest to history
 * paging, by design; the backlog stays well below that.
 */
const PACE_MS = { c2c: 100, group: 300 };
/**
 * The fan-out lease's TTL on these nodes (30 s by default): the killed node holds it, and
 * group messages reach the members only once a survivor has taken it over.
 */
const FANOUT_LEASE_MS = 6000;


const skip = (await postgresMissing()) ?? noNatsServer;
const RUN = randomBytes(6).toString('hex');
const SCHEMA = `confab_durability_${RUN}`;

interface Dev {
  name: string;
  userID: string;
  /** Index of the node its URL list starts with. */
  home: number;
  im: V2TIMManager;
  events: DeviceEvents;
  store: MemoryStore;
  /** Per conversation: how many messages had been announced when the device dropped it (a deletion). */
  droppedAt: Map<string, number>;
}

interface Chat {
  name: string;
  members: string[];
  /** The conversation's ID as `userID` sees it. */
  conversationID(userID: string): string;
  target: { receiver: string | null; groupID: string | null } | ((sender: string) => { receiver: string | null; groupID: string | null });
}

interface Sent {
  chat: Chat;
  sender: string;
  text: string;
  clientMsgID: string;
  startedAt: number;
  ackedAt?: number;
  seq?: number;
}

/** What one user (or one device) holds of one conversation. */
interface View {
  lastSeq: number;
  visibleFromSeq: number;
  unreadCount: number;
  messages: { seq: number; msgID: string; clientMsgID: string }[];
}

const slim = (m: WireMessage) => ({ seq: m.seq, msgID: m.msgID, clientMsgID: m.clientMsgID });

describe('a cluster under a node crash and a NATS restart', { skip, timeout: 180_000 }, () => {
  const nodes: NodeProcess[] = [];
  const open: V2TIMManager[] = [];
  const raws: RawClient[] = [];
  let nats: NatsServer | undefined;
  let natsPort = 0;
  let monitorPort = 0;
  let app: AppRecord;

  before(async () => {
    natsPort = await freePort();
    monitorPort = await freePort();
    nats = await natsServer(natsPort, { monitorPort });
    // Started together: they migrate the fresh schema once between them.
    nodes.push(...await Promise.all([0, 1, 2].map((i) => startNodeProcess({
      port: 0, logLevel: 'silent', nodeID: `node-${i}`,
      databaseUrl: DATABASE_URL, databaseSchema: SCHEMA,
      natsUrl: `nats://127.0.0.1:${natsPort}`, natsPrefix: `confabtest.durability.${RUN}`,
      fanout: { leaseMs: FANOUT_LEASE_MS },
    }))));
    // No node has the app cached before the setting is on: every login reads it as set.
    app = await nodes[0]!.createApp('durability');
    await nodes[0]!.updateSettings(app.sdkAppID, { syncConversationDeletion: true });
  });

  after(async () => {
    for (const im of open.splice(0)) await im.logout().catch(() => undefined);
    for (const raw of raws.splice(0)) await raw.close().catch(() => undefined);
    // The nodes drain their NATS connections while NATS still runs.
    for (const node of nodes) await node.close().catch(() => undefined);
    await nats?.stop();
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await admin.end();
  });

  const sig = (userID: string) => genUserSig({ sdkAppID: app.sdkAppID, secretKey: app.secretKey, userID });

  /** A logged-in device whose URL list starts at node `home` and goes on round the others. */
  async function loggedIn(name: string, userID: string, home: number): Promise<Dev> {
    const serverUrl = [0, 1, 2].map((k) => nodes[(home + k) % 3]!.wsUrl);
    const store = new MemoryStore();
    const d = device({ server: { wsUrl: serverUrl[0]! }, app }, { store, deviceID: name, serverUrl });
    open.push(d.im);
    const dev: Dev = { name, userID, home, im: d.im, events: d.events, store, droppedAt: new Map() };
    d.im.getConversationManager().addConversationListener({
      onConversationDeleted: (ids) => {
        for (const id of ids) if (!dev.droppedAt.has(id)) dev.droppedAt.set(id, dev.events.received.length);
      },
    });
    await d.im.login(userID, sig(userID));
    return dev;
  }

  /** A raw session of `userID` on a live node, to read what the server answers that user. */
  async function auditor(userID: string): Promise<RawClient> {
    const node = nodes.find((n) => n.alive)!;
    const raw = await RawClient.connect(node.wsUrl);
    raws.push(raw);
    raw.guardMs = GUARD_MS;
    // No capabilities: it is never told of deletions and never counts as a device that must wipe.
    await raw.login({ sdkAppID: app.sdkAppID, userID, userSig: sig(userID), deviceID: `audit-${userID}` });
    return raw;
  }

  /** Every conversation the server shows the user, with all its messages it serves. */
  async function serverView(raw: RawClient): Promise<Map<string, View>> {
    const rows = new Map<string, WireConversation>();
    let sinceVersion = 0;
    let cursor: string | undefined;
    for (;;) {
      const page = await raw.ok('conv.sync', { sinceVersion, count: 1000, ...(cursor !== undefined ? { cursor } : {}) });
      for (const c of page.conversations) rows.set(c.conversationID, c);
      if (page.isFinished) break;
      sinceVersion = page.version;
      cursor = page.cursor;
    }
    const views = new Map<string, View>();
    for (const c of rows.values()) {
      if (c.deleted) continue;
      const messages: View['messages'] = [];
      // From the very start, not from the watermark: the server must hide what lies below it.
      for (let afterSeq = 0; ;) {
        const page = await raw.ok('msg.history', { conversationID: c.conversationID, afterSeq, count: 100 });
        messages.push(...page.messages.map(slim));
        if (page.isFinished || page.messages.length === 0) break;
        afterSeq = page.messages.at(-1)!.seq;
      }
      views.set(c.conversationID, { lastSeq: c.lastSeq, visibleFromSeq: c.visibleFromSeq, unreadCount: c.unreadCount, messages });
    }
    return views;
  }

  /** The same, from the device's own store. */
  async function deviceView(d: Dev): Promise<Map<string, View>> {
    const views = new Map<string, View>();
    for (const c of await d.store.listConversations()) {
      const messages = (await d.store.getMessages(c.conversationID, { limit: 100_000 })).map(slim);
      views.set(c.conversationID, { lastSeq: c.lastSeq, visibleFromSeq: c.visibleFromSeq, unreadCount: c.unreadCount, messages });
    }
    return views;
  }

  const canonical = (views: Map<string, View>) => JSON.stringify([...views.entries()].sort(([a], [b]) => a.localeCompare(b)));

  /** How a device's view differs from the server's, conversation by conversation (for the failure message). */
  function difference(mine: Map<string, View>, theirs: Map<string, View>): string {
    const out: string[] = [];
    for (const id of new Set([...mine.keys(), ...theirs.keys()])) {
      const [m, t] = [mine.get(id), theirs.get(id)];
      if (!m || !t) {
        out.push(`${id} ${m ? 'only on the device' : 'missing on the device'}`);
        continue;
      }
      for (const key of ['lastSeq', 'visibleFromSeq', 'unreadCount'] as const) {
        if (m[key] !== t[key]) out.push(`${id} ${key} ${m[key]} on the device, ${t[key]} on the server`);
      }
      const seqs = (v: View) => new Set(v.messages.map((x) => `${x.seq}:${x.clientMsgID}`));
      const [ms, ts] = [seqs(m), seqs(t)];
      const missing = [...ts].filter((x) => !ms.has(x));
      const extra = [...ms].filter((x) => !ts.has(x));
      if (missing.length) out.push(`${id} device lacks seq ${missing.map((x) => x.split(':')[0]).join(',')}`);
      if (extra.length) out.push(`${id} device has extra seq ${extra.map((x) => x.split(':')[0]).join(',')}`);
    }
    return out.join('; ') || 'same content, different order';
  }

  test('a node killed, a conversation deleted and NATS restarted under load: nothing lost, duplicated or resurrected, and every device converges', async () => {
    // The node holding the fan-out lease is the one to crash: group messages then wait
    // for a survivor to take the lease over.
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    const holder = await waitFor(async () => (await admin.query<{ holder: string }>(
      `SELECT holder FROM "${SCHEMA}".leases WHERE name = 'fanout'`)).rows[0]?.holder, 'a node takes the fan-out lease', GUARD_MS)
      .finally(() => admin.end());
    const v = nodes.findIndex((node) => node.nodeID === holder);
    assert.ok(v >= 0, `the fan-out lease holder ${holder} is one of the nodes`);
    const [s1, s2] = [(v + 1) % 3, (v + 2) % 3];

    // Ten devices, four of them starting on the node that will die.
    const alice1 = await loggedIn('alice-1', 'alice', v);
    const alice2 = await loggedIn('alice-2', 'alice', s1);
    const bob = await loggedIn('bob', 'bob', s2);
    const carol = await loggedIn('carol', 'carol', v);
    const dave = await loggedIn('dave', 'dave', s1);
    const erin = await loggedIn('erin', 'erin', s2);
    const frank = await loggedIn('frank', 'frank', v);
    const gina = await loggedIn('gina', 'gina', v);
    const hank = await loggedIn('hank', 'hank', s1);
    const ivan = await loggedIn('ivan', 'ivan', s2);
    const devices = [alice1, alice2, bob, carol, dave, erin, frank, gina, hank, ivan];

    const pair = (a: string, b: string): Chat => ({
      name: `${a}-${b}`, members: [a, b],
      conversationID: (u) => `c2c_${u === a ? b : a}`,
      target: (sender) => ({ receiver: sender === a ? b : a, groupID: null }),
    });
    const groupID = await gina.im.getGroupManager().createGroup({ groupType: GroupType.WORK, groupID: null, groupName: 'durability' },
      [{ userID: 'hank' }, { userID: 'ivan' }]);
    const group: Chat = { name: 'group', members: ['gina', 'hank', 'ivan'], conversationID: () => `group_${groupID}`, target: { receiver: null, groupID } };
    const ab = pair('alice', 'bob');
    const chats = [ab, pair('carol', 'dave'), pair('erin', 'frank'), group];
    for (const d of [gina, hank, ivan]) {
      await waitFor(async () => (await d.store.getConversation(`group_${groupID}`)) !== undefined, `${d.name} has the group`, GUARD_MS);
    }

    // The load: every sender sends its own numbered texts, one after the other, each
    // retried as the SAME message (same clientMsgID) until the cluster acknowledges it.
    const senders = [
      { dev: alice1, chat: ab }, { dev: bob, chat: ab },
      { dev: carol, chat: chats[1]! }, { dev: dave, chat: chats[1]! },
      { dev: erin, chat: chats[2]! }, { dev: frank, chat: chats[2]! },
      { dev: gina, chat: group }, { dev: hank, chat: group }, { dev: ivan, chat: group },
    ].map((s) => ({ ...s, acks: 0 }));
    const sent: Sent[] = [];
    let stopping = false;
    /** Set when the test fails: senders stop retrying at once. */
    let aborted = false;

    async function sendSurely(s: (typeof senders)[number], record: Sent, message: V2TIMMessage): Promise<V2TIMMessage> {
      const { receiver, groupID: gid } = typeof s.chat.target === 'function' ? s.chat.target(s.dev.userID) : s.chat.target;
      const start = Date.now();
      for (;;) {
        try {
          return await s.dev.im.getMessageManager().sendMessage(message, receiver, gid);
        } catch (err) {
          if (aborted || Date.now() - start > GUARD_MS) {
            throw new Error(`${record.text} was not acknowledged within ${GUARD_MS} ms: ${(err as Error).message}`);
          }
          await delay(100);
        }
      }
    }

    const load = senders.map(async (s) => {
      for (let i = 0; !stopping; i++) {
        const text = `${s.dev.name}>${s.chat.name}#${i}`;
        const message = s.dev.im.getMessageManager().createTextMessage(text);
        const record: Sent = { chat: s.chat, sender: s.dev.userID, text, clientMsgID: message.clientMsgID, startedAt: performance.now() };
        sent.push(record);
        const acked = await sendSurely(s, record, message);
        record.ackedAt = performance.now();
        record.seq = acked.seq;
        s.acks += 1;
        await delay(s.chat === group ? PACE_MS.group : PACE_MS.c2c);
      }
    });
    const loadDone = Promise.all(load);
    // A sender that fails ends the test at once, with its reason, instead of a guard timeout elsewhere.
    let loadFailed: Error | undefined;
    loadDone.catch((err: Error) => { loadFailed = err; stopping = true; });

    /** Waits until every sender has `k` more acknowledged messages. */
    async function moreAcks(k: number, what: string): Promise<void> {
      const base = senders.map((s) => s.acks);
      await waitFor(() => {
        if (loadFailed) throw loadFailed;
        return senders.every((s, i) => s.acks >= base[i]! + k);
      }, what, GUARD_MS);
    }

    let deleteStart = 0;
    let deleteEnd = 0;
    try {
      await moreAcks(5, 'the load is running on all three nodes');

      // 1. The fan-out lease holder dies with sends in flight.
      await nodes[v]!.kill();
      for (const d of devices.filter((x) => x.home === v)) {
        await waitFor(() => d.events.sdk.filter((e) => e === 'connected').length >= 2, `${d.name} fails over to a surviving node`, GUARD_MS);
      }
      await moreAcks(5, 'the load goes on on the survivors');

      // 2. alice deletes her chat with bob from the device that failed over; bob goes on sending.
      deleteStart = performance.now();
      await alice1.im.getConversationManager().deleteConversation('c2c_bob');
      deleteEnd = performance.now();
      if (!alice1.droppedAt.has('c2c_bob')) alice1.droppedAt.set('c2c_bob', alice1.events.received.length);
      await moreAcks(5, 'bob sends into the deleted conversation');

      // 3. NATS dies and comes back under load.
      await nats!.stop();
      await moreAcks(3, 'the load goes on while NATS is down');
      nats = await natsServer(natsPort, { monitorPort });
      await waitFor(async () => (await nats!.connections().catch(() => 0)) >= 2, 'both surviving nodes reconnect to NATS', GUARD_MS);
      await moreAcks(5, 'the load goes on after NATS is back');
    } catch (err) {
      aborted = true;
      throw err;
    } finally {
      stopping = true;
    }
    await loadDone;
    const acked = sent.filter((r) => r.ackedAt !== undefined);
    assert.equal(acked.length, sent.length, 'every send was acknowledged in the end');
    for (const s of senders) {
      const seqs = acked.filter((r) => r.chat === s.chat && r.sender === s.dev.userID).map((r) => r.seq!);
      assert.ok(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!), `${s.dev.name}'s messages are stored in the order sent`);
    }

    // Convergence: each device's store equals what the server answers its user.
    const users = [...new Set(devices.map((d) => d.userID))];
    const audits = new Map(await Promise.all(users.map(async (u) => [u, await auditor(u)] as const)));
    let server = new Map<string, Map<string, View>>();
    let diverged: string[] = [];
    const start = Date.now();
    for (;;) {
      server = new Map(await Promise.all(users.map(async (u) => [u, await serverView(audits.get(u)!)] as const)));
      diverged = [];
      for (const d of devices) {
        const [mine, theirs] = [await deviceView(d), server.get(d.userID)!];
        if (canonical(mine) !== canonical(theirs)) diverged.push(`${d.name}: ${difference(mine, theirs)}`);
      }
      if (diverged.length === 0) break;
      if (Date.now() - start > GUARD_MS) break;
      await delay(250);
    }

    // alice's watermark in her chat with bob: everything before the deletion is below it.
    const watermark = server.get('alice')!.get('c2c_bob')?.visibleFromSeq;
    assert.ok(watermark !== undefined && watermark > 1, `the chat came back for alice with a watermark (${watermark})`);
    for (const r of acked.filter((x) => x.chat === ab)) {
      if (r.ackedAt! < deleteStart) assert.ok(r.seq! < watermark, `${r.text} (seq ${r.seq}), acknowledged before the deletion, is below the watermark ${watermark}`);
      if (r.startedAt > deleteEnd) assert.ok(r.seq! >= watermark, `${r.text} (seq ${r.seq}), sent after the deletion, is at or above the watermark ${watermark}`);
    }
    assert.ok(acked.some((r) => r.chat === ab && r.seq! >= watermark), 'messages after the deletion brought the chat back');

    /** Whether `userID` may see a message at `seq` of `chat`. */
    const visible = (chat: Chat, userID: string, seq: number) => !(chat === ab && userID === 'alice' && seq < watermark);

    for (const chat of chats) {
      const ackedHere = acked.filter((r) => r.chat === chat);
      for (const userID of chat.members) {
        const conversationID = chat.conversationID(userID);
        const expected = ackedHere.filter((r) => visible(chat, userID, r.seq!)).map((r) => r.clientMsgID).sort();
        const onServer = server.get(userID)!.get(conversationID)?.messages ?? [];
        // Lost, duplicated, or a message nobody sent: the server serves exactly the acknowledged ones.
        assert.deepEqual(onServer.map((m) => m.clientMsgID).sort(), expected,
          `${userID}'s history of ${conversationID} on the server is every acknowledged message, once`);
        const seqs = onServer.map((m) => m.seq);
        const first: number = chat === ab && userID === 'alice' ? watermark : 1;
        assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => first + i), `${userID}'s ${conversationID}: seqs without gaps from ${first}`);
      }
    }

    assert.deepEqual(diverged, [], `every device converges on the server's view (${diverged.length} did not)`);
    for (const chat of chats) {
      const ackedHere = acked.filter((r) => r.chat === chat);
      for (const userID of chat.members) {
        const conversationID = chat.conversationID(userID);
        const expected = ackedHere.filter((r) => visible(chat, userID, r.seq!)).map((r) => r.clientMsgID).sort();
        for (const d of devices.filter((x) => x.userID === userID)) {
          const stored = (await d.store.getMessages(conversationID, { limit: 100_000 })).map((m) => m.clientMsgID);
          assert.deepEqual([...stored].sort(), expected, `${d.name}'s store holds every acknowledged message of ${conversationID} once`);
          // Announced to the app once each (however it arrived: push, re-sync or catch-up).
          const announced = d.events.received.filter((m) => m.conversationID === conversationID).map((m) => m.clientMsgID);
          assert.equal(new Set(announced).size, announced.length, `${d.name}: no message of ${conversationID} announced twice`);
        }
      }
    }

    // Resurrection: once a device of alice dropped the chat, it never again shows what lies below the watermark.
    for (const d of [alice1, alice2]) {
      const cut = d.droppedAt.get('c2c_bob');
      if (cut === undefined) continue;
      const late: V2TIMMessage[] = d.events.received.slice(cut).filter((m) => m.conversationID === 'c2c_bob' && m.seq < watermark);
      assert.deepEqual(late.map((m) => `${m.textElem?.text} (seq ${m.seq})`), [], `${d.name} announces nothing below the watermark after the deletion`);
    }
    assert.ok(alice1.droppedAt.has('c2c_bob'), 'the deleting device dropped the chat');

    for (const d of devices.filter((x) => x.home === v)) {
      assert.ok(d.events.sdk.filter((e) => e === 'connected').length >= 2, `${d.name} reconnected after the crash`);
    }
  });
});
