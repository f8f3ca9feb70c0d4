/**
 * One node against three, both on PostgreSQL + NATS (so the only difference is the
 * number of nodes): durable message throughput with delivery across nodes, and the
 * latency of a deletion reaching the user's other device.
 *
 *   npm run build && node --import tsx bench/cluster.ts [pairs] [seconds] [window] [rounds]
 *
 * Every node is a child process (its own event loop, as in production); the load
 * generator and the SDK clients run here. Throughput: `pairs` senders each keep `window`
 * messages in flight to their own receiver, the receiver on the NEXT node (with three
 * nodes every message crosses NATS); a message counts when its sender got the ack, which
 * comes after the commit. Deletion latency: device A and device B of one user (on nodes
 * 1 and 2 with three nodes), deletion sync on; the time from A's `deleteConversation`
 * resolving to B's `onConversationDeleted`, over `rounds` deletions (a negative figure
 * means B heard of it before A's call returned: A's reply and B's push leave the server
 * together), and from A's call to B's event (the whole path: request, commit, bus, push,
 * B's local wipe).
 *
 * PostgreSQL and NATS come from CONFAB_TEST_DATABASE_URL / CONFAB_TEST_NATS_URL
 * (defaults: postgres://postgres@127.0.0.1:5432/test, nats://127.0.0.1:4222); each
 * configuration gets a fresh schema and subject prefix, dropped afterwards.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ask, connect, pct, type Conn } from './lib/raw-client.js';

const DATABASE_URL = process.env.CONFAB_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS_URL = process.env.CONFAB_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

if (process.argv[2] === '--node') {
  const [schema, prefix, nodeID] = process.argv.slice(3);
  const { startServer } = await import('@confab/server');
  const server = await startServer({
    port: 0, logLevel: 'warn', nodeID, databaseUrl: DATABASE_URL, databaseSchema: schema, natsUrl: NATS_URL, natsPrefix: prefix,
  });
  process.on('message', async (msg: { op: string; sdkAppID?: number }) => {
    if (msg.op === 'app') {
      const app = await server.createApp({ name: 'bench' });
      await server.domain.apps.updateSettings(app.sdkAppID, { syncConversationDeletion: true });
      process.send!({ op: 'app', sdkAppID: app.sdkAppID, secretKey: app.secretKey });
    } else if (msg.op === 'settings') {
      const app = await server.domain.apps.get(msg.sdkAppID!);
      process.send!({ op: 'settings', sync: app?.settings.syncConversationDeletion === true });
    }
  });
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
  process.send!({ op: 'ready', url: server.wsUrl });
} else {
  await main();
}

interface Cluster { nodes: ChildProcess[]; urls: string[]; sdkAppID: number; secretKey: string; schema: string }

async function startCluster(size: number): Promise<Cluster> {
  const run = randomBytes(5).toString('hex');
  const schema = `confab_bench_${run}`;
  const prefix = `confabbench.${run}`;
  const self = fileURLToPath(import.meta.url);
  const nodes: ChildProcess[] = [];
  const urls: string[] = [];
  // One at a time: the first migrates the fresh schema, the others find it done.
  for (let i = 1; i <= size; i++) {
    const child = fork(self, ['--node', schema, prefix, `bench-node-${i}`], { execArgv: ['--import', 'tsx'] });
    const ready = await new Promise<{ url: string }>((resolve, reject) => {
      child.once('message', resolve as never);
      child.once('exit', (code) => reject(new Error(`node ${i} exited with ${code}`)));
    });
    nodes.push(child);
    urls.push(ready.url);
  }
  const app = await ask<{ sdkAppID: number; secretKey: string }>(nodes[0]!, { op: 'app' }, 'app');
  // Every node must see deletion sync on before the devices log in.
  for (const node of nodes) {
    for (let i = 0; !(await ask<{ sync: boolean }>(node, { op: 'settings', sdkAppID: app.sdkAppID }, 'settings')).sync; i++) {
      if (i > 100) throw new Error('the settings never reached every node');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return { nodes, urls, schema, ...app };
}

async function stopCluster(cluster: Cluster): Promise<void> {
  await Promise.all(cluster.nodes.map((child) => new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  })));
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${cluster.schema}" CASCADE`);
  await admin.end();
}

async function throughput(cluster: Cluster, pairs: number, seconds: number, window: number) {
  const { genUserSig } = await import('@confab/server');
  const size = cluster.urls.length;
  const run = randomBytes(3).toString('hex');
  const users = Array.from({ length: pairs * 2 }, (_, i) => `t${run}-${i}`);
  // Sender 2p on node p % size; its receiver 2p+1 on the next node.
  const nodeOf = (i: number) => (Math.floor(i / 2) + (i % 2)) % size;
  const conns: Conn[] = [];
  for (let i = 0; i < users.length; i += 20) {
    conns.push(...await Promise.all(users.slice(i, i + 20).map(async (u, j) => {
      const c = await connect(cluster.urls[nodeOf(i + j)]!);
      const r = await c.call('login', {
        sdkAppID: cluster.sdkAppID, userID: u, userSig: genUserSig({ sdkAppID: cluster.sdkAppID, secretKey: cluster.secretKey, userID: u }),
        deviceID: 'd', protocolVersion: 1,
      });
      if (!r.ok) throw new Error(JSON.stringify(r));
      return c;
    })));
  }
  const ackLat: number[] = [];
  const deliverLat: number[] = [];
  const sentAt = new Map<string, number>();
  let acked = 0;
  let running = true;
  for (let p = 0; p < pairs; p++) {
    conns[2 * p + 1]!.onPush = (text) => {
      const f = JSON.parse(text) as { body: { messages?: { sender: string; clientMsgID: string }[] } };
      for (const m of f.body.messages ?? []) {
        const key = `${m.sender}/${m.clientMsgID}`;
        const t = sentAt.get(key);
        if (t !== undefined) {
          deliverLat.push(performance.now() - t);
          sentAt.delete(key);
        }
      }
    };
  }
  const start = performance.now();
  await Promise.all(Array.from({ length: pairs }, async (_, p) => {
    const sender = conns[2 * p]!;
    let n = 0;
    const lane = async () => {
      while (running) {
        const key = `m${n++}`;
        const t = performance.now();
        sentAt.set(`${users[2 * p]}/${key}`, t);
        const r = await sender.call('msg.send', { conversationID: `c2c_${users[2 * p + 1]}`, clientMsgID: key, elem: { type: 'text', text: 'hello, this is a benchmark message' } });
        if (!r.ok) throw new Error(JSON.stringify(r));
        ackLat.push(performance.now() - t);
        acked++;
      }
    };
    const stop = new Promise<void>((resolve) => setTimeout(() => { running = false; resolve(); }, seconds * 1000));
    await Promise.all([...Array.from({ length: window }, lane), stop]);
  }));
  const elapsed = (performance.now() - start) / 1000;
  // Let the last pushes land before closing.
  await new Promise((r) => setTimeout(r, 300));
  for (const c of conns) c.ws.close();
  ackLat.sort((a, b) => a - b);
  deliverLat.sort((a, b) => a - b);
  return { rate: acked / elapsed, ack50: pct(ackLat, 0.5), ack99: pct(ackLat, 0.99), del50: pct(deliverLat, 0.5), del99: pct(deliverLat, 0.99) };
}

async function deletionLatency(cluster: Cluster, rounds: number) {
  const { genUserSig } = await import('@confab/server');
  const { V2TIMManager } = await import('@confab/sdk');
  const size = cluster.urls.length;
  const run = randomBytes(3).toString('hex');
  const alice = `alice-${run}`;
  const bob = `bob-${run}`;
  const sig = (userID: string) => genUserSig({ sdkAppID: cluster.sdkAppID, secretKey: cluster.secretKey, userID });
  const make = (url: string, deviceID: string) => {
    const im = new V2TIMManager();
    im.initSDK(cluster.sdkAppID, { serverUrl: url, deviceID, logLevel: 'silent' });
    return im;
  };
  const a = make(cluster.urls[0]!, 'A');
  const b = make(cluster.urls[1 % size]!, 'B');
  const peer = make(cluster.urls[2 % size]!, 'P');
  const conv = `c2c_${bob}`;
  let deletedAt: ((t: number) => void) | undefined;
  let received: (() => void) | undefined;
  b.getConversationManager().addConversationListener({
    onConversationDeleted: (ids) => { if (ids.includes(conv)) deletedAt?.(performance.now()); },
  });
  b.getMessageManager().addAdvancedMsgListener({ onRecvNewMessage: () => received?.() });
  await a.login(alice, sig(alice));
  await b.login(alice, sig(alice));
  await peer.login(bob, sig(bob));
  const latencies: number[] = [];
  const fromCall: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // The conversation comes back with a new message; B must have it before A deletes.
    const gotIt = new Promise<void>((resolve) => { received = resolve; });
    await peer.sendC2CTextMessage(`round ${i}`, alice);
    await gotIt;
    const heard = new Promise<number>((resolve) => { deletedAt = resolve; });
    const calledAt = performance.now();
    await a.getConversationManager().deleteConversation(conv);
    const resolvedAt = performance.now();
    const heardAt = await heard;
    latencies.push(heardAt - resolvedAt);
    fromCall.push(heardAt - calledAt);
  }
  for (const im of [a, b, peer]) await im.logout();
  latencies.sort((x, y) => x - y);
  fromCall.sort((x, y) => x - y);
  return {
    p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), min: latencies[0]!, max: latencies.at(-1)!,
    call50: pct(fromCall, 0.5), call99: pct(fromCall, 0.99),
  };
}

async function main(): Promise<void> {
  const pairs = Number(process.argv[2] ?? 30);
  const seconds = Number(process.argv[3] ?? 8);
  const window = Number(process.argv[4] ?? 8);
  const rounds = Number(process.argv[5] ?? 200);
  console.log(`PostgreSQL + NATS; ${pairs} pairs × window ${window} for ${seconds} s; ${rounds} deletions`);
  console.log('nodes  msgs/s   ack p50/p99 ms   delivery p50/p99 ms   A resolved→B deleted p50/p99 (min/max) ms   A called→B deleted p50/p99 ms');
  for (const size of [1, 3]) {
    const cluster = await startCluster(size);
    try {
      const t = await throughput(cluster, pairs, seconds, window);
      const d = await deletionLatency(cluster, rounds);
      const f = (x: number) => x.toFixed(1);
      console.log(`${String(size).padEnd(6)} ${String(Math.round(t.rate)).padEnd(8)} ${`${f(t.ack50)} / ${f(t.ack99)}`.padEnd(16)} `
        + `${`${f(t.del50)} / ${f(t.del99)}`.padEnd(21)} ${`${f(d.p50)} / ${f(d.p99)} (${f(d.min)} / ${f(d.max)})`.padEnd(42)} `
        + `${f(d.call50)} / ${f(d.call99)}`);
    } finally {
      await stopCluster(cluster);
    }
  }
}
