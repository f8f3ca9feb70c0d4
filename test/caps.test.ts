/**
 * The per-app caps on friends, joined groups and group size (docs/protocol.md, "Limits:
 * friends and groups"), and the member list's keyset paging, over loopback: raw sockets
 * to see the reference's codes as sent, and the SDK's getGroupMemberList. The caps are
 * set small in the app's settings so a handful of users reach them.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, GroupType } from '@confab/protocol';
import type { V2TIMManager } from '@confab/sdk';
import { RawClient } from './helpers/raw-client.js';
import { device, startTestServer } from './helpers/sdk-harness.js';

type Env = Awaited<ReturnType<typeof startTestServer>>;
let env: Env;
const clients: RawClient[] = [];
const sdks: V2TIMManager[] = [];
let run = 0;

before(async () => { env = await startTestServer({ purge: false }); });
after(async () => { await env.stop(); });
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const im of sdks.splice(0)) await im.logout().catch(() => undefined);
  await env.server.domain.apps.updateSettings(env.app.sdkAppID, { maxFriends: 3000, maxJoinedGroups: 1000, maxGroupMembers: 6000 });
});

/** Logged-in raw clients with fresh user IDs (each test gets its own users). */
async function users(...names: string[]): Promise<Record<string, RawClient & { userID: string }>> {
  run++;
  const out: Record<string, RawClient & { userID: string }> = {};
  for (const name of names) {
    const userID = `${name}-${run}`;
    const client = await RawClient.connect(env.server.wsUrl);
    clients.push(client);
    await client.login({ sdkAppID: env.app.sdkAppID, userID, userSig: await env.sig(userID), deviceID: `d-${userID}` });
    out[name] = Object.assign(client, { userID });
  }
  return out;
}

function caps(patch: { maxFriends?: number; maxJoinedGroups?: number; maxGroupMembers?: number }) {
  return env.server.domain.apps.updateSettings(env.app.sdkAppID, patch);
}

describe('friend caps', () => {
  test('30010 when the caller is full, 30014 when the peer is; removing a friend frees a place', async () => {
    await caps({ maxFriends: 2 });
    const u = await users('alice', 'bob', 'carol', 'dave');
    await u.alice!.ok('friend.add', { userID: u.bob!.userID });
    await u.alice!.ok('friend.add', { userID: u.carol!.userID });
    assert.equal((await u.alice!.fail('friend.add', { userID: u.dave!.userID })).code, ErrorCode.FRIEND_LIMIT);
    assert.equal((await u.dave!.fail('friend.add', { userID: u.alice!.userID })).code, ErrorCode.PEER_FRIEND_LIMIT);
    assert.equal((await u.alice!.ok('friend.add', { userID: u.bob!.userID, remark: 'B' })).friend!.friendRemark, 'B',
      'a remark change on an existing friend is not a new friendship');
    assert.deepEqual((await u.dave!.ok('friend.list', {})).friends, []);
    await u.alice!.ok('friend.delete', { userIDs: [u.carol!.userID] });
    await u.dave!.ok('friend.add', { userID: u.alice!.userID });
    assert.deepEqual((await u.alice!.ok('friend.list', {})).friends.map((f) => f.userID).sort(), [u.bob!.userID, u.dave!.userID].sort());
  });
});

