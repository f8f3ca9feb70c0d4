/**
 * What the PostgreSQL purge and its erasure cost senders: send latency (p50, p99, max)
 * with no purge running, with the purge deleting rows only, and with the purge followed
 * by the erasure rewrite (docs/deletion.md, "What is erased where") back to back.
 *
 *   npm run build && node --import tsx bench/erasure.ts [seedMessages=50000] [seconds=5] [rate=300]
 *
 * It makes a database of its own on CONFAB_BENCH_DATABASE_URL (default: the test
 * PostgreSQL, postgres://postgres@127.0.0.1:5432/test) and drops it afterwards. The
 * server runs in this process (PostgreSQL is another process anyway); `rate` messages/s
 * go out on a clock from 16 senders whatever the replies do (open loop), so a sender
 * held behind a lock shows in the latency rather than in a slowed-down generator.
 *
 * The database is seeded with `seedMessages` messages over 500 one-to-one conversations,
 * plus 100 conversations that pairs of users delete during the purge phases (both sides,
 * 50 messages each), so that the purge has rows to erase and the rewrite a realistic
 * table to copy. Phases, each `seconds` long:
 * - baseline: senders only;
 * - purge, rows only: a pair deletes a conversation, then the purge steps run (what the
 *   worker does between two erasures, `eraseEveryMs`);
 * - erase once: the same, with one erasure rewrite in the phase (the first run), as
 *   when `eraseEveryMs` equals the phase's length;
 * - erase each: the rewrite after every purge run, back to back: the worst case.
 * The rewrite blocks senders for about its duration once per `eraseEveryMs` (60 s by
 * default), so over a minute of traffic its share of sends is duration / 60 s.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { AppendRequest, ConfabServer, Storage } from '@confab/server';
import { connect, pct, type Conn } from './lib/raw-client.js';

const [SEED = 50_000, SECONDS = 5, RATE = 300] = process.argv.slice(2).map(Number);
const BASE_URL = process.env.CONFAB_BENCH_DATABASE_URL ?? process.env.CONFAB_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SENDERS = 16;
const DELETER_PAIRS = 100;
const DELETER_HISTORY = 50;
const TEXT = 'a message of an ordinary length, a sentence or two that someone typed on a phone';

const c2cKey = (a: string, b: string) => (a < b ? `c2c:${a}|${b}` : `c2c:${b}|${a}`);

function dbUrl(name: string): string {
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function seed(storage: Storage, app: number): Promise<void> {
  const now = Date.now();
  const users = new Set<string>();
  const batch: AppendRequest[] = [];
  const flush = async () => {
    for (const u of users) await storage.accounts.ensure(app, u, now);
    users.clear();
    await storage.messages.appendBatch(batch.splice(0));
  };
  const add = (a: string, b: string, i: number) => {
    users.add(a).add(b);
    batch.push({ app, convKey: c2cKey(a, b), sender: i % 2 ? a : b, clientMsgID: `seed-${a}-${b}-${i}`,
      elem: { type: 'text', text: `${TEXT} ${i}` }, now,
      recipients: [{ userID: a, conversationID: `c2c_${b}` }, { userID: b, conversationID: `c2c_${a}` }] });
  };
  for (let i = 0; i < SEED; i++) {
    add(`u${i % 500}`, `v${i % 500}`, i);
    if (batch.length >= 2000) await flush();
  }
  for (let p = 0; p < DELETER_PAIRS; p++) {
    for (let i = 0; i < DELETER_HISTORY; i++) add(`da${p}`, `db${p}`, i);
    if (batch.length >= 2000) await flush();
  }
  await flush();
}

interface Phase { name: string; latencies: number[]; failed: number; purgeRuns: number[] }

/** Open loop: `RATE` sends/s over the senders for `SECONDS`, while `background` runs. */
async function phase(name: string, senders: Conn[], background?: (stop: () => boolean) => Promise<number[]>): Promise<Phase> {
  const latencies: number[] = [];
  let failed = 0;
  let n = 0;
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  let stopped = false;
  const bg = background ? background(() => stopped) : Promise.resolve([]);
  const interval = 1000 / RATE;
  while (performance.now() - start < SECONDS * 1000) {
    const due = start + n * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const i = n++;
    const sender = senders[i % SENDERS]!;
    const to = `r${i % SENDERS}`;
    const t0 = performance.now();
    inflight.push(sender.call('msg.send', { conversationID: `c2c_${to}`, clientMsgID: `${name}-${i}`, elem: { type: 'text', text: TEXT } })
      .then((r) => {
        if (r.ok) latencies.push(performance.now() - t0);
        else if (failed++ === 0) console.log(`first failure: ${JSON.stringify(r)}`);
      }));
  }
  await Promise.all(inflight);
  stopped = true;
  const purgeRuns = await bg;
  return { name, latencies: latencies.sort((a, b) => a - b), failed, purgeRuns };
}

