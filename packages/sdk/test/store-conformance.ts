/**
 * One suite for every LocalStore implementation (matrix-rust-sdk's
 * `statestore_integration_tests!` idea). A third-party store passes when this passes:
 *
 * ```ts
 * runStoreConformance('MyStore', async () => new MyStore());
 * ```
 *
 * `makeStore` must return a fresh, empty store each call.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WireMessage } from '@confab/protocol';
import type { ConversationPosition, LocalStore, StoreChangeBatch, StoredConversation } from '../src/store/types.js';
import { comparePositions, positionOf } from '../src/store/order.js';

export function msg(conversationID: string, seq: number, extra: Partial<WireMessage> = {}): WireMessage {
  return {
    msgID: `${conversationID}/${seq}`, conversationID, seq, sender: 'bob', receiver: 'alice',
    clientMsgID: `k${seq}`, timestamp: 1_700_000_000_000 + seq, elem: { type: 'text', text: `m${seq}` }, ...extra,
  };
}

export function conv(conversationID: string, extra: Partial<StoredConversation> = {}): StoredConversation {
  return {
    conversationID, type: conversationID.startsWith('group_') ? 2 : 1,
    ...(conversationID.startsWith('group_') ? { groupID: conversationID.slice(6) } : { userID: conversationID.slice(4) }),
    lastSeq: 0, lastMessage: null, unreadCount: 0, readSeq: 0, visibleFromSeq: 0, orderKey: 1,
    isPinned: false, draftText: '', draftTimestamp: 0, customData: '', markList: [], version: 1, ...extra,
  };
}

const seqs = (ms: WireMessage[]) => ms.map((m) => m.seq);
const ids = (cs: StoredConversation[]) => cs.map((c) => c.conversationID);

/** A small seeded PRNG (mulberry32), so a failing random sequence replays exactly. */
export function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Pages through the whole list, `count` rows at a time, resuming after each page's last row. */
async function pageAll(store: LocalStore, count: number, between?: (page: number) => Promise<void>): Promise<StoredConversation[][]> {
  const pages: StoredConversation[][] = [];
  let after: ConversationPosition | undefined;
  for (;;) {
    const page = await store.listConversationPage(after, count);
    if (page.length === 0) return pages;
    pages.push(page);
    after = positionOf(page[page.length - 1]!);
    await between?.(pages.length);
  }
}
const APP = { sdkAppID: 1400000001, userID: 'alice' };

