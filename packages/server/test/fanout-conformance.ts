/**
 * The fan-out queue's part of the storage conformance suite (`storage-conformance.ts`
 * runs it for every backend). The reference for what a member's row must end as is the
 * eager path: the same messages appended with every member as a recipient.
 */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupType } from '@confab/protocol';
import type { AppendRequest, ConversationRow, Storage } from '../src/storage/types.js';

const APP = 1_400_000_001;
const T0 = 1_700_000_000_000;

function draft(groupID: string, owner: string) {
  return { groupID, groupType: GroupType.WORK, groupName: groupID, faceUrl: '', introduction: '', notification: '', owner, createdAt: T0 };
}

function send(groupID: string, sender: string, recipients: string[] | 'fanout', id: string, now = T0): AppendRequest {
  const conversationID = `group_${groupID}`;
  const base = { app: APP, convKey: `group:${groupID}`, sender, clientMsgID: id, elem: { type: 'text' as const, text: id }, now };
  return recipients === 'fanout'
    ? { ...base, recipients: [{ userID: sender, conversationID }], fanout: true }
    : { ...base, recipients: recipients.map((userID) => ({ userID, conversationID })) };
}

/** Works the queue dry with small chunks; returns the number of steps. */
export async function drainFanout(storage: Storage, maxMembers = 2, maxMessages = 100): Promise<number> {
  let steps = 0;
  for (;;) {
    const jobs = await storage.fanout.pending(10);
    if (jobs.length === 0) return steps;
    for (const job of jobs) {
      await storage.fanout.step(job.app, job.convKey, maxMembers, maxMessages);
      steps += 1;
      assert.ok(steps < 10_000, 'the queue drains');
    }
  }
}

/** What a member sees of a row, without what differs by construction between two groups. */
function view(row: ConversationRow | undefined) {
  if (!row) return undefined;
  return { lastSeq: row.lastSeq, unreadCount: row.unreadCount, readSeq: row.readSeq, visibleFromSeq: row.visibleFromSeq, deleted: row.deleted };
}

