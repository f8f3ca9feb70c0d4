/**
 * A fresh device of a user with ~1,000 conversations: the cold start costs the
 * `conv.sync` pages only (no `msg.history` per conversation before
 * onSyncServerFinish), the list comes with every last message, history loads when a
 * conversation is opened, and the first screen is prefetched afterwards. Requests are
 * counted on the wire, through the SDK's WebSocket option.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket as NodeWebSocket } from 'ws';
import { V2TIMManager, type V2TIMConversation, type WebSocketConstructor } from '@confab/sdk';
import { startTestServer, waitFor } from './helpers/sdk-harness.js';

type Env = Awaited<ReturnType<typeof startTestServer>>;
let env: Env;
const N = 1000;
const ALICE = 'cold-alice';
const sender = (i: number) => `cold-s${i}`;
/** Every tenth sender sent three messages, the others one. */
const sent = (i: number) => (i % 10 === 0 ? 3 : 1);
const open: V2TIMManager[] = [];

before(async () => {
  env = await startTestServer();
  const { domain } = env.server;
  const app = (await domain.apps.get(env.app.sdkAppID))!;
  await domain.accounts.ensure(app.sdkAppID, ALICE);
  // Concurrent sends land in the same group commits, so many of Alice's rows share an
  // orderKey — the ties the list order and its cursors must handle.
  for (let start = 0; start < N; start += 100) {
    const chunk = Array.from({ length: 100 }, (_, k) => start + k);
    await Promise.all(chunk.map((i) => domain.accounts.ensure(app.sdkAppID, sender(i))));
    for (let round = 0; round < 3; round++) {
      await Promise.all(chunk.filter((i) => round < sent(i)).map((i) => domain.messages.send(
        { app, userID: sender(i), deviceID: 'seed', capabilities: new Set<string>() },
        `c2c_${ALICE}`, `seed-${i}-${round}`, { type: 'text', text: `from ${i} #${round + 1}` })));
    }
  }
});
after(async () => {
  for (const im of open.splice(0)) await im.logout().catch(() => undefined);
  await env.stop();
});

/** Counts the requests an SDK instance sends, by op, and what had been sent when the sync finished. */
function countingDevice(deviceID: string, historyPrefetch?: false) {
  const ops: { op: string; body: any }[] = [];
  class CountingWebSocket extends NodeWebSocket {
    override send(data: unknown, ...rest: unknown[]): void {
      const frame = JSON.parse(String(data)) as { op: string; body: any };
      ops.push({ op: frame.op, body: frame.body });
      (super.send as (...a: unknown[]) => void)(data, ...rest);
    }
  }
  const im = new V2TIMManager();
  open.push(im);
  im.initSDK(env.app.sdkAppID, {
    serverUrl: env.server.wsUrl, deviceID, logLevel: 'silent',
    WebSocket: CountingWebSocket as unknown as WebSocketConstructor,
    ...(historyPrefetch === false ? { historyPrefetch: false as const } : {}),
  });
  let atFinish: { op: string; body: any }[] | undefined;
  im.getConversationManager().addConversationListener({ onSyncServerFinish: () => { atFinish ??= [...ops]; } });
  const count = (list: { op: string }[], op: string) => list.filter((f) => f.op === op).length;
  return {
    im, ops,
    finished: () => waitFor(() => atFinish, 'onSyncServerFinish', 60_000),
    count: (op: string) => count(ops, op),
    countAtFinish: (op: string) => count(atFinish ?? [], op),
  };
}

async function wholeList(im: V2TIMManager, pageSize: number): Promise<V2TIMConversation[]> {
  const out: V2TIMConversation[] = [];
  for (let next = 0; ;) {
    const page = await im.getConversationManager().getConversationList(next, pageSize);
    assert.ok(page.conversationList.length <= pageSize);
    out.push(...page.conversationList);
    next = page.nextSeq;
    if (page.isFinished) return out;
  }
}

const senderOf = (c: V2TIMConversation) => Number(c.userID.slice('cold-s'.length));