async function main(): Promise<void> {
  const { startServer } = await import('@confab/server');
  const name = `confab_bench_erasure_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  let server: ConfabServer | undefined;
  const conns: Conn[] = [];
  try {
    server = await startServer({ port: 0, logLevel: 'silent', purge: false, databaseUrl: dbUrl(name) });
    const app = (await server.createApp({ name: 'bench' })).sdkAppID;
    const storage = server.domain.storage;
    const t0 = performance.now();
    await seed(storage, app);
    console.log(`seeded ${SEED + DELETER_PAIRS * DELETER_HISTORY} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const sizes = new pg.Client({ connectionString: dbUrl(name) });
    await sizes.connect();
    const { rows: [tables] } = await sizes.query<{ m: string; u: string }>(`SELECT pg_size_pretty(pg_total_relation_size('messages')) AS m,
      pg_size_pretty(pg_total_relation_size('user_conversations')) AS u`);
    await sizes.end();
    console.log(`tables: messages ${tables!.m}, user_conversations ${tables!.u} (with indexes)`);

    const login = async (userID: string) => {
      const c = await connect(server!.wsUrl);
      const r = await c.call('login', { sdkAppID: app, userID, userSig: await server!.genUserSig(app, userID), deviceID: 'bench', protocolVersion: 1 });
      if (!r.ok) throw new Error(`login ${userID}: ${JSON.stringify(r)}`);
      conns.push(c);
      return c;
    };
    for (let i = 0; i < SENDERS; i++) await storage.accounts.ensure(app, `r${i}`, Date.now());
    const senders = await Promise.all(Array.from({ length: SENDERS }, (_, i) => login(`s${i}`)));
    // Warm up: every sender's conversation exists before timing starts.
    await Promise.all(senders.map((s, i) => s.call('msg.send', { conversationID: `c2c_r${i}`, clientMsgID: `warm-${i}`, elem: { type: 'text', text: TEXT } })));

    let pair = 0;
    /**
     * One pair deletes a conversation (both sides), then the purge: rows only, with one
     * erasure (the first run of the phase), or with an erasure after every run.
     */
    const purging = (erase: 'never' | 'once' | 'each') => async (stop: () => boolean): Promise<number[]> => {
      const runs: number[] = [];
      while (!stop() && pair < DELETER_PAIRS) {
        const p = pair++;
        for (const [u, peer] of [[`da${p}`, `db${p}`], [`db${p}`, `da${p}`]] as const) {
          await storage.deletions.remove(app, u, [{ convKey: c2cKey(u, peer), conversationID: `c2c_${peer}` }],
            { mode: 'delete', deviceID: 'bench', now: Date.now() });
        }
        const r0 = performance.now();
        if (erase === 'each' || (erase === 'once' && runs.length === 0)) {
          await server!.purgeNow();
        } else {
          for (;;) {
            const queue = await storage.deletions.purgeQueue(100, Date.now());
            if (queue.length === 0) break;
            for (const q of queue) while (!(await storage.deletions.purgeStep(q.app, q.convKey, 500, Date.now())).done);
          }
        }
        runs.push(performance.now() - r0);
        await new Promise((r) => setTimeout(r, 50));
      }
      return runs;
    };

    const results = [
      await phase('baseline', senders),
      await phase('purge-rows', senders, purging('never')),
      await phase('erase-once', senders, purging('once')),
      await phase('erase-each', senders, purging('each')),
    ];
    const base = results[0]!;
    console.log(`\n${RATE} sends/s from ${SENDERS} senders, ${SECONDS} s per phase`);
    console.log('phase          sends   failed   p50 ms   p99 ms   max ms   p99 vs baseline   purge runs (median / max ms)');
    for (const r of results) {
      const runs = [...r.purgeRuns].sort((a, b) => a - b);
      console.log(`${r.name.padEnd(14)} ${String(r.latencies.length).padStart(5)}   ${String(r.failed).padStart(6)}   ${pct(r.latencies, 0.5).toFixed(1).padStart(6)}   `
        + `${pct(r.latencies, 0.99).toFixed(1).padStart(6)}   ${(r.latencies.at(-1) ?? NaN).toFixed(1).padStart(6)}   `
        + `${((pct(r.latencies, 0.99) / pct(base.latencies, 0.99) - 1) * 100).toFixed(0).padStart(14)} %   `
        + (runs.length ? `${runs.length} (${pct(runs, 0.5).toFixed(0)} / ${(runs.at(-1) ?? 0).toFixed(0)})` : '—'));
    }
    // The worker's pacing: a rewrite that took d is followed by at least max(60 s, 200 d)
    // without one, so at most about 0.5 % of sends can meet a rewrite.
    const each = [...results[3]!.purgeRuns].sort((a, b) => a - b);
    const rewrite = pct(each, 0.5);
    const gap = Math.max(60_000, rewrite * 200);
    console.log(`\npaced as the worker does it (CONFAB_ERASE_EVERY_SECONDS 60, 0.5 % of the time at most): one rewrite of about ${rewrite.toFixed(0)} ms `
      + `every ${(gap / 1000).toFixed(0)} s or more, so about ${((rewrite / gap) * 100).toFixed(2)} % of sends can wait behind one `
      + '(fewer than 1 in 100, so the p99 over such an interval is that of the senders alone)');
  } finally {
    for (const c of conns) c.ws.close();
    await server?.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
