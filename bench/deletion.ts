/**
 * Deletion cost against conversation size, and purge throughput.
 *
 *   npm run build && node --import tsx bench/deletion.ts [maxMessages]
 *
 * For each size it fills a one-to-one conversation through the storage seam (batches
 * of 5,000 messages), then times the user's `deleteConversation` (the watermark
 * transaction, exactly what the request path runs) and, once both sides deleted, the
 * purge worker erasing every row.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_APP_SETTINGS, openSqliteStorage, type AppendRequest } from '@confab/server';

const max = Number(process.argv[2] ?? 1_000_000);
const sizes = [10, 10_000, 100_000, 1_000_000].filter((n) => n <= max);
const dir = mkdtempSync(join(tmpdir(), 'confab-bench-del-'));
const storage = openSqliteStorage({ filename: join(dir, 'confab.db'), durability: 'normal' });
const app = 1400000001;
await storage.apps.create({ sdkAppID: app, name: 'bench', secretKey: 'k', adminUserID: 'administrator', settings: { ...DEFAULT_APP_SETTINGS }, createdAt: Date.now() });

console.log('size        delete (ms)   purge rows/s   purge total (s)');
for (const size of sizes) {
  const a = `a${size}`, b = `b${size}`;
  await storage.accounts.ensure(app, a, Date.now());
  await storage.accounts.ensure(app, b, Date.now());
  const convKey = `c2c:${a}|${b}`;
  const recipients = [{ userID: a, conversationID: `c2c_${b}` }, { userID: b, conversationID: `c2c_${a}` }];
  for (let done = 0; done < size;) {
    const n = Math.min(5000, size - done);
    const batch: AppendRequest[] = [];
    for (let i = 0; i < n; i++) {
      batch.push({ app, convKey, sender: i % 2 ? a : b, clientMsgID: `m${done + i}`, elem: { type: 'text', text: `message number ${done + i} with some text` }, recipients, now: Date.now() });
    }
    await storage.messages.appendBatch(batch);
    done += n;
  }
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
