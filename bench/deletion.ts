/**
 * Deletion cost against conversation size: the storage transaction and the purge rate,
 * then the WebSocket round trip on a real server.
 *
 *   npm run build && node --import tsx bench/deletion.ts [maxMessages=1000000] [rounds=100]
 *
 * Part 1, in this process through the storage seam (SQLite, durability `normal`): for
 * each size it fills a one-to-one conversation (batches of 5,000 messages), then times
 * the user's `deleteConversation` (the watermark transaction, exactly what the request
 * path runs) and, once both sides deleted, the purge worker erasing every row.
 *
 * Part 2, the round trip a client sees: `conv.delete { clearMessages: true }` sent over a
 * logged-in WebSocket until its reply arrives, `rounds` times per size (10, 100k, 1M
 * messages). One conversation per size serves every round: a group with `rounds + 1`
 * members holding that many messages, which each of `rounds` members deletes once, one
 * after the other (a deletion is per user: the group and the other members' rows stay).
 * Seeding runs in a child with durability `normal`; the measured server reopens the files
 * with the default `full`, in a child pinned to core 0, this generator on core 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppendRequest } from '@confab/server';
import { pct, type Conn } from './lib/raw-client.js';
import { exited, forkServer, loginRaw, next, pinGeneratorCore, pinned } from './lib/pinned-child.js';

const SEED_BATCH = 5000;
const member = (i: number) => `m${i}`;

/** Appends `count` messages to `convKey`, 5,000 per commit, each updating every recipient's row. */
async function fill(append: (batch: AppendRequest[]) => Promise<unknown>, app: number, convKey: string, count: number,
  senders: string[], recipients: AppendRequest['recipients']): Promise<void> {
  for (let done = 0; done < count;) {
    const n = Math.min(SEED_BATCH, count - done);
    const batch: AppendRequest[] = [];
    for (let i = 0; i < n; i++) {
      batch.push({ app, convKey, sender: senders[i % senders.length]!, clientMsgID: `m${done + i}`, elem: { type: 'text', text: `message number ${done + i} with some text` }, recipients, now: Date.now() });
    }
    await append(batch);
    done += n;
  }
}

