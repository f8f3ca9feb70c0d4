/**
 * Friend relations, blocklists and group administration: the storage conformance
 * suite's part for `RelationStore` and `GroupAdminStore` (`storage-conformance.ts` runs
 * it for every backend).
 */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupMemberRole, GroupType } from '@confab/protocol';
import { LimitReachedError, type Storage } from '../src/storage/types.js';

const APP = 1_400_000_001;
const T0 = 1_700_000_000_000;

export function relationConformance(get: () => Storage): void {
  let storage: Storage;
  beforeEach(() => {
    storage = get();
  });

  async function users(...ids: string[]): Promise<void> {
    for (const id of ids) await storage.accounts.ensure(APP, id, T0);
  }

  const pairs = (links: { userID: string; friendID: string }[]) => links.map((l) => `${l.userID}>${l.friendID}`).sort();

  test('links are directed: added one way, read both ways, removed one way', async () => {
    await users('alice', 'bob', 'carol');
    await storage.relations.addLinks(APP, [{ userID: 'alice', friendID: 'bob', remark: 'B' }], T0);
    assert.deepEqual(pairs(await storage.relations.links(APP, 'bob', ['alice'])), ['alice>bob']);
    assert.deepEqual((await storage.friends.page(APP, 'alice', 10)).map((f) => f.friendID), ['bob']);
    assert.deepEqual(await storage.friends.page(APP, 'bob', 10), [], 'one-way: bob\'s list is empty');
    await storage.relations.addLinks(APP, [{ userID: 'bob', friendID: 'alice', remark: '' }, { userID: 'alice', friendID: 'bob', remark: 'Bobby' }], T0 + 5);
    const links = await storage.relations.links(APP, 'alice', ['bob', 'carol']);
    assert.deepEqual(pairs(links), ['alice>bob', 'bob>alice']);
    const mine = links.find((l) => l.userID === 'alice')!;
    assert.equal(mine.remark, 'Bobby');
    assert.equal(mine.addedAt, T0, 'an existing link keeps its add time');
    assert.deepEqual(pairs(await storage.relations.removeLinks(APP, [{ userID: 'bob', friendID: 'alice' }, { userID: 'carol', friendID: 'alice' }])), ['bob>alice']);
    assert.deepEqual(pairs(await storage.relations.links(APP, 'alice', ['bob'])), ['alice>bob']);
  });

  test('a link past maxFriends throws and writes nothing, application included', async () => {
    await users('alice', 'bob', 'carol');
    await storage.relations.addLinks(APP, [{ userID: 'alice', friendID: 'bob', remark: '' }], T0);
    await storage.relations.putApplication(APP, { toID: 'alice', fromID: 'carol', addWording: 'hi', addSource: '', remark: '', addType: 2, addTime: T0, isRead: false });
    await assert.rejects(
      storage.relations.addLinks(APP, [{ userID: 'carol', friendID: 'alice', remark: '' }, { userID: 'alice', friendID: 'carol', remark: '' }], T0, 1, { toID: 'alice', fromID: 'carol' }),
      (err: unknown) => err instanceof LimitReachedError && err.userID === 'alice');
    assert.deepEqual(pairs(await storage.relations.links(APP, 'carol', ['alice'])), [], 'the first link of the call was rolled back');
    assert.ok(await storage.relations.application(APP, 'alice', 'carol'), 'the application is still there');
    await storage.relations.addLinks(APP, [{ userID: 'carol', friendID: 'alice', remark: '' }], T0, 1, { toID: 'alice', fromID: 'carol' });
    assert.equal(await storage.relations.application(APP, 'alice', 'carol'), undefined, 'accepting consumes the application');
  });

  test('custom fields merge and an empty value deletes a key; allowType defaults to absent', async () => {
    await users('alice', 'bob');
    await storage.relations.addLinks(APP, [{ userID: 'alice', friendID: 'bob', remark: '' }], T0);
    assert.equal(await storage.relations.updateLink(APP, 'alice', 'bob', { custom: { a: '1', b: '2' } }), true);
    assert.equal(await storage.relations.updateLink(APP, 'alice', 'bob', { remark: 'R', custom: { a: '' } }), true);
    const [link] = await storage.relations.links(APP, 'alice', ['bob']);
    assert.deepEqual([link!.remark, link!.custom], ['R', { b: '2' }]);
    assert.equal(await storage.relations.updateLink(APP, 'bob', 'alice', { remark: 'x' }), false);
    assert.deepEqual([...await storage.relations.allowTypes(APP, ['alice'])], []);
    await storage.relations.setAllowType(APP, 'alice', 1);
    await storage.relations.setAllowType(APP, 'alice', 2);
    assert.deepEqual([...await storage.relations.allowTypes(APP, ['alice', 'bob'])], [['alice', 2]]);
  });

  test('applications page by direction and are marked read', async () => {
    await users('alice', 'bob', 'carol', 'dave');
    for (const [i, from] of ['dave', 'bob', 'carol'].entries()) {
      await storage.relations.putApplication(APP, { toID: 'alice', fromID: from, addWording: `w${i}`, addSource: 's', remark: '', addType: 2, addTime: T0 + i, isRead: false });
    }
    await storage.relations.putApplication(APP, { toID: 'dave', fromID: 'alice', addWording: '', addSource: '', remark: 'D', addType: 1, addTime: T0, isRead: false });
    const first = await storage.relations.applicationPage(APP, 'alice', 'to', 2);
    assert.deepEqual(first.map((a) => a.fromID), ['bob', 'carol']);
    assert.deepEqual((await storage.relations.applicationPage(APP, 'alice', 'to', 2, 'carol')).map((a) => a.fromID), ['dave']);
    assert.deepEqual((await storage.relations.applicationPage(APP, 'alice', 'from', 10)).map((a) => [a.toID, a.remark, a.addType]), [['dave', 'D', 1]]);
    await storage.relations.markApplicationsRead(APP, 'alice');
    assert.ok((await storage.relations.applicationPage(APP, 'alice', 'to', 10)).every((a) => a.isRead));
    assert.equal((await storage.relations.applicationPage(APP, 'dave', 'to', 10))[0]!.isRead, false, 'only the user\'s own are marked');
    assert.equal(await storage.relations.deleteApplication(APP, 'alice', 'bob'), true);
    assert.equal(await storage.relations.deleteApplication(APP, 'alice', 'bob'), false);
  });

  test('blocking ends the friendship both ways and drops applications; unblocking only removes the entry', async () => {
    await users('alice', 'bob', 'carol');
    await storage.relations.addLinks(APP, [{ userID: 'alice', friendID: 'bob', remark: '' }, { userID: 'bob', friendID: 'alice', remark: '' }], T0);
    await storage.relations.putApplication(APP, { toID: 'alice', fromID: 'bob', addWording: '', addSource: '', remark: '', addType: 2, addTime: T0, isRead: false });
    const { added, unlinked } = await storage.relations.block(APP, 'alice', ['bob', 'carol', 'bob'], T0 + 1);
    assert.deepEqual(added.sort(), ['bob', 'carol']);
    assert.deepEqual(pairs(unlinked), ['alice>bob', 'bob>alice']);
    assert.equal(await storage.relations.application(APP, 'alice', 'bob'), undefined);
    assert.equal(await storage.relations.isBlocked(APP, 'alice', 'bob'), true);
    assert.equal(await storage.relations.isBlocked(APP, 'bob', 'alice'), false, 'blocking is one-way');
    assert.deepEqual((await storage.relations.block(APP, 'alice', ['bob'], T0 + 2)).added, [], 'already blocked');
    assert.deepEqual((await storage.relations.blockPage(APP, 'alice', 1)).map((b) => [b.blockedID, b.addedAt]), [['bob', T0 + 1]]);
    assert.deepEqual((await storage.relations.blockPage(APP, 'alice', 5, 'bob')).map((b) => b.blockedID), ['carol']);
    assert.deepEqual(await storage.relations.unblock(APP, 'alice', ['bob', 'dave']), ['bob']);
    assert.equal(await storage.relations.isBlocked(APP, 'alice', 'bob'), false);
    assert.deepEqual(await storage.relations.links(APP, 'alice', ['bob']), [], 'unblocking does not restore the friendship');
  });

  test('group info, roles, ownership, mutes and member fields', async () => {
    await users('owner', 'm1', 'm2');
    await storage.groups.create(APP, { groupID: 'g', groupType: GroupType.PUBLIC, groupName: 'G', faceUrl: '', introduction: '', notification: '', owner: 'owner', createdAt: T0 }, ['m1', 'm2'], T0);
    assert.equal(await storage.groupAdmin.updateInfo(APP, 'g', { groupName: 'G2', notification: 'n', addOpt: 1, allMuted: true }), true);
    let group = (await storage.groups.get(APP, 'g'))!;
    assert.deepEqual([group.groupName, group.notification, group.introduction, group.addOpt, group.allMuted], ['G2', 'n', '', 1, true]);
    await storage.groupAdmin.updateInfo(APP, 'g', { allMuted: false });
    assert.equal((await storage.groups.get(APP, 'g'))!.allMuted ?? false, false);
    assert.equal(await storage.groupAdmin.updateInfo(APP, 'nope', { groupName: 'x' }), false);

    assert.equal(await storage.groupAdmin.setRole(APP, 'g', 'm1', GroupMemberRole.ADMIN), true);
    assert.equal(await storage.groupAdmin.setRole(APP, 'g', 'outsider', GroupMemberRole.ADMIN), false);
    assert.deepEqual(await storage.groupAdmin.admins(APP, 'g', 10), ['owner', 'm1']);
    assert.equal(await storage.groupAdmin.transferOwner(APP, 'g', 'owner', 'm2'), true);
    group = (await storage.groups.get(APP, 'g'))!;
    assert.equal(group.owner, 'm2');
    const roles = await storage.groupAdmin.memberInfos(APP, 'g', ['owner', 'm2', 'outsider']);
    assert.deepEqual(roles.map((m) => [m.userID, m.role]), [['owner', GroupMemberRole.MEMBER], ['m2', GroupMemberRole.OWNER]]);
    assert.equal(await storage.groupAdmin.transferOwner(APP, 'g', 'm2', 'outsider'), false);
    assert.equal((await storage.groups.get(APP, 'g'))!.owner, 'm2', 'a failed transfer changes nothing');

    assert.equal(await storage.groupAdmin.mute(APP, 'g', 'owner', T0 + 60_000), true);
    assert.equal((await storage.groups.member(APP, 'g', 'owner'))!.muteUntil, T0 + 60_000, 'the member read of the send path carries the mute');
    await storage.groupAdmin.mute(APP, 'g', 'owner', 0);
    assert.equal((await storage.groups.member(APP, 'g', 'owner'))!.muteUntil ?? 0, 0);

    assert.equal(await storage.groupAdmin.setMemberInfo(APP, 'g', 'm1', { nameCard: 'One', custom: { k: 'v', j: 'w' } }), true);
    await storage.groupAdmin.setMemberInfo(APP, 'g', 'm1', { custom: { j: '' } });
    const [m1] = await storage.groupAdmin.memberInfos(APP, 'g', ['m1']);
    assert.deepEqual([m1!.nameCard, m1!.custom], ['One', { k: 'v' }]);
    assert.equal((await storage.groups.memberPage(APP, 'g', 0, 10)).find((m) => m.userID === 'm1')!.nameCard, 'One');
    await storage.groups.removeMember(APP, 'g', 'm1', T0 + 1);
    assert.equal(await storage.groupAdmin.setMemberInfo(APP, 'g', 'm1', { nameCard: 'gone' }), false);
  });

  test('join applications are listed to the owner and admins of their groups only', async () => {
    await users('owner', 'admin', 'member', 'applicant', 'other');
    const group = (id: string) => ({ groupID: id, groupType: GroupType.PUBLIC, groupName: id, faceUrl: '', introduction: '', notification: '', owner: 'owner', createdAt: T0 });
    await storage.groups.create(APP, group('g1'), ['admin', 'member'], T0);
    await storage.groups.create(APP, group('g2'), [], T0);
    await storage.groupAdmin.setRole(APP, 'g1', 'admin', GroupMemberRole.ADMIN);
    await storage.groupAdmin.putApplication(APP, { groupID: 'g1', fromID: 'applicant', message: 'hi', addTime: T0 + 1 });
    await storage.groupAdmin.putApplication(APP, { groupID: 'g2', fromID: 'other', message: 'yo', addTime: T0 + 2 });
    assert.deepEqual((await storage.groupAdmin.applicationsFor(APP, 'owner', 10)).map((a) => [a.groupID, a.fromID]), [['g1', 'applicant'], ['g2', 'other']]);
    assert.deepEqual((await storage.groupAdmin.applicationsFor(APP, 'admin', 10)).map((a) => a.groupID), ['g1']);
    assert.deepEqual(await storage.groupAdmin.applicationsFor(APP, 'member', 10), []);
    assert.equal((await storage.groupAdmin.application(APP, 'g1', 'applicant'))!.message, 'hi');
    assert.equal(await storage.groupAdmin.deleteApplication(APP, 'g1', 'applicant'), true);
    assert.equal(await storage.groupAdmin.deleteApplication(APP, 'g1', 'applicant'), false);
  });
}
