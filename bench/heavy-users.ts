/**
 * Heavy users next to ordinary ones: what one user with a very long conversation list,
 * a fresh SDK device of a user with 10k conversations, and a 6,000-member group cost the
 * other users of the same server (embedded SQLite, one node).
 *
 *   npm run build && node --import tsx bench/heavy-users.ts [conversations=100000] [clients=20] [groupMembers=6000] [sdkConversations=10000] [seconds=5]
 *
 * Seeding (timed, printed) runs in a child process with durability `normal` straight
 * through the storage seam: `heavy` gets `conversations` one-to-one conversations with
 * one message each (appendBatch, 500 per commit), `cold` gets `sdkConversations`, and
 * `big` is a group of `groupMembers` (storage.groups.create + addMembers in chunks). The
 * peers of `heavy` and `cold` are not accounts and get no rows of their own: nothing
 * measured here reads them, and a row needs its user's account (its sync version).
 * The measured server then starts on the same files with the default durability (`full`),
 * in a child pinned to core 0; this generator runs on core 1.
 *
 * `clients` raw clients stay logged in all along, each pinging in a closed loop (a 10 ms
 * pause between a reply and the next ping) and sending one-to-one messages to the next
 * client, 5 per second each, on a clock. Their p50/p99 are printed per phase against a
 * quiet phase measured first:
 * - `conv.sync` of `heavy` from version 0, count 1000, following the cursor: per page;
 * - REST `recentcontact/get_list` of `heavy`, all pages of 100 (AssistFlags 5): per page;
 * - SDK cold start of `cold` on a fresh device (memory store): login → onSyncServerFinish
 *   and the requests sent; then a warm device (SqliteStore file, second login with the
 *   same file): login → first getConversationList page, and paging the whole list;
 * - messages to `big` (its members offline except the clients): 10 one after the other
 *   (one fan-out's cost), then one every 200 ms on a clock, against a phase with the same
 *   one-to-one load and no group sends. When one fan-out takes longer than 200 ms the
 *   sends queue up: the ack times then show the backlog, not the cost of one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalStore, V2TIMManager as V2TIMManagerType } from '@confab/sdk';
import { ask, pct, type Conn } from './lib/raw-client.js';
import { c2cKey, exited, forkServer, loginRaw, next, pinGeneratorCore, pinned } from './lib/pinned-child.js';
import { countingWebSocket } from './lib/counting-websocket.js';

const GROUP = 'big';
const OWNER = 'gowner';
const SEED_BATCH = 500;
const clientID = (i: number) => `u${i}`;
/** The load's samples between measured phases (warm-up, logouts): not printed. */
const HIDDEN = '-';

// ---------------------------------------------------------------- server child modes

async function seed(dir: string, conversations: number, members: number, sdkConversations: number, clients: number): Promise<void> {
  const { startServer } = await import('@confab/server');
  // `normal`: a commit is not synced to disk, so the 100k-odd seeding commits take
  // seconds, not minutes; the measured server reopens the files with `full`.
  const server = await startServer({ dataDir: dir, port: 0, logLevel: 'warn', purge: false, durability: 'normal' });
  const app = (await server.createApp({ name: 'bench' })).sdkAppID;
  const { storage } = server.domain;
  const t0 = performance.now();

  const list = async (user: string, prefix: string, n: number) => {
    await storage.accounts.ensure(app, user, Date.now());
    for (let start = 0; start < n; start += SEED_BATCH) {
      const batch = Array.from({ length: Math.min(SEED_BATCH, n - start) }, (_, k) => {
        const peer = `${prefix}${start + k}`;
        return {
          app, convKey: c2cKey(user, peer), sender: peer, clientMsgID: `seed-${peer}`,
          elem: { type: 'text' as const, text: `hello from ${peer}, message number ${start + k}` },
          recipients: [{ userID: user, conversationID: `c2c_${peer}` }], now: Date.now(),
        };
      });
      await storage.messages.appendBatch(batch);
    }
  };
  await list('heavy', 'p', conversations);
  const heavyMs = performance.now() - t0;
  await list('cold', 'q', sdkConversations);
  const coldMs = performance.now() - t0 - heavyMs;

  // The load clients are members (online ones); the rest never log in.
  const t1 = performance.now();
  const ids = [OWNER, ...Array.from({ length: Math.min(clients, members - 1) }, (_, i) => clientID(i))];
  for (let i = ids.length; i < members; i++) ids.push(`g${i}`);
  for (const id of ids) await storage.accounts.ensure(app, id, Date.now());
  await storage.groups.create(app, {
    groupID: GROUP, groupType: 'Public', groupName: 'big', faceUrl: '', introduction: '', notification: '', owner: OWNER, createdAt: Date.now(),
  }, [], Date.now());
  for (let i = 1; i < ids.length; i += 500) await storage.groups.addMembers(app, GROUP, ids.slice(i, i + 500), Date.now());
  const groupMs = performance.now() - t1;
  await server.close();
  process.send!({ op: 'seeded', sdkAppID: app, heavyMs, coldMs, groupMs }, () => process.disconnect());
}