async function storagePart(max: number): Promise<void> {
  const { DEFAULT_APP_SETTINGS, openSqliteStorage } = await import('@confab/server');
  const sizes = [10, 10_000, 100_000, 1_000_000].filter((n) => n <= max);
  const dir = mkdtempSync(join(tmpdir(), 'confab-bench-del-'));
  const storage = openSqliteStorage({ filename: join(dir, 'confab.db'), durability: 'normal' });
  const app = 1400000001;
  await storage.apps.create({ sdkAppID: app, name: 'bench', secretKey: 'k', adminUserID: 'administrator', settings: { ...DEFAULT_APP_SETTINGS }, createdAt: Date.now() });

  console.log('Part 1: storage seam, one-to-one conversation, SQLite durability normal');
  console.log('size        delete (ms)   purge rows/s   purge total (s)');
  for (const size of sizes) {
    const a = `a${size}`, b = `b${size}`;
    await storage.accounts.ensure(app, a, Date.now());
    await storage.accounts.ensure(app, b, Date.now());
    const convKey = `c2c:${a}|${b}`;
    await fill((batch) => storage.messages.appendBatch(batch), app, convKey, size, [b, a],
      [{ userID: a, conversationID: `c2c_${b}` }, { userID: b, conversationID: `c2c_${a}` }]);
    const t0 = process.hrtime.bigint();
    await storage.deletions.remove(app, a, [{ convKey, conversationID: `c2c_${b}` }], { mode: 'delete', deviceID: 'bench', now: Date.now() });
    const deleteMs = Number(process.hrtime.bigint() - t0) / 1e6;
    await storage.deletions.remove(app, b, [{ convKey, conversationID: `c2c_${a}` }], { mode: 'delete', deviceID: 'bench', now: Date.now() });
    const p0 = process.hrtime.bigint();
    let erased = 0;
    for (;;) {
      const step = await storage.deletions.purgeStep(app, convKey, 2000, Date.now());
      erased += step.erased;
      if (step.done) break;
    }
    await storage.deletions.compact();
    const purgeS = Number(process.hrtime.bigint() - p0) / 1e9;
    console.log(`${String(size).padEnd(12)}${deleteMs.toFixed(3).padStart(11)}   ${String(Math.round(erased / purgeS)).padStart(12)}   ${purgeS.toFixed(2).padStart(15)}`);
  }
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- part 2: server children

/** Groups `del<size>` (and a small `warm` one) with members m0 (owner) … m<rounds>. */
async function seed(dir: string, sizes: number[], rounds: number): Promise<void> {
  const { startServer } = await import('@confab/server');
  const server = await startServer({ dataDir: dir, port: 0, logLevel: 'warn', purge: false, durability: 'normal' });
  const app = (await server.createApp({ name: 'bench' })).sdkAppID;
  const { storage } = server.domain;
  const members = Array.from({ length: rounds + 1 }, (_, i) => member(i));
  for (const id of members) await storage.accounts.ensure(app, id, Date.now());
  const seedMs: number[] = [];
  for (const [groupID, size] of [['warm', 10] as const, ...sizes.map((n) => [`del${n}`, n] as const)]) {
    const t0 = performance.now();
    await storage.groups.create(app, {
      groupID, groupType: 'Public', groupName: groupID, faceUrl: '', introduction: '', notification: '', owner: member(0), createdAt: Date.now(),
    }, members, Date.now());
    // Every member's row follows each message, as a send through the server does.
    await fill((batch) => storage.messages.appendBatch(batch), app, `group:${groupID}`, size, members.slice(0, 10),
      members.map((userID) => ({ userID, conversationID: `group_${groupID}` })));
    if (groupID !== 'warm') seedMs.push(performance.now() - t0);
  }
  await server.close();
  process.send!({ op: 'seeded', sdkAppID: app, seedMs }, () => process.disconnect());
}

async function serve(dir: string, sdkAppID: number): Promise<void> {
  const { startServer } = await import('@confab/server');
  const server = await startServer({ dataDir: dir, port: 0, logLevel: 'warn', purge: false });
  process.on('message', async (msg: { op: string; users?: string[] }) => {
    if (msg.op === 'sigs') process.send!({ op: 'sigs', sigs: await Promise.all(msg.users!.map((u) => server.genUserSig(sdkAppID, u))) });
  });
  process.on('SIGTERM', () => process.exit(0));
  process.send!({ op: 'ready', url: server.wsUrl });
}

/** Each of `conns` deletes `group_<groupID>` once, in sequence; the round trips in ms. */
async function deleteRounds(conns: Conn[], groupID: string): Promise<number[]> {
  const times: number[] = [];
  for (const c of conns) {
    const t = performance.now();
    const r = await c.callFull('conv.delete', { conversationIDs: [`group_${groupID}`], clearMessages: true });
    times.push(performance.now() - t);
    const code = r.ok ? (r.body as { results: { resultCode: number }[] }).results[0]?.resultCode : undefined;
    if (code !== 0) throw new Error(`conv.delete ${groupID}: ${JSON.stringify(r)}`);
  }
  return times;
}

async function roundTripPart(max: number, rounds: number): Promise<void> {
  const sizes = [10, 100_000, 1_000_000].filter((n) => n <= max);
  const script = fileURLToPath(import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), 'confab-bench-delrt-'));
  pinGeneratorCore();
  try {
    console.log(`\nPart 2: conv.delete round trip over WebSocket, ${rounds} deletions per size (a group of ${rounds + 1} members, each deleter once, in sequence);`
      + ` SQLite durability full; server on core 0${pinned ? ', generator on core 1' : ' (not pinned: one core)'}`);
    const t0 = performance.now();
    const seeder = forkServer(script, ['--seed', dir, sizes.join(','), String(rounds)]);
    const seeded = await next<{ sdkAppID: number; seedMs: number[] }>(seeder, 'seeded');
    await exited(seeder);
    console.log(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${sizes.map((n, i) => `${n} messages ${(seeded.seedMs[i]! / 1000).toFixed(1)} s`).join(', ')}`);

    const child = forkServer(script, ['--serve', dir, String(seeded.sdkAppID)]);
    const { url } = await next<{ url: string }>(child, 'ready');
    const conns = await loginRaw(child, url, seeded.sdkAppID, Array.from({ length: rounds }, (_, i) => member(i + 1)));
    await deleteRounds(conns.slice(0, Math.min(20, rounds)), 'warm'); // JIT, statement cache
    const f = (x: number) => x.toFixed(2).padStart(9);
    console.log('size        p50 (ms)  p99 (ms)  max (ms)');
    for (const size of sizes) {
      const times = (await deleteRounds(conns, `del${size}`)).sort((a, b) => a - b);
      console.log(`${String(size).padEnd(10)}${f(pct(times, 0.5))} ${f(pct(times, 0.99))} ${f(times[times.length - 1]!)}`);
    }
    for (const c of conns) c.ws.close();
    child.kill();
    await exited(child);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const mode = process.argv[2];
try {
  if (mode === '--seed') {
    await seed(process.argv[3]!, process.argv[4]!.split(',').filter(Boolean).map(Number), Number(process.argv[5]));
  } else if (mode === '--serve') {
    await serve(process.argv[3]!, Number(process.argv[4]));
  } else {
    const max = Number(process.argv[2] ?? 1_000_000);
    const rounds = Number(process.argv[3] ?? 100);
    await storagePart(max);
    await roundTripPart(max, rounds);
  }
} catch (err) {
  // A server child reports its failure to the generator, which then stops.
  if (process.send) process.send({ op: 'failed', error: String((err as Error).stack ?? err) }, () => process.exit(1));
  else throw err;
}
