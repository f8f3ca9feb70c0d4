/**
 * Durable one-to-one messaging: Confab against a bare relay, in the same run, with the
 * same load generator; and memory per idle logged-in connection.
 *
 *   npm run build && node --import tsx bench/messaging.ts [pairs] [seconds] [window] [rate]
 *
 * Defaults: 16 pairs, 10 s per phase, 16 messages in flight per sender, 5,000 msg/s for
 * the fixed-rate phase. Each server runs in a child process pinned to core 0, the load
 * generator in this process pinned to core 1 (when the machine has two cores or more).
 *
 * The baseline (`lib/relay-baseline.ts`) is the ceiling: a `ws` server that group-commits
 * each message to SQLite (WAL, synchronous=FULL), acks it and pushes it to the receiver,
 * and does nothing else. For each server two phases run:
 * - saturation: each sender keeps `window` messages in flight; messages/s counts acks
 *   (an ack is sent only after the commit that stored the message);
 * - fixed rate: `rate` messages/s spread over the senders, sent on a clock whatever the
 *   acks do (open loop), so latency is not hidden by a slowed-down generator.
 * Confab's figures are then printed as a ratio of the baseline's.
 *
 * BENCH_PROFILE=<file> writes a CPU profile of Confab's saturation phase.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ask, connect, pct, type Conn } from './lib/raw-client.js';

const pinned = cpus().length >= 2;


async function serve(kind: 'confab' | 'relay', dataDir: string): Promise<void> {
  if (kind === 'relay') {
    const { startRelay } = await import('./lib/relay-baseline.js');
    const relay = await startRelay(dataDir);
    process.on('message', (msg: { op: string; users?: string[] }) => {
      if (msg.op === 'sigs') process.send!({ op: 'sigs', sigs: msg.users!.map(() => '') });
      else if (msg.op === 'cpu') process.send!({ op: 'cpu', ...process.cpuUsage() });
    });
    process.on('SIGTERM', () => process.exit(0));
    process.send!({ op: 'ready', url: relay.url, sdkAppID: 0 });
    return;
  }
  const { startServer } = await import('@confab/server');
  // Each generator user stands for many real ones: the per-user rate limit is lifted.
  const server = await startServer({ dataDir, port: 0, logLevel: 'warn', purge: false, limits: { userRequestsPerSecond: 1e9, userRequestBurst: 1e9 } });
  const app = await server.createApp({ name: 'bench' });
  process.on('message', async (msg: { op: string; users?: string[] }) => {
    if (msg.op === 'seed') {
      // The idle users' account and device rows exist before the measurement, as they
      // would for returning users: what is measured is holding their connections.
      for (const u of msg.users!) {
        await server.domain.storage.accounts.ensure(app.sdkAppID, u, Date.now());
        await server.domain.storage.devices.touch(app.sdkAppID, u, { deviceID: 'd', platform: '', capabilities: [], protocolVersion: 1 }, Date.now());
      }
      process.send!({ op: 'seed' });
    } else if (msg.op === 'sigs') {
      const sigs = await Promise.all(msg.users!.map((u) => server.genUserSig(app.sdkAppID, u)));
      process.send!({ op: 'sigs', sigs });
    } else if (msg.op === 'profile-start' && process.env.BENCH_PROFILE) {
      const { Session } = await import('node:inspector');
      const session = new Session();
      session.connect();
      (globalThis as { __profiler?: unknown }).__profiler = session;
      session.post('Profiler.enable', () => session.post('Profiler.start', () => process.send!({ op: 'profile-start' })));
    } else if (msg.op === 'profile-stop' && process.env.BENCH_PROFILE) {
      const session = (globalThis as { __profiler?: import('node:inspector').Session }).__profiler!;
      session.post('Profiler.stop', async (_err, result) => {
        const { writeFileSync } = await import('node:fs');
        writeFileSync(process.env.BENCH_PROFILE!, JSON.stringify((result as { profile: unknown }).profile));
        process.send!({ op: 'profile-stop' });
      });
    } else if (msg.op === 'cpu') {
      process.send!({ op: 'cpu', ...process.cpuUsage() });
    } else if (msg.op === 'mem') {
      global.gc?.();
      const m = process.memoryUsage();
      process.send!({ op: 'mem', rss: m.rss, heap: m.heapUsed + m.external, sessions: server.sessionCount });
    }
  });
  process.on('SIGTERM', () => process.exit(0));
  process.send!({ op: 'ready', url: server.wsUrl, sdkAppID: app.sdkAppID });
}

interface Target {
  child: ChildProcess;
  url: string;
  sdkAppID: number;
  dir: string;
}

async function start(kind: 'confab' | 'relay'): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), `confab-bench-${kind}-`));
  const nodeArgs = ['--import', 'tsx', '--expose-gc', ...(process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean)];
  // `taskset -c 0 node …` keeps the IPC channel: taskset execs node with the same fds.
  const child = pinned
    ? fork(fileURLToPath(import.meta.url), ['--server', kind, dir], { execPath: 'taskset', execArgv: ['-c', '0', process.execPath, ...nodeArgs] })
    : fork(fileURLToPath(import.meta.url), ['--server', kind, dir], { execArgv: nodeArgs });
  process.once('exit', () => child.kill());
  const ready = await new Promise<{ url: string; sdkAppID: number }>((r) => child.once('message', r as never));
  return { child, dir, ...ready };
}

function stop(t: Target): void {
  t.child.kill();
  rmSync(t.dir, { recursive: true, force: true });
}

async function login(t: Target, users: string[]): Promise<Conn[]> {
  const sigs = (await ask<{ sigs: string[] }>(t.child, { op: 'sigs', users }, 'sigs')).sigs;
  const conns: Conn[] = [];
  for (let i = 0; i < users.length; i += 100) {
    conns.push(...await Promise.all(users.slice(i, i + 100).map(async (u, j) => {
      const c = await connect(t.url);
      const r = await c.call('login', { sdkAppID: t.sdkAppID, userID: u, userSig: sigs[i + j], deviceID: 'd', protocolVersion: 1 });
      if (!r.ok) throw new Error(JSON.stringify(r));
      return c;
    })));
  }
  return conns;
}

/** 64 bytes of text, as in the side-by-side comparison this benchmark reproduces. */
const TEXT = 'x'.repeat(64);
const sendFrame = (id: number, to: string, key: string) =>
  `{"id":${id},"op":"msg.send","body":{"conversationID":"c2c_${to}","clientMsgID":"${key}","elem":{"type":"text","text":"${TEXT}"}}}`;