async function serve(dir: string, sdkAppID: number): Promise<void> {
  const { startServer } = await import('@confab/server');
  const server = await startServer({ dataDir: dir, port: 0, logLevel: 'warn', purge: false });
  process.on('message', async (msg: { op: string; users?: string[] }) => {
    if (msg.op === 'sigs') process.send!({ op: 'sigs', sigs: await Promise.all(msg.users!.map((u) => server.genUserSig(sdkAppID, u))) });
  });
  process.on('SIGTERM', () => process.exit(0));
  process.send!({ op: 'ready', url: server.wsUrl, httpUrl: server.httpUrl });
}

// ---------------------------------------------------------------- background load

interface Samples { ping: number[]; send: number[] }

/**
 * The ordinary users: each pings in a closed loop and sends one-to-one messages on a
 * clock (open loop, so a slow server does not slow the offered load). Each sample is
 * filed under the phase that was current when its request went out.
 */
class Load {
  readonly phases = new Map<string, Samples>();
  #current: Samples = { ping: [], send: [] };
  #running = true;
  #loops: Promise<void>[] = [];
  #inFlight = new Set<Promise<void>>();
  #failures = 0;

  constructor(private readonly conns: Conn[], private readonly sendsPerSecond: number, private readonly pingPauseMs: number) {}

  phase(name: string): void {
    this.#current = { ping: [], send: [] };
    this.phases.set(name, this.#current);
  }

  start(): void {
    for (const c of this.conns) {
      this.#loops.push((async () => {
        while (this.#running) {
          const into = this.#current;
          const t = performance.now();
          const r = await c.callRaw((id) => `{"id":${id},"op":"ping","body":{}}`);
          if (r.ok) into.ping.push(performance.now() - t);
          else this.#failures++;
          await new Promise((res) => setTimeout(res, this.pingPauseMs));
        }
      })());
    }
    this.#loops.push(this.#sendClock());
  }

  async #sendClock(): Promise<void> {
    const rate = this.sendsPerSecond * this.conns.length;
    const start = performance.now();
    let sent = 0;
    while (this.#running) {
      const due = Math.floor(((performance.now() - start) / 1000) * rate) - sent;
      for (let i = 0; i < due; i++, sent++) {
        const from = sent % this.conns.length;
        const to = clientID((from + 1) % this.conns.length);
        const into = this.#current;
        const t = performance.now();
        const p = this.conns[from]!.callRaw((id) =>
          `{"id":${id},"op":"msg.send","body":{"conversationID":"c2c_${to}","clientMsgID":"l${sent}","elem":{"type":"text","text":"load message ${sent}"}}}`)
          .then((r) => {
            if (r.ok) into.send.push(performance.now() - t);
            else this.#failures++;
          });
        this.#inFlight.add(p);
        void p.finally(() => this.#inFlight.delete(p));
      }
      await new Promise((res) => setTimeout(res, 5));
    }
  }

  async stop(): Promise<number> {
    this.#running = false;
    await Promise.all(this.#loops);
    await Promise.all(this.#inFlight);
    return this.#failures;
  }
}

// ---------------------------------------------------------------- measurements

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-').padStart(7);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function dist(name: string, xs: number[]): string {
  const s = sorted(xs);
  return `${name.padEnd(52)} n ${String(s.length).padStart(5)}   p50 ${f(pct(s, 0.5))}  p99 ${f(pct(s, 0.99))}  max ${f(s[s.length - 1] ?? NaN)} ms`;
}

