/**
 * How fast a deletion reaches the user's other device (deletion sync on), on one node
 * with the embedded SQLite default.
 *
 *   npm run build && node --import tsx bench/deletion-sync.ts [rounds]
 *
 * Each round: the peer sends a message (the conversation comes back on both devices),
 * then device A calls deleteConversation and device B waits for onConversationDeleted.
 * Printed: p50/p99 from the call on A to the event on B, and of the call itself on A.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '@confab/server';
import { V2TIMManager } from '@confab/sdk';

const rounds = Number(process.argv[2] ?? 200);
const dataDir = mkdtempSync(join(tmpdir(), 'confab-bench-delsync-'));
// 200 back-to-back rounds are far above one user's request rate limit: lifted here.
const server = await startServer({ dataDir, port: 0, logLevel: 'warn', purge: false, limits: { userRequestsPerSecond: 1e9, userRequestBurst: 1e9 } });
const app = await server.createApp({ name: 'bench' });
await server.domain.apps.updateSettings(app.sdkAppID, { syncConversationDeletion: true });

async function device(userID: string, deviceID: string) {
  const im = new V2TIMManager();
  im.initSDK(app.sdkAppID, { serverUrl: server.wsUrl, deviceID, logLevel: 'silent' });
  await im.login(userID, await server.genUserSig(app.sdkAppID, userID));
  return im;
}

const a = await device('alice', 'A');
const b = await device('alice', 'B');
const bob = await device('bob', 'bob-phone');
let onDeleted: (() => void) | undefined;
let onMessage: (() => void) | undefined;
b.getConversationManager().addConversationListener({ onConversationDeleted: () => onDeleted?.() });
b.getMessageManager().addAdvancedMsgListener({ onRecvNewMessage: () => onMessage?.() });

const toOther: number[] = [];
const call: number[] = [];
for (let i = 0; i < rounds; i++) {
  const arrived = new Promise<void>((resolve) => { onMessage = resolve; });
  await bob.sendC2CTextMessage(`round ${i}`, 'alice');
  await arrived;
  const deleted = new Promise<number>((resolve) => { onDeleted = () => resolve(performance.now()); });
  const t0 = performance.now();
  await a.getConversationManager().deleteConversation('c2c_bob');
  call.push(performance.now() - t0);
  toOther.push((await deleted) - t0);
}

const pct = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
console.log(`${rounds} deletions, deletion sync on, one node (SQLite)`);
console.log(`deleteConversation → onConversationDeleted on the other device: p50 ${pct(toOther, 0.5).toFixed(2)} ms, p99 ${pct(toOther, 0.99).toFixed(2)} ms`);
console.log(`deleteConversation call on the deleting device:              p50 ${pct(call, 0.5).toFixed(2)} ms, p99 ${pct(call, 0.99).toFixed(2)} ms`);
for (const im of [a, b, bob]) await im.logout();
await server.close();
rmSync(dataDir, { recursive: true, force: true });
