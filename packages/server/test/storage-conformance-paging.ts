/**
 * Conformance for the per-user reads that page: `changedSince` (conv.sync) and
 * `listLive` (the conversation list). Every backend runs it next to the main suite.
 * What matters is that a page can end anywhere — inside one version step, among rows
 * sharing an orderKey — and that continuing from the last row's position returns every
 * row exactly once, even when other rows change between pages.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConversationRow, ListPosition, Storage } from '../src/storage/types.js';
import { c2cKey, c2cMessage, c2cTarget, freshStorageEachTest, type OpenStorage } from './storage-conformance.js';

const APP = 1_400_000_001;
const T0 = 1_700_000_000_000;

const sorted = <T>(values: T[]): T[] => [...values].sort();
const peersOf = (n: number, prefix = 'p') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);

export function runPagingConformance(name: string, open: OpenStorage, options: { skip?: string } = {}): void {
  describe(`storage paging conformance: ${name}`, options.skip ? { skip: options.skip } : {}, () => {
    let storage: Storage;
    freshStorageEachTest(open, (s) => { storage = s; });

    async function users(...ids: string[]): Promise<void> {
      for (const id of ids) await storage.accounts.ensure(APP, id, T0);
    }

    /** Pages alice's changes from `since` with `count` rows per read, continuing from each page's last row. */
    async function pageAll(userID: string, since: number, count: number): Promise<ConversationRow[]> {
      const seen: ConversationRow[] = [];
      let position: { version: number; convKey?: string } = { version: since };
      for (let guard = 0; guard < 1000; guard++) {
        const page = await storage.conversations.changedSince(APP, userID, position.version, count, position.convKey);
        assert.ok(page.length <= count, 'a page never holds more than asked');
        if (page.length === 0) return seen;
        seen.push(...page);
        const last = page[page.length - 1]!;
        position = { version: last.version, convKey: last.convKey };
      }
      throw new Error('paging did not end');
    }

    test('changedSince reads in (version, convKey) order and a page may end inside a version step', async () => {
      await users('alice', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8');
      await storage.messages.appendBatch([c2cMessage('alice', 'u1', 'k', 'v1')]); // alice v1: 1 row
      await storage.messages.appendBatch(['u2', 'u3', 'u4', 'u5', 'u6', 'u7'].map((p) => c2cMessage('alice', p, 'k', 'v2'))); // v2: 6 rows
      await storage.messages.appendBatch([c2cMessage('u8', 'alice', 'k', 'v3')]); // v3: 1 row
      assert.equal(await storage.accounts.syncVersion(APP, 'alice'), 3);

      const all = await storage.conversations.changedSince(APP, 'alice', 0, 100);
      assert.deepEqual(all.map((r) => r.version), [1, 2, 2, 2, 2, 2, 2, 3]);
      assert.deepEqual(all.slice(1, 7).map((r) => r.convKey), sorted(all.slice(1, 7).map((r) => r.convKey)), 'by convKey within a version');

      const page1 = await storage.conversations.changedSince(APP, 'alice', 0, 3);
      assert.deepEqual(page1.map((r) => r.convKey), all.slice(0, 3).map((r) => r.convKey), 'the page ends inside version 2, not after it');
      const page2 = await storage.conversations.changedSince(APP, 'alice', 2, 3, page1[2]!.convKey);
      assert.deepEqual(page2.map((r) => r.convKey), all.slice(3, 6).map((r) => r.convKey), 'continues after the position');
      const page3 = await storage.conversations.changedSince(APP, 'alice', 2, 3, page2[2]!.convKey);
      assert.deepEqual(page3.map((r) => r.convKey), all.slice(6).map((r) => r.convKey), 'the rest of version 2, then version 3');
      assert.deepEqual(await storage.conversations.changedSince(APP, 'alice', 3, 3), []);
      assert.deepEqual(await storage.conversations.changedSince(APP, 'alice', 3, 3, all[7]!.convKey), []);
      assert.deepEqual((await storage.conversations.changedSince(APP, 'u1', 0, 100)).map((r) => r.userID), ['u1'], 'only the user\'s rows');
    });

    test('paging a multi-row version step by position, with any page size, returns every row exactly once', async () => {
      const peers = peersOf(130);
      await users('alice', ...peers);
      await storage.messages.appendBatch([c2cMessage(peers[0]!, 'alice', 'k', 'x')]); // v1
      await storage.messages.appendBatch(peers.slice(1, 120).map((p) => c2cMessage(p, 'alice', 'k', 'x'))); // v2: 119 rows
      // v3: one deletion of 100 conversations.
      await storage.deletions.remove(APP, 'alice', peers.slice(10, 110).map((p) => c2cTarget('alice', p)), { mode: 'delete', deviceID: 'd', now: T0 });
      await storage.messages.appendBatch(peers.slice(120).map((p) => c2cMessage(p, 'alice', 'k', 'x'))); // v4
      assert.equal(await storage.accounts.syncVersion(APP, 'alice'), 4);
      const everyKey = sorted(peers.map((p) => c2cKey('alice', p)));
      for (const count of [1, 2, 3, 7, 64]) {
        const seen = await pageAll('alice', 0, count);
        assert.deepEqual(sorted(seen.map((r) => r.convKey)), everyKey, `count ${count}: every row exactly once`);
        assert.equal(seen.filter((r) => r.deleted).length, 100, `count ${count}: the deletion's tombstones`);
      }
      // From version 2: the deletion's rows and version 4's, nothing of before.
      const since2 = await pageAll('alice', 2, 7);
      assert.equal(since2.length, 110);
      assert.ok(since2.every((r) => r.version > 2));
    });

    test('a row changed between pages is read again at its new version; untouched rows once', async () => {
      const peers = peersOf(20);
      await users('alice', ...peers);
      await storage.messages.appendBatch(peers.map((p) => c2cMessage(p, 'alice', 'k', 'x'))); // v1: 20 rows
      const first = await storage.conversations.changedSince(APP, 'alice', 0, 5);
      // Between pages, one row already read and one not yet read change (v2).
      const readKey = first[1]!.convKey;
      const all = await storage.conversations.changedSince(APP, 'alice', 0, 100);
      const unreadKey = all[15]!.convKey;
      const other = (key: string) => key.replace('c2c:', '').split('|').find((u) => u !== 'alice')!;
      await storage.messages.appendBatch([c2cMessage(other(readKey), 'alice', 'k2', 'y'), c2cMessage(other(unreadKey), 'alice', 'k2', 'y')]);
      const last = first[4]!;
      const continued: ConversationRow[] = [];
      let position: { version: number; convKey?: string } = { version: last.version, convKey: last.convKey };
      for (;;) {
        const page = await storage.conversations.changedSince(APP, 'alice', position.version, 5, position.convKey);
        if (page.length === 0) break;
        continued.push(...page);
        position = { version: page.at(-1)!.version, convKey: page.at(-1)!.convKey };
      }
      const keys = [...first, ...continued].map((r) => r.convKey);
      assert.deepEqual(sorted([...new Set(keys)]), sorted(all.map((r) => r.convKey)), 'no row missed');
      assert.equal(keys.filter((k) => k === readKey).length, 2, 'the changed row already read comes again, at version 2');
      assert.equal(keys.filter((k) => k === unreadKey).length, 1, 'the changed row not yet read comes once, at version 2');
      assert.equal(continued.find((r) => r.convKey === unreadKey)?.version, 2);
      assert.equal(keys.length, 21);
    });

    // ------------------------------------------------------------------ listLive
    /** Every live row in list order, read `limit` at a time from the top. */
    async function listAll(userID: string, pinned: boolean, nonEmptyOnly: boolean, limit: number) {
      const out: { convKey: string; position: ListPosition }[] = [];
      let after: ListPosition | undefined;
      for (let guard = 0; guard < 1000; guard++) {
        const page = await storage.conversations.listLive(APP, userID, { pinned, nonEmptyOnly, limit, ...(after ? { after } : {}) });
        assert.ok(page.length <= limit);
        out.push(...page.map((l) => ({ convKey: l.row.convKey, position: l.position })));
        if (page.length < limit) return out;
        after = page.at(-1)!.position;
      }
      throw new Error('listing did not end');
    }

    test('listLive: live rows by orderKey descending with a unique tie, pinned apart, empty ones on request', async () => {
      const peers = peersOf(30);
      await users('alice', ...peers);
      await storage.messages.appendBatch(peers.slice(0, 12).map((p) => c2cMessage(p, 'alice', 'k', 'x'))); // one orderKey for 12 rows
      await storage.messages.appendBatch(peers.slice(12, 20).map((p) => c2cMessage(p, 'alice', 'k', 'x'))); // a newer one for 8
      await storage.messages.appendBatch([c2cMessage(peers[3]!, 'alice', 'k2', 'y')]); // peers[3] moves to the top
      await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', peers[5]!)], { mode: 'delete', deviceID: 'd', now: T0 });
      await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', peers[6]!)], { mode: 'clearHistory', deviceID: 'd', now: T0 });
      await storage.conversations.patch(APP, 'alice', [c2cTarget('alice', peers[7]!), c2cTarget('alice', peers[25]!)]
        .map((t) => ({ ...t, create: true })), { kind: 'pin', isPinned: true }); // peers[25]: pinned, no message

      for (const limit of [1, 3, 100]) {
        const unpinned = await listAll('alice', false, true, limit);
        const keys = unpinned.map((r) => r.convKey);
        assert.equal(keys[0], c2cKey('alice', peers[3]!), 'the latest activity first');
        assert.equal(keys.length, 20 - 1 /* deleted */ - 1 /* cleared: empty */ - 1 /* pinned */ - 0);
        assert.ok(!keys.includes(c2cKey('alice', peers[5]!)), 'no tombstone');
        assert.ok(!keys.includes(c2cKey('alice', peers[6]!)), 'no empty row without asking');
        assert.equal(new Set(keys).size, keys.length, `limit ${limit}: each row once`);
        for (let i = 1; i < unpinned.length; i++) {
          const a = unpinned[i - 1]!.position;
          const b = unpinned[i]!.position;
          assert.ok(a.orderKey > b.orderKey || (a.orderKey === b.orderKey && a.tie > b.tie), 'strictly descending positions');
        }
        assert.ok(unpinned.every((r) => r.position.tie > 0), 'a tie is never 0, so (0, 0) stays the start');
      }
      const withEmpty = await listAll('alice', false, false, 4);
      assert.ok(withEmpty.some((r) => r.convKey === c2cKey('alice', peers[6]!)), 'the cleared conversation when empty ones are asked for');
      assert.deepEqual(sorted((await listAll('alice', true, false, 1)).map((r) => r.convKey)),
        sorted([c2cKey('alice', peers[7]!), c2cKey('alice', peers[25]!)]));
      assert.deepEqual((await listAll('alice', true, true, 10)).map((r) => r.convKey), [c2cKey('alice', peers[7]!)],
        'a pinned conversation with no message is empty');
    });

    test('listLive: paging survives changes between pages without losing or repeating untouched rows', async () => {
      const peers = peersOf(60);
      await users('alice', ...peers);
      await storage.messages.appendBatch(peers.map((p) => c2cMessage(p, 'alice', 'k', 'x'))); // 60 rows, one orderKey
      const seen: string[] = [];
      const touched = new Set<string>();
      let after: ListPosition | undefined;
      for (let page = 0; ; page++) {
        const rows = await storage.conversations.listLive(APP, 'alice', { pinned: false, nonEmptyOnly: true, limit: 7, ...(after ? { after } : {}) });
        seen.push(...rows.map((r) => r.row.convKey));
        if (rows.length < 7) break;
        after = rows.at(-1)!.position;
        // Between pages: a new message in a row not yet seen, a pin of another, a deletion of a third.
        const unseen = peers.filter((p) => !seen.includes(c2cKey('alice', p)) && !touched.has(p));
        if (unseen.length >= 3 && page < 4) {
          const [a, b, c] = unseen as [string, string, string];
          await storage.messages.appendBatch([c2cMessage(a, 'alice', `m${page}`, 'y')]);
          await storage.conversations.patch(APP, 'alice', [{ ...c2cTarget('alice', b), create: false }], { kind: 'pin', isPinned: true });
          await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', c)], { mode: 'delete', deviceID: 'd', now: T0 });
          for (const p of [a, b, c]) touched.add(p);
        }
      }
      assert.equal(new Set(seen).size, seen.length, 'no row twice');
      const untouched = peers.filter((p) => !touched.has(p)).map((p) => c2cKey('alice', p));
      for (const key of untouched) assert.ok(seen.includes(key), `untouched ${key} listed`);
      assert.equal(touched.size, 12);
    });

    test('lastMessages reads the messages at several positions at once; devices page by ID and in batches', async () => {
      await users('alice', 'bob', 'carol');
      await storage.messages.appendBatch([c2cMessage('alice', 'bob', 'a', 'one'), c2cMessage('alice', 'bob', 'b', 'two'), c2cMessage('carol', 'alice', 'c', 'three')]);
      const found = await storage.conversations.lastMessages(APP, [
        { convKey: c2cKey('alice', 'bob'), seq: 2 }, { convKey: c2cKey('alice', 'carol'), seq: 1 }, { convKey: c2cKey('alice', 'bob'), seq: 9 },
      ]);
      assert.deepEqual(found.map((m) => [m.convKey, m.seq, m.elem]).sort(), [
        [c2cKey('alice', 'bob'), 2, { type: 'text', text: 'two' }], [c2cKey('alice', 'carol'), 1, { type: 'text', text: 'three' }],
      ].sort(), 'a missing position is left out');
      assert.deepEqual(await storage.conversations.lastMessages(APP, []), []);

      for (const [user, device] of [['alice', 'z'], ['alice', 'a'], ['alice', 'm'], ['bob', 'b1']] as const) {
        await storage.devices.touch(APP, user, { deviceID: device, platform: 'p', capabilities: ['x'], protocolVersion: 1 }, T0);
      }
      assert.deepEqual((await storage.devices.page(APP, 'alice', 2)).map((d) => d.deviceID), ['a', 'm']);
      assert.deepEqual((await storage.devices.page(APP, 'alice', 2, 'm')).map((d) => d.deviceID), ['z']);
      const many = await storage.devices.listMany(APP, ['alice', 'bob', 'carol', 'alice']);
      assert.deepEqual(sorted(many.get('alice')!.map((d) => d.deviceID)), ['a', 'm', 'z']);
      assert.deepEqual(many.get('bob')!.map((d) => [d.deviceID, d.capabilities]), [['b1', ['x']]]);
      assert.deepEqual(many.get('carol'), []);
    });
  });
}