export function runStoreConformance(name: string, makeStore: () => Promise<LocalStore> | LocalStore): void {
  describe(`LocalStore conformance: ${name}`, () => {
    async function opened(scope = APP): Promise<LocalStore> {
      const store = await makeStore();
      await store.open(scope);
      return store;
    }

    it('stores and reads meta values', async () => {
      const store = await opened();
      assert.equal(await store.getMeta('syncVersion'), undefined);
      await store.setMeta('deviceID', 'dev-1');
      await store.apply({ syncVersion: 7 });
      assert.equal(await store.getMeta('deviceID'), 'dev-1');
      assert.equal(await store.getMeta('syncVersion'), '7');
      await store.close();
    });

    it('keeps scopes apart: another user or another app sees nothing', async () => {
      const store = await opened();
      await store.apply({ upsertConversations: [conv('c2c_bob')], putMessages: [msg('c2c_bob', 1)], syncVersion: 3 });
      await store.setMeta('deviceID', 'alice-dev');
      for (const other of [{ sdkAppID: APP.sdkAppID, userID: 'carol' }, { sdkAppID: 1400000002, userID: 'alice' }]) {
        await store.open(other);
        assert.deepEqual(await store.listConversations(), []);
        assert.deepEqual(await store.getMessages('c2c_bob', { limit: 10 }), []);
        assert.deepEqual(await store.getMessagesByID(['c2c_bob/1']), []);
        assert.equal(await store.getMeta('syncVersion'), undefined);
        assert.equal(await store.getMeta('deviceID'), undefined);
      }
      await store.open(APP);
      assert.equal((await store.listConversations()).length, 1);
      assert.equal(await store.getMeta('deviceID'), 'alice-dev');
      await store.close();
    });

    it('upserts and removes conversations; removing drops their messages', async () => {
      const store = await opened();
      await store.apply({ upsertConversations: [conv('c2c_bob'), conv('group_g1', { unreadCount: 2 })] });
      await store.apply({ upsertConversations: [conv('c2c_bob', { isPinned: true, deliveredSeq: 4 })], putMessages: [msg('c2c_bob', 1)] });
      const bob = await store.getConversation('c2c_bob');
      assert.equal(bob?.isPinned, true);
      assert.equal(bob?.deliveredSeq, 4);
      assert.equal((await store.listConversations()).length, 2);
      assert.deepEqual(ids(await store.getConversations(['group_g1', 'c2c_nobody', 'c2c_bob', 'group_g1'])).sort(), ['c2c_bob', 'group_g1']);
      assert.deepEqual(await store.getConversations([]), []);
      await store.apply({ removeConversations: ['c2c_bob'] });
      assert.equal(await store.getConversation('c2c_bob'), undefined);
      assert.deepEqual(await store.getMessages('c2c_bob', { limit: 10 }), []);
      assert.deepEqual(await store.getMessagesByID(['c2c_bob/1']), []);
      assert.deepEqual((await store.listConversations()).map((c) => c.conversationID), ['group_g1']);
      await store.close();
    });

    it('clearMessages keeps the row', async () => {
      const store = await opened();
      await store.apply({ upsertConversations: [conv('c2c_bob')], putMessages: [msg('c2c_bob', 1), msg('c2c_bob', 2)] });
      await store.apply({ clearMessages: ['c2c_bob'] });
      assert.ok(await store.getConversation('c2c_bob'));
      assert.deepEqual(await store.getMessages('c2c_bob', { limit: 10 }), []);
      await store.close();
    });

    it('returns messages in ascending seq order, paged newest-first by beforeSeq or oldest-first by afterSeq', async () => {
      const store = await opened();
      await store.apply({ putMessages: [5, 1, 3, 2, 4].map((s) => msg('c2c_bob', s)) });
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { limit: 10 })), [1, 2, 3, 4, 5]);
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { limit: 2 })), [4, 5]);
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { beforeSeq: 4, limit: 2 })), [2, 3]);
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { afterSeq: 2, limit: 2 })), [3, 4]);
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { afterSeq: 5, limit: 2 })), []);
      assert.deepEqual(await store.getMessages('c2c_bob', { limit: 0 }), []);
      await store.close();
    });

    it('dedupes messages by msgID and by (conversation, seq)', async () => {
      const store = await opened();
      await store.apply({ putMessages: [msg('c2c_bob', 1), msg('c2c_bob', 1, { elem: { type: 'text', text: 'again' } })] });
      await store.apply({ putMessages: [msg('c2c_bob', 1, { elem: { type: 'text', text: 'third' } })] });
      let all = await store.getMessages('c2c_bob', { limit: 10 });
      assert.equal(all.length, 1);
      assert.deepEqual(all[0]!.elem, { type: 'text', text: 'third' });
      // Same seq, different msgID: the newer copy replaces the old one entirely.
      await store.apply({ putMessages: [msg('c2c_bob', 1, { msgID: 'other-id' })] });
      all = await store.getMessages('c2c_bob', { limit: 10 });
      assert.deepEqual(all.map((m) => m.msgID), ['other-id']);
      assert.deepEqual(await store.getMessagesByID(['c2c_bob/1']), []);
      assert.equal((await store.getMessagesByID(['other-id', 'other-id', 'missing'])).length, 1);
      await store.close();
    });

    it('keeps a message\'s recall, modification and deletion state, and the row\'s change counters', async () => {
      const store = await opened();
      await store.apply({ putMessages: [msg('c2c_bob', 1), msg('c2c_bob', 2)], upsertConversations: [conv('c2c_bob', { lastSeq: 2 })] });
      // A recall replaces the cached copy (no content, status 6); a deletion leaves a content-free entry (status 4).
      const recalled = msg('c2c_bob', 1, { elem: { type: 'text', text: '' }, status: 6, revoker: 'bob', revokeReason: 'typo', modifyVersion: 1, changeSeq: 3 });
      const deleted = msg('c2c_bob', 2, { elem: { type: 'text', text: '' }, status: 4 });
      await store.apply({
        putMessages: [recalled, deleted],
        upsertConversations: [conv('c2c_bob', { lastSeq: 2, changeSeq: 3, deleteSeq: 1, version: 2 })],
      });
      assert.deepEqual(await store.getMessages('c2c_bob', { limit: 10 }), [recalled, deleted]);
      const row = await store.getConversation('c2c_bob');
      assert.equal(row?.changeSeq, 3);
      assert.equal(row?.deleteSeq, 1);
      await store.close();
    });

    it('drops messages below a watermark, only in that conversation', async () => {
      const store = await opened();
      await store.apply({ putMessages: [1, 2, 3, 4].map((s) => msg('c2c_bob', s)).concat([msg('c2c_carol', 1)]) });
      await store.apply({ dropMessagesBelow: [{ conversationID: 'c2c_bob', seq: 3 }] });
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { limit: 10 })), [3, 4]);
      assert.deepEqual(await store.getMessagesByID(['c2c_bob/1', 'c2c_bob/2']), []);
      assert.deepEqual(seqs(await store.getMessages('c2c_carol', { limit: 10 })), [1]);
      await store.close();
    });

    it('applies the parts of a batch in the documented order', async () => {
      const store = await opened();
      await store.apply({ upsertConversations: [conv('c2c_bob')], putMessages: [msg('c2c_bob', 1)] });
      // Remove, then re-create with new messages, in one batch: the new ones survive.
      await store.apply({
        removeConversations: ['c2c_bob'], upsertConversations: [conv('c2c_bob', { version: 2 })],
        putMessages: [msg('c2c_bob', 5), msg('c2c_bob', 6)], dropMessagesBelow: [{ conversationID: 'c2c_bob', seq: 6 }],
      });
      assert.equal((await store.getConversation('c2c_bob'))?.version, 2);
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { limit: 10 })), [6]);
      await store.close();
    });

    it('a batch with one invalid item changes nothing', async () => {
      const store = await opened();
      await store.apply({ upsertConversations: [conv('c2c_bob')], putMessages: [msg('c2c_bob', 1)], syncVersion: 1 });
      const bad = [
        { putMessages: [msg('c2c_bob', 2), { ...msg('c2c_bob', 3), seq: -1 }] },
        { putMessages: [msg('c2c_bob', 2), { ...msg('c2c_bob', 3), conversationID: 'nope' }] },
        { upsertConversations: [conv('c2c_carol'), { ...conv('c2c_dave'), unreadCount: -1 }] },
        { removeConversations: ['c2c_bob', 'bad id'] },
        { dropMessagesBelow: [{ conversationID: 'c2c_bob', seq: 5 }, { conversationID: 'c2c_bob', seq: Number.NaN }] },
        { syncVersion: -3, putMessages: [msg('c2c_bob', 2)] },
      ];
      for (const batch of bad) {
        await assert.rejects(store.apply({ ...batch, syncVersion: batch.syncVersion ?? 99 }), { name: 'ConfabError', code: 6017 });
      }
      assert.equal(await store.getMeta('syncVersion'), '1');
      assert.deepEqual((await store.listConversations()).map((c) => c.conversationID), ['c2c_bob']);
      assert.deepEqual(seqs(await store.getMessages('c2c_bob', { limit: 10 })), [1]);
      await store.close();
    });

    it('returns copies: mutating a result does not change the store', async () => {
      const store = await opened();
      await store.apply({ upsertConversations: [conv('c2c_bob')], putMessages: [msg('c2c_bob', 1)] });
      (await store.getConversation('c2c_bob'))!.unreadCount = 99;
      (await store.getMessages('c2c_bob', { limit: 1 }))[0]!.seq = 42;
      assert.equal((await store.getConversation('c2c_bob'))!.unreadCount, 0);
      assert.equal((await store.getMessages('c2c_bob', { limit: 1 }))[0]!.seq, 1);
      await store.close();
    });

    it('pages the list in order: pinned first, orderKey descending, conversationID on ties', async () => {
      const store = await opened();
      const rand = prng(7);
      // orderKeys from a small range, so many rows tie (one server batch activating several).
      const make = (i: number) => conv(i % 3 ? `c2c_u${i}` : `group_g${i}`, { orderKey: rand(6), isPinned: rand(5) === 0, unreadCount: rand(4) });
      let rows = Array.from({ length: 157 }, (_, i) => make(i));
      // Small batches and large ones (a store may rebuild its index for a large batch).
      await store.apply({ upsertConversations: rows.slice(0, 30) });
      await store.apply({ upsertConversations: rows.slice(30) });
      const redone = Array.from({ length: 90 }, (_, k) => make(k * 2));
      const dropped = rows.filter((_, i) => i % 2 === 1 && i < 40).map((r) => r.conversationID);
      await store.apply({ upsertConversations: redone, removeConversations: dropped });
      const byID = new Map(rows.map((r) => [r.conversationID, r]));
      for (const id of dropped) byID.delete(id);
      for (const r of redone) byID.set(r.conversationID, r);
      rows = [...byID.values()];
      const expected = ids([...rows].sort(comparePositions));
      for (const count of [1, 7, 57, 1000]) {
        const pages = await pageAll(store, count);
        assert.ok(pages.every((p) => p.length <= count));
        assert.deepEqual(pages.flatMap(ids), expected, `count ${count}`);
      }
      // A position need not be a stored row: it resumes at its place in the order.
      const cut = { isPinned: false, orderKey: 3, conversationID: 'c2c_u' };
      const rest = expected.filter((id) => comparePositions(positionOf(rows.find((r) => r.conversationID === id)!), cut) > 0);
      assert.deepEqual(ids(await store.listConversationPage(cut, 100)), rest);
      assert.deepEqual(await store.listConversationPage(undefined, 0), []);
      // Re-sorted on change: pinning the last row brings it to the top.
      const lastID = expected[expected.length - 1]!;
      await store.apply({ upsertConversations: [conv(lastID, { isPinned: true, orderKey: 99 })] });
      assert.equal((await store.listConversationPage(undefined, 1))[0]!.conversationID, lastID);
      await store.close();
    });

    it('a page resumes after its last row when rows change between pages', async () => {
      // The guarantee getConversationList builds on: a row untouched while paging is seen
      // exactly once; a row that moved up past the cursor may be seen twice.
      const store = await opened();
      const rand = prng(11);
      const rows = new Map<string, StoredConversation>();
      for (let i = 0; i < 60; i++) {
        const c = conv(`c2c_p${i}`, { orderKey: 10 + rand(20), isPinned: rand(6) === 0 });
        rows.set(c.conversationID, c);
      }
      await store.apply({ upsertConversations: [...rows.values()] });
      const touched = new Set<string>();
      let top = 1000;
      const seen: string[] = [];
      const pages = await pageAll(store, 7, async () => {
        const live = [...rows.keys()];
        const pick = () => live[rand(live.length)]!;
        const batch: StoreChangeBatch = { upsertConversations: [], removeConversations: [] };
        // A message moves one to the top; one is deleted; one is (un)pinned without activation; one is new.
        const up = pick();
        batch.upsertConversations!.push({ ...rows.get(up)!, orderKey: ++top });
        const gone = pick();
        if (gone !== up) batch.removeConversations!.push(gone);
        const flip = pick();
        if (flip !== up && flip !== gone) batch.upsertConversations!.push({ ...rows.get(flip)!, isPinned: !rows.get(flip)!.isPinned });
        const born = conv(`c2c_new${top}`, { orderKey: ++top });
        batch.upsertConversations!.push(born);
        for (const c of batch.upsertConversations!) {
          rows.set(c.conversationID, c);
          touched.add(c.conversationID);
        }
        for (const id of batch.removeConversations!) {
          rows.delete(id);
          touched.add(id);
        }
        await store.apply(batch);
      });
      for (const p of pages) seen.push(...ids(p));
      const untouched = [...rows.keys()].filter((id) => !touched.has(id));
      assert.ok(untouched.length > 20, 'the test leaves most rows alone');
      for (const id of untouched) assert.equal(seen.filter((x) => x === id).length, 1, `${id} seen once`);
      // And in list order among themselves.
      const order = seen.filter((id) => untouched.includes(id));
      assert.deepEqual(order, [...order].sort((a, b) => comparePositions(positionOf(rows.get(a)!), positionOf(rows.get(b)!))));
      await store.close();
    });

    it('keeps the unread total equal to a recount through random batches (incremental, per scope)', async () => {
      const store = await opened();
      const rand = prng(23);
      const pool = Array.from({ length: 12 }, (_, i) => (i % 4 ? `c2c_r${i}` : `group_r${i}`));
      const recount = async () => (await store.listConversations()).reduce((sum, c) => sum + c.unreadCount, 0);
      assert.equal(await store.getTotalUnread(), 0);
      for (let step = 0; step < 150; step++) {
        const batch: StoreChangeBatch = {};
        const kinds = rand(4);
        if (kinds !== 1) {
          // Upserts, sometimes the same ID twice in one batch (the later one wins).
          batch.upsertConversations = Array.from({ length: 1 + rand(4) }, () => conv(pool[rand(pool.length)]!, {
            unreadCount: rand(3) === 0 ? 0 : rand(50), orderKey: rand(10), isPinned: rand(4) === 0,
          }));
        }
        if (kinds !== 0) batch.removeConversations = Array.from({ length: 1 + rand(3) }, () => pool[rand(pool.length)]!);
        if (rand(10) === 0) batch.clearMessages = [pool[rand(pool.length)]!];
        if (rand(12) === 0) {
          // A batch that fails validation changes nothing, the total included.
          const before = await store.getTotalUnread();
          await assert.rejects(store.apply({ ...batch, upsertConversations: [...(batch.upsertConversations ?? []), { ...conv('c2c_bad'), unreadCount: -1 }] }), { code: 6017 });
          assert.equal(await store.getTotalUnread(), before);
          continue;
        }
        await store.apply(batch);
        assert.equal(await store.getTotalUnread(), await recount(), `step ${step}`);
      }
      // Another scope has its own total.
      const mine = await store.getTotalUnread();
      await store.open({ sdkAppID: APP.sdkAppID, userID: 'carol' });
      assert.equal(await store.getTotalUnread(), 0);
      await store.apply({ upsertConversations: [conv('c2c_bob', { unreadCount: 5 })] });
      assert.equal(await store.getTotalUnread(), 5);
      await store.open(APP);
      assert.equal(await store.getTotalUnread(), mine);
      await store.close();
    });

    it('keeps local custom fields on this device: set by msgID, kept when the server sends the message again', async () => {
      const store = await opened();
      await store.apply({ upsertConversations: [conv('c2c_bob', { lastSeq: 2 })], putMessages: [msg('c2c_bob', 1), msg('c2c_bob', 2)] });
      await store.apply({ setLocalCustom: [{ msgID: 'c2c_bob/1', localCustomData: 'starred' }, { msgID: 'c2c_bob/404', localCustomInt: 1 }] });
      await store.apply({ setLocalCustom: [{ msgID: 'c2c_bob/1', localCustomInt: 7 }] });
      let [m1] = await store.getMessagesByID(['c2c_bob/1']);
      assert.equal(m1?.localCustomData, 'starred', 'a patch without the field keeps it');
      assert.equal(m1?.localCustomInt, 7);
      // A history page brings the same message again, without local fields: they stay.
      await store.apply({ putMessages: [msg('c2c_bob', 1, { elem: { type: 'text', text: 'again' } })] });
      [m1] = await store.getMessagesByID(['c2c_bob/1']);
      assert.equal(m1?.localCustomData, 'starred');
      assert.equal(m1?.localCustomInt, 7);
      assert.deepEqual(m1?.elem, { type: 'text', text: 'again' });
      assert.equal((await store.getMessages('c2c_bob', { limit: 10 }))[0]?.localCustomData, 'starred');
      const [m2] = await store.getMessagesByID(['c2c_bob/2']);
      assert.equal(m2?.localCustomData, undefined);
      assert.equal((await store.getMessagesByID(['c2c_bob/404'])).length, 0, 'a message not cached is not created');
      await assert.rejects(store.apply({ setLocalCustom: [{ msgID: 'c2c_bob/2', localCustomInt: 1.5 }] }), { code: 6017 });
      await store.close();
    });

    it('searches cached messages of one conversation or of all, within the scope', async () => {
      const store = await opened();
      await store.apply({
        upsertConversations: [conv('c2c_bob', { lastSeq: 3 }), conv('group_g1', { lastSeq: 2 })],
        putMessages: [
          msg('c2c_bob', 1, { elem: { type: 'text', text: 'lunch today?' } }),
          msg('c2c_bob', 2, { elem: { type: 'text', text: 'no' } }),
          msg('c2c_bob', 3, { elem: { type: 'face', index: 1, data: 'lunch' } }),
          msg('group_g1', 1, { elem: { type: 'text', text: 'Lunch at noon' }, sender: 'carol' }),
          msg('group_g1', 2, { elem: { type: 'location', desc: 'office', longitude: 1, latitude: 2 } }),
        ],
      });
      const lunch = (m: WireMessage) => JSON.stringify(m.elem).toLowerCase().includes('lunch');
      const all = await store.searchMessages(undefined, lunch);
      assert.deepEqual(all.map((m) => m.msgID).sort(), ['c2c_bob/1', 'c2c_bob/3', 'group_g1/1']);
      const one = await store.searchMessages('c2c_bob', lunch);
      assert.deepEqual(one.map((m) => m.msgID).sort(), ['c2c_bob/1', 'c2c_bob/3']);
      assert.deepEqual(await store.searchMessages('c2c_nobody', () => true), []);
      assert.equal((await store.searchMessages(undefined, () => true)).length, 5);
      // Another user's cache is not searched.
      await store.open({ sdkAppID: APP.sdkAppID, userID: 'carol' });
      await store.apply({ upsertConversations: [conv('c2c_dave', { lastSeq: 1 })], putMessages: [msg('c2c_dave', 1, { elem: { type: 'text', text: 'lunch' } })] });
      assert.deepEqual((await store.searchMessages(undefined, lunch)).map((m) => m.msgID), ['c2c_dave/1']);
      await store.open(APP);
      assert.equal((await store.searchMessages(undefined, lunch)).length, 3);
      await store.close();
    });

    it('fails with 6019 when used before open', async () => {
      const store = await makeStore();
      await assert.rejects(store.listConversations(), { code: 6019 });
      await assert.rejects(store.listConversationPage(undefined, 10), { code: 6019 });
      await assert.rejects(store.getTotalUnread(), { code: 6019 });
      await assert.rejects(store.apply({ syncVersion: 1 }), { code: 6019 });
    });
  });
}