describe('cold start of a user with 1,000 conversations', () => {
  test('a fresh device syncs with conv.sync pages only; the list has every last message; opening a chat fetches its history', async () => {
    const d = countingDevice('cold-fresh-1', false);
    await d.im.login(ALICE, await env.sig(ALICE));
    await d.finished();

    const syncs = d.ops.filter((f) => f.op === 'conv.sync');
    const pageSize = Math.min(syncs[0]!.body.count as number, 500); // what the SDK asked, within the server's cap
    assert.ok(d.countAtFinish('conv.sync') <= Math.ceil(N / pageSize) + 1, `${d.countAtFinish('conv.sync')} conv.sync pages of ${pageSize}`);
    assert.equal(d.countAtFinish('msg.history'), 0, 'no history before onSyncServerFinish');

    const list = await wholeList(d.im, 100);
    assert.equal(list.length, N);
    // nextSeq is a cursor this session handed out, not an offset.
    await assert.rejects(d.im.getConversationManager().getConversationList(100, 10), { code: 6017 });
    assert.equal(new Set(list.map((c) => c.conversationID)).size, N, 'each conversation once');
    for (const c of list) {
      const i = senderOf(c);
      assert.equal(c.lastMessage?.textElem?.text, `from ${i} #${sent(i)}`, c.conversationID);
      assert.equal(c.unreadCount, sent(i));
    }
    for (let k = 1; k < list.length; k++) {
      assert.ok(list[k - 1]!.orderKey > list[k]!.orderKey
        || (list[k - 1]!.orderKey === list[k]!.orderKey && list[k - 1]!.conversationID < list[k]!.conversationID), `order at ${k}`);
    }
    const expectedTotal = Array.from({ length: N }, (_, i) => sent(i)).reduce((a, b) => a + b, 0);
    assert.equal(await d.im.getConversationManager().getTotalUnreadMessageCount(), expectedTotal);

    // Opening a conversation fetches its history once; the second look is served from the cache.
    const before = d.count('msg.history');
    const history = await d.im.getMessageManager().getC2CHistoryMessageList(sender(10), 20, null);
    assert.deepEqual(history.map((m) => m.textElem?.text), ['from 10 #3', 'from 10 #2', 'from 10 #1']);
    assert.equal(d.count('msg.history'), before + 1);
    await d.im.getMessageManager().getC2CHistoryMessageList(sender(10), 20, null);
    assert.equal(d.count('msg.history'), before + 1);
  });

  test('paging while conversations change: every untouched conversation exactly once', async () => {
    const d = countingDevice('cold-fresh-2', false);
    await d.im.login(ALICE, await env.sig(ALICE));
    await d.finished();
    const { domain } = env.server;
    const app = (await domain.apps.get(env.app.sdkAppID))!;
    const seen: string[] = [];
    const touched = new Set<string>();
    for (let next = 0, page = 0; ; page++) {
      const res = await d.im.getConversationManager().getConversationList(next, 150);
      seen.push(...res.conversationList.map((c) => c.conversationID));
      if (res.isFinished) break;
      next = res.nextSeq;
      // Between pages a new message moves one conversation already shown and one not yet shown to the top.
      const lastShown = senderOf(res.conversationList.at(-1)!);
      for (const i of [lastShown, (lastShown + 500) % N]) {
        touched.add(`c2c_${sender(i)}`);
        await domain.messages.send({ app, userID: sender(i), deviceID: 'seed', capabilities: new Set<string>() },
          `c2c_${ALICE}`, `move-${page}-${i}`, { type: 'text', text: `moved ${page}` });
      }
      await waitFor(async () => {
        const top = (await d.im.getConversationManager().getConversationList(0, 2)).conversationList;
        return top.some((c) => c.lastMessage?.textElem?.text === `moved ${page}`);
      }, 'the device applied the change');
    }
    // A moved conversation may show twice (once before, once after it moved) or not at
    // all (it moved above the cursor): the app hears of it through onConversationChanged.
    for (let i = 0; i < N; i++) {
      const id = `c2c_${sender(i)}`;
      if (!touched.has(id)) assert.equal(seen.filter((x) => x === id).length, 1, id);
    }
    assert.ok(touched.size >= 10, 'the list changed between pages');
  });

  test('after onSyncServerFinish the first screen is prefetched in the background, then opens from the cache', async () => {
    const d = countingDevice('cold-fresh-3');
    await d.im.login(ALICE, await env.sig(ALICE));
    await d.finished();
    assert.equal(d.countAtFinish('msg.history'), 0);
    await waitFor(() => d.count('msg.history') === 20, 'the top 20 conversations are prefetched', 30_000);
    const top = (await d.im.getConversationManager().getConversationList(0, 21)).conversationList;
    const prefetched = new Set(d.ops.filter((f) => f.op === 'msg.history').map((f) => f.body.conversationID as string));
    assert.deepEqual([...prefetched].sort(), top.slice(0, 20).map((c) => c.conversationID).sort());
    // A prefetched chat opens without a request; the 21st still fetches.
    await waitFor(async () => {
      const before = d.count('msg.history');
      await d.im.getMessageManager().getC2CHistoryMessageList(top[0]!.userID, 1, null);
      return d.count('msg.history') === before;
    }, 'a prefetched conversation opens from the cache');
    const before = d.count('msg.history');
    await d.im.getMessageManager().getC2CHistoryMessageList(top[20]!.userID, 1, null);
    assert.equal(d.count('msg.history'), before + 1);
  });
});
