/**
 * REST `recentcontact/get_list` over a user with thousands of conversations: each page is
 * an index seek to the cursor, so paging returns every conversation exactly once in list
 * order, and conversations changed between pages do not make untouched ones repeat or
 * go missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type AppRecord, type ConfabServer } from '@confab/server';
import type { AppendRequest } from '../packages/server/src/storage/types.js';

let server: ConfabServer;
let dir: string;
let app: AppRecord;
let adminSig: string;

const COUNT = 2600;
const peers = Array.from({ length: COUNT }, (_, i) => `u${String(i).padStart(5, '0')}`);
const PINNED = [peers[7]!, peers[1500]!, peers[2599]!].map((p) => `c2c_${p}`);

interface SessionItem { Type: number; To_Account?: string; GroupId?: string; TopFlag: number }
const itemID = (i: SessionItem) => (i.Type === 2 ? `group_${i.GroupId}` : `c2c_${i.To_Account}`);

async function getList(cursor: Record<string, number>, assistFlags: number, pageSize: number) {
  const res = await fetch(`${server.httpUrl}/v4/recentcontact/get_list?sdkappid=${app.sdkAppID}&identifier=administrator&usersig=${adminSig}&random=1&contenttype=json`, {
    method: 'POST', body: JSON.stringify({ From_Account: 'alice', ...cursor, AssistFlags: assistFlags, PageSize: pageSize }),
  });
  const json = await res.json() as Record<string, unknown>;
  assert.equal(json.ActionStatus, 'OK', JSON.stringify(json));
  return {
    items: json.SessionItem as SessionItem[], complete: json.CompleteFlag === 1,
    cursor: { TimeStamp: json.TimeStamp as number, StartIndex: json.StartIndex as number, TopTimeStamp: json.TopTimeStamp as number, TopStartIndex: json.TopStartIndex as number },
  };
}

/** Pages from the start; `between(page)` runs after each page. */
async function listAll(assistFlags: number, pageSize: number, between: (page: number, seen: string[]) => Promise<void> = async () => {}) {
  let cursor = { TimeStamp: 0, StartIndex: 0, TopTimeStamp: 0, TopStartIndex: 0 };
  const seen: string[] = [];
  for (let n = 0; n < 1000; n++) {
    const res = await getList(cursor, assistFlags, pageSize);
    // Pinned conversations that are not paged (bit 2 off) come on top of PageSize.
    assert.ok(res.items.length <= pageSize + (assistFlags & 4 ? 0 : PINNED.length), `a page of ${res.items.length}`);
    seen.push(...res.items.map(itemID));
    if (res.complete) return seen;
    cursor = res.cursor;
    await between(n, seen);
  }
  throw new Error('get_list never completed');
}

/**
 * Alice's list order for this setup: pinned, then newest activation first; rows activated
 * together are in the order their conversations started, latest first, and rows started
 * in one commit by conversation ID. The three pinned ones were activated together by the
 * pin but started in different commits: u02599 last, u00007 first.
 */
async function expectedOrder(): Promise<string[]> {
  const rows = (await server.domain.storage.conversations.changedSince(app.sdkAppID, 'alice', 0, 100_000)).filter((r) => !r.deleted);
  const pinOrder = (id: string) => [...PINNED].reverse().indexOf(id);
  rows.sort((a, b) => Number(b.isPinned) - Number(a.isPinned) || b.orderKey - a.orderKey
    || (a.isPinned && b.isPinned ? pinOrder(a.conversationID) - pinOrder(b.conversationID) : 0)
    || (a.conversationID < b.conversationID ? -1 : a.conversationID > b.conversationID ? 1 : 0));
  return rows.map((r) => r.conversationID);
}

function send(from: string, text: string): AppendRequest {
  return {
    app: app.sdkAppID, convKey: `c2c:alice|${from}`, sender: from, clientMsgID: `${from}-${text}`, elem: { type: 'text', text },
    recipients: [{ userID: from, conversationID: 'c2c_alice' }, { userID: 'alice', conversationID: `c2c_${from}` }], now: Date.now(),
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confab-rest-list-'));
  server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent' });
  app = await server.createApp({ name: 'rest-list' });
  adminSig = await server.genUserSig(app.sdkAppID, 'administrator');
  const { storage } = server.domain;
  for (const id of ['alice', ...peers]) await storage.accounts.ensure(app.sdkAppID, id, Date.now());
  // 13 commits of 200 conversations each: every commit is one orderKey shared by 200 rows.
  for (let i = 0; i < COUNT; i += 200) await storage.messages.appendBatch(peers.slice(i, i + 200).map((p) => send(p, 'hi')));
  await storage.conversations.patch(app.sdkAppID, 'alice', PINNED.map((id) => ({ convKey: `c2c:alice|${id.slice(4)}`, conversationID: id, create: false })),
    { kind: 'pin', isPinned: true });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('recentcontact/get_list on a large list', () => {
  test('every conversation exactly once, in list order, whatever the flags and page size', async () => {
    const expected = await expectedOrder();
    assert.equal(expected.length, COUNT);
    assert.deepEqual(expected.slice(0, 3), [...PINNED].reverse());
    for (const [flags, pageSize] of [[5, 100], [5, 37], [1, 100], [0, 100]] as const) {
      const seen = await listAll(flags, pageSize);
      if (flags === 0) {
        // No pinned section: the pin was the latest activation, so the pinned come first anyway.
        assert.deepEqual(seen, expected, `AssistFlags ${flags}`);
      } else {
        assert.deepEqual(seen, expected, `AssistFlags ${flags}, PageSize ${pageSize}`);
      }
    }
  });

  test('changes between pages neither repeat nor drop untouched conversations', async () => {
    const expected = await expectedOrder();
    const touched = new Set<string>();
    const { storage } = server.domain;
    const seen = await listAll(5, 100, async (page, soFar) => {
      if (page > 15) return;
      const seenSet = new Set(soFar);
      const ahead = expected.filter((id) => !seenSet.has(id) && !touched.has(id));
      const behind = soFar.filter((id) => !touched.has(id) && !PINNED.includes(id));
      // A new message in one conversation not yet listed and in one already listed (both move
      // to the top, ahead of the cursor), and a deletion of one not yet listed.
      const [fresh, gone] = [ahead[10]!, ahead[500]!];
      const old = behind[behind.length - 1]!;
      await storage.messages.appendBatch([send(fresh.slice(4), `m${page}`), send(old.slice(4), `m${page}`)]);
      await server.domain.conversations.remove({ app, userID: 'alice', deviceID: 'admin', capabilities: new Set<string>() }, [gone], 'delete');
      for (const id of [fresh, gone, old]) touched.add(id);
    });
    assert.equal(new Set(seen).size, seen.length, 'no conversation listed twice');
    const untouched = expected.filter((id) => !touched.has(id));
    assert.deepEqual(seen.filter((id) => !touched.has(id)), untouched, 'every untouched conversation, once, in order');
    assert.equal(touched.size, 48);
  });
});
