/**
 * The storage conformance suite: every backend behind the `Storage` seam runs it. It
 * talks only through the interfaces of `src/storage/types.ts` (no SQL, no backend
 * internals), so a PostgreSQL backend can run it unchanged:
 *
 *   runStorageConformance('postgres', async () => ({ storage, cleanup }));
 *
 * `open` must return a fresh, empty storage each time; `cleanup` closes it and removes
 * whatever it created.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupMemberRole, GroupType } from '@confab/protocol';
import {
  DEFAULT_APP_SETTINGS, StaleLeaseError,
  type AppendRequest, type AppRecord, type ConversationRow, type Storage, type UserChange,
} from '../src/storage/types.js';
import { fanoutConformance } from './fanout-conformance.js';
import { mutationConformance } from './mutation-conformance.js';

export type OpenStorage = () => Promise<{ storage: Storage; cleanup(): Promise<void> }>;

const APP = 1_400_000_001;
const OTHER_APP = 1_400_000_002;
const T0 = 1_700_000_000_000;

// ---------------------------------------------------------------------------------
// Builders (backend-neutral: they only produce interface values)
// ---------------------------------------------------------------------------------

export function appRecord(sdkAppID: number, overrides: Partial<AppRecord> = {}): AppRecord {
  return {
    sdkAppID, name: `app-${sdkAppID}`, secretKey: `secret-${sdkAppID}`, adminUserID: 'administrator',
    settings: { ...DEFAULT_APP_SETTINGS }, createdAt: T0, ...overrides,
  };
}

/** The internal key of a C2C conversation: `c2c:<a>|<b>` with a < b. */
export function c2cKey(x: string, y: string): string {
  return x < y ? `c2c:${x}|${y}` : `c2c:${y}|${x}`;
}

export function groupKey(groupID: string): string {
  return `group:${groupID}`;
}

/** A one-to-one message from `from` to `to`, updating both rows. */
export function c2cMessage(from: string, to: string, clientMsgID: string, text: string, now = T0, app = APP): AppendRequest {
  return {
    app, convKey: c2cKey(from, to), sender: from, clientMsgID, elem: { type: 'text', text },
    recipients: [{ userID: from, conversationID: `c2c_${to}` }, { userID: to, conversationID: `c2c_${from}` }], now,
  };
}

/** A group message from `sender` to the given members (the sender among them). */
export function groupMessage(groupID: string, sender: string, members: string[], clientMsgID: string, text: string, now = T0, app = APP): AppendRequest {
  return {
    app, convKey: groupKey(groupID), sender, clientMsgID, elem: { type: 'text', text },
    recipients: members.map((userID) => ({ userID, conversationID: `group_${groupID}` })), now,
  };
}

export function groupDraft(groupID: string, owner: string, now = T0) {
  return {
    groupID, groupType: GroupType.WORK, groupName: `name of ${groupID}`, faceUrl: 'https://example.com/g.png',
    introduction: 'intro', notification: 'notice', owner, createdAt: now,
  };
}

/** A deletion target: the user's own view of a C2C conversation. */
export function c2cTarget(userID: string, peer: string): { convKey: string; conversationID: string } {
  return { convKey: c2cKey(userID, peer), conversationID: `c2c_${peer}` };
}

export function groupTarget(groupID: string): { convKey: string; conversationID: string } {
  return { convKey: groupKey(groupID), conversationID: `group_${groupID}` };
}

function changeOf(changes: UserChange[], userID: string): UserChange {
  const found = changes.filter((c) => c.userID === userID);
  assert.equal(found.length, 1, `expected exactly one change for ${userID}, got ${found.length}`);
  return found[0]!;
}

function sorted<T>(values: T[]): T[] {
  return [...values].sort();
}

/** Every row of a change is stamped with the change's version and it steps by exactly one. */
function assertWellFormedChange(change: UserChange, app = APP): void {
  assert.equal(change.app, app);
  assert.equal(change.version, change.prevVersion + 1, 'a change steps the version by exactly one');
  assert.ok(change.rows.length > 0, 'a change carries the rows it changed');
  for (const row of change.rows) {
    assert.equal(row.userID, change.userID);
    assert.equal(row.version, change.version, `row ${row.convKey} carries the version that changed it`);
  }
}

// ---------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------

/**
 * Opens a fresh Storage (with the test app) before each test of the enclosing suite and
 * closes it after; `use` receives it. Every conformance suite starts its tests this way.
 */
export function freshStorageEachTest(open: OpenStorage, use: (storage: Storage) => void): void {
  let cleanup: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const opened = await open();
    use(opened.storage);
    cleanup = opened.cleanup;
    await opened.storage.apps.create(appRecord(APP));
  });
  afterEach(async () => {
    const done = cleanup;
    cleanup = undefined;
    if (done) await done();
  });
}

