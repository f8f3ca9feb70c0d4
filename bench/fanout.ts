/**
 * Group fan-out: deliveries per second to a large online group, and what a big group
 * send does to everyone else's one-to-one latency.
 *
 *   npm run build && node --import tsx bench/fanout.ts [members] [burst] [bigGroup] [seconds]
 *
 * The server runs in a child process, the load generator here (raw WebSocket clients).
 * 1. `members` (1,000) members online; the owner sends `burst` messages with 32 in
 *    flight. A delivery is one message arriving at one member; its latency is send →
 *    that member's push. Then single messages one at a time: send → last member.
 * 2. A `bigGroup` (6,000) member group (members offline) while 50 pairs exchange 1:1
 *    messages: the 1:1 ack latency for `seconds` without, then with the owner sending to
 *    the big group back to back.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ask, connect, pct, type Conn } from './lib/raw-client.js';

if (process.argv[2] === '--server') {
  const { startServer } = await import('@confab/server');
  const { GroupType } = await import('@confab/protocol');
  const server = await startServer({ dataDir: process.argv[3]!, port: 0, logLevel: 'warn', purge: false, limits: { userRequestsPerSecond: 1e9, userRequestBurst: 1e9 } });
  const app = await server.createApp({ name: 'bench' });
  process.on('message', async (msg: { op: string; users?: string[]; groupID?: string; owner?: string }) => {
    if (msg.op === 'sigs') {
      const sigs = await Promise.all(msg.users!.map((u) => server.genUserSig(app.sdkAppID, u)));
      process.send!({ op: 'sigs', sigs });
    } else if (msg.op === 'group') {
      const storage = server.domain.storage;
      for (const id of [msg.owner!, ...msg.users!]) await storage.accounts.ensure(app.sdkAppID, id, Date.now());
      await storage.groups.create(app.sdkAppID, {
        groupID: msg.groupID!, groupType: GroupType.WORK, groupName: msg.groupID!, faceUrl: '', introduction: '', notification: '', owner: msg.owner!, createdAt: Date.now(),
      }, msg.users!, Date.now());
      process.send!({ op: 'group' });
    } else if (msg.op === 'idle') {
      // Resolves once the fan-out queue is empty.
      while ((await server.domain.storage.fanout.pending(1)).length) await new Promise((r) => setTimeout(r, 20));
      process.send!({ op: 'idle' });
    }
  });
  process.on('SIGTERM', () => process.exit(0));
  process.on('disconnect', () => process.exit(0));
  process.send!({ op: 'ready', url: server.wsUrl, sdkAppID: app.sdkAppID });
} else {
  await main();
}

async function loginAll(url: string, sdkAppID: number, users: string[], sigs: string[]): Promise<Conn[]> {
  const conns: Conn[] = [];
  for (let i = 0; i < users.length; i += 100) {
    conns.push(...await Promise.all(users.slice(i, i + 100).map(async (u, j) => {
      const c = await connect(url);
      const r = await c.call('login', { sdkAppID, userID: u, userSig: sigs[i + j], deviceID: 'd', protocolVersion: 1 });
      if (!r.ok) throw new Error(JSON.stringify(r));
      return c;
    })));
  }
  return conns;
}

function ms(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${pct(s, 0.5).toFixed(1)}  p99 ${pct(s, 0.99).toFixed(1)}  (n=${s.length})`;
}

async function main(): Promise<void> {
  const members = Number(process.argv[2] ?? 1000);
  const burst = Number(process.argv[3] ?? 300);
  const bigGroup = Number(process.argv[4] ?? 6000);
  const seconds = Number(process.argv[5] ?? 4);
  const dir = mkdtempSync(join(tmpdir(), 'confab-bench-fanout-'));
  const child = fork(fileURLToPath(import.meta.url), ['--server', dir], { execArgv: ['--import', 'tsx'] });
  const ready = await new Promise<{ url: string; sdkAppID: number }>((r) => child.once('message', r as never));

  // ---- 1. A group with every member online.
  const memberIDs = Array.from({ length: members }, (_, i) => `m${i}`);
  await ask(child, { op: 'group', groupID: 'online', owner: 'owner', users: memberIDs }, 'group');
  const sigs = (await ask<{ sigs: string[] }>(child, { op: 'sigs', users: ['owner', ...memberIDs] }, 'sigs')).sigs;
  const [owner, ...memberConns] = await loginAll(ready.url, ready.sdkAppID, ['owner', ...memberIDs], sigs);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let deliveries = 0;
  let lastDelivery = 0;
  const perMessage = new Map<string, number>();
  const complete = new Map<string, () => void>();
  for (const c of memberConns) {
    c.onPush = (text) => {
      const now = performance.now();
      // The update's messages come last; the rows before them quote the last message too.
      for (const m of text.slice(text.lastIndexOf('"messages":')).matchAll(/"clientMsgID":"(g\d+|s\d+)"/g)) {
        const t = sentAt.get(m[1]!);
        if (t === undefined) continue;
        deliveries++;
        lastDelivery = now;
        latencies.push(now - t);
        const n = (perMessage.get(m[1]!) ?? 0) + 1;
        perMessage.set(m[1]!, n);
        if (n === members) complete.get(m[1]!)?.();
      }
    };
  }
  const send = (c: Conn, conversationID: string, key: string) => c.callRaw((id) =>
    `{"id":${id},"op":"msg.send","body":{"conversationID":"${conversationID}","clientMsgID":"${key}","elem":{"type":"text","text":"hello, this is a benchmark message"}}}`);

  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < burst) {
      const key = `g${next++}`;
      sentAt.set(key, performance.now());
      const r = await send(owner!, 'group_online', key);
      if (!r.ok) throw new Error(JSON.stringify(r));
    }
  }));
  await ask(child, { op: 'idle' }, 'idle');
  await new Promise((r) => setTimeout(r, 200));
  const expected = burst * members;
  console.log(`burst: ${burst} messages to ${members} online members: ${deliveries}/${expected} deliveries, `
    + `${Math.round(deliveries / ((lastDelivery - start) / 1000))} deliveries/s`);
  console.log(`  delivery latency ms ${ms(latencies)}`);

  // Single messages, one at a time: send → the last member has it.
  latencies.length = 0;
  const whole: number[] = [];
  for (let i = 0; i < 30; i++) {
    const key = `s${i}`;
    const done = new Promise<void>((r) => complete.set(key, r));
    const t = performance.now();
    sentAt.set(key, t);
    await send(owner!, 'group_online', key);
    await done;
    whole.push(performance.now() - t);
  }
  console.log(`single messages to ${members} online members: send → every member ms ${ms(whole)}`);
  console.log(`  delivery latency ms ${ms(latencies)}`);
  for (const c of memberConns) c.ws.close();
  owner!.ws.close();

  // ---- 2. A big group send while 1:1 traffic runs.
  const bigIDs = Array.from({ length: bigGroup }, (_, i) => `b${i}`);
  await ask(child, { op: 'group', groupID: 'big', owner: 'bigowner', users: bigIDs }, 'group');
  const pairs = 50;
  const pairIDs = Array.from({ length: pairs * 2 }, (_, i) => `p${i}`);
  const pairSigs = (await ask<{ sigs: string[] }>(child, { op: 'sigs', users: ['bigowner', ...pairIDs] }, 'sigs')).sigs;
  const [bigOwner, ...pairConns] = await loginAll(ready.url, ready.sdkAppID, ['bigowner', ...pairIDs], pairSigs);
  let phase: 'warm' | 'without' | 'with' | 'stop' = 'warm';
  const acks: Record<'without' | 'with', number[]> = { without: [], with: [] };
  const traffic = Array.from({ length: pairs }, async (_, p) => {
    let n = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (phase !== 'stop') {
        const t = performance.now();
        const at = phase;
        const r = await send(pairConns[2 * p]!, `c2c_p${2 * p + 1}`, `c${n++}`);
        if (!r.ok) throw new Error(JSON.stringify(r));
        if (at !== 'warm' && at === phase) acks[at].push(performance.now() - t);
      }
    }));
  });
  await new Promise((r) => setTimeout(r, 1000));
  phase = 'without';
  await new Promise((r) => setTimeout(r, seconds * 1000));
  phase = 'with';
  let groupSends = 0;
  const groupAcks: number[] = [];
  const groupLoop = (async () => {
    while (phase === 'with') {
      const t = performance.now();
      await send(bigOwner!, 'group_big', `big${groupSends++}`);
      groupAcks.push(performance.now() - t);
    }
  })();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  phase = 'stop';
  await Promise.all([...traffic, groupLoop]);
  const drainStart = performance.now();
  await ask(child, { op: 'idle' }, 'idle');
  console.log(`1:1 ack latency ms, ${pairs} pairs x 4 in flight, without group sends: ${ms(acks.without)}`);
  console.log(`1:1 ack latency ms, while sending to a ${bigGroup}-member group:       ${ms(acks.with)}`);
  console.log(`  ${groupSends} group messages sent (ack ms ${ms(groupAcks)}); fan-out finished ${(performance.now() - drainStart).toFixed(0)} ms after the last`);
  for (const c of pairConns) c.ws.close();
  bigOwner!.ws.close();
  child.kill();
  rmSync(dir, { recursive: true, force: true });
}
