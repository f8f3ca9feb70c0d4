/**
 * Recalls, modifications and per-user deletions: the storage conformance suite's part
 * for `MessageMutationStore` (`storage-conformance.ts` runs it for every backend).
 */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupType } from '@confab/protocol';
import type { Storage, StoredMessage } from '../src/storage/types.js';
import type { MessageChangeRequest } from '../src/storage/message-mutations.js';

const APP = 1_400_000_001;
const T0 = 1_700_000_000_000;

const c2cKey = (x: string, y: string) => (x < y ? `c2c:${x}|${y}` : `c2c:${y}|${x}`);

export function mutationConformance(get: () => Storage): void {
  let storage: Storage;
  beforeEach(() => {
    storage = get();
  });

  async function users(...ids: string[]): Promise<void> {
    for (const id of ids) await storage.accounts.ensure(APP, id, T0);
  }

  async function chat(from: string, to: string, ...texts: string[]): Promise<void> {
    for (const [i, text] of texts.entries()) {
      await storage.messages.appendBatch([{
        app: APP, convKey: c2cKey(from, to), sender: from, clientMsgID: `${from}-${text}-${i}`, elem: { type: 'text', text },
        recipients: [{ userID: from, conversationID: `c2c_${to}` }, { userID: to, conversationID: `c2c_${from}` }], now: T0 + i,
      }]);
    }
  }

  const change = (over: Partial<MessageChangeRequest>): MessageChangeRequest => ({
    app: APP, convKey: c2cKey('alice', 'bob'), seq: 1, kind: 'revoke', actor: 'alice', participants: ['alice', 'bob'],
    group: false, now: T0 + 10, check: () => undefined, ...over,
  });

  test('a one-to-one recall erases the element, steps the change counter on both rows with one version step each', async () => {
    await users('alice', 'bob');
    await chat('alice', 'bob', 'secret', 'after');
    const before = await storage.accounts.syncVersion(APP, 'bob');
    const result = await storage.mutations.change(change({ reason: 'typo' }));
    assert.ok(result);
    assert.deepEqual(result.message.elem, { type: 'text', text: '' });
    assert.equal(result.message.revoker, 'alice');
    assert.equal(result.message.revokeReason, 'typo');
    assert.equal(result.message.changeSeq, 1);
    assert.deepEqual(result.changes.map((c) => c.userID).sort(), ['alice', 'bob']);
    assert.equal(await storage.accounts.syncVersion(APP, 'bob'), before + 1);
    const stored = await storage.messages.get(APP, c2cKey('alice', 'bob'), 1);
    assert.deepEqual(stored?.elem, { type: 'text', text: '' });
    assert.equal(stored?.revoker, 'alice');
    const bobRow = await storage.conversations.get(APP, 'bob', c2cKey('alice', 'bob'));
    assert.equal(bobRow?.changeSeq, 1);
    const page = await storage.mutations.changesPage(APP, bobRow!, 0, 0, 100);
    assert.deepEqual(page.changed.map((m) => m.seq), [1]);
    assert.equal(page.changeSeq, 1);
    assert.equal(page.isFinished, true);
    assert.equal((await storage.mutations.changesPage(APP, bobRow!, 1, 0, 100)).changed.length, 0);
  });

  test('a refused change (the check throws) writes nothing; a missing message is undefined', async () => {
    await users('alice', 'bob');
    await chat('alice', 'bob', 'keep');
    const version = await storage.accounts.syncVersion(APP, 'alice');
    await assert.rejects(storage.mutations.change(change({ check: () => { throw new Error('refused'); } })), /refused/);
    assert.deepEqual((await storage.messages.get(APP, c2cKey('alice', 'bob'), 1))?.elem, { type: 'text', text: 'keep' });
    assert.equal(await storage.accounts.syncVersion(APP, 'alice'), version);
    assert.equal(await storage.mutations.change(change({ seq: 99 })), undefined);
  });

  test('modifications count versions; the check sees the stored version', async () => {
    await users('alice', 'bob');
    await chat('alice', 'bob', 'v0');
    const seen: StoredMessage[] = [];
    const modify = (text: string) => storage.mutations.change(change({ kind: 'modify', elem: { type: 'text', text }, check: (m) => { seen.push(m); } }));
    assert.equal((await modify('v1'))?.message.modifyVersion, 1);
    const second = await modify('v2');
    assert.equal(second?.message.modifyVersion, 2);
    assert.equal(second?.message.changeSeq, 2);
    assert.deepEqual(seen.map((m) => m.modifyVersion ?? 0), [0, 1]);
    const page = await storage.mutations.changesPage(APP, (await storage.conversations.get(APP, 'bob', c2cKey('alice', 'bob')))!, 0, 0, 2);
    assert.equal(page.changed.length, 1);
    assert.equal(page.isFinished, true, 'one message changed twice is listed once, in its latest state');
    assert.deepEqual(page.changed[0]!.elem, { type: 'text', text: 'v2' });
  });

  test('a group change moves the actor at once and the members through the change queue, a chunk at a time', async () => {
    const ids = ['g1', 'g2', 'g3', 'g4', 'g5'];
    await users(...ids);
    await storage.groups.create(APP, { groupID: 'grp', groupType: GroupType.WORK, groupName: 'grp', faceUrl: '', introduction: '', notification: '', owner: 'g1', createdAt: T0 }, ids, T0);
    await storage.messages.appendBatch([{
      app: APP, convKey: 'group:grp', sender: 'g2', clientMsgID: 'm1', elem: { type: 'text', text: 'hello' },
      recipients: ids.map((userID) => ({ userID, conversationID: 'group_grp' })), now: T0,
    }]);
    const result = await storage.mutations.change(change({ convKey: 'group:grp', actor: 'g1', participants: ['g1'], group: true }));
    assert.deepEqual(result?.changes.map((c) => c.userID), ['g1']);
    assert.deepEqual((await storage.mutations.changeQueue(10)).map((j) => [j.convKey, j.changeTo]), [['group:grp', 1]]);
    const reached = new Set<string>();
    for (let guard = 0; guard < 20; guard++) {
      const step = await storage.mutations.changeStep(APP, 'group:grp', 2);
      for (const c of step.changes) {
        reached.add(c.userID);
        assert.deepEqual(step.delivered.get(c.userID)?.map((m) => m.seq), [1], 'each member update carries the changed message');
      }
      if (step.done) break;
    }
    assert.deepEqual([...reached].sort(), ['g2', 'g3', 'g4', 'g5'], 'every other member once; the actor had it already');
    assert.deepEqual(await storage.mutations.changeQueue(10), []);
    for (const id of ids) assert.equal((await storage.conversations.get(APP, id, 'group:grp'))?.changeSeq, 1);

    // g3 modifies (queued for the others), then g4 recalls before the queue reached g4:
    // g4's row moves past both changes, so its update carries both messages.
    await storage.messages.appendBatch([{
      app: APP, convKey: 'group:grp', sender: 'g3', clientMsgID: 'm2', elem: { type: 'text', text: 'two' },
      recipients: ids.map((userID) => ({ userID, conversationID: 'group_grp' })), now: T0,
    }]);
    await storage.mutations.change(change({ convKey: 'group:grp', seq: 2, kind: 'modify', elem: { type: 'text', text: 'TWO' }, actor: 'g3', participants: ['g3'], group: true }));
    const jump = await storage.mutations.change(change({ convKey: 'group:grp', seq: 1, actor: 'g4', participants: ['g4'], group: true }));
    assert.deepEqual(jump?.delivered.get('g4')?.map((m) => [m.seq, m.changeSeq]), [[2, 2], [1, 3]]);
  });

  test('deleting for one user: recorded once, hidden from that user only, unread adjusted; erased when both sides deleted', async () => {
    await users('alice', 'bob');
    await chat('alice', 'bob', 'one', 'two', 'three');
    const key = c2cKey('alice', 'bob');
    const first = await storage.mutations.deleteForUser(APP, 'bob', key, [2, 3, 3, 42], T0 + 5);
    assert.deepEqual(first.seqs, [2, 3]);
    assert.equal(first.change?.rows[0]?.deleteSeq, 2);
    assert.equal(first.change?.rows[0]?.unreadCount, 1, 'two unread messages from alice are gone');
    assert.equal((await storage.mutations.deleteForUser(APP, 'bob', key, [2], T0 + 6)).change, null, 'idempotent');
    assert.deepEqual([...await storage.mutations.deletedIn(APP, 'bob', key, 1, 3)].sort(), [2, 3]);
    assert.deepEqual([...await storage.mutations.deletedIn(APP, 'alice', key, 1, 3)], []);
    assert.equal((await storage.mutations.lastVisible(APP, 'bob', key, 1, 3))?.seq, 1, 'bob\'s list shows the newest message he kept');
    assert.equal((await storage.mutations.lastVisible(APP, 'alice', key, 1, 3))?.seq, 3);
    assert.equal(await storage.mutations.lastVisible(APP, 'bob', key, 2, 3), undefined);
    const bobRow = (await storage.conversations.get(APP, 'bob', key))!;
    const page = await storage.mutations.changesPage(APP, bobRow, 0, 1, 100);
    assert.deepEqual(page.deleted, [3]);
    assert.equal(page.deleteSeq, 2);
    assert.deepEqual((await storage.messages.get(APP, key, 2))?.elem, { type: 'text', text: 'two' }, 'alice still sees it: kept');
    await storage.mutations.deleteForUser(APP, 'alice', key, [2], T0 + 7);
    assert.deepEqual((await storage.messages.get(APP, key, 2))?.elem, { type: 'text', text: '' }, 'nobody sees it: erased');
  });
}
