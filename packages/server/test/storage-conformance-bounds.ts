/**
 * Conformance for the bounded group and friend reads and the caps (docs/protocol.md,
 * "Limits: friends and groups"): member paging by join seq with changes between pages,
 * joined groups and friends paged by key, the caps checked inside the storage
 * transaction (also under concurrency), and the purge floor as the lowest watermark of
 * every participant. Every backend runs it (storage-bounds.test.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LimitReachedError, type ConversationRow, type Storage } from '../src/storage/types.js';
import { freshStorageEachTest, groupDraft, groupKey, groupMessage, groupTarget, type OpenStorage } from './storage-conformance.js';

const APP = 1_400_000_001;
const T0 = 1_700_000_000_000;
const LATER = T0 + 10_000_000;

export function runBoundsConformance(name: string, open: OpenStorage, options: { skip?: string } = {}): void {
  describe(`storage bounds conformance: ${name}`, options.skip ? { skip: options.skip } : {}, () => {
    let storage: Storage;
    freshStorageEachTest(open, (s) => { storage = s; });

    async function users(...ids: string[]): Promise<void> {
      for (const id of ids) await storage.accounts.ensure(APP, id, T0);
    }

    async function row(userID: string, convKey: string): Promise<ConversationRow> {
      const found = await storage.conversations.get(APP, userID, convKey);
      assert.ok(found, `${userID} has a row for ${convKey}`);
      return found;
    }

    async function seqs(convKey: string): Promise<number[]> {
      return (await storage.messages.range(APP, convKey, 1, 1000, 1000, 'asc')).map((m) => m.seq);
    }

    describe('groups', () => {
      test('joinedGroups pages by group ID from a position', async () => {
        await users('a', 'b');
        for (const id of ['g3', 'g1', 'g4', 'g2']) await storage.groups.create(APP, groupDraft(id, 'a'), ['b'], T0);
        const first = await storage.groups.joinedGroups(APP, 'b', 3);
        assert.deepEqual(first.map((g) => g.groupID), ['g1', 'g2', 'g3']);
        assert.deepEqual((await storage.groups.joinedGroups(APP, 'b', 3, 'g3')).map((g) => g.groupID), ['g4']);
        assert.deepEqual(first.map((g) => g.memberCount), [2, 2, 2]);
      });

      test('memberPage: every member present throughout is listed exactly once while others join and leave', async () => {
        const ids = Array.from({ length: 9 }, (_, i) => `u${i + 1}`);
        await users('owner', ...ids, 'n1', 'n2');
        await storage.groups.create(APP, groupDraft('g1', 'owner'), ids, T0);
        const seen: string[] = [];
        let after = 0;
        let pages = 0;
        for (;;) {
          const page = await storage.groups.memberPage(APP, 'g1', after, 3);
          assert.ok(page.length <= 3);
          seen.push(...page.map((m) => m.userID));
          if (page.length > 0) {
            assert.ok(page.every((m, i) => m.seq > (i === 0 ? after : page[i - 1]!.seq)), 'in seq order, after the cursor');
            after = page[page.length - 1]!.seq;
          }
          pages++;
          if (pages === 1) {
            // Between pages: one already listed leaves and rejoins, one not yet reached
            // leaves for good, a newcomer joins.
            await storage.groups.removeMember(APP, 'g1', 'u2', T0 + 1);
            await storage.groups.addMembers(APP, 'g1', ['u2'], T0 + 2);
            await storage.groups.removeMember(APP, 'g1', 'u7', T0 + 3);
            await storage.groups.addMembers(APP, 'g1', ['n1'], T0 + 4);
          }
          if (pages === 2) {
            // One listed earlier leaves; one not yet reached leaves and comes back.
            await storage.groups.removeMember(APP, 'g1', 'u1', T0 + 5);
            await storage.groups.removeMember(APP, 'g1', 'u9', T0 + 6);
            await storage.groups.addMembers(APP, 'g1', ['u9', 'n2'], T0 + 7);
          }
          if (page.length < 3) break;
        }
        assert.equal(new Set(seen).size, seen.length, `nobody twice: ${seen.join(',')}`);
        for (const id of ['owner', 'u2', 'u3', 'u4', 'u5', 'u6', 'u8', 'u9']) assert.ok(seen.includes(id), `${id} listed`);
        assert.ok(!seen.includes('u7'), 'a member gone before their page is not listed');
        assert.ok(seen.includes('n1') && seen.includes('n2'), 'newcomers come after everyone who was there first');
        assert.equal((await storage.groups.member(APP, 'g1', 'u2'))?.seq, 3, 'a rejoining member keeps their place');
        assert.equal((await storage.groups.get(APP, 'g1'))?.memberCount, 10, 'owner + 9 - u7 - u1 + n1 + n2');
      });

      test('caps: a group never passes maxMembers and a user never passes maxJoinedGroups', async () => {
        await users('owner', 'a', 'b', 'c', 'd');
        const caps = { maxMembers: 3, maxJoinedGroups: 2 };
        await assert.rejects(storage.groups.create(APP, groupDraft('big', 'owner'), ['a', 'b', 'c'], T0, caps),
          (err: unknown) => err instanceof LimitReachedError && err.limit === 'groupMembers');
        assert.equal(await storage.groups.get(APP, 'big'), undefined, 'nothing created');

        await storage.groups.create(APP, groupDraft('g1', 'owner'), ['a'], T0, caps);
        await storage.groups.create(APP, groupDraft('g2', 'a'), [], T0, caps);
        // a is in two groups now: a third creation naming a fails whole, ...
        await assert.rejects(storage.groups.create(APP, groupDraft('g3', 'b'), ['a'], T0, caps),
          (err: unknown) => err instanceof LimitReachedError && err.limit === 'joinedGroups' && err.userID === 'a');
        assert.equal(await storage.groups.get(APP, 'g3'), undefined);
        await storage.groups.create(APP, groupDraft('g3', 'b'), [], T0, caps);
        // ... and adding skips a while adding the others.
        const change = await storage.groups.addMembers(APP, 'g3', ['a', 'c'], T0 + 1, caps);
        assert.deepEqual(change.added, ['c']);
        assert.deepEqual(change.refused, ['a']);
        assert.equal(await storage.groups.member(APP, 'g3', 'a'), undefined);

        // g3 holds b and c: one place left.
        await assert.rejects(storage.groups.addMembers(APP, 'g3', ['d', 'owner'], T0 + 2, caps),
          (err: unknown) => err instanceof LimitReachedError && err.limit === 'groupMembers');
        assert.equal(await storage.groups.member(APP, 'g3', 'd'), undefined, 'no one added');
        assert.equal((await storage.groups.addMembers(APP, 'g3', ['d'], T0 + 3, caps)).added.length, 1);
        assert.equal((await storage.groups.get(APP, 'g3'))?.memberCount, 3);

        // Leaving frees a place on both sides.
        await storage.groups.removeMember(APP, 'g1', 'a', T0 + 4);
        assert.deepEqual((await storage.groups.addMembers(APP, 'g3', ['a'], T0 + 5, caps).catch((e: unknown) => e)) instanceof LimitReachedError, true,
          'g3 is still full');
        await storage.groups.removeMember(APP, 'g3', 'd', T0 + 6);
        assert.deepEqual((await storage.groups.addMembers(APP, 'g3', ['a'], T0 + 7, caps)).added, ['a']);
      });

      test('caps: concurrent joins never take a group past maxMembers', async () => {
        const ids = Array.from({ length: 8 }, (_, i) => `j${i}`);
        await users('owner', ...ids);
        await storage.groups.create(APP, groupDraft('g1', 'owner'), [], T0);
        const caps = { maxMembers: 4, maxJoinedGroups: 100 };
        const outcomes = await Promise.allSettled(ids.map((id, i) => storage.groups.addMembers(APP, 'g1', [id], T0 + i, caps)));
        assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 3);
        assert.ok(outcomes.every((o) => o.status === 'fulfilled' || o.reason instanceof LimitReachedError));
        assert.equal((await storage.groups.get(APP, 'g1'))?.memberCount, 4);
        assert.equal((await storage.groups.memberPage(APP, 'g1', 0, 100)).length, 4);
      });
    });

    describe('friends', () => {
      test('page reads by friend ID from a position', async () => {
        await users('alice', 'f1', 'f2', 'f3');
        for (const id of ['f3', 'f1', 'f2']) await storage.friends.add(APP, 'alice', id, '', T0);
        assert.deepEqual((await storage.friends.page(APP, 'alice', 2)).map((f) => f.friendID), ['f1', 'f2']);
        assert.deepEqual((await storage.friends.page(APP, 'alice', 2, 'f2')).map((f) => f.friendID), ['f3']);
      });

      test('maxFriends: a new friendship is refused when either side is full; a remark update is not', async () => {
        await users('alice', 'bob', 'carol', 'dave');
        await storage.friends.add(APP, 'alice', 'bob', '', T0, 2);
        await storage.friends.add(APP, 'alice', 'carol', '', T0, 2);
        await assert.rejects(storage.friends.add(APP, 'alice', 'dave', '', T0, 2),
          (err: unknown) => err instanceof LimitReachedError && err.limit === 'friends' && err.userID === 'alice');
        await assert.rejects(storage.friends.add(APP, 'dave', 'alice', '', T0, 2),
          (err: unknown) => err instanceof LimitReachedError && err.limit === 'peerFriends' && err.userID === 'alice');
        assert.deepEqual(await storage.friends.page(APP, 'dave', 10), [], 'nothing written either way');
        assert.equal((await storage.friends.add(APP, 'alice', 'bob', 'Bobby', T0 + 1, 2)).remark, 'Bobby', 'an existing friend is not a new one');
        await storage.friends.remove(APP, 'alice', 'carol');
        assert.equal((await storage.friends.add(APP, 'dave', 'alice', '', T0 + 2, 2)).friendID, 'alice');
      });

      test('maxFriends holds under concurrent adds', async () => {
        const ids = Array.from({ length: 6 }, (_, i) => `p${i}`);
        await users('alice', ...ids);
        const outcomes = await Promise.allSettled(ids.map((id) => storage.friends.add(APP, id, 'alice', '', T0, 3)));
        assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 3);
        assert.equal((await storage.friends.page(APP, 'alice', 10)).length, 3);
      });
    });

    describe('purge', () => {
      test('the purge floor is the lowest watermark of every participant, whatever order they delete in', async () => {
        const orders = [['owner', 'm1', 'm2', 'late'], ['late', 'm2', 'owner', 'm1'], ['m2', 'late', 'm1', 'owner']];
        await users('owner', 'm1', 'm2', 'late');
        for (const [n, order] of orders.entries()) {
          const groupID = `p${n}`;
          const key = groupKey(groupID);
          await storage.groups.create(APP, groupDraft(groupID, 'owner'), ['m1', 'm2'], T0);
          let sent = 0;
          const send = async (count: number, members: string[]) => {
            await storage.messages.appendBatch(Array.from({ length: count }, () => {
              sent++;
              return groupMessage(groupID, 'owner', members, `${groupID}-${sent}`, `t${sent}`);
            }));
          };
          await send(2, ['owner', 'm1', 'm2']);
          await storage.groups.addMembers(APP, groupID, ['late'], T0 + 1); // late sees from seq 3
          const everyone = ['owner', 'm1', 'm2', 'late'];
          const watermark = new Map<string, number>([['owner', 1], ['m1', 1], ['m2', 1], ['late', 3]]);
          for (const [i, who] of order.entries()) {
            await send(i + 1, everyone);
            await storage.deletions.remove(APP, who, [groupTarget(groupID)], { mode: 'clearHistory', deviceID: 'd', now: T0 + 10 + i });
            watermark.set(who, (await row(who, key)).visibleFromSeq);
            for (let guard = 0; guard < 50; guard++) if ((await storage.deletions.purgeStep(APP, key, 1000, LATER)).done) break;
            const floor = Math.min(...watermark.values());
            assert.deepEqual(await seqs(key), Array.from({ length: sent - floor + 1 }, (_, k) => floor + k),
              `order ${order.join(',')}, after ${who}: everything from seq ${floor} stays, nothing below it`);
          }
        }
      });
    });
  });
}