describe('group caps', () => {
  test('10038 when a creation names more members than a group holds; 10014 when a join or invite finds it full', async () => {
    await caps({ maxGroupMembers: 3 });
    const u = await users('owner', 'a', 'b', 'c');
    const tooMany = await u.owner!.fail('group.create', { groupType: GroupType.PUBLIC, groupName: 'big', memberUserIDs: [u.a!.userID, u.b!.userID, u.c!.userID] });
    assert.equal(tooMany.code, ErrorCode.GROUP_MEMBER_LIMIT);
    const { group } = await u.owner!.ok('group.create', { groupType: GroupType.PUBLIC, groupName: 'g', memberUserIDs: [u.a!.userID] });
    assert.equal((await u.owner!.fail('group.invite', { groupID: group.groupID, userIDs: [u.b!.userID, u.c!.userID] })).code, ErrorCode.GROUP_FULL);
    await u.b!.ok('group.join', { groupID: group.groupID });
    assert.equal((await u.c!.fail('group.join', { groupID: group.groupID })).code, ErrorCode.GROUP_FULL);
    await u.b!.ok('group.leave', { groupID: group.groupID });
    assert.equal((await u.c!.ok('group.join', { groupID: group.groupID })).group.memberCount, 3, 'a member leaving frees the place');
  });

  test('10037 when a user is in as many groups as allowed: join and create fail, invite reports it per user', async () => {
    await caps({ maxJoinedGroups: 2 });
    const u = await users('owner', 'busy', 'free');
    const made: string[] = [];
    for (const name of ['g1', 'g2']) {
      made.push((await u.busy!.ok('group.create', { groupType: GroupType.PUBLIC, groupName: name })).group.groupID);
    }
    const { group: other } = await u.owner!.ok('group.create', { groupType: GroupType.PUBLIC, groupName: 'other' });
    assert.equal((await u.busy!.fail('group.join', { groupID: other.groupID })).code, ErrorCode.GROUP_JOIN_LIMIT);
    assert.equal((await u.busy!.fail('group.create', { groupType: GroupType.WORK, groupName: 'third' })).code, ErrorCode.GROUP_JOIN_LIMIT);
    assert.equal((await u.owner!.fail('group.create', { groupType: GroupType.WORK, groupName: 'w', memberUserIDs: [u.busy!.userID] })).code,
      ErrorCode.GROUP_JOIN_LIMIT);
    const { results } = await u.owner!.ok('group.invite', { groupID: other.groupID, userIDs: [u.busy!.userID, u.free!.userID] });
    assert.deepEqual(results.map((r) => [r.id, r.resultCode]), [[u.busy!.userID, ErrorCode.GROUP_JOIN_LIMIT], [u.free!.userID, 0]]);
    assert.deepEqual((await u.busy!.ok('group.joinedList', {})).groups.map((g) => g.groupID).sort(), [...made].sort());
    await u.busy!.ok('group.dismiss', { groupID: made[0]! });
    await u.busy!.ok('group.join', { groupID: other.groupID });
  });
});

describe('member paging', () => {
  test('group.members pages by nextSeq: everyone present throughout once, a leaver and a newcomer between pages', async () => {
    const u = await users('owner', 'm1', 'm2', 'm3', 'm4', 'm5', 'late');
    const ids = ['m1', 'm2', 'm3', 'm4', 'm5'].map((n) => u[n]!.userID);
    const { group } = await u.owner!.ok('group.create', { groupType: GroupType.PUBLIC, groupName: 'g', memberUserIDs: ids });
    const seen: string[] = [];
    let nextSeq = 0;
    for (let page = 0; page < 10; page++) {
      const res = await u.owner!.ok('group.members', { groupID: group.groupID, nextSeq, count: 2 });
      seen.push(...res.members.map((m) => m.userID));
      assert.equal(res.nextOffset, res.nextSeq, 'older clients read the same cursor as nextOffset');
      if (page === 0) {
        await u.m4!.ok('group.leave', { groupID: group.groupID });
        await u.late!.ok('group.join', { groupID: group.groupID });
      }
      if (res.isFinished) {
        assert.equal(res.nextSeq, 0, 'the end is nextSeq 0, as in the reference');
        break;
      }
      assert.ok(res.nextSeq > nextSeq);
      nextSeq = res.nextSeq;
    }
    assert.deepEqual(seen, [u.owner!.userID, ...ids.filter((id) => id !== u.m4!.userID), u.late!.userID], 'join order, each once');

    // An older client sends the cursor as `offset`.
    const first = await u.m1!.ok('group.members', { groupID: group.groupID, offset: 0, count: 3 });
    const rest = await u.m1!.ok('group.members', { groupID: group.groupID, offset: first.nextOffset, count: 10 });
    assert.deepEqual([...first.members, ...rest.members].map((m) => m.userID), seen);
    assert.equal(rest.isFinished, true);
  });

  test('the SDK\'s getGroupMemberList walks a group larger than its page by nextSeq', async () => {
    const u = await users('owner');
    const members = Array.from({ length: 230 }, (_, i) => `pm${String(i).padStart(3, '0')}-${run}`);
    for (const id of members) await env.server.domain.storage.accounts.ensure(env.app.sdkAppID, id, Date.now());
    const { group } = await u.owner!.ok('group.create', { groupType: GroupType.WORK, groupName: 'big' });
    for (let i = 0; i < members.length; i += 100) {
      await u.owner!.ok('group.invite', { groupID: group.groupID, userIDs: members.slice(i, i + 100) });
    }
    const d = device(env);
    sdks.push(d.im);
    await d.im.login(u.owner!.userID, await env.sig(u.owner!.userID));
    const listed: string[] = [];
    let nextSeq = 0;
    let pages = 0;
    do {
      const res = await d.im.getGroupManager().getGroupMemberList(group.groupID, 0, nextSeq);
      listed.push(...res.memberInfoList.map((m) => m.userID));
      nextSeq = res.nextSeq;
      pages++;
    } while (nextSeq !== 0 && pages < 10);
    assert.equal(pages, 3, '231 members at 100 a page');
    assert.deepEqual(listed, [u.owner!.userID, ...members]);
  });
});