async function syncAll(conn: Conn): Promise<{ pages: number[]; rows: number }> {
  const pages: number[] = [];
  let rows = 0;
  let body: { sinceVersion: number; count: number; cursor?: string } = { sinceVersion: 0, count: 1000 };
  for (let n = 0; n < 100_000; n++) {
    const t = performance.now();
    const r = await conn.callFull('conv.sync', body);
    pages.push(performance.now() - t);
    if (!r.ok) throw new Error(`conv.sync: ${JSON.stringify(r)}`);
    const page = r.body as { conversations: unknown[]; version: number; isFinished: boolean; cursor?: string };
    rows += page.conversations.length;
    if (page.isFinished) return { pages, rows };
    body = { sinceVersion: page.version, count: 1000, ...(page.cursor ? { cursor: page.cursor } : {}) };
  }
  throw new Error('conv.sync never finished');
}

async function restAll(httpUrl: string, sdkAppID: number, adminSig: string): Promise<{ pages: number[]; rows: number }> {
  const url = `${httpUrl}/v4/recentcontact/get_list?sdkappid=${sdkAppID}&identifier=administrator&usersig=${adminSig}&random=1&contenttype=json`;
  const pages: number[] = [];
  let rows = 0;
  let cursor = { TimeStamp: 0, StartIndex: 0, TopTimeStamp: 0, TopStartIndex: 0 };
  for (let n = 0; n < 100_000; n++) {
    const t = performance.now();
    const res = await fetch(url, { method: 'POST', body: JSON.stringify({ From_Account: 'heavy', ...cursor, AssistFlags: 5, PageSize: 100 }) });
    const json = await res.json() as Record<string, unknown>;
    pages.push(performance.now() - t);
    if (json.ActionStatus !== 'OK') throw new Error(`get_list: ${JSON.stringify(json)}`);
    rows += (json.SessionItem as unknown[]).length;
    if (json.CompleteFlag === 1) return { pages, rows };
    cursor = { TimeStamp: json.TimeStamp as number, StartIndex: json.StartIndex as number, TopTimeStamp: json.TopTimeStamp as number, TopStartIndex: json.TopStartIndex as number };
  }
  throw new Error('get_list never completed');
}

async function sdkStart(url: string, sdkAppID: number, sig: string, dir: string, load: Load): Promise<string[]> {
  const { MemoryStore, V2TIMManager } = await import('@confab/sdk');
  const { SqliteStore } = await import('@confab/sdk/sqlite-store');
  /** Logs a device in; resolves once its first sync finished, with the requests sent until then. */
  const device = async (deviceID: string, store: LocalStore) => {
    const ops: string[] = [];
    const CountingWebSocket = countingWebSocket(ops);
    const im = new V2TIMManager();
    im.initSDK(sdkAppID, { serverUrl: url, store, deviceID, logLevel: 'warn', WebSocket: CountingWebSocket as never });
    let finished!: () => void;
    const synced = new Promise<void>((r) => { finished = r; });
    let atFinish: string[] = [];
    im.getConversationManager().addConversationListener({ onSyncServerFinish: () => { atFinish = [...ops]; finished(); } });
    const t0 = performance.now();
    await im.login('cold', sig);
    return { im, t0, synced: synced.then(() => ({ ms: performance.now() - t0, ops: atFinish })) };
  };
  const pageAll = async (im: V2TIMManagerType) => {
    let n = 0;
    for (let nextSeq = 0; ;) {
      const page = await im.getConversationManager().getConversationList(nextSeq, 100);
      n += page.conversationList.length;
      if (page.isFinished) return n;
      nextSeq = page.nextSeq;
    }
  };
  const count = (ops: string[], op: string) => ops.filter((o) => o === op).length;
  const out: string[] = [];

  load.phase('SDK cold start, memory store');
  const cold = await device('fresh', new MemoryStore());
  const c = await cold.synced;
  load.phase(HIDDEN);
  out.push(`SDK cold start, memory store: login → onSyncServerFinish ${c.ms.toFixed(0)} ms, ${c.ops.length} requests (conv.sync ${count(c.ops, 'conv.sync')}, msg.history ${count(c.ops, 'msg.history')})`);
  await cold.im.logout();

  load.phase('SDK first login, SqliteStore');
  const file = join(dir, 'sdk-warm.db');
  const prime = await device('warm', new SqliteStore(file));
  const p = await prime.synced;
  load.phase(HIDDEN);
  out.push(`SDK first login, SqliteStore:    login → onSyncServerFinish ${p.ms.toFixed(0)} ms, ${p.ops.length} requests`);
  await sleep(1000); // the background prefetch of the list's top, so the logout does not cut it
  await prime.im.logout();

  load.phase('SDK warm login + paging, SqliteStore');
  const warm = await device('warm', new SqliteStore(file));
  const first = await warm.im.getConversationManager().getConversationList(0, 100);
  const firstMs = performance.now() - warm.t0;
  const w = await warm.synced;
  const t1 = performance.now();
  const listed = await pageAll(warm.im);
  const allMs = performance.now() - t1;
  out.push(`SDK warm login, same SqliteStore: login → first getConversationList page (${first.conversationList.length}) ${firstMs.toFixed(0)} ms; onSyncServerFinish ${w.ms.toFixed(0)} ms with ${w.ops.length} requests; paging all ${listed} by 100 ${allMs.toFixed(0)} ms`);
  load.phase(HIDDEN);
  await warm.im.logout();
  return out;
}

