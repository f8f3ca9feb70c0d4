/**
 * The SDK's local conversation list: paging cost per store, the unread total's cost per
 * change, and a fresh device's cold start against a real server.
 *
 *   npm run build && node --import tsx bench/sdk-list.ts [conversations=10000] [--no-server]
 *
 * Part 1 seeds each Node store (MemoryStore, SqliteStore on a temp file) with the
 * conversations in sync-page-sized batches, then times the first page (100), paging the
 * whole list 100 at a time through `listConversationPage`, and one changed row's batch
 * plus `getTotalUnread`.
 * Part 2 (unless --no-server) seeds a server in this process with one user holding that
 * many conversations, logs a fresh SDK device in per store and prints the time to
 * onSyncServerFinish with the requests sent before it, then `getConversationList` first
 * page and full paging through the SDK API. Figures only: this is not a test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startServer } from '@confab/server';
import { MemoryStore, V2TIMManager, type ConversationPosition, type LocalStore, type StoredConversation, type WebSocketConstructor } from '@confab/sdk';
import { SqliteStore } from '@confab/sdk/sqlite-store';
import { countingWebSocket } from './lib/counting-websocket.js';

const N = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 10_000);
const withServer = !process.argv.includes('--no-server');
const dir = mkdtempSync(join(tmpdir(), 'confab-bench-list-'));
const ms = (t: number) => `${t.toFixed(1)} ms`;

function row(i: number): StoredConversation {
  const id = `c2c_user${i}`;
  const lastMessage = {
    msgID: `m${i}`, conversationID: id, seq: 3, sender: `user${i}`, receiver: 'alice', clientMsgID: `k${i}`,
    timestamp: 1_700_000_000_000 + i, elem: { type: 'text' as const, text: `hello from user ${i}` },
  };
  return {
    conversationID: id, type: 1, userID: `user${i}`, lastSeq: 3, lastMessage, unreadCount: i % 4, readSeq: 3 - (i % 4),
    visibleFromSeq: 1, orderKey: Math.floor(i / 3), isPinned: i % 997 === 0, draftText: '', draftTimestamp: 0,
    customData: '', markList: [], version: i + 1, deliveredSeq: 3,
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await fn();
  return [out, performance.now() - t0];
}

async function storeBench(name: string, store: LocalStore): Promise<void> {
  await store.open({ sdkAppID: 1, userID: 'alice' });
  const [, seed] = await timed(async () => {
    for (let start = 0; start < N; start += 1000) {
      await store.apply({ upsertConversations: Array.from({ length: Math.min(1000, N - start) }, (_, k) => row(start + k)), syncVersion: start + 1 });
    }
  });
  await store.listConversationPage(undefined, 100); // warm
  const [, first] = await timed(() => store.listConversationPage(undefined, 100));
  const [count, all] = await timed(async () => {
    let after: ConversationPosition | undefined;
    let n = 0;
    for (;;) {
      const page = await store.listConversationPage(after, 100);
      if (page.length === 0) return n;
      n += page.length;
      const last = page[page.length - 1]!;
      after = { isPinned: last.isPinned, orderKey: last.orderKey, conversationID: last.conversationID };
    }
  });
  const [, change] = await timed(async () => {
    for (let k = 0; k < 100; k++) {
      await store.apply({ upsertConversations: [{ ...row(k), unreadCount: 5, orderKey: N + k }] });
      await store.getTotalUnread();
    }
  });
  console.log(`${name.padEnd(12)} seed ${ms(seed)}  first page ${ms(first)}  all ${count} in pages of 100 ${ms(all)}  one change + total ${ms(change / 100)}`);
  await store.close();
}

console.log(`Part 1: local stores, ${N} conversations`);
await storeBench('MemoryStore', new MemoryStore());
await storeBench('SqliteStore', new SqliteStore(join(dir, 'part1.db')));

if (withServer) {
  console.log(`\nPart 2: a fresh device of a user with ${N} conversations (server in this process)`);
  const server = await startServer({ dataDir: join(dir, 'server'), port: 0, logLevel: 'warn', purge: false });
  const created = await server.createApp({ name: 'bench' });
  const app = (await server.domain.apps.get(created.sdkAppID))!;
  await server.domain.accounts.ensure(app.sdkAppID, 'alice');
  const [, seeding] = await timed(async () => {
    for (let start = 0; start < N; start += 200) {
      const chunk = Array.from({ length: Math.min(200, N - start) }, (_, k) => `user${start + k}`);
      await Promise.all(chunk.map((u) => server.domain.accounts.ensure(app.sdkAppID, u)));
      await Promise.all(chunk.map((u) => server.domain.messages.send(
        { app, userID: u, deviceID: 'bench', capabilities: new Set<string>() }, 'c2c_alice', `seed-${u}`, { type: 'text', text: `hello from ${u}` })));
    }
  });
  console.log(`seeded in ${ms(seeding)}`);

  for (const [name, store] of [['MemoryStore', new MemoryStore()], ['SqliteStore', new SqliteStore(join(dir, 'part2.db'))]] as const) {
    const ops: string[] = [];
    const CountingWebSocket = countingWebSocket(ops);
    const im = new V2TIMManager();
    im.initSDK(app.sdkAppID, { serverUrl: server.wsUrl, store, logLevel: 'warn', WebSocket: CountingWebSocket as unknown as WebSocketConstructor });
    let finished: (() => void) | undefined;
    const done = new Promise<void>((resolve) => { finished = resolve; });
    let atFinish: string[] = [];
    im.getConversationManager().addConversationListener({ onSyncServerFinish: () => { atFinish = [...ops]; finished!(); } });
    const t0 = performance.now();
    await im.login('alice', await server.genUserSig(app.sdkAppID, 'alice'));
    await done;
    const cold = performance.now() - t0;
    const by = (op: string) => atFinish.filter((o) => o === op).length;
    const manager = im.getConversationManager();
    await manager.getConversationList(0, 100);
    const [, first] = await timed(() => manager.getConversationList(0, 100));
    const [listed, all] = await timed(async () => {
      let n = 0;
      for (let next = 0; ;) {
        const page = await manager.getConversationList(next, 100);
        n += page.conversationList.length;
        if (page.isFinished) return n;
        next = page.nextSeq;
      }
    });
    console.log(`${name.padEnd(12)} login → onSyncServerFinish ${ms(cold)} with ${atFinish.length} requests (conv.sync ${by('conv.sync')}, msg.history ${by('msg.history')})`
      + `  getConversationList first page ${ms(first)}, all ${listed} ${ms(all)}`);
    await im.logout();
  }
  await server.close();
}
rmSync(dir, { recursive: true, force: true });
