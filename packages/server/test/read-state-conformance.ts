/**
 * Read state's part of the storage conformance suite (`storage-conformance.ts` runs it
 * for every backend): partial reads, the peer's read point, receive options, mentions
 * set by the fan-out, markReadPage and group read receipts.
 */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { AT_ALL_TAG, GroupType } from '@confab/protocol';
import type { AppendRequest, ConversationRow, Storage } from '../src/storage/types.js';
import { drainFanout } from './fanout-conformance.js';

const APP = 1_400_000_001;
const T0 = 1_700_000_000_000;
const key = (x: string, y: string) => (x < y ? `c2c:${x}|${y}` : `c2c:${y}|${x}`);

function c2c(from: string, to: string, id: string): AppendRequest {
  return {
    app: APP, convKey: key(from, to), sender: from, clientMsgID: id, elem: { type: 'text', text: id },
    recipients: [{ userID: from, conversationID: `c2c_${to}` }, { userID: to, conversationID: `c2c_${from}` }], now: T0,
  };
}

function group(groupID: string, sender: string, id: string, atUserList?: string[], needReadReceipt = false): AppendRequest {
  return {
    app: APP, convKey: `group:${groupID}`, sender, clientMsgID: id,
    elem: { type: 'text', text: id, ...(atUserList ? { atUserList } : {}) },
    recipients: [{ userID: sender, conversationID: `group_${groupID}` }], fanout: true, now: T0,
    ...(needReadReceipt ? { needReadReceipt } : {}),
  };
}