interface PhaseResult { rate: number; ack: number[]; delivery: number[]; refused?: number; acked?: number; cpuUs?: number }

/** Watches receivers' pushes for the messages in `sentAt`, recording delivery latency. */
function watchDeliveries(conns: Conn[], pairs: number, sentAt: Map<string, number>, out: number[]): void {
  for (let p = 0; p < pairs; p++) {
    conns[2 * p + 1]!.onPush = (text) => {
      for (const m of text.matchAll(/"sender":"(u\d+)","clientMsgID":"(m\d+)"/g)) {
        const key = `${m[1]}/${m[2]}`;
        const t = sentAt.get(key);
        if (t !== undefined) { out.push(performance.now() - t); sentAt.delete(key); }
      }
    };
  }
}

let msgCounter = 0;

async function saturate(conns: Conn[], pairs: number, window: number, seconds: number): Promise<PhaseResult> {
  const ack: number[] = [];
  const delivery: number[] = [];
  const sentAt = new Map<string, number>();
  watchDeliveries(conns, pairs, sentAt, delivery);
  let acked = 0;
  let running = true;
  const start = performance.now();
  const loops = Array.from({ length: pairs }, async (_, p) => {
    const sender = conns[2 * p]!;
    const lane = async () => {
      while (running) {
        const key = `m${msgCounter++}`;
        const t = performance.now();
        sentAt.set(`u${2 * p}/${key}`, t);
        const r = await sender.callRaw((id) => sendFrame(id, `u${2 * p + 1}`, key));
        if (!r.ok) throw new Error(JSON.stringify(r));
        ack.push(performance.now() - t);
        acked++;
      }
    };
    await Promise.all(Array.from({ length: window }, lane));
  });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  await Promise.all(loops);
  return { rate: acked / ((performance.now() - start) / 1000), ack, delivery, acked };
}

async function fixedRate(conns: Conn[], pairs: number, rate: number, seconds: number): Promise<PhaseResult> {
  const ack: number[] = [];
  const delivery: number[] = [];
  const sentAt = new Map<string, number>();
  watchDeliveries(conns, pairs, sentAt, delivery);
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  let acked = 0;
  let refused = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate) - sent;
    for (let i = 0; i < due; i++, sent++) {
      const p = sent % pairs;
      const key = `m${msgCounter++}`;
      const t = performance.now();
      sentAt.set(`u${2 * p}/${key}`, t);
      inFlight.push(conns[2 * p]!.callRaw((id) => sendFrame(id, `u${2 * p + 1}`, key)).then((r) => {
        // An open-loop sender does not wait for answers, so a server that falls behind
        // refuses the excess (60022, too many in flight): counted, not fatal.
        if (!r.ok) { refused++; return; }
        ack.push(performance.now() - t);
        acked++;
      }));
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(inFlight);
  return { rate: acked / ((performance.now() - start) / 1000), ack, delivery, refused };
}