const groupFrame = (n: string) => (id: number) =>
  `{"id":${id},"op":"msg.send","body":{"conversationID":"group_${GROUP}","clientMsgID":"g${n}","elem":{"type":"text","text":"to everyone ${n}"}}}`;

/** One group message at a time: the cost of one fan-out, with no queue behind it. */
async function groupOneByOne(owner: Conn, count: number): Promise<number[]> {
  const acks: number[] = [];
  for (let n = 0; n < count; n++) {
    const t = performance.now();
    const r = await owner.callRaw(groupFrame(`s${n}`));
    if (!r.ok) throw new Error(`group send: ${JSON.stringify(r)}`);
    acks.push(performance.now() - t);
  }
  return acks;
}

async function groupSends(owner: Conn, seconds: number, everyMs: number): Promise<number[]> {
  const acks: number[] = [];
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  for (let n = 0; performance.now() - start < seconds * 1000; n++) {
    const t = performance.now();
    inFlight.push(owner.callRaw(groupFrame(`p${n}`))
      .then((r) => {
        if (!r.ok) throw new Error(`group send: ${JSON.stringify(r)}`);
        acks.push(performance.now() - t);
      }));
    await sleep(Math.max(0, start + (n + 1) * everyMs - performance.now()));
  }
  await Promise.all(inFlight);
  return acks;
}