/** `skip`: a reason to skip the whole suite (e.g. the backend's server is not reachable). */
export function runStorageConformance(name: string, open: OpenStorage, options: { skip?: string } = {}): void {
  describe(`storage conformance: ${name}`, options.skip ? { skip: options.skip } : {}, () => {
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

    // ----------------------------------------------------------------- apps
    describe('apps', () => {
      test('create, get, list and updateSettings', async () => {
        const other = appRecord(OTHER_APP, { name: 'second', secretKey: 'k2', adminUserID: 'root', createdAt: T0 + 5 });
        await storage.apps.create(other);

        assert.deepEqual(await storage.apps.get(OTHER_APP), other);
        assert.deepEqual(await storage.apps.get(APP), appRecord(APP));
        assert.equal(await storage.apps.get(1_499_999_999), undefined);

        const listed = await storage.apps.list();
        assert.deepEqual(sorted(listed.map((a) => a.sdkAppID)), [APP, OTHER_APP]);
        assert.deepEqual(listed.find((a) => a.sdkAppID === OTHER_APP), other);

        const settings = { ...DEFAULT_APP_SETTINGS, maxMessageBytes: 4096 };
        await storage.apps.updateSettings(OTHER_APP, settings);
        assert.deepEqual((await storage.apps.get(OTHER_APP))?.settings, settings);
        // Only that app changed.
        assert.deepEqual((await storage.apps.get(APP))?.settings, DEFAULT_APP_SETTINGS);
        assert.deepEqual((await storage.apps.list()).find((a) => a.sdkAppID === OTHER_APP)?.settings, settings);
      });

      test('updateSecret replaces one app\'s key and nothing else', async () => {
        const other = appRecord(OTHER_APP, { secretKey: 'old-key' });
        await storage.apps.create(other);
        await storage.apps.updateSecret(OTHER_APP, 'new-key');
        assert.deepEqual(await storage.apps.get(OTHER_APP), { ...other, secretKey: 'new-key' });
        assert.equal((await storage.apps.get(APP))?.secretKey, appRecord(APP).secretKey);
      });

      test('ping answers while the storage is open', async () => {
        await storage.ping?.();
      });
    });

    // ------------------------------------------------------------- accounts
    describe('accounts', () => {
      test('ensure creates once and is idempotent; syncVersion starts at 0', async () => {
        const first = await storage.accounts.ensure(APP, 'alice', T0);
        assert.deepEqual(first, { userID: 'alice', nickName: '', faceUrl: '', selfSignature: '', createdAt: T0 });
        assert.equal(await storage.accounts.syncVersion(APP, 'alice'), 0);

        const again = await storage.accounts.ensure(APP, 'alice', T0 + 1000);
        assert.deepEqual(again, first, 'a second ensure returns the existing account unchanged');
        assert.equal(await storage.accounts.syncVersion(APP, 'alice'), 0);

        assert.equal(await storage.accounts.syncVersion(APP, 'nobody'), 0, 'a user with no state is at version 0');
      });

      test('get returns only existing accounts; updateProfile patches the given fields', async () => {
        await users('alice', 'bob');
        const got = await storage.accounts.get(APP, ['bob', 'ghost', 'alice']);
        assert.deepEqual(sorted(got.map((a) => a.userID)), ['alice', 'bob']);

        const updated = await storage.accounts.updateProfile(APP, 'alice', { nickName: 'Alice', faceUrl: 'https://a/1.png' });
        assert.deepEqual(updated, { userID: 'alice', nickName: 'Alice', faceUrl: 'https://a/1.png', selfSignature: '', createdAt: T0 });
        const second = await storage.accounts.updateProfile(APP, 'alice', { selfSignature: 'hi' });
        assert.equal(second.nickName, 'Alice', 'fields not in the patch are kept');
        assert.equal(second.selfSignature, 'hi');
        assert.deepEqual((await storage.accounts.get(APP, ['alice']))[0], second);
        // Ensure after a profile update does not reset it.
        assert.deepEqual(await storage.accounts.ensure(APP, 'alice', T0 + 5), second);
      });

      test('accounts and versions are per app', async () => {
        await storage.apps.create(appRecord(OTHER_APP));
        await users('alice', 'bob');
        await storage.accounts.ensure(OTHER_APP, 'alice', T0 + 7);
        assert.equal((await storage.accounts.get(OTHER_APP, ['alice']))[0]?.createdAt, T0 + 7);
        assert.deepEqual(await storage.accounts.get(OTHER_APP, ['bob']), []);

        await storage.messages.appendBatch([c2cMessage('alice', 'bob', 'k1', 'hi')]);
        assert.equal(await storage.accounts.syncVersion(APP, 'alice'), 1);
        assert.equal(await storage.accounts.syncVersion(OTHER_APP, 'alice'), 0, 'another app\'s alice is untouched');
        assert.equal(await storage.conversations.get(OTHER_APP, 'alice', c2cKey('alice', 'bob')), undefined);
      });
    });

    // -------------------------------------------------------------- friends
    describe('friends', () => {
      test('add is mutual, re-adding updates the remark only, remove is mutual and reports existence', async () => {
        await users('alice', 'bob', 'carol');
        const added = await storage.friends.add(APP, 'alice', 'bob', 'Bobby', T0 + 1);
        assert.deepEqual(added, { userID: 'alice', friendID: 'bob', remark: 'Bobby', addedAt: T0 + 1 });

        assert.deepEqual(await storage.friends.page(APP, 'alice', 100), [added]);
        const reverse = await storage.friends.page(APP, 'bob', 100);
        assert.equal(reverse.length, 1);
        assert.equal(reverse[0]?.userID, 'bob');
        assert.equal(reverse[0]?.friendID, 'alice');
        assert.equal(reverse[0]?.remark, '', 'the other side has no remark of its own');
        assert.deepEqual(await storage.friends.page(APP, 'carol', 100), []);

        const renamed = await storage.friends.add(APP, 'alice', 'bob', 'Robert', T0 + 99);
        assert.deepEqual(renamed, { userID: 'alice', friendID: 'bob', remark: 'Robert', addedAt: T0 + 1 },
          're-adding keeps the original add time and updates the remark');
        assert.equal((await storage.friends.page(APP, 'bob', 100))[0]?.remark, '', 'the reverse remark is untouched');

        // The other side setting its own remark leaves the first side's remark alone.
        await storage.friends.add(APP, 'bob', 'alice', 'Ally', T0 + 100);
        assert.equal((await storage.friends.page(APP, 'bob', 100))[0]?.remark, 'Ally');
        assert.equal((await storage.friends.page(APP, 'alice', 100))[0]?.remark, 'Robert');

        await storage.friends.add(APP, 'alice', 'carol', '', T0 + 2);
        assert.deepEqual(sorted((await storage.friends.page(APP, 'alice', 100)).map((f) => f.friendID)), ['bob', 'carol']);

        assert.equal(await storage.friends.remove(APP, 'bob', 'alice'), true);
        assert.deepEqual((await storage.friends.page(APP, 'alice', 100)).map((f) => f.friendID), ['carol'], 'removed both ways');
        assert.deepEqual(await storage.friends.page(APP, 'bob', 100), []);
        assert.equal(await storage.friends.remove(APP, 'alice', 'bob'), false, 'removing again reports nothing removed');
        assert.equal(await storage.friends.remove(APP, 'bob', 'alice'), false);
      });

      test('removing a friend leaves the conversation untouched', async () => {
        await users('alice', 'bob');
        await storage.friends.add(APP, 'alice', 'bob', '', T0);
        await storage.messages.appendBatch([c2cMessage('alice', 'bob', 'k1', 'hi')]);
        const before = await row('bob', c2cKey('alice', 'bob'));
        const versionBefore = await storage.accounts.syncVersion(APP, 'bob');
        assert.equal(await storage.friends.remove(APP, 'alice', 'bob'), true);
        assert.deepEqual(await row('bob', c2cKey('alice', 'bob')), before);
        assert.equal(await storage.accounts.syncVersion(APP, 'bob'), versionBefore);
        assert.equal((await storage.messages.range(APP, c2cKey('alice', 'bob'), 1, 10, 10, 'asc')).length, 1);
      });
    });

    // --------------------------------------------------------------- groups
    describe('groups', () => {
      test('create: owner role 400, members 200, each member gets a conversation row', async () => {
        await users('owner', 'm1', 'm2');
        const change = await storage.groups.create(APP, groupDraft('g1', 'owner'), ['m1', 'm2', 'm1', 'owner'], T0 + 1);

        for (const id of ['m1', 'm2']) assert.ok(change.added.includes(id), `${id} reported as added`);
        assert.deepEqual(sorted(change.updates.map((u) => u.userID)), ['m1', 'm2', 'owner'], 'one change per member, owner included');
        for (const update of change.updates) {
          assertWellFormedChange(update);
          assert.equal(update.prevVersion, 0);
          assert.equal(update.rows.length, 1);
          const r = update.rows[0]!;
          assert.equal(r.convKey, groupKey('g1'));
          assert.equal(r.conversationID, 'group_g1');
          assert.equal(r.deleted, false);
          assert.equal(r.unreadCount, 0);
          assert.ok(r.lastSeq < r.visibleFromSeq, 'a new group has nothing visible yet');
          assert.deepEqual(await row(update.userID, groupKey('g1')), r, 'the returned row is the stored row');
          assert.equal(await storage.accounts.syncVersion(APP, update.userID), update.version);
        }

        const group = await storage.groups.get(APP, 'g1');
        assert.deepEqual(group, { ...groupDraft('g1', 'owner'), dismissedAt: null, memberCount: 3 });
        assert.deepEqual(await storage.groups.member(APP, 'g1', 'owner'), { userID: 'owner', role: GroupMemberRole.OWNER, joinedAt: T0 + 1, seq: 1 });
        assert.deepEqual(await storage.groups.member(APP, 'g1', 'm1'), { userID: 'm1', role: GroupMemberRole.MEMBER, joinedAt: T0 + 1, seq: 2 });
        assert.equal(await storage.groups.member(APP, 'g1', 'stranger'), undefined);

        const members = await storage.groups.members(APP, 'g1', 0, 100);
        assert.deepEqual(sorted(members.map((m) => m.userID)), ['m1', 'm2', 'owner']);
        assert.equal(members.find((m) => m.userID === 'owner')?.role, 400);
        assert.equal(members.find((m) => m.userID === 'm2')?.role, 200);

        assert.equal(await storage.groups.get(APP, 'nope'), undefined);
        assert.deepEqual((await storage.groups.getMany(APP, ['nope', 'g1'])).map((g) => g.groupID), ['g1']);
      });

      test('members pages with offset and limit cover every member once', async () => {
        const ids = ['u1', 'u2', 'u3', 'u4', 'u5'];
        await users('owner', ...ids);
        await storage.groups.create(APP, groupDraft('g1', 'owner'), ids, T0);
        const seen: string[] = [];
        for (let offset = 0; offset < 10; offset += 2) {
          const page = await storage.groups.members(APP, 'g1', offset, 2);
          assert.ok(page.length <= 2);
          seen.push(...page.map((m) => m.userID));
          if (page.length < 2) break;
        }
        assert.deepEqual(sorted(seen), sorted(['owner', ...ids]));
      });

      test('addMembers skips current members; a new member sees only what comes after the join', async () => {
        await users('owner', 'm1', 'late', 'later');
        await storage.groups.create(APP, groupDraft('g1', 'owner'), ['m1'], T0);
        await storage.messages.appendBatch([
          groupMessage('g1', 'owner', ['owner', 'm1'], 'k1', 'one'),
          groupMessage('g1', 'm1', ['owner', 'm1'], 'k2', 'two'),
        ]);
        const ownerRow = await row('owner', groupKey('g1'));
        const ownerVersion = await storage.accounts.syncVersion(APP, 'owner');

        const change = await storage.groups.addMembers(APP, 'g1', ['m1', 'late', 'owner', 'late'], T0 + 10);
        assert.deepEqual(change.added, ['late']);
        assert.deepEqual(change.updates.map((u) => u.userID), ['late'], 'only the new member\'s state changes');
        assertWellFormedChange(change.updates[0]!);
        const lateRow = change.updates[0]!.rows[0]!;
        assert.equal(lateRow.conversationID, 'group_g1');
        assert.equal(lateRow.visibleFromSeq, 3, 'visible from the first message after the join');
        assert.ok(lateRow.lastSeq < lateRow.visibleFromSeq);
        assert.equal(lateRow.unreadCount, 0);
        assert.deepEqual(await row('owner', groupKey('g1')), ownerRow, 'existing members\' rows are untouched');
        assert.equal(await storage.accounts.syncVersion(APP, 'owner'), ownerVersion);
        assert.equal((await storage.groups.member(APP, 'g1', 'late'))?.role, GroupMemberRole.MEMBER);
        assert.equal((await storage.groups.member(APP, 'g1', 'late'))?.joinedAt, T0 + 10);
        assert.equal((await storage.groups.get(APP, 'g1'))?.memberCount, 3);

        const none = await storage.groups.addMembers(APP, 'g1', ['late', 'm1'], T0 + 11);
        assert.deepEqual(none.added, []);
        assert.deepEqual(none.updates, []);

        const { results } = await storage.messages.appendBatch([groupMessage('g1', 'owner', ['owner', 'm1', 'late'], 'k3', 'three')]);
        assert.equal(results[0]?.message.seq, 3);
        const after = await row('late', groupKey('g1'));
        assert.equal(after.lastSeq, 3);
        assert.equal(after.unreadCount, 1);
        assert.equal(after.visibleFromSeq, 3);

        // A group with more history: the next joiner starts after seq 3.
        const second = await storage.groups.addMembers(APP, 'g1', ['later'], T0 + 12);
        assert.equal(second.updates[0]?.rows[0]?.visibleFromSeq, 4);
      });

      test('removeMember ends the membership and keeps the conversation row', async () => {
        await users('owner', 'm1', 'm2');
        await storage.groups.create(APP, groupDraft('g1', 'owner'), ['m1', 'm2'], T0);
        await storage.messages.appendBatch([groupMessage('g1', 'owner', ['owner', 'm1', 'm2'], 'k1', 'hello')]);
        const before = await row('m1', groupKey('g1'));
        const version = await storage.accounts.syncVersion(APP, 'm1');

        assert.equal(await storage.groups.removeMember(APP, 'g1', 'm1', T0 + 5), true);
        assert.equal(await storage.groups.removeMember(APP, 'g1', 'm1', T0 + 6), false, 'not a member any more');
        assert.equal(await storage.groups.removeMember(APP, 'g1', 'stranger', T0 + 6), false);

        assert.equal(await storage.groups.member(APP, 'g1', 'm1'), undefined);
        assert.deepEqual(sorted((await storage.groups.members(APP, 'g1', 0, 100)).map((m) => m.userID)), ['m2', 'owner']);
        assert.equal((await storage.groups.get(APP, 'g1'))?.memberCount, 2);
        assert.deepEqual(await storage.groups.joinedGroups(APP, 'm1', 100), []);
        assert.deepEqual(await row('m1', groupKey('g1')), before, 'the row stays as it was');
        assert.equal(await storage.accounts.syncVersion(APP, 'm1'), version);
        assert.equal((await storage.messages.range(APP, groupKey('g1'), 1, 10, 10, 'asc')).length, 1);
      });

      test('dismiss ends every membership and returns the members', async () => {
        await users('owner', 'm1', 'm2', 'gone');
        await storage.groups.create(APP, groupDraft('g1', 'owner'), ['m1', 'm2', 'gone'], T0);
        await storage.groups.removeMember(APP, 'g1', 'gone', T0 + 1);
        const rowsBefore = await Promise.all(['owner', 'm1', 'm2', 'gone'].map((u) => row(u, groupKey('g1'))));

        const members = await storage.groups.dismiss(APP, 'g1', T0 + 2);
        assert.deepEqual(sorted(members), ['m1', 'm2', 'owner'], 'the members at the time of the dismissal');

        const group = await storage.groups.get(APP, 'g1');
        assert.equal(group?.dismissedAt, T0 + 2);
        assert.equal(group?.memberCount, 0);
        assert.deepEqual(await storage.groups.members(APP, 'g1', 0, 100), []);
        for (const id of ['owner', 'm1', 'm2']) {
          assert.equal(await storage.groups.member(APP, 'g1', id), undefined);
          assert.deepEqual(await storage.groups.joinedGroups(APP, id, 100), []);
        }
        const rowsAfter = await Promise.all(['owner', 'm1', 'm2', 'gone'].map((u) => row(u, groupKey('g1'))));
        assert.deepEqual(rowsAfter, rowsBefore, 'conversation rows stay');
      });

      test('joinedGroups lists current memberships', async () => {
        await users('a', 'b', 'c');
        await storage.groups.create(APP, groupDraft('g1', 'a', T0), ['b'], T0);
        await storage.groups.create(APP, groupDraft('g2', 'b', T0 + 1), ['a', 'c'], T0 + 1);
        await storage.groups.create(APP, groupDraft('g3', 'c', T0 + 2), [], T0 + 2);

        assert.deepEqual(sorted((await storage.groups.joinedGroups(APP, 'a', 100)).map((g) => g.groupID)), ['g1', 'g2']);
        assert.deepEqual(sorted((await storage.groups.joinedGroups(APP, 'b', 100)).map((g) => g.groupID)), ['g1', 'g2']);
        assert.deepEqual(sorted((await storage.groups.joinedGroups(APP, 'c', 100)).map((g) => g.groupID)), ['g2', 'g3']);
        const g2 = (await storage.groups.joinedGroups(APP, 'a', 100)).find((g) => g.groupID === 'g2');
        assert.equal(g2?.memberCount, 3);
        assert.equal(g2?.owner, 'b');

        await storage.groups.removeMember(APP, 'g2', 'a', T0 + 3);
        assert.deepEqual((await storage.groups.joinedGroups(APP, 'a', 100)).map((g) => g.groupID), ['g1']);
        await storage.groups.dismiss(APP, 'g1', T0 + 4);
        assert.deepEqual(await storage.groups.joinedGroups(APP, 'a', 100), []);
        assert.deepEqual((await storage.groups.joinedGroups(APP, 'b', 100)).map((g) => g.groupID), ['g2']);
      });
    });

    // ------------------------------------------------------------- messages
    describe('messages', () => {
      test('appendBatch assigns gap-free seqs per conversation, in request order', async () => {
        await users('alice', 'bob', 'carol', 'owner');
        await storage.groups.create(APP, groupDraft('g1', 'owner'), ['alice'], T0);
        const { results } = await storage.messages.appendBatch([
          c2cMessage('alice', 'bob', 'a1', 'one', T0 + 1),
          c2cMessage('bob', 'alice', 'b1', 'two', T0 + 2),
          c2cMessage('carol', 'alice', 'c1', 'to alice', T0 + 3),
          groupMessage('g1', 'owner', ['owner', 'alice'], 'o1', 'group one', T0 + 4),
          c2cMessage('alice', 'bob', 'a2', 'three', T0 + 5),
          groupMessage('g1', 'alice', ['owner', 'alice'], 'a1', 'group two', T0 + 6),
        ]);
        assert.deepEqual(results.map((r) => [r.message.convKey, r.message.seq, r.duplicate]), [
          ['c2c:alice|bob', 1, false],
          ['c2c:alice|bob', 2, false],
          ['c2c:alice|carol', 1, false],
          ['group:g1', 1, false],
          ['c2c:alice|bob', 3, false],
          ['group:g1', 2, false],
        ]);
        assert.deepEqual(results[1]?.message, {
          convKey: 'c2c:alice|bob', seq: 2, sender: 'bob', clientMsgID: 'b1', createdAt: T0 + 2, elem: { type: 'text', text: 'two' },
        });

        const next = await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b2', 'four', T0 + 7)]);
        assert.equal(next.results[0]?.message.seq, 4, 'the sequence continues across batches');

        const stored = await storage.messages.range(APP, 'c2c:alice|bob', 1, 100, 100, 'asc');
        assert.deepEqual(stored.map((m) => [m.seq, m.sender, m.clientMsgID, m.elem]), [
          [1, 'alice', 'a1', { type: 'text', text: 'one' }],
          [2, 'bob', 'b1', { type: 'text', text: 'two' }],
          [3, 'alice', 'a2', { type: 'text', text: 'three' }],
          [4, 'bob', 'b2', { type: 'text', text: 'four' }],
        ]);
        const custom = await storage.messages.appendBatch([{
          ...c2cMessage('alice', 'carol', 'x1', 'unused', T0 + 8),
          elem: { type: 'custom', data: '{"k":1}', description: 'd', extension: 'e' },
        }]);
        assert.deepEqual((await storage.messages.get(APP, 'c2c:alice|carol', custom.results[0]!.message.seq))?.elem,
          { type: 'custom', data: '{"k":1}', description: 'd', extension: 'e' }, 'custom elements round-trip');
      });

      test('a duplicate clientMsgID in one batch returns the first message and consumes no seq', async () => {
        await users('alice', 'bob');
        const { results, changes } = await storage.messages.appendBatch([
          c2cMessage('alice', 'bob', 'k1', 'first', T0 + 1),
          c2cMessage('alice', 'bob', 'k1', 'retry with other text', T0 + 2),
          c2cMessage('alice', 'bob', 'k2', 'second', T0 + 3),
        ]);
        assert.equal(results[0]?.duplicate, false);
        assert.equal(results[1]?.duplicate, true);
        assert.deepEqual(results[1]?.message, results[0]?.message, 'the duplicate gets the stored first message');
        assert.equal(results[2]?.message.seq, 2, 'no seq consumed by the duplicate');
        assert.equal(changeOf(changes, 'bob').rows[0]?.unreadCount, 2, 'the duplicate counts once');
        assert.equal((await storage.messages.range(APP, c2cKey('alice', 'bob'), 1, 100, 100, 'asc')).length, 2);
      });

      test('clientMsgIDs with backslashes, quotes and non-ASCII are ordinary keys', async () => {
        await users('alice', 'bob');
        const odd = ['a\\b', '\\x00ff', "it's", 'ключ-ü-😀', '\\'];
        const first = await storage.messages.appendBatch(odd.map((id, i) => c2cMessage('alice', 'bob', id, `m${i}`, T0 + i)));
        assert.deepEqual(first.results.map((r) => r.duplicate), odd.map(() => false));
        const again = await storage.messages.appendBatch(odd.map((id, i) => c2cMessage('alice', 'bob', id, `again ${i}`, T0 + 10 + i)));
        assert.deepEqual(again.results.map((r) => [r.duplicate, r.message.clientMsgID, r.message.seq]),
          first.results.map((r) => [true, r.message.clientMsgID, r.message.seq]), 'a resend of each finds its message');
      });

      test('a duplicate across batches returns the stored message, consumes no seq and changes nothing', async () => {
        await users('alice', 'bob');
        const first = await storage.messages.appendBatch([
          c2cMessage('alice', 'bob', 'k1', 'one', T0 + 1),
          c2cMessage('alice', 'bob', 'k2', 'two', T0 + 2),
        ]);
        const aliceVersion = await storage.accounts.syncVersion(APP, 'alice');
        const bobRow = await row('bob', c2cKey('alice', 'bob'));

        const onlyDup = await storage.messages.appendBatch([c2cMessage('alice', 'bob', 'k2', 'changed text', T0 + 50)]);
        assert.equal(onlyDup.results[0]?.duplicate, true);
        assert.deepEqual(onlyDup.results[0]?.message, first.results[1]?.message);
        assert.deepEqual(onlyDup.changes, [], 'a batch of duplicates changes no user state');
        assert.equal(await storage.accounts.syncVersion(APP, 'alice'), aliceVersion);
        assert.deepEqual(await row('bob', c2cKey('alice', 'bob')), bobRow);

        const mixed = await storage.messages.appendBatch([
          c2cMessage('alice', 'bob', 'k1', 'again', T0 + 60),
          c2cMessage('alice', 'bob', 'k3', 'three', T0 + 61),
        ]);
        assert.equal(mixed.results[0]?.duplicate, true);
        assert.deepEqual(mixed.results[0]?.message, first.results[0]?.message);
        assert.equal(mixed.results[1]?.duplicate, false);
        assert.equal(mixed.results[1]?.message.seq, 3);
        assert.equal(changeOf(mixed.changes, 'bob').rows[0]?.unreadCount, 3);
      });

      test('the idempotency key is (conversation, sender, clientMsgID)', async () => {
        await users('alice', 'bob', 'carol');
        const { results } = await storage.messages.appendBatch([
          c2cMessage('alice', 'bob', 'same', 'alice to bob'),
          c2cMessage('bob', 'alice', 'same', 'bob to alice: other sender'),
          c2cMessage('alice', 'carol', 'same', 'alice to carol: other conversation'),
        ]);
        assert.deepEqual(results.map((r) => [r.message.convKey, r.message.seq, r.duplicate]), [
          ['c2c:alice|bob', 1, false], ['c2c:alice|bob', 2, false], ['c2c:alice|carol', 1, false],
        ]);
        const later = await storage.messages.appendBatch([
          c2cMessage('bob', 'alice', 'same', 'retry'),
          c2cMessage('carol', 'alice', 'same', 'carol, new'),
        ]);
        assert.deepEqual(later.results.map((r) => [r.message.convKey, r.message.seq, r.duplicate, r.message.sender]), [
          ['c2c:alice|bob', 2, true, 'bob'], ['c2c:alice|carol', 2, false, 'carol'],
        ]);
      });

      test('each touched user\'s version steps by exactly one per batch and rows carry it', async () => {
        await users('alice', 'bob', 'carol', 'dave');
        const batch1 = await storage.messages.appendBatch([
          c2cMessage('alice', 'bob', 'a1', '1'),
          c2cMessage('bob', 'alice', 'b1', '2'),
          c2cMessage('carol', 'alice', 'c1', '3'),
          c2cMessage('alice', 'bob', 'a2', '4'),
        ]);
        assert.deepEqual(sorted(batch1.changes.map((c) => c.userID)), ['alice', 'bob', 'carol'], 'one change per touched user');
        for (const change of batch1.changes) {
          assertWellFormedChange(change);
          assert.equal(change.prevVersion, 0);
          assert.equal(change.version, 1);
        }
        const alice = changeOf(batch1.changes, 'alice');
        assert.deepEqual(sorted(alice.rows.map((r) => r.convKey)), ['c2c:alice|bob', 'c2c:alice|carol'], 'each row once');
        assert.equal(alice.rows.find((r) => r.convKey === 'c2c:alice|bob')?.conversationID, 'c2c_bob');
        assert.equal(changeOf(batch1.changes, 'bob').rows[0]?.conversationID, 'c2c_alice');
        assert.equal(await storage.accounts.syncVersion(APP, 'alice'), 1);
        assert.equal(await storage.accounts.syncVersion(APP, 'dave'), 0, 'untouched users keep their version');
        for (const r of alice.rows) assert.deepEqual(await row('alice', r.convKey), r, 'returned rows are what is stored');

        const batch2 = await storage.messages.appendBatch([c2cMessage('dave', 'bob', 'd1', '5')]);
        assert.deepEqual(sorted(batch2.changes.map((c) => c.userID)), ['bob', 'dave']);
        assert.deepEqual([changeOf(batch2.changes, 'bob').prevVersion, changeOf(batch2.changes, 'bob').version], [1, 2]);
        assert.deepEqual([changeOf(batch2.changes, 'dave').prevVersion, changeOf(batch2.changes, 'dave').version], [0, 1]);
        assert.equal(await storage.accounts.syncVersion(APP, 'alice'), 1);
        assert.equal((await row('bob', 'c2c:alice|bob')).version, 1, 'a row not in the batch keeps its version');
        assert.equal((await row('bob', 'c2c:bob|dave')).version, 2);
      });

      test('unread counts grow for recipients, not for the sender; rows track the last seq', async () => {
        await users('alice', 'bob', 'owner', 'm1');
        await storage.messages.appendBatch([
          c2cMessage('alice', 'bob', 'a1', '1'), c2cMessage('alice', 'bob', 'a2', '2'), c2cMessage('alice', 'bob', 'a3', '3'),
        ]);
        const aliceRow = await row('alice', 'c2c:alice|bob');
        const bobRow = await row('bob', 'c2c:alice|bob');
        assert.equal(aliceRow.unreadCount, 0);
        assert.equal(aliceRow.lastSeq, 3);
        assert.equal(aliceRow.readSeq, 3, 'the sender has read what it sent');
        assert.equal(bobRow.unreadCount, 3);
        assert.equal(bobRow.lastSeq, 3);
        assert.equal(bobRow.readSeq, 0);
        assert.equal(bobRow.deleted, false);
        assert.equal(bobRow.conversationID, 'c2c_alice');

        await storage.groups.create(APP, groupDraft('g1', 'owner'), ['m1', 'bob'], T0);
        await storage.messages.appendBatch([
          groupMessage('g1', 'owner', ['owner', 'm1', 'bob'], 'o1', 'x'),
          groupMessage('g1', 'm1', ['owner', 'm1', 'bob'], 'm1', 'y'),
        ]);
        assert.equal((await row('owner', 'group:g1')).unreadCount, 1);
        assert.equal((await row('m1', 'group:g1')).unreadCount, 0, 'sending a message reads everything before it');
        assert.equal((await row('bob', 'group:g1')).unreadCount, 2);
        assert.equal((await row('bob', 'group:g1')).lastSeq, 2);
      });

      test('unreadCount stays equal to the messages from others above readSeq when the user replies', async () => {
        // docs/protocol.md: "unreadCount counts messages from others above readSeq".
        await users('alice', 'bob');
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b1', '1'), c2cMessage('bob', 'alice', 'b2', '2')]);
        assert.equal((await row('alice', 'c2c:alice|bob')).unreadCount, 2);
        await storage.messages.appendBatch([c2cMessage('alice', 'bob', 'a1', 'reply'), c2cMessage('bob', 'alice', 'b3', 'after')]);
        const r = await row('alice', 'c2c:alice|bob');
        const all = await storage.messages.range(APP, 'c2c:alice|bob', 1, 100, 100, 'asc');
        const expected = all.filter((m) => m.sender !== 'alice' && m.seq > r.readSeq).length;
        assert.equal(r.unreadCount, expected,
          `readSeq ${r.readSeq} leaves ${expected} unread message(s) from others, but unreadCount is ${r.unreadCount}`);
      });

      test('range reads ascending or descending within bounds and limit; get reads one', async () => {
        await users('alice', 'bob');
        await storage.messages.appendBatch(
          Array.from({ length: 10 }, (_, i) => c2cMessage(i % 2 ? 'bob' : 'alice', i % 2 ? 'alice' : 'bob', `k${i + 1}`, `m${i + 1}`, T0 + i)));
        const key = c2cKey('alice', 'bob');
        const seqs = async (from: number, to: number, limit: number, order: 'asc' | 'desc') =>
          (await storage.messages.range(APP, key, from, to, limit, order)).map((m) => m.seq);

        assert.deepEqual(await seqs(1, 10, 100, 'asc'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.deepEqual(await seqs(1, 10, 100, 'desc'), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
        assert.deepEqual(await seqs(3, 7, 100, 'asc'), [3, 4, 5, 6, 7], 'both bounds are inclusive');
        assert.deepEqual(await seqs(3, 7, 2, 'asc'), [3, 4], 'asc takes the lowest');
        assert.deepEqual(await seqs(3, 7, 2, 'desc'), [7, 6], 'desc takes the highest');
        assert.deepEqual(await seqs(8, 50, 100, 'asc'), [8, 9, 10]);
        assert.deepEqual(await seqs(5, 5, 10, 'asc'), [5]);
        assert.deepEqual(await seqs(6, 5, 10, 'asc'), [], 'an empty interval');
        assert.deepEqual(await seqs(11, 20, 10, 'desc'), []);
        assert.deepEqual(await storage.messages.range(APP, 'c2c:x|y', 1, 10, 10, 'asc'), []);

        const five = await storage.messages.get(APP, key, 5);
        assert.deepEqual(five, { convKey: key, seq: 5, sender: 'alice', clientMsgID: 'k5', createdAt: T0 + 4, elem: { type: 'text', text: 'm5' } });
        assert.equal(await storage.messages.get(APP, key, 11), undefined);
        assert.equal(await storage.messages.get(APP, 'c2c:x|y', 1), undefined);
        const ranged = await storage.messages.range(APP, key, 5, 5, 1, 'asc');
        assert.deepEqual(ranged[0], five);
      });
    });

    // -------------------------------------------------------- conversations
    describe('conversations', () => {
      // Paging (changedSince, listLive) is covered by storage-conformance-paging.ts.

      test('patch markRead clears unread and steps the version once', async () => {
        await users('alice', 'bob');
        await storage.messages.appendBatch([c2cMessage('alice', 'bob', 'a1', '1'), c2cMessage('alice', 'bob', 'a2', '2')]);
        const before = await storage.accounts.syncVersion(APP, 'bob');
        const { change, missing } = await storage.conversations.patch(APP, 'bob',
          [{ convKey: c2cKey('alice', 'bob'), conversationID: 'c2c_alice', create: false }], { kind: 'markRead' });
        assert.deepEqual(missing, []);
        assert.ok(change);
        assertWellFormedChange(change);
        assert.equal(change.userID, 'bob');
        assert.deepEqual([change.prevVersion, change.version], [before, before + 1]);
        const r = change.rows[0]!;
        assert.equal(r.unreadCount, 0);
        assert.equal(r.readSeq, 2);
        assert.equal(r.lastSeq, 2);
        assert.deepEqual(await row('bob', c2cKey('alice', 'bob')), r);
        assert.equal(await storage.accounts.syncVersion(APP, 'bob'), before + 1);
        assert.equal(await storage.accounts.syncVersion(APP, 'alice'), 1, 'the peer is untouched');

        await storage.messages.appendBatch([c2cMessage('alice', 'bob', 'a3', '3')]);
        assert.equal((await row('bob', c2cKey('alice', 'bob'))).unreadCount, 1, 'unread counts from the read mark');
      });

      test('patch pin and draft activate the conversation; unpin and customData keep the other fields', async () => {
        await users('alice', 'bob', 'carol');
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b1', 'older')]);
        await storage.messages.appendBatch([c2cMessage('carol', 'alice', 'c1', 'newer')]);
        const bobKey = c2cKey('alice', 'bob');
        const carolKey = c2cKey('alice', 'carol');
        assert.ok((await row('alice', carolKey)).orderKey > (await row('alice', bobKey)).orderKey, 'a message activates');

        const target = [{ convKey: bobKey, conversationID: 'c2c_bob', create: false }];
        const pinned = await storage.conversations.patch(APP, 'alice', target, { kind: 'pin', isPinned: true });
        assert.ok(pinned.change);
        assertWellFormedChange(pinned.change);
        const pinnedRow = await row('alice', bobKey);
        assert.equal(pinnedRow.isPinned, true);
        assert.ok(pinnedRow.orderKey > (await row('alice', carolKey)).orderKey, 'pinning rises the order key above the rest');
        assert.equal(pinnedRow.unreadCount, 1, 'pin leaves the unread count');

        const drafted = await storage.conversations.patch(APP, 'alice', [{ convKey: carolKey, conversationID: 'c2c_carol', create: false }],
          { kind: 'draft', draftText: 'half a thought', now: T0 + 42 });
        assert.ok(drafted.change);
        assert.equal(drafted.change.prevVersion, pinned.change.version);
        const draftRow = await row('alice', carolKey);
        assert.equal(draftRow.draftText, 'half a thought');
        assert.equal(draftRow.draftTimestamp, T0 + 42);
        assert.ok(draftRow.orderKey > pinnedRow.orderKey, 'a draft activates');

        const cleared = await storage.conversations.patch(APP, 'alice', [{ convKey: carolKey, conversationID: 'c2c_carol', create: false }],
          { kind: 'draft', draftText: '', now: T0 + 43 });
        assert.ok(cleared.change);
        assert.equal((await row('alice', carolKey)).draftText, '');

        const unpinned = await storage.conversations.patch(APP, 'alice', target, { kind: 'pin', isPinned: false });
        assert.ok(unpinned.change);
        const unpinnedRow = await row('alice', bobKey);
        assert.equal(unpinnedRow.isPinned, false);
        assert.equal(unpinnedRow.lastSeq, 1);
        assert.equal(unpinnedRow.unreadCount, 1);

        const custom = await storage.conversations.patch(APP, 'alice', target, { kind: 'customData', customData: '{"x":1}' });
        assert.ok(custom.change);
        const customRow = await row('alice', bobKey);
        assert.equal(customRow.customData, '{"x":1}');
        assert.deepEqual({ ...customRow, customData: '', version: 0 }, { ...unpinnedRow, customData: '', version: 0 },
          'customData changes nothing else');
        assert.equal(await storage.accounts.syncVersion(APP, 'alice'), custom.change.version);
        assert.equal(custom.change.version, 2 + 5, 'two message batches, then five patches: one step each');
      });

      test('patch mark adds and removes one mark, keeps the set sorted, and a deletion clears the marks', async () => {
        await users('alice', 'bob');
        const key = c2cKey('alice', 'bob');
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b1', 'hi')]);
        const target = [{ ...c2cTarget('alice', 'bob'), create: false }];
        await storage.conversations.patch(APP, 'alice', target, { kind: 'mark', markType: 8, enable: true });
        await storage.conversations.patch(APP, 'alice', target, { kind: 'mark', markType: 1, enable: true });
        await storage.conversations.patch(APP, 'alice', target, { kind: 'mark', markType: 2 ** 40, enable: true });
        assert.deepEqual((await row('alice', key)).marks, [1, 8, 2 ** 40]);
        const before = await row('alice', key);
        await storage.conversations.patch(APP, 'alice', target, { kind: 'mark', markType: 8, enable: false });
        const after = await row('alice', key);
        assert.deepEqual(after.marks, [1, 2 ** 40]);
        assert.equal(after.orderKey, before.orderKey, 'marking does not reorder the list');
        assert.deepEqual((await row('bob', key)).marks, [], 'marks are per user');
        await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 1 });
        assert.deepEqual((await row('alice', key)).marks, []);
      });

      test('patch of several rows is one version step; rows without a live row are reported missing', async () => {
        await users('alice', 'bob', 'carol', 'dave');
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b1', 'x'), c2cMessage('carol', 'alice', 'c1', 'y')]);
        const before = await storage.accounts.syncVersion(APP, 'alice');
        const { change, missing } = await storage.conversations.patch(APP, 'alice', [
          { convKey: c2cKey('alice', 'bob'), conversationID: 'c2c_bob', create: false },
          { convKey: c2cKey('alice', 'dave'), conversationID: 'c2c_dave', create: false },
          { convKey: c2cKey('alice', 'carol'), conversationID: 'c2c_carol', create: false },
        ], { kind: 'customData', customData: 'c' });
        assert.deepEqual(missing, ['c2c_dave']);
        assert.ok(change);
        assertWellFormedChange(change);
        assert.deepEqual([change.prevVersion, change.version], [before, before + 1], 'one step for the whole call');
        assert.deepEqual(sorted(change.rows.map((r) => r.conversationID)), ['c2c_bob', 'c2c_carol']);
        assert.equal(await storage.conversations.get(APP, 'alice', c2cKey('alice', 'dave')), undefined, 'no row created');

        const none = await storage.conversations.patch(APP, 'alice',
          [{ convKey: c2cKey('alice', 'dave'), conversationID: 'c2c_dave', create: false }], { kind: 'markRead' });
        assert.deepEqual(none, { change: null, missing: ['c2c_dave'] });
        assert.equal(await storage.accounts.syncVersion(APP, 'alice'), before + 1, 'nothing changed, no version step');
      });

      test('patch with create=true starts a row', async () => {
        await users('alice', 'bob');
        const key = c2cKey('alice', 'bob');
        const { change, missing } = await storage.conversations.patch(APP, 'alice',
          [{ convKey: key, conversationID: 'c2c_bob', create: true }], { kind: 'pin', isPinned: true });
        assert.deepEqual(missing, []);
        assert.ok(change);
        assertWellFormedChange(change);
        const created = await row('alice', key);
        assert.equal(created.conversationID, 'c2c_bob');
        assert.equal(created.isPinned, true);
        assert.equal(created.deleted, false);
        assert.equal(created.unreadCount, 0);
        assert.equal(created.version, change.version);
        assert.equal(await storage.conversations.get(APP, 'bob', key), undefined, 'only the caller gets a row');

        // The first message lands in the existing row.
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b1', 'hi')]);
        const after = await row('alice', key);
        assert.equal(after.isPinned, true);
        assert.equal(after.lastSeq, 1);
        assert.equal(after.unreadCount, 1);
      });
    });

    // ------------------------------------------------------------ deletions
    describe('deletions', () => {
      const AUDIT_FIELDS = ['conversationID', 'createdAt', 'deviceID', 'erasedAt', 'id', 'mode', 'purgedAt', 'undoUntil', 'undoneAt', 'userID', 'version', 'watermarkSeq'];
      const LATER = T0 + 10_000_000;

      /** Runs the purge worker's loop until the queue is empty. */
      async function drain(maxRows = 1000, now = T0 + 1000): Promise<{ erased: number; steps: number }> {
        let erased = 0;
        let steps = 0;
        for (let round = 0; round < 100; round++) {
          const queue = await storage.deletions.purgeQueue(100, now);
          if (queue.length === 0) return { erased, steps };
          for (const { app, convKey } of queue) {
            for (let guard = 0; guard < 10_000; guard++) {
              const step = await storage.deletions.purgeStep(app, convKey, maxRows, now);
              steps++;
              erased += step.erased;
              if (step.done) break;
            }
          }
        }
        throw new Error('the purge queue never emptied');
      }

      async function seqs(convKey: string, from = 1, to = 1000): Promise<number[]> {
        return (await storage.messages.range(APP, convKey, from, to, 1000, 'asc')).map((m) => m.seq);
      }

      test('delete: watermark past the end, tombstone, zero unread, pin/draft/customData reset; one step and one audit entry each', async () => {
        await users('alice', 'bob', 'carol', 'dave');
        await storage.messages.appendBatch([
          c2cMessage('bob', 'alice', 'b1', 'one'), c2cMessage('bob', 'alice', 'b2', 'two'), c2cMessage('bob', 'alice', 'b3', 'three'),
          c2cMessage('carol', 'alice', 'c1', 'secret words'),
        ]);
        await storage.conversations.patch(APP, 'alice', [{ ...c2cTarget('alice', 'bob'), create: false }], { kind: 'pin', isPinned: true });
        await storage.conversations.patch(APP, 'alice', [{ ...c2cTarget('alice', 'carol'), create: false }],
          { kind: 'draft', draftText: 'unsent', now: T0 + 5 });
        await storage.conversations.patch(APP, 'alice', ['bob', 'carol'].map((p) => ({ ...c2cTarget('alice', p), create: false })),
          { kind: 'customData', customData: 'tag' });
        const before = await storage.accounts.syncVersion(APP, 'alice');
        const bobRow = await row('bob', c2cKey('alice', 'bob'));
        const bobVersion = await storage.accounts.syncVersion(APP, 'bob');

        const { change } = await storage.deletions.remove(APP, 'alice',
          [c2cTarget('alice', 'bob'), c2cTarget('alice', 'carol'), c2cTarget('alice', 'dave')],
          { mode: 'delete', deviceID: 'phone-1', now: T0 + 100 });
        assert.ok(change);
        assertWellFormedChange(change);
        assert.equal(change.userID, 'alice');
        assert.deepEqual([change.prevVersion, change.version], [before, before + 1], 'one version step for the whole batch');
        assert.equal(await storage.accounts.syncVersion(APP, 'alice'), before + 1);
        assert.deepEqual(sorted(change.rows.map((r) => r.conversationID)), ['c2c_bob', 'c2c_carol'], 'the unknown target changes nothing');
        for (const r of change.rows) {
          const last = r.conversationID === 'c2c_bob' ? 3 : 1;
          assert.equal(r.deleted, true, 'a tombstone');
          assert.equal(r.lastSeq, last);
          assert.equal(r.visibleFromSeq, last + 1, 'the watermark moves past the last message');
          assert.equal(r.unreadCount, 0);
          assert.equal(r.readSeq, last);
          assert.equal(r.isPinned, false);
          assert.equal(r.draftText, '');
          assert.equal(r.draftTimestamp, 0);
          assert.equal(r.customData, '');
          assert.deepEqual(await row('alice', r.convKey), r, 'the returned row is the stored row');
        }
        assert.equal(await storage.conversations.get(APP, 'alice', c2cKey('alice', 'dave')), undefined, 'no row for the unknown target');
        const changed = await storage.conversations.changedSince(APP, 'alice', before, 100);
        assert.deepEqual(sorted(changed.map((r) => r.conversationID)), ['c2c_bob', 'c2c_carol'], 'tombstones sync like any row');

        // Only the caller is affected: the peer keeps its row, its version and the history.
        assert.deepEqual(await row('bob', c2cKey('alice', 'bob')), bobRow);
        assert.equal(await storage.accounts.syncVersion(APP, 'bob'), bobVersion);
        assert.deepEqual(await seqs(c2cKey('alice', 'bob')), [1, 2, 3]);

        const audit = await storage.deletions.list(APP, { userID: 'alice', limit: 10 });
        assert.deepEqual(audit.map((e) => e.conversationID), ['c2c_carol', 'c2c_bob'], 'one entry per changed conversation, newest first');
        assert.ok(audit[0]!.id > audit[1]!.id);
        for (const entry of audit) {
          assert.deepEqual(Object.keys(entry).sort(), AUDIT_FIELDS, 'the audit entry has no other fields');
          assert.deepEqual({ ...entry, id: 0 }, {
            id: 0, userID: 'alice', conversationID: entry.conversationID, deviceID: 'phone-1', mode: 'delete',
            watermarkSeq: entry.conversationID === 'c2c_bob' ? 4 : 2, createdAt: T0 + 100, purgedAt: null,
            version: change.version, undoUntil: null, undoneAt: null, erasedAt: null,
          }, 'the entry records the version the deletion committed at');
        }
        assert.ok(!/secret|three|unsent|tag/.test(JSON.stringify(audit)), 'the audit trail is content-free');
        assert.deepEqual(await storage.deletions.list(APP, { limit: 10 }), audit, 'the app-wide list has the same entries');
        assert.deepEqual(await storage.deletions.list(APP, { userID: 'bob', limit: 10 }), []);
        const first = await storage.deletions.list(APP, { limit: 1 });
        assert.deepEqual(first, [audit[0]]);
        assert.deepEqual(await storage.deletions.list(APP, { limit: 1, beforeID: first[0]!.id }), [audit[1]], 'paging with beforeID');
        await storage.apps.create(appRecord(OTHER_APP));
        assert.deepEqual(await storage.deletions.list(OTHER_APP, { limit: 10 }), [], 'the audit trail is per app');
      });

      test('removing is idempotent: again changes nothing, writes no audit entry and takes no version step', async () => {
        await users('alice', 'bob', 'dave');
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b1', 'one'), c2cMessage('alice', 'bob', 'a1', 'two')]);
        const first = await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd1', now: T0 + 1 });
        assert.ok(first.change);
        const version = await storage.accounts.syncVersion(APP, 'alice');
        const tombstone = await row('alice', c2cKey('alice', 'bob'));
        const audit = await storage.deletions.list(APP, { limit: 10 });
        assert.equal(audit.length, 1);

        for (const mode of ['delete', 'deleteKeepHistory', 'clearHistory'] as const) {
          const again = await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode, deviceID: 'd2', now: T0 + 2 });
          assert.deepEqual(again, { change: null }, `${mode} of a deleted conversation changes nothing`);
        }
        assert.equal(await storage.accounts.syncVersion(APP, 'alice'), version);
        assert.deepEqual(await row('alice', c2cKey('alice', 'bob')), tombstone);
        assert.deepEqual(await storage.deletions.list(APP, { limit: 10 }), audit, 'no audit entry for a no-op');

        // Targets the user has no row for are accepted.
        assert.deepEqual(await storage.deletions.remove(APP, 'dave', [c2cTarget('dave', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 3 }),
          { change: null });
        assert.deepEqual(await storage.deletions.remove(APP, 'alice', [], { mode: 'delete', deviceID: 'd', now: T0 + 3 }), { change: null });
        assert.equal(await storage.accounts.syncVersion(APP, 'dave'), 0);
        assert.equal(await storage.conversations.get(APP, 'dave', c2cKey('dave', 'bob')), undefined);
        assert.deepEqual(await storage.deletions.list(APP, { limit: 10 }), audit);
      });

      test('deleteKeepHistory tombstones the row but keeps the watermark; its audit watermark is null', async () => {
        await users('alice', 'bob');
        await storage.messages.appendBatch([1, 2, 3].map((i) => c2cMessage('bob', 'alice', `b${i}`, `m${i}`)));
        await storage.conversations.patch(APP, 'alice', [{ ...c2cTarget('alice', 'bob'), create: false }], { kind: 'pin', isPinned: true });
        const { change } = await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')],
          { mode: 'deleteKeepHistory', deviceID: 'web', now: T0 + 9 });
        assert.ok(change);
        assertWellFormedChange(change);
        const r = await row('alice', c2cKey('alice', 'bob'));
        assert.equal(r.deleted, true);
        assert.equal(r.visibleFromSeq, 1, 'the history stays visible');
        assert.equal(r.unreadCount, 0);
        assert.equal(r.readSeq, 3);
        assert.equal(r.isPinned, false);
        assert.deepEqual(await seqs(c2cKey('alice', 'bob'), r.visibleFromSeq, r.lastSeq), [1, 2, 3], 'history is still pullable');
        const [entry] = await storage.deletions.list(APP, { userID: 'alice', limit: 10 });
        assert.equal(entry?.mode, 'deleteKeepHistory');
        assert.equal(entry?.watermarkSeq, null);
        assert.equal(entry?.deviceID, 'web');
        assert.deepEqual(await storage.deletions.purgeQueue(10, LATER), [], 'nothing to purge');

        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b4', 'm4')]);
        const revived = await row('alice', c2cKey('alice', 'bob'));
        assert.equal(revived.deleted, false);
        assert.equal(revived.visibleFromSeq, 1);
        assert.equal(revived.unreadCount, 1, 'only the new message is unread');
      });

      test('clearHistory keeps the row live, moves the watermark and leaves pin, draft and order alone', async () => {
        await users('alice', 'bob', 'carol');
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b1', '1'), c2cMessage('bob', 'alice', 'b2', '2')]);
        await storage.messages.appendBatch([c2cMessage('carol', 'alice', 'c1', '3')]);
        await storage.conversations.patch(APP, 'alice', [{ ...c2cTarget('alice', 'bob'), create: false }], { kind: 'pin', isPinned: true });
        await storage.conversations.patch(APP, 'alice', [{ ...c2cTarget('alice', 'bob'), create: false }],
          { kind: 'draft', draftText: 'later', now: T0 + 3 });
        const prev = await row('alice', c2cKey('alice', 'bob'));
        const version = await storage.accounts.syncVersion(APP, 'alice');

        const { change } = await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')],
          { mode: 'clearHistory', deviceID: 'd', now: T0 + 10 });
        assert.ok(change);
        assertWellFormedChange(change);
        assert.deepEqual([change.prevVersion, change.version], [version, version + 1]);
        const r = await row('alice', c2cKey('alice', 'bob'));
        assert.deepEqual(r, {
          ...prev, visibleFromSeq: 3, unreadCount: 0, readSeq: 2, version: version + 1,
        }, 'only the watermark, unread and read mark change');
        assert.equal(r.deleted, false);
        assert.equal(r.isPinned, true);
        assert.equal(r.draftText, 'later');
        assert.equal(r.orderKey, prev.orderKey, 'the order is unchanged');
        assert.deepEqual(await seqs(c2cKey('alice', 'bob'), r.visibleFromSeq), [], 'nothing visible');
        const [entry] = await storage.deletions.list(APP, { userID: 'alice', limit: 10 });
        assert.equal(entry?.mode, 'clearHistory');
        assert.equal(entry?.watermarkSeq, 3);

        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b3', 'new')]);
        const after = await row('alice', c2cKey('alice', 'bob'));
        assert.equal(after.lastSeq, 3);
        assert.equal(after.unreadCount, 1);
        assert.equal(after.visibleFromSeq, 3);
      });

      test('a new message revives a tombstone with the old watermark: only later messages visible and unread', async () => {
        await users('alice', 'bob');
        const key = c2cKey('alice', 'bob');
        await storage.messages.appendBatch([1, 2, 3].map((i) => c2cMessage('bob', 'alice', `b${i}`, `m${i}`)));
        await storage.conversations.patch(APP, 'alice', [{ ...c2cTarget('alice', 'bob'), create: false }], { kind: 'pin', isPinned: true });
        await storage.conversations.patch(APP, 'alice', [{ ...c2cTarget('alice', 'bob'), create: false }], { kind: 'customData', customData: 'x' });
        await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 10 });
        const tombstone = await row('alice', key);

        const batch = await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b4', 'm4'), c2cMessage('bob', 'alice', 'b5', 'm5')]);
        const change = changeOf(batch.changes, 'alice');
        assertWellFormedChange(change);
        assert.equal(change.prevVersion, tombstone.version);
        const r = await row('alice', key);
        assert.deepEqual(change.rows, [r]);
        assert.equal(r.deleted, false, 'revived');
        assert.equal(r.conversationID, 'c2c_bob');
        assert.equal(r.visibleFromSeq, 4, 'the watermark travels with the row');
        assert.equal(r.lastSeq, 5);
        assert.equal(r.unreadCount, 2, 'only the new messages are unread');
        assert.equal(r.isPinned, false);
        assert.equal(r.customData, '');
        assert.ok(r.orderKey > tombstone.orderKey, 'a revived conversation is activated');
        assert.deepEqual(await seqs(key, r.visibleFromSeq, r.lastSeq), [4, 5]);

        // The user's own message revives it too, read.
        await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 20 });
        await storage.messages.appendBatch([c2cMessage('alice', 'bob', 'a1', 'me again')]);
        const mine = await row('alice', key);
        assert.deepEqual([mine.deleted, mine.visibleFromSeq, mine.lastSeq, mine.readSeq, mine.unreadCount], [false, 6, 6, 6, 0]);
      });

      test('purge: nothing while the peer can still see; everything below both watermarks once both deleted', async () => {
        await users('alice', 'bob');
        const key = c2cKey('alice', 'bob');
        await storage.messages.appendBatch([1, 2, 3, 4, 5].map((i) =>
          i % 2 ? c2cMessage('bob', 'alice', `b${i}`, `m${i}`) : c2cMessage('alice', 'bob', `a${i}`, `m${i}`)));
        await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 10 });
        assert.deepEqual(await storage.deletions.purgeQueue(10, LATER), [{ app: APP, convKey: key }], 'the deletion is queued');
        assert.equal(await storage.deletions.purgeBacklog(10), 1, 'the backlog counts it');
        assert.equal(await storage.deletions.purgeBacklog(10), 1, 'reading the backlog changes nothing');

        assert.equal((await drain(1000, T0 + 20)).erased, 0, 'bob still sees everything');
        assert.deepEqual(await seqs(key), [1, 2, 3, 4, 5]);
        assert.deepEqual((await storage.deletions.list(APP, { limit: 10 })).map((e) => e.purgedAt), [null]);
        assert.deepEqual(await storage.deletions.purgeQueue(10, LATER), []);
        assert.equal(await storage.deletions.purgeBacklog(10), 0);

        // Two more messages (alice's row revives from seq 6), then bob deletes: watermarks 6 and 8.
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b6', 'm6'), c2cMessage('bob', 'alice', 'b7', 'm7')]);
        await storage.deletions.remove(APP, 'bob', [c2cTarget('bob', 'alice')], { mode: 'delete', deviceID: 'd', now: T0 + 30 });
        assert.deepEqual(await storage.deletions.purgeQueue(10, LATER), [{ app: APP, convKey: key }]);
        assert.equal((await drain(1000, T0 + 40)).erased, 5, 'below the lower watermark (6)');
        assert.deepEqual(await seqs(key), [6, 7], 'what alice can still see stays');
        assert.deepEqual(await seqs(key, 1, 5), [], 'range returns nothing below');
        assert.equal(await storage.messages.get(APP, key, 3), undefined);
        assert.ok(await storage.messages.get(APP, key, 6));
        const audit = await storage.deletions.list(APP, { limit: 10 });
        assert.deepEqual(audit.map((e) => [e.userID, e.watermarkSeq, e.purgedAt]), [['bob', 8, null], ['alice', 6, T0 + 40]],
          'an entry is purged once everything below its watermark is gone');
        assert.deepEqual(await storage.deletions.purgeQueue(10, LATER), [], 'the queue empties');
        assert.equal((await drain()).erased, 0);

        await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 50 });
        assert.equal((await drain(1000, T0 + 60)).erased, 2);
        assert.deepEqual(await seqs(key), []);
        assert.deepEqual((await storage.deletions.list(APP, { limit: 10 })).map((e) => e.purgedAt), [T0 + 60, T0 + 60, T0 + 40]);
        assert.deepEqual((await storage.deletions.list(APP, { limit: 10 })).map((e) => e.erasedAt), [null, null, null],
          'rows deleted is not bytes erased');
        assert.equal(await storage.deletions.awaitingErasure(), true);
        assert.deepEqual(await storage.deletions.compact(T0 + 70), { complete: true, erased: 3 });
        assert.deepEqual((await storage.deletions.list(APP, { limit: 10 })).map((e) => e.erasedAt), [T0 + 70, T0 + 70, T0 + 70]);
        assert.equal(await storage.deletions.awaitingErasure(), false);
        assert.deepEqual(await storage.deletions.compact(T0 + 80), { complete: true, erased: 0 }, 'each deletion is stamped once');

        // The sequence continues after a purge.
        const next = await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b8', 'm8')]);
        assert.equal(next.results[0]?.message.seq, 8);
      });

      test('purgeStep with a small maxRows takes several steps, erases each row once, and the queue empties', async () => {
        await users('alice', 'bob');
        const key = c2cKey('alice', 'bob');
        await storage.messages.appendBatch(Array.from({ length: 10 }, (_, i) => c2cMessage('bob', 'alice', `b${i}`, `m${i}`)));
        await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 1 });
        await storage.deletions.remove(APP, 'bob', [c2cTarget('bob', 'alice')], { mode: 'clearHistory', deviceID: 'd', now: T0 + 2 });
        assert.deepEqual(await storage.deletions.purgeQueue(10, LATER), [{ app: APP, convKey: key }], 'queued once');

        const steps: { erased: number; done: boolean }[] = [];
        for (let guard = 0; guard < 20; guard++) {
          const step = await storage.deletions.purgeStep(APP, key, 3, T0 + 5);
          steps.push(step);
          if (step.done) break;
          assert.ok((await storage.deletions.list(APP, { limit: 10 })).every((e) => e.purgedAt === null), 'pending until all is gone');
        }
        assert.ok(steps.length >= 4, `10 rows at 3 per step take at least 4 steps, took ${steps.length}`);
        assert.ok(steps.every((s) => s.erased <= 3), 'no step erases more than maxRows');
        assert.ok(steps.slice(0, -1).every((s) => !s.done) && steps.at(-1)!.done);
        assert.equal(steps.reduce((n, s) => n + s.erased, 0), 10, 'every row erased exactly once');
        assert.deepEqual(await seqs(key), []);
        assert.deepEqual(await storage.deletions.purgeQueue(10, LATER), []);
        assert.deepEqual(await storage.deletions.purgeStep(APP, key, 3, T0 + 6), { erased: 0, done: true });
        assert.deepEqual((await storage.deletions.list(APP, { limit: 10 })).map((e) => e.purgedAt), [T0 + 5, T0 + 5]);
      });

      test('an undo window defers purging; undo while it is open gives the row back as it was', async () => {
        await users('alice', 'bob');
        const key = c2cKey('alice', 'bob');
        await storage.messages.appendBatch([1, 2, 3].map((i) => c2cMessage('bob', 'alice', `b${i}`, `m${i}`)));
        await storage.conversations.patch(APP, 'alice', [{ ...c2cTarget('alice', 'bob'), create: false }], { kind: 'pin', isPinned: true });
        await storage.conversations.patch(APP, 'alice', [{ ...c2cTarget('alice', 'bob'), create: false }],
          { kind: 'draft', draftText: 'unsent', now: T0 + 5 });
        const prev = await row('alice', key);

        const removed = await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')],
          { mode: 'delete', deviceID: 'phone', now: T0 + 10, undoUntil: T0 + 1000 });
        assert.ok(removed.change);
        const [entry] = await storage.deletions.list(APP, { userID: 'alice', limit: 10 });
        assert.deepEqual([entry?.version, entry?.undoUntil, entry?.undoneAt], [removed.change.version, T0 + 1000, null]);
        await storage.deletions.remove(APP, 'bob', [c2cTarget('bob', 'alice')], { mode: 'delete', deviceID: 'pc', now: T0 + 20 });

        assert.deepEqual(await storage.deletions.purgeQueue(10, T0 + 999), [], 'nothing is purged while a deletion can be undone');
        assert.deepEqual(await storage.deletions.purgeStep(APP, key, 1000, T0 + 999), { erased: 0, done: true },
          'a purge step started from an older listing of the queue holds back too');
        assert.deepEqual(await seqs(key), [1, 2, 3]);
        assert.deepEqual(await storage.deletions.purgeQueue(10, T0 + 1000), [{ app: APP, convKey: key }], 'queued from the window\'s end');

        const undone = await storage.deletions.undo(APP, 'alice', key, T0 + 500);
        assert.ok(undone.change);
        assertWellFormedChange(undone.change);
        assert.equal(undone.change.prevVersion, removed.change.version);
        assert.deepEqual(await row('alice', key), { ...prev, version: undone.change.version },
          'watermark, pin, draft, read state and unread come back');
        assert.deepEqual(undone.change.rows, [await row('alice', key)]);
        const after = (await storage.deletions.list(APP, { userID: 'alice', limit: 10 }))[0];
        assert.equal(after?.undoneAt, T0 + 500);
        assert.deepEqual(await storage.deletions.undo(APP, 'alice', key, T0 + 600), { change: null }, 'nothing left to undo');

        assert.equal((await drain(1000, T0 + 2000)).erased, 0, 'alice sees the history again, so nothing is erased');
        assert.deepEqual(await seqs(key), [1, 2, 3]);
      });

      test('a request ID already used by the user is not applied again, even after new messages', async () => {
        await users('alice', 'bob');
        const key = c2cKey('alice', 'bob');
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b1', 'old')]);
        const first = await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')],
          { mode: 'delete', deviceID: 'phone', now: T0 + 1, requestID: 'r1' });
        assert.ok(first.change);
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b2', 'new')]);
        const revived = await row('alice', key);
        const retry = await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')],
          { mode: 'delete', deviceID: 'phone', now: T0 + 2, requestID: 'r1' });
        assert.equal(retry.change, null);
        assert.deepEqual(await row('alice', key), revived, 'the message that came after stays visible');
        assert.equal((await storage.deletions.list(APP, { userID: 'alice', limit: 10 })).length, 1, 'one audit entry');
        const otherUser = await storage.deletions.remove(APP, 'bob', [c2cTarget('bob', 'alice')],
          { mode: 'delete', deviceID: 'pc', now: T0 + 3, requestID: 'r1' });
        assert.ok(otherUser.change, 'request IDs are per user');
      });

      test('forgetRequests drops request IDs older than the cut-off, so such a retry deletes again', async () => {
        await users('alice', 'bob');
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b1', 'one')]);
        await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 10, requestID: 'old' });
        await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 20, requestID: 'new' });
        assert.equal(await storage.deletions.forgetRequests(T0 + 15), 1);
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b2', 'two')]);
        const again = await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 30, requestID: 'old' });
        assert.ok(again.change, 'a forgotten request ID is a new request');
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b3', 'three')]);
        const kept = await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 40, requestID: 'new' });
        assert.equal(kept.change, null, 'a remembered one is still refused');
      });

      test('rejoining a group drops the undo state of deletions from the earlier membership', async () => {
        await users('owner', 'bob');
        await storage.groups.create(APP, groupDraft('g1', 'owner'), ['bob'], T0);
        await storage.messages.appendBatch([groupMessage('g1', 'owner', ['owner', 'bob'], 'o1', 'before')]);
        await storage.deletions.remove(APP, 'bob', [{ convKey: 'group:g1', conversationID: 'group_g1' }],
          { mode: 'delete', deviceID: 'd', now: T0 + 1, undoUntil: T0 + 100_000 });
        await storage.groups.removeMember(APP, 'g1', 'bob', T0 + 2);
        await storage.messages.appendBatch([groupMessage('g1', 'owner', ['owner'], 'o2', 'while away')]);
        await storage.groups.addMembers(APP, 'g1', ['bob'], T0 + 3);
        assert.deepEqual(await storage.deletions.undo(APP, 'bob', 'group:g1', T0 + 4), { change: null });
        const bobRow = await row('bob', 'group:g1');
        assert.equal(bobRow.visibleFromSeq, 3, 'still starts after the rejoin');
      });

      test('undo: refused once the window closed; after a new message only the history comes back', async () => {
        await users('alice', 'bob', 'carol');
        const bobKey = c2cKey('alice', 'bob');
        const carolKey = c2cKey('alice', 'carol');
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b1', '1'), c2cMessage('carol', 'alice', 'c1', '1'),
          c2cMessage('carol', 'alice', 'c2', '2')]);

        await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 10, undoUntil: T0 + 100 });
        const tombstone = await row('alice', bobKey);
        assert.deepEqual(await storage.deletions.undo(APP, 'alice', bobKey, T0 + 101), { change: null }, 'the window closed');
        await storage.deletions.purgeQueue(10, T0 + 101);
        assert.deepEqual(await storage.deletions.undo(APP, 'alice', bobKey, T0 + 50), { change: null },
          'a closed window stays closed once the queue was read');
        assert.deepEqual(await row('alice', bobKey), tombstone);
        assert.deepEqual(await storage.deletions.undo(APP, 'alice', bobKey, T0 + 60), { change: null });

        await storage.conversations.patch(APP, 'alice', [{ ...c2cTarget('alice', 'carol'), create: false }], { kind: 'pin', isPinned: true });
        await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'carol')], { mode: 'delete', deviceID: 'd', now: T0 + 200, undoUntil: T0 + 900 });
        await storage.messages.appendBatch([c2cMessage('carol', 'alice', 'c3', '3')]);
        const revived = await row('alice', carolKey);
        assert.deepEqual([revived.deleted, revived.visibleFromSeq, revived.unreadCount], [false, 3, 1]);
        const { change } = await storage.deletions.undo(APP, 'alice', carolKey, T0 + 300);
        assert.ok(change);
        const r = await row('alice', carolKey);
        assert.deepEqual(r, { ...revived, visibleFromSeq: 1, version: change.version }, 'only the history comes back');
        assert.equal(r.isPinned, false, 'the revived row keeps its new state');
      });

      test('devices: touch records logins, ack never moves backwards, list in first-seen order', async () => {
        await users('alice', 'bob');
        await storage.devices.touch(APP, 'alice', { deviceID: 'phone', platform: 'ios', capabilities: ['conv.deletion-sync'], protocolVersion: 2 }, T0 + 1);
        await storage.devices.touch(APP, 'alice', { deviceID: 'web', platform: 'web', capabilities: [], protocolVersion: 1 }, T0 + 2);
        await storage.devices.touch(APP, 'alice', { deviceID: 'phone', platform: 'ipad', capabilities: ['a', 'b'], protocolVersion: 3 }, T0 + 3);
        await storage.devices.ack(APP, 'alice', 'phone', 5, T0 + 4);
        await storage.devices.ack(APP, 'alice', 'phone', 3, T0 + 5);
        await storage.devices.ack(APP, 'alice', 'ghost', 9, T0 + 6);
        assert.deepEqual(await storage.devices.list(APP, 'alice'), [
          { deviceID: 'phone', platform: 'ipad', capabilities: ['a', 'b'], protocolVersion: 3, firstSeen: T0 + 1, lastSeen: T0 + 5, ackedVersion: 5 },
          { deviceID: 'web', platform: 'web', capabilities: [], protocolVersion: 1, firstSeen: T0 + 2, lastSeen: T0 + 2, ackedVersion: 0 },
        ]);
        assert.deepEqual(await storage.devices.list(APP, 'bob'), []);
      });

      test('devices: prune keeps the given device and the most recently seen others, forgets the rest', async () => {
        await users('alice', 'bob');
        const touch = (userID: string, deviceID: string, at: number) =>
          storage.devices.touch(APP, userID, { deviceID, platform: 'web', capabilities: [], protocolVersion: 1 }, at);
        await touch('alice', 'd1', T0 + 1);
        await touch('alice', 'd2', T0 + 2);
        await touch('alice', 'd3', T0 + 3);
        await touch('alice', 'd4', T0 + 3);
        await touch('alice', 'd5', T0 + 4);
        await touch('bob', 'b1', T0);
        await storage.devices.ack(APP, 'alice', 'd1', 1, T0 + 5); // an ack counts as being seen
        // d2 is kept although it is the least recent: it is the device logging in.
        assert.deepEqual(await storage.devices.prune(APP, 'alice', 3, 'd2'), ['d3', 'd4']);
        assert.deepEqual((await storage.devices.list(APP, 'alice')).map((d) => d.deviceID), ['d1', 'd2', 'd5']);
        assert.deepEqual(await storage.devices.prune(APP, 'alice', 3, 'd2'), [], 'within the limit nothing is forgotten');
        assert.deepEqual(await storage.devices.prune(APP, 'alice', 1, 'd5'), ['d1', 'd2']);
        assert.deepEqual((await storage.devices.list(APP, 'bob')).map((d) => d.deviceID), ['b1'], 'other users are untouched');
      });

      test('group purge waits for every current and former member', async () => {
        await users('owner', 'm1', 'm2', 'late');
        const key = groupKey('g1');
        const members = ['owner', 'm1', 'm2'];
        await storage.groups.create(APP, groupDraft('g1', 'owner'), ['m1', 'm2'], T0);
        await storage.messages.appendBatch([1, 2, 3, 4].map((i) => groupMessage('g1', i % 2 ? 'owner' : 'm1', members, `k${i}`, `m${i}`)));
        await storage.groups.removeMember(APP, 'g1', 'm2', T0 + 1);
        await storage.groups.addMembers(APP, 'g1', ['late'], T0 + 2);
        for (const id of ['owner', 'm1']) {
          await storage.deletions.remove(APP, id, [groupTarget('g1')], { mode: 'delete', deviceID: 'd', now: T0 + 3 });
        }
        assert.equal((await drain(2, T0 + 4)).erased, 0, 'the former member m2 can still see the history');
        assert.deepEqual(await seqs(key), [1, 2, 3, 4]);

        await storage.deletions.remove(APP, 'm2', [groupTarget('g1')], { mode: 'delete', deviceID: 'd', now: T0 + 5 });
        const { erased, steps } = await drain(2, T0 + 6);
        assert.equal(erased, 4, 'the late joiner never saw them and does not hold them back');
        assert.ok(steps >= 2);
        assert.deepEqual(await seqs(key), []);
        const audit = await storage.deletions.list(APP, { limit: 10 });
        assert.equal(audit.length, 3);
        assert.ok(audit.every((e) => e.purgedAt === T0 + 6 && e.watermarkSeq === 5));
      });

      test('the purge remembers what it erased by key (not content), per conversation and sender, until forgotten', async () => {
        await users('alice', 'bob', 'carol');
        const key = c2cKey('alice', 'bob');
        await storage.messages.appendBatch([c2cMessage('alice', 'bob', 'a1', 'one'), c2cMessage('bob', 'alice', 'b1', 'two'),
          c2cMessage('alice', 'carol', 'a1', 'three')]);
        assert.equal(await storage.deletions.wasPurged(APP, key, 'alice', 'a1'), false, 'stored, not erased');
        await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 1 });
        assert.equal((await drain(1000, T0 + 2)).erased, 0);
        assert.equal(await storage.deletions.wasPurged(APP, key, 'alice', 'a1'), false, 'hidden from one side is not erased');
        await storage.deletions.remove(APP, 'bob', [c2cTarget('bob', 'alice')], { mode: 'delete', deviceID: 'd', now: T0 + 3 });
        assert.equal((await drain(1000, T0 + 100)).erased, 2);

        assert.equal(await storage.deletions.wasPurged(APP, key, 'alice', 'a1'), true);
        assert.equal(await storage.deletions.wasPurged(APP, key, 'bob', 'b1'), true);
        assert.equal(await storage.deletions.wasPurged(APP, key, 'bob', 'a1'), false, 'per sender');
        assert.equal(await storage.deletions.wasPurged(APP, c2cKey('alice', 'carol'), 'alice', 'a1'), false, 'per conversation');
        assert.equal(await storage.deletions.wasPurged(OTHER_APP, key, 'alice', 'a1'), false, 'per app');
        assert.equal(await storage.deletions.wasPurged(APP, key, 'alice', 'a2'), false);

        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b2', 'later', T0 + 200)]);
        await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 201 });
        await storage.deletions.remove(APP, 'bob', [c2cTarget('bob', 'alice')], { mode: 'delete', deviceID: 'd', now: T0 + 202 });
        assert.equal((await drain(1000, T0 + 300)).erased, 1);
        assert.equal(await storage.deletions.forgetPurged(T0 + 101), 2, 'the records older than the cut-off go');
        assert.equal(await storage.deletions.wasPurged(APP, key, 'alice', 'a1'), false);
        assert.equal(await storage.deletions.wasPurged(APP, key, 'bob', 'b2'), true, 'the newer one stays');
        assert.equal(await storage.deletions.forgetPurged(T0 + 101), 0);
      });

      test('lastDeleters names the device of the latest deletion of each conversation that was not undone', async () => {
        await users('alice', 'bob', 'carol', 'dave');
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b1', 'x'), c2cMessage('carol', 'alice', 'c1', 'y')]);
        const ab = c2cTarget('alice', 'bob');
        const ac = c2cTarget('alice', 'carol');
        await storage.deletions.remove(APP, 'alice', [ab, ac], { mode: 'delete', deviceID: 'phone', now: T0 + 1 });
        await storage.messages.appendBatch([c2cMessage('bob', 'alice', 'b2', 'x', T0 + 2)]);
        await storage.deletions.remove(APP, 'alice', [ab], { mode: 'clearHistory', deviceID: 'tablet', now: T0 + 3 });
        await storage.deletions.remove(APP, 'bob', [c2cTarget('bob', 'alice')], { mode: 'delete', deviceID: 'bobs', now: T0 + 4 });
        const got = await storage.deletions.lastDeleters(APP, 'alice', [ab.convKey, ac.convKey, c2cKey('alice', 'dave'), ab.convKey]);
        assert.deepEqual([...got.entries()].sort(), [[ab.convKey, 'tablet'], [ac.convKey, 'phone']], 'latest wins; never deleted is absent');
        assert.deepEqual(await storage.deletions.lastDeleters(APP, 'alice', []), new Map());
        assert.deepEqual(await storage.deletions.lastDeleters(OTHER_APP, 'alice', [ab.convKey]), new Map(), 'per app');

        await storage.messages.appendBatch([c2cMessage('carol', 'alice', 'c2', 'z', T0 + 5)]);
        await storage.deletions.remove(APP, 'alice', [ac], { mode: 'delete', deviceID: 'laptop', now: T0 + 6, undoUntil: T0 + 60_000 });
        assert.equal((await storage.deletions.lastDeleters(APP, 'alice', [ac.convKey])).get(ac.convKey), 'laptop');
        assert.ok((await storage.deletions.undo(APP, 'alice', ac.convKey, T0 + 7)).change);
        assert.equal((await storage.deletions.lastDeleters(APP, 'alice', [ac.convKey])).get(ac.convKey), 'phone', 'an undone deletion does not count');
      });

      test('a purge step under a lease token that is no longer current is refused and erases nothing', async () => {
        await users('alice', 'bob');
        const key = c2cKey('alice', 'bob');
        await storage.messages.appendBatch([1, 2, 3].map((i) => c2cMessage('bob', 'alice', `b${i}`, `m${i}`)));
        await storage.deletions.remove(APP, 'alice', [c2cTarget('alice', 'bob')], { mode: 'delete', deviceID: 'd', now: T0 + 1 });
        await storage.deletions.remove(APP, 'bob', [c2cTarget('bob', 'alice')], { mode: 'delete', deviceID: 'd', now: T0 + 2 });
        const old = await storage.leases.tryAcquire('purge', 'node-a', 1000, T0);
        assert.ok(old !== null);
        const current = await storage.leases.tryAcquire('purge', 'node-b', 1000, T0 + 1000);
        assert.ok(current !== null && current > old, 'node-b took the expired lease with a larger token');

        await assert.rejects(storage.deletions.purgeStep(APP, key, 1000, T0 + 1001, { lease: 'purge', token: old }),
          (err: unknown) => err instanceof StaleLeaseError && err.current === current, 'the paused old holder cannot purge');
        assert.deepEqual(await seqs(key), [1, 2, 3], 'nothing erased');
        assert.equal(await storage.deletions.wasPurged(APP, key, 'bob', 'b1'), false, 'nothing recorded');
        await assert.rejects(storage.deletions.purgeStep(APP, key, 1000, T0 + 1001, { lease: 'never-taken', token: 1 }), StaleLeaseError);

        assert.deepEqual(await storage.deletions.purgeStep(APP, key, 1000, T0 + 1002, { lease: 'purge', token: current }), { erased: 3, done: true });
        assert.deepEqual(await seqs(key), []);
      });
    });

    // ----------------------------------------------------------------- presence
    describe('presence', () => {
      const session = (node: string, sessionID: string, deviceID: string, since = T0) =>
        ({ node, sessionID, deviceID, capabilities: ['conv.deletion-sync'], protocolVersion: 2, since });

      test('lists a user\'s live sessions of every node, oldest first; expired rows do not count', async () => {
        await storage.presence.add(APP, 'alice', session('node-a', 's2', 'tablet', T0 + 2), T0 + 100);
        await storage.presence.add(APP, 'alice', session('node-b', 's1', 'phone', T0 + 1), T0 + 50);
        await storage.presence.add(APP, 'bob', session('node-a', 's3', 'pc'), T0 + 100);
        await storage.presence.add(OTHER_APP, 'alice', session('node-a', 's4', 'pc'), T0 + 100);
        assert.deepEqual(await storage.presence.online(APP, 'alice', T0 + 10),
          [session('node-b', 's1', 'phone', T0 + 1), session('node-a', 's2', 'tablet', T0 + 2)]);
        assert.deepEqual((await storage.presence.online(APP, 'alice', T0 + 50)).map((p) => p.sessionID), ['s2'], 'expired at its expiry time');
        assert.equal(await storage.presence.refresh('node-b', T0 + 200), 1, 'one statement renews every row of the node');
        assert.deepEqual((await storage.presence.online(APP, 'alice', T0 + 150)).map((p) => p.sessionID), ['s1']);
        await storage.presence.remove(APP, 'alice', 's1');
        assert.deepEqual(await storage.presence.online(APP, 'alice', T0 + 10), [session('node-a', 's2', 'tablet', T0 + 2)]);
        await storage.presence.remove(APP, 'alice', 's1');
      });

      test('removeNode drops one node\'s rows; sweep deletes expired rows', async () => {
        await storage.presence.add(APP, 'alice', session('node-a', 's1', 'phone'), T0 + 100);
        await storage.presence.add(APP, 'alice', session('node-b', 's2', 'tablet'), T0 + 100);
        await storage.presence.add(APP, 'bob', session('node-b', 's3', 'pc'), T0 + 10);
        await storage.presence.removeNode('node-a');
        assert.deepEqual((await storage.presence.online(APP, 'alice', T0)).map((p) => p.sessionID), ['s2']);
        assert.equal(await storage.presence.sweep(T0 + 50), 1);
        assert.equal(await storage.presence.refresh('node-b', T0 + 1000), 1, 'the swept row is gone');
        assert.equal(await storage.presence.sweep(T0 + 50), 0);
      });
    });

    // ----------------------------------------------------------------- leases
    describe('fan-out queue', () => fanoutConformance(() => storage));
    describe('message changes', () => mutationConformance(() => storage));

    describe('leases', () => {
      const TTL = 30_000;

      test('of two holders only one acquires; the holder renews; the other stays out until expiry', async () => {
        const attempts = await Promise.all([
          storage.leases.tryAcquire('purge', 'node-a', TTL, T0), storage.leases.tryAcquire('purge', 'node-b', TTL, T0),
        ]);
        assert.equal(attempts.filter((t) => t !== null).length, 1, 'exactly one of two racing holders gets it');
        const [winner, loser] = attempts[0] !== null ? ['node-a', 'node-b'] : ['node-b', 'node-a'];
        assert.deepEqual(await storage.leases.holder('purge', T0), { holder: winner, expiresAt: T0 + TTL });

        assert.notEqual(await storage.leases.tryAcquire('purge', winner, TTL, T0 + 10_000), null, 'the holder renews');
        assert.deepEqual(await storage.leases.holder('purge', T0 + 10_000), { holder: winner, expiresAt: T0 + 10_000 + TTL });
        assert.equal(await storage.leases.tryAcquire('purge', loser, TTL, T0 + TTL + 1), null, 'the renewal pushed the expiry out');
        assert.equal(await storage.leases.tryAcquire('purge', loser, TTL, T0 + 10_000 + TTL - 1), null, 'not yet expired');
        assert.deepEqual(await storage.leases.holder('purge', T0 + 10_000 + TTL - 1), { holder: winner, expiresAt: T0 + 10_000 + TTL });
      });

      test('expiry lets the other holder in, and then the old holder is out', async () => {
        assert.notEqual(await storage.leases.tryAcquire('purge', 'node-a', TTL, T0), null);
        assert.equal(await storage.leases.holder('purge', T0 + TTL), undefined, 'expired at its expiry time: nobody holds it');
        assert.notEqual(await storage.leases.tryAcquire('purge', 'node-b', TTL, T0 + TTL), null, 'taken over once expired');
        assert.deepEqual(await storage.leases.holder('purge', T0 + TTL), { holder: 'node-b', expiresAt: T0 + 2 * TTL });
        assert.equal(await storage.leases.tryAcquire('purge', 'node-a', TTL, T0 + TTL + 1), null, 'the old holder lost it');
      });

      test('release lets another holder in at once; releasing what one does not hold changes nothing', async () => {
        assert.notEqual(await storage.leases.tryAcquire('purge', 'node-a', TTL, T0), null);
        await storage.leases.release('purge', 'node-b');
        assert.equal((await storage.leases.holder('purge', T0 + 1))?.holder, 'node-a', 'a non-holder cannot release it');
        assert.equal(await storage.leases.tryAcquire('purge', 'node-b', TTL, T0 + 1), null);
        await storage.leases.release('purge', 'node-a');
        assert.equal(await storage.leases.holder('purge', T0 + 2), undefined);
        assert.notEqual(await storage.leases.tryAcquire('purge', 'node-b', TTL, T0 + 2), null, 'free after release');
        await storage.leases.release('purge', 'node-b');
        await storage.leases.release('purge', 'node-b');
        assert.notEqual(await storage.leases.tryAcquire('purge', 'node-a', TTL, T0 + 3), null, 'released twice is still just free');
      });

      test('fencing tokens: every acquisition gets a larger one, a renewal keeps it, a release does not reset it', async () => {
        const t1 = await storage.leases.tryAcquire('purge', 'node-a', TTL, T0);
        assert.ok(t1 !== null);
        assert.equal(await storage.leases.tryAcquire('purge', 'node-a', TTL, T0 + 1000), t1, 'renewed: same token');
        const t2 = await storage.leases.tryAcquire('purge', 'node-b', TTL, T0 + 1000 + TTL);
        assert.equal(t2, t1 + 1, 'taken over after expiry: the next token');
        await storage.leases.release('purge', 'node-b');
        const t3 = await storage.leases.tryAcquire('purge', 'node-b', TTL, T0 + 1001 + TTL);
        assert.equal(t3, t2 + 1, 'taken again after its own release, even by the same holder: the next token');
        const t4 = await storage.leases.tryAcquire('purge', 'node-b', TTL, T0 + 1001 + 2 * TTL);
        assert.equal(t4, t3 + 1, 'renewed too late (expired meanwhile): the next token');
        assert.equal(await storage.leases.tryAcquire('other', 'node-a', TTL, T0), 1, 'tokens count per lease');
      });

      test('leases are independent by name', async () => {
        assert.notEqual(await storage.leases.tryAcquire('purge', 'node-a', TTL, T0), null);
        assert.notEqual(await storage.leases.tryAcquire('reports', 'node-b', TTL, T0), null);
        assert.equal(await storage.leases.tryAcquire('purge', 'node-b', TTL, T0), null);
        assert.equal(await storage.leases.tryAcquire('reports', 'node-a', TTL, T0), null);
        await storage.leases.release('purge', 'node-a');
        assert.equal((await storage.leases.holder('reports', T0))?.holder, 'node-b');
      });
    });
  });
}
