/**
 * Durable one-to-one messaging throughput and latency, and memory per idle connection.
 *
 *   npm run build && node --import tsx bench/messaging.ts [pairs] [seconds] [window]
 *
 * The server runs in a child process (one core), the load generator here (the other).
 * Each of `pairs` senders keeps `window` messages in flight to its own receiver; a
 * message counts when its sender got the ack, which the server sends only after the
 * group commit that stored it. Latency is send → ack and send → receiver's push.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ask, connect, pct, type Conn } from './lib/raw-client.js';

if (process.argv[2] === '--server') {
  const { startServer } = await import('@confab/server');
  const server = await startServer({ dataDir: process.argv[3]!, port: 0, logLevel: 'warn', purge: false });
  const app = await server.createApp({ name: 'bench' });
  process.on('message', async (msg: { op: string; users?: string[] }) => {
    if (msg.op === 'sigs') {
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
    } else if (msg.op === 'mem') {
      global.gc?.();
      const m = process.memoryUsage();
      process.send!({ op: 'mem', rss: m.rss, heap: m.heapUsed + m.external, sessions: server.sessionCount });
    }
  });
  process.on('SIGTERM', () => process.exit(0));
  process.send!({ op: 'ready', url: server.wsUrl, sdkAppID: app.sdkAppID });
} else {
  await main();
}

async function main(): Promise<void> {
  const pairs = Number(process.argv[2] ?? 100);
  const seconds = Number(process.argv[3] ?? 10);
  const window = Number(process.argv[4] ?? 32);
  const dir = mkdtempSync(join(tmpdir(), 'confab-bench-msg-'));
  const child = fork(fileURLToPath(import.meta.url), ['--server', dir], { execArgv: ['--import', 'tsx', '--expose-gc', ...(process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean)] });
  const ready = await new Promise<{ url: string; sdkAppID: number }>((r) => child.once('message', r as never));

  // Memory per idle connection: log N users in once (creating their accounts and device
  // rows), disconnect, take the baseline, then hold N idle logged-in sessions and compare.
  const idle = 2000;
  const idleUsers = Array.from({ length: idle }, (_, i) => `idle${i}`);
  const idleSigs = (await ask<{ sigs: string[] }>(child, { op: 'sigs', users: idleUsers }, 'sigs')).sigs;
  const connectIdle = async () => {
    const conns: Conn[] = [];
    for (let i = 0; i < idle; i += 100) {
      conns.push(...await Promise.all(idleUsers.slice(i, i + 100).map(async (u, j) => {
        const c = await connect(ready.url);
        await c.call('login', { sdkAppID: ready.sdkAppID, userID: u, userSig: idleSigs[i + j], deviceID: 'd', protocolVersion: 1 });
        return c;
      })));
    }
    return conns;
  };
  const cold = await ask<{ rss: number }>(child, { op: 'mem' }, 'mem');
  const first = await connectIdle();
  const coldLoaded = await ask<{ rss: number }>(child, { op: 'mem' }, 'mem');
  for (const c of first) c.ws.close();
  await new Promise((r) => setTimeout(r, 500));
  const base = await ask<{ rss: number; heap: number }>(child, { op: 'mem' }, 'mem');
  const idleConns = await connectIdle();
  await new Promise((r) => setTimeout(r, 500));
  const loaded = await ask<{ rss: number; heap: number; sessions: number }>(child, { op: 'mem' }, 'mem');
  // Two views: RSS growth of a cold process (an upper bound: it includes first-login work
  // such as account rows and SQLite's page cache) and JS heap + external memory held by
  // the idle sessions themselves once the process is warm.
  console.log(`idle connections: ${loaded.sessions}; per connection: cold RSS +${((coldLoaded.rss - cold.rss) / idle / 1024).toFixed(1)} KiB, warm heap+external +${((loaded.heap - base.heap) / idle / 1024).toFixed(1)} KiB`);
  for (const c of idleConns) c.ws.close();

  const users = Array.from({ length: pairs * 2 }, (_, i) => `u${i}`);
  const sigs = (await ask<{ sigs: string[] }>(child, { op: 'sigs', users }, 'sigs')).sigs;
  const conns = await Promise.all(users.map(async (u, i) => {
    const c = await connect(ready.url);
    const r = await c.call('login', { sdkAppID: ready.sdkAppID, userID: u, userSig: sigs[i], deviceID: 'd', protocolVersion: 1 });
    if (!r.ok) throw new Error(JSON.stringify(r));
    return c;
  }));
  const ackLat: number[] = [];
  const deliverLat: number[] = [];
  const sentAt = new Map<string, number>();
  let acked = 0;
  let running = true;
  for (let p = 0; p < pairs; p++) {
    // The receiver reads only the sender and clientMsgID out of each push.
    conns[2 * p + 1]!.onPush = (text) => {
      for (const m of text.matchAll(/"sender":"(u\d+)","clientMsgID":"(m\d+)"/g)) {
        const key = `${m[1]}/${m[2]}`;
        const t = sentAt.get(key);
        if (t !== undefined) { deliverLat.push(performance.now() - t); sentAt.delete(key); }
      }
    };
    // Senders ignore their own pushes (the reply carries the same update).
  }
  // With BENCH_PROFILE=<file>, the server's CPU profile of the load phase alone is written there.
  if (process.env.BENCH_PROFILE) await ask(child, { op: 'profile-start' }, 'profile-start');
  const start = performance.now();
  const loops = Array.from({ length: pairs }, async (_, p) => {
    const sender = conns[2 * p]!;
    let n = 0;
    const lane = async () => {
      while (running) {
        const key = `m${n++}`;
        const t = performance.now();
        sentAt.set(`u${2 * p}/${key}`, t);
        const r = await sender.callRaw((id) => `{"id":${id},"op":"msg.send","body":{"conversationID":"c2c_u${2 * p + 1}","clientMsgID":"${key}","elem":{"type":"text","text":"hello, this is a benchmark message"}}}`);
        if (!r.ok) throw new Error(JSON.stringify(r));
        ackLat.push(performance.now() - t);
        acked++;
      }
    };
    await Promise.all(Array.from({ length: window }, lane));
  });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  await Promise.all(loops);
  const elapsed = (performance.now() - start) / 1000;
  if (process.env.BENCH_PROFILE) await ask(child, { op: 'profile-stop' }, 'profile-stop');
  ackLat.sort((a, b) => a - b);
  deliverLat.sort((a, b) => a - b);
  console.log(`pairs ${pairs}, window ${window}, ${seconds}s: ${Math.round(acked / elapsed)} durable messages/s`);
  console.log(`ack latency ms      p50 ${pct(ackLat, 0.5).toFixed(1)}  p99 ${pct(ackLat, 0.99).toFixed(1)}`);
  console.log(`delivery latency ms p50 ${pct(deliverLat, 0.5).toFixed(1)}  p99 ${pct(deliverLat, 0.99).toFixed(1)}`);
  for (const c of conns) c.ws.close();
  child.kill();
  rmSync(dir, { recursive: true, force: true });
}