async function main(): Promise<void> {
  const [conversations = 100_000, clients = 20, members = 6000, sdkConversations = 10_000, seconds = 5] = process.argv.slice(2).map(Number);
  pinGeneratorCore();
  const script = fileURLToPath(import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), 'confab-bench-heavy-'));
  try {
    console.log(`Heavy users: one user with ${conversations} conversations, a ${members}-member group, a fresh SDK device with ${sdkConversations};`
      + ` ${clients} other clients (ping closed loop, 10 ms pause; 5 one-to-one msg/s each) measured alongside.`
      + ` Server on core 0${pinned ? ', generator on core 1' : ' (not pinned: one core)'}; SQLite, durability full; ${seconds} s per timed phase.`);

    const t0 = performance.now();
    const seeder = forkServer(script, ['--seed', dir, String(conversations), String(members), String(sdkConversations), String(clients)]);
    const seeded = await next<{ sdkAppID: number; heavyMs: number; coldMs: number; groupMs: number }>(seeder, 'seeded');
    await exited(seeder);
    console.log(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s (process start included): heavy ${(seeded.heavyMs / 1000).toFixed(1)} s,`
      + ` cold ${(seeded.coldMs / 1000).toFixed(1)} s, group ${(seeded.groupMs / 1000).toFixed(1)} s`);

    const child = forkServer(script, ['--serve', dir, String(seeded.sdkAppID)]);
    const { url, httpUrl } = await next<{ url: string; httpUrl: string }>(child, 'ready');
    const app = seeded.sdkAppID;
    const conns = await loginRaw(child, url, app, Array.from({ length: clients }, (_, i) => clientID(i)));
    const [heavyConn] = await loginRaw(child, url, app, ['heavy'], 'bench-sync');
    const [ownerConn] = await loginRaw(child, url, app, [OWNER]);
    const [adminSig, coldSig] = (await ask<{ sigs: string[] }>(child, { op: 'sigs', users: ['administrator', 'cold'] }, 'sigs')).sigs as [string, string];

    const load = new Load(conns, 5, 10);
    load.phase(HIDDEN); // warm-up
    load.start();
    await sleep(1000);
    const lines: string[] = [];

    load.phase('quiet');
    await sleep(seconds * 1000);

    load.phase('conv.sync');
    const sync = await syncAll(heavyConn!);
    lines.push(dist(`conv.sync page (1000), ${sync.rows} rows in ${sync.pages.length}`, sync.pages));

    load.phase('REST get_list');
    const rest = await restAll(httpUrl, app, adminSig);
    lines.push(dist(`get_list page (100), ${rest.rows} rows in ${rest.pages.length}`, rest.pages));

    const sdk = await sdkStart(url, app, coldSig, dir, load);

    load.phase('group send, one at a time');
    const single = await groupOneByOne(ownerConn!, 10);
    lines.push(dist(`message to the ${members}-member group, one at a time`, single));

    load.phase('1:1 only');
    await sleep(seconds * 1000);
    load.phase('group send / 200 ms');
    const group = await groupSends(ownerConn!, seconds, 200);
    lines.push(dist(`message to the ${members}-member group every 200 ms`, group));
    const failures = await load.stop();

    console.log('\nmeasured operations');
    for (const l of lines) console.log(l);
    for (const l of sdk) console.log(l);

    console.log(`\nthe ${clients} other clients per phase (ms)                  ping p50     p99   send p50     p99   p99 vs quiet: ping   send`);
    const quiet = load.phases.get('quiet')!;
    const q = { ping: pct(sorted(quiet.ping), 0.99), send: pct(sorted(quiet.send), 0.99) };
    for (const [name, s] of load.phases) {
      if (name === HIDDEN) continue;
      const ping = sorted(s.ping), send = sorted(s.send);
      console.log(`${name.padEnd(52)} ${f(pct(ping, 0.5))} ${f(pct(ping, 0.99))}   ${f(pct(send, 0.5))} ${f(pct(send, 0.99))}`
        + `   ${(pct(ping, 0.99) / q.ping).toFixed(2).padStart(15)}x ${(pct(send, 0.99) / q.send).toFixed(2).padStart(5)}x`);
    }
    const solo = load.phases.get('1:1 only')!, withGroup = load.phases.get('group send / 200 ms')!;
    console.log(`1:1 ack p99 with group sends / without: ${(pct(sorted(withGroup.send), 0.99) / pct(sorted(solo.send), 0.99)).toFixed(2)}x`
      + ` (p50 ${(pct(sorted(withGroup.send), 0.5) / pct(sorted(solo.send), 0.5)).toFixed(2)}x)`);
    if (failures) console.log(`${failures} load requests failed`);

    for (const c of [...conns, heavyConn!, ownerConn!]) c.ws.close();
    child.kill();
    await exited(child);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const mode = process.argv[2];
try {
  if (mode === '--seed') {
    const [dir, conversations, members, sdkConversations, clients] = process.argv.slice(3);
    await seed(dir!, Number(conversations), Number(members), Number(sdkConversations), Number(clients));
  } else if (mode === '--serve') {
    await serve(process.argv[3]!, Number(process.argv[4]));
  } else {
    await main();
  }
} catch (err) {
  // A server child reports its failure to the generator, which then stops.
  if (process.send) process.send({ op: 'failed', error: String((err as Error).stack ?? err) }, () => process.exit(1));
  else throw err;
}