export function readStateConformance(get: () => Storage): void {
  let storage: Storage;
  beforeEach(() => {
    storage = get();
  });

  async function users(...ids: string[]): Promise<void> {
    for (const id of ids) await storage.accounts.ensure(APP, id, T0);
  }
  async function row(userID: string, convKey: string): Promise<ConversationRow> {
    const found = await storage.conversations.get(APP, userID, convKey);
    assert.ok(found, `${userID} has ${convKey}`);
    return found;
  }
  async function makeGroup(groupID: string, owner: string, members: string[]): Promise<void> {
    await storage.groups.create(APP, { groupID, groupType: GroupType.WORK, groupName: groupID, faceUrl: '', introduction: '', notification: '', owner, createdAt: T0 }, [owner, ...members], T0);
  }

  test('markRead up to a seq keeps what lies above unread; the peer\'s read point only grows', async () => {
    await users('alice', 'bob');
    await storage.messages.appendBatch([1, 2, 3, 4].map((n) => c2c('alice', 'bob', `a${n}`)));
    const target = [{ convKey: key('alice', 'bob'), conversationID: 'c2c_alice', create: false }];
    const { change, peerChanges } = await storage.conversations.patch(APP, 'bob', target, { kind: 'markRead', upToSeq: 2 });
    assert.deepEqual([change?.rows[0]?.readSeq, change?.rows[0]?.unreadCount], [2, 2]);
    assert.equal(peerChanges?.[0]?.rows[0]?.peerReadSeq, 2);
    await storage.conversations.patch(APP, 'bob', target, { kind: 'markRead', upToSeq: 1 });
    assert.deepEqual([(await row('bob', key('alice', 'bob'))).readSeq, (await row('alice', key('alice', 'bob'))).peerReadSeq], [2, 2], 'never backwards');
    await storage.conversations.patch(APP, 'bob', target, { kind: 'markRead', upToSeq: 99 });
    const done = await row('bob', key('alice', 'bob'));
    assert.deepEqual([done.readSeq, done.unreadCount], [4, 0]);
  });

  test('recvOpt: a tombstone holds it before the first message; NOT_RECEIVE stores without counting; it outlives a deletion', async () => {
    await users('alice', 'bob');
    const target = { convKey: key('alice', 'bob'), conversationID: 'c2c_alice', create: true };
    const { change } = await storage.conversations.patch(APP, 'bob', [target], { kind: 'recvOpt', recvOpt: 1 });
    assert.deepEqual([change?.rows[0]?.deleted, change?.rows[0]?.recvOpt], [true, 1], 'a hidden row holds the option');
    await storage.messages.appendBatch([c2c('alice', 'bob', 'a1'), c2c('alice', 'bob', 'a2')]);
    let r = await row('bob', key('alice', 'bob'));
    assert.deepEqual([r.deleted, r.lastSeq, r.unreadCount, r.visibleFromSeq], [false, 2, 0, 1], 'revived, stored, not counted');
    await storage.conversations.patch(APP, 'bob', [target], { kind: 'recvOpt', recvOpt: 2 });
    await storage.messages.appendBatch([c2c('alice', 'bob', 'a3')]);
    r = await row('bob', key('alice', 'bob'));
    assert.deepEqual([r.unreadCount, r.recvOpt], [1, 2], 'not-notify counts in the conversation');
    await storage.deletions.remove(APP, 'bob', [{ convKey: key('alice', 'bob'), conversationID: 'c2c_alice' }], { mode: 'delete', deviceID: 'd', now: T0 });
    assert.equal((await row('bob', key('alice', 'bob'))).recvOpt, 2);
    const missing = await storage.conversations.patch(APP, 'bob', [{ ...target, convKey: key('bob', 'zed'), conversationID: 'c2c_zed', create: false }], { kind: 'recvOpt', recvOpt: 2 });
    assert.deepEqual(missing.missing, ['c2c_zed']);
  });

  test('the fan-out sets mentions (me, all, both) and a read clears those it passes; NOT_RECEIVE_EXCEPT_AT counts only mentions', async () => {
    await users('owner', 'm1', 'm2');
    await makeGroup('g', 'owner', ['m1', 'm2']);
    await storage.conversations.patch(APP, 'm2', [{ convKey: 'group:g', conversationID: 'group_g', create: true }], { kind: 'recvOpt', recvOpt: 4 });
    await storage.messages.appendBatch([group('g', 'owner', 'x1', ['m1']), group('g', 'owner', 'x2', [AT_ALL_TAG]), group('g', 'owner', 'x3', ['m1', AT_ALL_TAG]), group('g', 'owner', 'x4')]);
    await drainFanout(storage);
    const m1 = await row('m1', 'group:g');
    assert.deepEqual(m1.atInfo, [{ seq: 1, atType: 1 }, { seq: 2, atType: 2 }, { seq: 3, atType: 3 }]);
    assert.equal(m1.unreadCount, 4);
    const m2 = await row('m2', 'group:g');
    assert.deepEqual(m2.atInfo, [{ seq: 2, atType: 2 }, { seq: 3, atType: 2 }]);
    assert.equal(m2.unreadCount, 2, 'only the mentions count');
    assert.deepEqual((await row('owner', 'group:g')).atInfo, []);
    const target = [{ convKey: 'group:g', conversationID: 'group_g', create: false }];
    await storage.conversations.patch(APP, 'm1', target, { kind: 'markRead', upToSeq: 2 });
    assert.deepEqual((await row('m1', 'group:g')).atInfo, [{ seq: 3, atType: 3 }]);
    // Leaving and rejoining starts a fresh row that keeps the receive option.
    await storage.groups.removeMember(APP, 'g', 'm2', T0);
    await storage.groups.addMembers(APP, 'g', ['m2'], T0);
    const back = await row('m2', 'group:g');
    assert.deepEqual([back.recvOpt, back.atInfo, back.visibleFromSeq], [4, [], 5]);
  });

  test('markReadPage reads a bounded page per call, by type, and moves the C2C peers\' read points in the same transaction', async () => {
    await users('me', 'p1', 'p2', 'p3', 'owner');
    await storage.messages.appendBatch(['p1', 'p2', 'p3'].map((p) => c2c(p, 'me', `${p}-1`)));
    await makeGroup('g', 'owner', ['me']);
    await storage.messages.appendBatch([group('g', 'owner', 'g1')]);
    await drainFanout(storage);
    const before = await storage.accounts.syncVersion(APP, 'me');
    const first = await storage.conversations.markReadPage(APP, 'me', 1, 2);
    assert.equal(first.more, true);
    const mine = first.changes.filter((c) => c.userID === 'me');
    assert.equal(mine.length, 1);
    assert.deepEqual([mine[0]!.prevVersion, mine[0]!.rows.length], [before, 2], 'one step for the page');
    assert.deepEqual(first.changes.filter((c) => c.userID !== 'me').map((c) => c.rows[0]!.peerReadSeq), [1, 1]);
    const second = await storage.conversations.markReadPage(APP, 'me', 1, 2);
    assert.equal(second.changes.find((c) => c.userID === 'me')?.rows.length, 1);
    assert.equal(second.more, false);
    assert.equal((await row('me', 'group:g')).unreadCount, 1, 'type 1 leaves groups alone');
    assert.deepEqual((await storage.conversations.markReadPage(APP, 'me', 1, 2)).changes, [], 'nothing left: no step');
    const groups = await storage.conversations.markReadPage(APP, 'me', 0, 10);
    assert.deepEqual(groups.changes.map((c) => c.rows.map((r) => r.convKey)), [['group:g']]);
    assert.equal((await row('p3', key('me', 'p3'))).peerReadSeq, 1);
  });

  test('group receipts: one per (message, reader), only for messages that asked, counts and both member lists by index', async () => {
    await users('owner', 'm1', 'm2', 'm3');
    await makeGroup('g', 'owner', ['m1', 'm2', 'm3']);
    await storage.messages.appendBatch([group('g', 'owner', 'r1', undefined, true), group('g', 'owner', 'r2')]);
    assert.equal((await storage.messages.get(APP, 'group:g', 1))?.needReadReceipt, true);
    const seqOf = async (u: string) => (await storage.groups.member(APP, 'g', u))!.seq;
    const first = await storage.receipts.markRead(APP, 'group:g', 'm2', await seqOf('m2'), [1, 2], T0);
    assert.deepEqual(first, [{ seq: 1, sender: 'owner', readCount: 1 }], 'the message that did not ask is skipped');
    assert.deepEqual(await storage.receipts.markRead(APP, 'group:g', 'm2', await seqOf('m2'), [1], T0), [], 'counted once');
    assert.deepEqual(await storage.receipts.markRead(APP, 'group:g', 'owner', await seqOf('owner'), [1], T0), [], 'not the sender');
    await storage.receipts.markRead(APP, 'group:g', 'm3', await seqOf('m3'), [1], T0);
    assert.deepEqual([...(await storage.receipts.counts(APP, 'group:g', [1, 2]))], [[1, 2]]);
    const readers = await storage.receipts.readers(APP, 'group:g', 1, 0, 1);
    assert.deepEqual(readers.map((r) => r.userID), ['m2']);
    assert.deepEqual((await storage.receipts.readers(APP, 'group:g', 1, readers[0]!.memberSeq, 5)).map((r) => r.userID), ['m3']);
    assert.deepEqual((await storage.receipts.nonReaders(APP, 'group:g', 1, 0, 5, 'owner')).map((r) => r.userID), ['m1']);
  });
}
