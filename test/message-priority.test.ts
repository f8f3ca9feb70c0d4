/**
 * Priority end to end: while a message batch is being written, sends queue for the next
 * one; a HIGH send that arrives last is committed first, LOW ones last. The first write
 * is held open by the test (no timing involved): it waits for a promise the test
 * resolves once the backlog is queued.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStorage, startServer, type ConfabServer } from '@confab/server';
import { RawClient } from './helpers/raw-client.js';
import { waitFor } from './helpers/sdk-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'confab-priority-'));
const storage = openSqliteStorage({ filename: join(dir, 'confab.db') });
let server: ConfabServer;
let sdkAppID: number;
let hold: Promise<void> | undefined;
/** Batches the held write has taken (the sizes). */
const held: number[] = [];

before(async () => {
  const append = storage.messages.appendBatch.bind(storage.messages);
  storage.messages.appendBatch = async (batch, onCommitted) => {
    if (hold) {
      held.push(batch.length);
      await hold;
    }
    return append(batch, onCommitted);
  };
  server = await startServer({ storage, port: 0, logLevel: 'silent', purge: false });
  sdkAppID = (await server.createApp({ name: 'priority' })).sdkAppID;
});

after(async () => {
  await server.close();
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

async function client(userID: string): Promise<RawClient> {
  const c = await RawClient.connect(server.wsUrl);
  await c.login({ sdkAppID, userID, userSig: await server.genUserSig(sdkAppID, userID) });
  return c;
}

test('a backlog is committed HIGH first, then DEFAULT and NORMAL in arrival order, then LOW', async () => {
  const bob = await client('bob');
  const alice = await client('alice');
  let release!: () => void;
  hold = new Promise<void>((resolve) => { release = resolve; });
  const send = (key: string, priority?: number) => alice.ok('msg.send', {
    conversationID: 'c2c_bob', clientMsgID: key, elem: { type: 'text', text: key }, ...(priority !== undefined ? { priority } : {}),
  });
  const first = send('first');
  // The first batch is taken and waits on `hold`; what follows queues behind it.
  await waitFor(() => held.length === 1, 'the first batch is being written');
  assert.deepEqual(held, [1]);
  const backlog = [send('low-1', 3), send('default-1'), send('normal-1', 2), send('low-2', 3), send('high-1', 1)];
  await waitFor(() => server.domain.messages.pendingWrites === 5, 'the backlog is queued');
  hold = undefined;
  release();
  const results = await Promise.all([first, ...backlog]);
  const seqOf = new Map(results.map((r) => [r.message.clientMsgID, r.message.seq]));
  assert.deepEqual([...seqOf].sort((a, b) => a[1] - b[1]).map(([key]) => key), ['first', 'high-1', 'default-1', 'normal-1', 'low-1', 'low-2']);
  // The priority is stored with the message (DEFAULT is not written out).
  const { messages } = await bob.ok('msg.history', { conversationID: 'c2c_alice', count: 10 });
  assert.deepEqual(messages.map((m) => [m.clientMsgID, m.priority]), [
    ['first', undefined], ['high-1', 1], ['default-1', undefined], ['normal-1', 2], ['low-1', 3], ['low-2', 3],
  ]);
  // A batch shares one time that never goes down, whatever the order its sends came in.
  const times = messages.map((m) => m.timestamp);
  assert.deepEqual(times, [...times].sort((a, b) => a - b));
  await alice.close();
  await bob.close();
});