async function idleMemory(t: Target, idle: number): Promise<string> {
  const users = Array.from({ length: idle }, (_, i) => `idle${i}`);
  await ask(t.child, { op: 'seed', users }, 'seed');
  const cold = await ask<{ rss: number }>(t.child, { op: 'mem' }, 'mem');
  const first = await login(t, users);
  const coldLoaded = await ask<{ rss: number }>(t.child, { op: 'mem' }, 'mem');
  for (const c of first) c.ws.close();
  await new Promise((r) => setTimeout(r, 500));
  const base = await ask<{ rss: number; heap: number }>(t.child, { op: 'mem' }, 'mem');
  const conns = await login(t, users);
  await new Promise((r) => setTimeout(r, 500));
  const loaded = await ask<{ rss: number; heap: number; sessions: number }>(t.child, { op: 'mem' }, 'mem');
  for (const c of conns) c.ws.close();
  await new Promise((r) => setTimeout(r, 500));
  // Three views: RSS growth of a cold process whose users already have their rows (an
  // upper bound: it includes the heap and caches the first logins grow), RSS growth when
  // the same users log in again into a warm process, and JS heap + external memory held
  // by the idle sessions themselves.
  return `${loaded.sessions} idle logged-in connections: cold RSS +${((coldLoaded.rss - cold.rss) / idle / 1024).toFixed(1)} KiB each, warm RSS +${((loaded.rss - base.rss) / idle / 1024).toFixed(1)} KiB each, warm heap+external +${((loaded.heap - base.heap) / idle / 1024).toFixed(1)} KiB each`;
}

function line(name: string, r: PhaseResult): string {
  r.ack.sort((a, b) => a - b);
  r.delivery.sort((a, b) => a - b);
  return `${name.padEnd(26)} ${String(Math.round(r.rate)).padStart(7)} msg/s   ack p50 ${pct(r.ack, 0.5).toFixed(1).padStart(6)} p99 ${pct(r.ack, 0.99).toFixed(1).padStart(6)} ms   delivery p50 ${pct(r.delivery, 0.5).toFixed(1).padStart(6)} p99 ${pct(r.delivery, 0.99).toFixed(1).padStart(6)} ms${r.cpuUs ? `   server CPU ${r.cpuUs.toFixed(1)} µs/msg` : ''}${r.refused ? `   (${r.refused} refused: server behind)` : ''}`;
}

async function run(kind: 'confab' | 'relay', pairs: number, seconds: number, window: number, rate: number, withMemory: boolean) {
  const t = await start(kind);
  const memory = withMemory ? await idleMemory(t, 2000) : undefined;
  const conns = await login(t, Array.from({ length: pairs * 2 }, (_, i) => `u${i}`));
  await saturate(conns, pairs, window, Math.min(2, seconds)); // warm-up: JIT, page cache
  if (kind === 'confab' && process.env.BENCH_PROFILE) await ask(t.child, { op: 'profile-start' }, 'profile-start');
  const cpu0 = await ask<{ user: number; system: number }>(t.child, { op: 'cpu' }, 'cpu');
  const sat = await saturate(conns, pairs, window, seconds);
  const cpu1 = await ask<{ user: number; system: number }>(t.child, { op: 'cpu' }, 'cpu');
  // Server CPU per message: steadier than throughput on a machine that is busy elsewhere.
  sat.cpuUs = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / sat.acked!;
  if (kind === 'confab' && process.env.BENCH_PROFILE) await ask(t.child, { op: 'profile-stop' }, 'profile-stop');
  const fixed = await fixedRate(conns, pairs, rate, seconds);
  for (const c of conns) c.ws.close();
  stop(t);
  return { sat, fixed, memory };
}

async function main(): Promise<void> {
  const pairs = Number(process.argv[2] ?? 16);
  const seconds = Number(process.argv[3] ?? 10);
  const window = Number(process.argv[4] ?? 16);
  const rate = Number(process.argv[5] ?? 5000);
  if (pinned) execFileSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  console.log(`${pairs} pairs, ${window} in flight per sender, ${seconds} s per phase, fixed rate ${rate} msg/s; servers on core 0${pinned ? ', generator on core 1' : ' (not pinned: one core)'}`);
  const relay = await run('relay', pairs, seconds, window, rate, false);
  console.log(line('baseline saturation', relay.sat));
  console.log(line(`baseline at ${rate}/s`, relay.fixed));
  const confab = await run('confab', pairs, seconds, window, rate, true);
  console.log(line('confab saturation', confab.sat));
  console.log(line(`confab at ${rate}/s`, confab.fixed));
  console.log(`server CPU per message: ${(confab.sat.cpuUs! / relay.sat.cpuUs!).toFixed(2)}x the baseline's`);
  console.log(`ratio: saturation ${(confab.sat.rate / relay.sat.rate).toFixed(2)}x the baseline's throughput; p99 ack at ${rate}/s ${(pct(confab.fixed.ack, 0.99) / pct(relay.fixed.ack, 0.99)).toFixed(2)}x the baseline's`);
  console.log(confab.memory);
}

if (process.argv[2] === '--server') {
  await serve(process.argv[3] as 'confab' | 'relay', process.argv[4]!);
} else {
  await main();
}
