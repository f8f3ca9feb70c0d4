import { after, afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GroupType } from '@confab/protocol';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import { DEFAULT_APP_SETTINGS, type Storage } from '../src/storage/types.js';
import { appRecord, c2cKey, c2cMessage, groupKey, groupMessage, runStorageConformance, type OpenStorage } from './storage-conformance.js';
import { runPagingConformance } from './storage-conformance-paging.js';

const APP = 1_400_000_001;
const T0 = 1_700_000_000_000;

const dirs = new Set<string>();
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'confab-storage-'));
  dirs.add(dir);
  return dir;
}
function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}
after(() => {
  for (const dir of [...dirs]) removeDir(dir);
});

const openSqlite: OpenStorage = async () => {
  const dir = tempDir();
  const storage = openSqliteStorage({ filename: join(dir, 'confab.db') });
  return {
    storage,
    async cleanup() {
      await storage.close();
      removeDir(dir);
    },
  };
};
runStorageConformance('sqlite', openSqlite);
runPagingConformance('sqlite', openSqlite);

describe('sqlite storage', () => {
  let dir: string;
  let filename: string;
  let open: Storage[] = [];

  function openFile(): Storage {
    const storage = openSqliteStorage({ filename });
    open.push(storage);
    return storage;
  }

  beforeEach(() => {
    dir = tempDir();
    filename = join(dir, 'confab.db');
  });

  afterEach(async () => {
    for (const storage of open) await storage.close();
    open = [];
    removeDir(dir);
  });

  test('data survives closing and reopening the file', async () => {
    const first = openFile();
    const settings = { ...DEFAULT_APP_SETTINGS, maxMessageBytes: 2048 };
    await first.apps.create(appRecord(APP));
    await first.apps.updateSettings(APP, settings);
    for (const id of ['alice', 'bob', 'carol']) await first.accounts.ensure(APP, id, T0);
    await first.accounts.updateProfile(APP, 'alice', { nickName: 'Alice' });
    await first.friends.add(APP, 'alice', 'bob', 'Bobby', T0 + 1);
    await first.groups.create(APP, {
      groupID: 'g1', groupType: GroupType.PUBLIC, groupName: 'G', faceUrl: '', introduction: '', notification: '', owner: 'alice', createdAt: T0,
    }, ['bob', 'carol'], T0);
    await first.groups.removeMember(APP, 'g1', 'carol', T0 + 2);
    await first.messages.appendBatch([
      c2cMessage('alice', 'bob', 'a1', 'one'), c2cMessage('bob', 'alice', 'b1', 'two'),
      groupMessage('g1', 'alice', ['alice', 'bob'], 'g1', 'group'),
    ]);
    await first.conversations.patch(APP, 'bob', [{ convKey: c2cKey('alice', 'bob'), conversationID: 'c2c_alice', create: false }],
      { kind: 'pin', isPinned: true });
    const rowsBefore = await first.conversations.changedSince(APP, 'bob', 0, 100);
    const versions = { alice: await first.accounts.syncVersion(APP, 'alice'), bob: await first.accounts.syncVersion(APP, 'bob') };
    await first.close();

    const second = openFile();
    assert.deepEqual((await second.apps.get(APP))?.settings, settings);
    assert.equal((await second.accounts.get(APP, ['alice']))[0]?.nickName, 'Alice');
    assert.equal(await second.accounts.syncVersion(APP, 'alice'), versions.alice);
    assert.equal(await second.accounts.syncVersion(APP, 'bob'), versions.bob);
    assert.deepEqual((await second.friends.page(APP, 'alice', 100)).map((f) => [f.friendID, f.remark]), [['bob', 'Bobby']]);
    assert.equal((await second.groups.get(APP, 'g1'))?.memberCount, 2);
    assert.equal(await second.groups.member(APP, 'g1', 'carol'), undefined);
    assert.deepEqual((await second.messages.range(APP, c2cKey('alice', 'bob'), 1, 10, 10, 'asc')).map((m) => [m.seq, m.elem]), [
      [1, { type: 'text', text: 'one' }], [2, { type: 'text', text: 'two' }],
    ]);
    assert.deepEqual(await second.conversations.changedSince(APP, 'bob', 0, 100), rowsBefore);
    assert.ok(await second.conversations.get(APP, 'carol', groupKey('g1')), 'the former member keeps the row');

    // Sequences and versions continue where they were, and duplicates are still found.
    const next = await second.messages.appendBatch([c2cMessage('alice', 'bob', 'a1', 'dup'), c2cMessage('alice', 'bob', 'a2', 'three')]);
    assert.equal(next.results[0]?.duplicate, true);
    assert.equal(next.results[0]?.message.seq, 1);
    assert.equal(next.results[1]?.message.seq, 3);
    const bob = next.changes.find((c) => c.userID === 'bob');
    assert.deepEqual([bob?.prevVersion, bob?.version], [versions.bob, versions.bob + 1]);
    const joined = await second.groups.addMembers(APP, 'g1', ['carol'], T0 + 3);
    assert.equal(joined.updates[0]?.rows[0]?.visibleFromSeq, 2, 'the group\'s last seq survived the reopen');
  });

  test('a failed batch rolls back entirely: no message, no seq, no version step', async () => {
    const storage = openFile();
    await storage.apps.create(appRecord(APP));
    for (const id of ['alice', 'bob']) await storage.accounts.ensure(APP, id, T0);
    await storage.messages.appendBatch([c2cMessage('alice', 'bob', 'a1', 'one')]);
    const aliceRow = await storage.conversations.get(APP, 'alice', c2cKey('alice', 'bob'));
    const bobRow = await storage.conversations.get(APP, 'bob', c2cKey('alice', 'bob'));

    // 'ghost' has no account: stepping its version fails, and with it the whole batch.
    await assert.rejects(storage.messages.appendBatch([
      c2cMessage('alice', 'bob', 'a2', 'would be seq 2'),
      c2cMessage('alice', 'ghost', 'x1', 'to nobody'),
      c2cMessage('bob', 'alice', 'b1', 'would be seq 3'),
    ]));

    assert.equal(await storage.messages.get(APP, c2cKey('alice', 'bob'), 2), undefined);
    assert.deepEqual((await storage.messages.range(APP, c2cKey('alice', 'bob'), 1, 100, 100, 'asc')).map((m) => m.seq), [1]);
    assert.deepEqual(await storage.messages.range(APP, c2cKey('alice', 'ghost'), 1, 100, 100, 'asc'), []);
    assert.equal(await storage.accounts.syncVersion(APP, 'alice'), 1);
    assert.equal(await storage.accounts.syncVersion(APP, 'bob'), 1);
    assert.deepEqual(await storage.conversations.get(APP, 'alice', c2cKey('alice', 'bob')), aliceRow);
    assert.deepEqual(await storage.conversations.get(APP, 'bob', c2cKey('alice', 'bob')), bobRow);
    assert.equal(await storage.conversations.get(APP, 'alice', c2cKey('alice', 'ghost')), undefined);

    // The clientMsgIDs of the failed batch were not taken, and the seq was not consumed.
    const retry = await storage.messages.appendBatch([c2cMessage('alice', 'bob', 'a2', 'seq 2 now')]);
    assert.equal(retry.results[0]?.duplicate, false);
    assert.equal(retry.results[0]?.message.seq, 2);
    const ghostConv = await storage.messages.appendBatch([{ ...c2cMessage('alice', 'ghost', 'x1', 'only alice'), recipients: [{ userID: 'alice', conversationID: 'c2c_ghost' }] }]);
    assert.equal(ghostConv.results[0]?.message.seq, 1, 'the failed conversation starts at 1 too');
    assert.equal(await storage.accounts.syncVersion(APP, 'alice'), 3);
  });

  test('a failed group creation leaves no group and no rows', async () => {
    const storage = openFile();
    await storage.apps.create(appRecord(APP));
    await storage.accounts.ensure(APP, 'alice', T0);
    await assert.rejects(storage.groups.create(APP, {
      groupID: 'g1', groupType: GroupType.WORK, groupName: 'G', faceUrl: '', introduction: '', notification: '', owner: 'alice', createdAt: T0,
    }, ['ghost'], T0));
    assert.equal(await storage.groups.get(APP, 'g1'), undefined);
    assert.equal(await storage.groups.member(APP, 'g1', 'alice'), undefined);
    assert.equal(await storage.conversations.get(APP, 'alice', groupKey('g1')), undefined);
    assert.equal(await storage.accounts.syncVersion(APP, 'alice'), 0);
    assert.deepEqual(await storage.groups.joinedGroups(APP, 'alice', 100), []);
  });
});