export function fanoutConformance(get: () => Storage): void {
  let storage: Storage;
  beforeEach(() => {
    storage = get();
  });

  async function users(...ids: string[]): Promise<void> {
    for (const id of ids) await storage.accounts.ensure(APP, id, T0);
  }

  async function members(groupID: string): Promise<string[]> {
    return (await storage.groups.members(APP, groupID, 0, 1000)).map((m) => m.userID);
  }

  test('a fan-out append changes the sender alone and queues the message; draining gives every member what the eager path gives', async () => {
    const everyone = ['owner', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6'];
    await users(...everyone);
    for (const g of ['ge', 'gf']) await storage.groups.create(APP, draft(g, 'owner'), ['m1', 'm2', 'm3', 'm4', 'm5'], T0);

    // The same story in two groups: `ge` eagerly (every current member a recipient), `gf` through the queue.
    const both = async (sends: [string, string][]) => {
      const eager = await members('ge');
      await storage.messages.appendBatch(sends.map(([sender, id]) => send('ge', sender, eager, id)));
      return storage.messages.appendBatch(sends.map(([sender, id]) => send('gf', sender, 'fanout', id)));
    };
    const first = await both([['owner', 'o1'], ['owner', 'o2'], ['m1', 'a1']]);
    assert.deepEqual(first.changes.map((c) => c.userID).sort(), ['m1', 'owner'], 'only the senders change in the append');
    assert.deepEqual((await storage.fanout.pending(10)).map((j) => [j.convKey, j.fromSeq, j.toSeq]), [['group:gf', 1, 3]]);
    assert.equal(view(await storage.conversations.get(APP, 'm2', 'group:gf'))?.lastSeq, 0, 'm2 is not reached before the fan-out');
    await drainFanout(storage);
    assert.deepEqual(await storage.fanout.pending(10), [], 'a drained job leaves the queue');

    for (const g of ['ge', 'gf']) await storage.deletions.remove(APP, 'm3', [{ convKey: `group:${g}`, conversationID: `group_${g}` }], { mode: 'delete', deviceID: 'd', now: T0 + 1 });
    await both([['m1', 'a2'], ['owner', 'o3']]);
    // m4 leaves after those committed (before the fan-out reached anyone): still gets them.
    for (const g of ['ge', 'gf']) await storage.groups.removeMember(APP, g, 'm4', T0 + 2);
    await both([['owner', 'o4']]);
    // m5 sends while o4 (and before it a2, o3) wait for the fan-out: m5's row passes over them.
    const m5 = await both([['m5', 'e1']]);
    assert.deepEqual(m5.results[0]!.passedOver?.map((m) => m.clientMsgID), ['a2', 'o3', 'o4'], 'the sender is handed what its row moved past');
    // m6 joins after o4 and e1 committed: sees nothing from before the join.
    for (const g of ['ge', 'gf']) await storage.groups.addMembers(APP, g, ['m6'], T0 + 3);
    await both([['owner', 'o5']]);
    await drainFanout(storage, 2, 2);

    for (const userID of everyone) {
      assert.deepEqual(view(await storage.conversations.get(APP, userID, 'group:gf')), view(await storage.conversations.get(APP, userID, 'group:ge')),
        `${userID}'s row after the fan-out equals the eager path's`);
    }
    const m4 = await storage.conversations.get(APP, 'm4', 'group:gf');
    assert.equal(m4?.lastSeq, 5, 'm4 got what was committed before it left, nothing after');
    const m3 = await storage.conversations.get(APP, 'm3', 'group:gf');
    assert.deepEqual([m3?.deleted, m3?.visibleFromSeq, m3?.unreadCount], [false, 4, 5], 'a tombstone revives with its watermark');
  });

  test('one pass covers every pending message: one version step per member, and the update carries them in order', async () => {
    await users('owner', 'a', 'b');
    await storage.groups.create(APP, draft('g', 'owner'), ['a', 'b'], T0);
    const before = await storage.accounts.syncVersion(APP, 'a');
    await storage.messages.appendBatch([send('g', 'owner', 'fanout', 'x1')]);
    await storage.messages.appendBatch([send('g', 'b', 'fanout', 'x2'), send('g', 'owner', 'fanout', 'x3')]);
    const step = await storage.fanout.step(APP, 'group:g', 10, 100);
    assert.equal(step.done, true);
    assert.deepEqual(step.changes.map((c) => c.userID).sort(), ['a', 'b'], 'the owner is up to date already (its row took x3)');
    assert.equal(await storage.accounts.syncVersion(APP, 'a'), before + 1, 'three messages, one version step');
    assert.deepEqual(step.delivered.get('a')?.map((m) => m.clientMsgID), ['x1', 'x2', 'x3']);
    assert.deepEqual(step.delivered.get('b')?.map((m) => m.clientMsgID), ['x3'], 'b had x1 passed over when it sent x2');
    const a = step.changes.find((c) => c.userID === 'a')!;
    assert.deepEqual([a.rows[0]?.lastSeq, a.rows[0]?.unreadCount, a.rows[0]?.version], [3, 3, before + 1]);
    assert.equal((await storage.conversations.get(APP, 'b', 'group:g'))?.unreadCount, 1, 'b read up to its own x2');
  });

  test('a pass is bounded by maxMessages and by maxMembers; the queue remembers where it is', async () => {
    await users('owner', 'a', 'b', 'c');
    await storage.groups.create(APP, draft('g', 'owner'), ['a', 'b', 'c'], T0);
    await storage.messages.appendBatch(['1', '2', '3'].map((id) => send('g', 'owner', 'fanout', id)));
    const s1 = await storage.fanout.step(APP, 'group:g', 2, 2);
    assert.deepEqual([s1.changes.map((c) => c.userID), s1.done], [['a', 'b'], false]);
    assert.deepEqual(s1.delivered.get('a')?.map((m) => m.seq), [1, 2], 'the pass covers two messages');
    // A message arriving mid-pass waits for the next pass.
    await storage.messages.appendBatch([send('g', 'a', 'fanout', '4')]);
    const s2 = await storage.fanout.step(APP, 'group:g', 2, 2);
    assert.deepEqual(s2.changes.map((c) => c.userID), ['c'], 'the pass resumes after b (the owner is past it)');
    assert.deepEqual((await storage.fanout.pending(10)).map((j) => [j.fromSeq, j.toSeq]), [[1, 4]], 'a full chunk: the pass may go on');
    const s3 = await storage.fanout.step(APP, 'group:g', 2, 2);
    assert.deepEqual([s3.changes, s3.done], [[], false]);
    assert.deepEqual((await storage.fanout.pending(10)).map((j) => [j.fromSeq, j.toSeq]), [[3, 4]], 'the next pass starts after the last one');
    await drainFanout(storage, 2, 2);
    for (const [userID, lastSeq, unread] of [['a', 4, 0], ['b', 4, 4], ['c', 4, 4], ['owner', 4, 1]] as const) {
      const row = await storage.conversations.get(APP, userID, 'group:g');
      assert.deepEqual([row?.lastSeq, row?.unreadCount], [lastSeq, unread], userID);
    }
  });

  test('a step repeated or run twice at once applies nothing twice', async () => {
    await users('owner', 'a', 'b', 'c');
    await storage.groups.create(APP, draft('g', 'owner'), ['a', 'b', 'c'], T0);
    await storage.messages.appendBatch([send('g', 'owner', 'fanout', '1'), send('g', 'owner', 'fanout', '2')]);
    await Promise.all([storage.fanout.step(APP, 'group:g', 10, 100), storage.fanout.step(APP, 'group:g', 10, 100)]);
    await storage.messages.appendBatch([send('g', 'owner', 'fanout', '3')]);
    await drainFanout(storage);
    for (const userID of ['a', 'b', 'c']) {
      const row = await storage.conversations.get(APP, userID, 'group:g');
      assert.deepEqual([row?.lastSeq, row?.unreadCount], [3, 3], `${userID} counts each message once`);
    }
    const again = await storage.fanout.step(APP, 'group:g', 10, 100);
    assert.deepEqual([again.changes, again.done], [[], true], 'a step on a finished job changes nothing');
  });

  test('a member removed before a message is not reached by it; a dismissal keeps what was sent before it', async () => {
    await users('owner', 'a', 'b');
    await storage.groups.create(APP, draft('g', 'owner'), ['a', 'b'], T0);
    await storage.messages.appendBatch([send('g', 'owner', 'fanout', '1')]);
    await storage.groups.removeMember(APP, 'g', 'a', T0 + 1);
    await storage.messages.appendBatch([send('g', 'owner', 'fanout', '2')]);
    await storage.groups.dismiss(APP, 'g', T0 + 2);
    await drainFanout(storage);
    assert.deepEqual([(await storage.conversations.get(APP, 'a', 'group:g'))?.lastSeq, (await storage.conversations.get(APP, 'b', 'group:g'))?.lastSeq], [1, 2]);
  });
}
