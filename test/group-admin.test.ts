import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ErrorCode, GroupType, V2TIMGroupAddOpt, V2TIMGroupInfoChangeType, V2TIMGroupMemberRole,
  type V2TIMGroupChangeInfo, type V2TIMGroupMemberChangeInfo, type V2TIMGroupMemberInfo, type V2TIMManager,
} from '@confab/sdk';
import { device, startTestServer, waitFor } from './helpers/sdk-harness.js';

type Env = Awaited<ReturnType<typeof startTestServer>>;
let env: Env;
const open: V2TIMManager[] = [];

before(async () => { env = await startTestServer(); });
after(async () => { await env.stop(); });
afterEach(async () => {
  for (const im of open.splice(0)) await im.logout().catch(() => undefined);
});

interface GroupEvents {
  infoChanged: { groupID: string; changes: V2TIMGroupChangeInfo[] }[];
  granted: { groupID: string; opUser: V2TIMGroupMemberInfo; members: string[] }[];
  revoked: { groupID: string; opUser: V2TIMGroupMemberInfo; members: string[] }[];
  memberInfo: V2TIMGroupMemberChangeInfo[];
  kicked: { opUser: V2TIMGroupMemberInfo | null; members: string[] }[];
  dismissed: (V2TIMGroupMemberInfo | null)[];
  applications: { groupID: string; member: string; reason: string }[];
  processed: { groupID: string; opUser: string; agreed: boolean; reason: string }[];
}

async function deviceOf(userID: string, deviceID: string) {
  const d = device(env, { deviceID });
  open.push(d.im);
  const ev: GroupEvents = { infoChanged: [], granted: [], revoked: [], memberInfo: [], kicked: [], dismissed: [], applications: [], processed: [] };
  d.im.getGroupManager().addGroupListener({
    onGroupInfoChanged: (groupID, changes) => ev.infoChanged.push({ groupID, changes }),
    onGrantAdministrator: (groupID, opUser, list) => ev.granted.push({ groupID, opUser, members: list.map((m) => m.userID) }),
    onRevokeAdministrator: (groupID, opUser, list) => ev.revoked.push({ groupID, opUser, members: list.map((m) => m.userID) }),
    onMemberInfoChanged: (_g, list) => ev.memberInfo.push(...list),
    onMemberKicked: (_g, opUser, list) => ev.kicked.push({ opUser, members: list.map((m) => m.userID) }),
    onGroupDismissed: (_g, opUser) => ev.dismissed.push(opUser),
    onReceiveJoinApplication: (groupID, member, reason) => ev.applications.push({ groupID, member: member.userID, reason }),
    onApplicationProcessed: (groupID, opUser, agreed, reason) => ev.processed.push({ groupID, opUser: opUser.userID, agreed, reason }),
  });
  await d.im.login(userID, await env.sig(userID));
  return { ...d, gm: d.im.getGroupManager(), ev };
}

async function user(userID: string) {
  return [await deviceOf(userID, `${userID}-phone`), await deviceOf(userID, `${userID}-laptop`)] as const;
}

describe('group administration as the reference has it', () => {
  test('setGroupInfo reaches every member\'s devices as onGroupInfoChanged', async () => {
    const [o1, o2] = await user('gi-owner');
    const [m1, m2] = await user('gi-member');
    const groupID = await o1.gm.createGroup({ groupType: GroupType.PUBLIC, groupName: 'club' }, [{ userID: 'gi-member' }]);
    await o1.gm.setGroupInfo({ groupID, groupName: 'the club', notification: 'be nice', introduction: 'a club', faceUrl: 'https://x/y.png' });
    for (const d of [o2, m1, m2]) {
      await waitFor(() => d.ev.infoChanged.find((e) => e.groupID === groupID), 'onGroupInfoChanged');
    }
    const types = m2.ev.infoChanged[0]!.changes.map((c) => c.type).sort();
    assert.deepEqual(types, [V2TIMGroupInfoChangeType.NAME, V2TIMGroupInfoChangeType.INTRODUCTION, V2TIMGroupInfoChangeType.NOTIFICATION, V2TIMGroupInfoChangeType.FACE_URL].sort());
    assert.equal(m2.ev.infoChanged[0]!.changes.find((c) => c.type === V2TIMGroupInfoChangeType.NAME)!.value, 'the club');
    const [info] = await m1.gm.getGroupsInfo([groupID]);
    assert.equal(info!.info!.groupName, 'the club');
    assert.equal(info!.info!.notification, 'be nice');
    await assert.rejects(m1.gm.setGroupInfo({ groupID, groupName: 'mine now' }), { code: ErrorCode.GROUP_PERMISSION_DENIED },
      'a plain member of a Public group may not change its info');
  });

  test('roles and ownership: grant, revoke and transfer callbacks name the operator', async () => {
    const [o1, o2] = await user('gr-owner');
    const [a1, a2] = await user('gr-admin');
    const [c1] = await user('gr-carol');
    const groupID = await o1.gm.createGroup({ groupType: GroupType.PUBLIC, groupName: 'roles' }, [{ userID: 'gr-admin' }, { userID: 'gr-carol' }]);
    await o1.gm.setGroupMemberRole(groupID, 'gr-admin', V2TIMGroupMemberRole.ADMIN);
    for (const d of [o2, a1, a2, c1]) {
      const e = await waitFor(() => d.ev.granted.find((x) => x.groupID === groupID), 'onGrantAdministrator');
      assert.equal(e.opUser.userID, 'gr-owner');
      assert.deepEqual(e.members, ['gr-admin']);
    }
    assert.equal((await c1.gm.getGroupMembersInfo(groupID, ['gr-admin']))[0]!.role, V2TIMGroupMemberRole.ADMIN);
    await assert.rejects(a1.gm.setGroupMemberRole(groupID, 'gr-carol', V2TIMGroupMemberRole.ADMIN), { code: ErrorCode.GROUP_PERMISSION_DENIED },
      'only the owner sets roles');
    // An admin may kick a plain member; the callback names the admin.
    await a1.gm.kickGroupMember(groupID, ['gr-carol'], '');
    const kick = await waitFor(() => o2.ev.kicked[0], 'onMemberKicked');
    assert.equal(kick.opUser?.userID, 'gr-admin');
    assert.deepEqual(kick.members, ['gr-carol']);

    await o1.gm.setGroupMemberRole(groupID, 'gr-admin', V2TIMGroupMemberRole.MEMBER);
    const revoke = await waitFor(() => a2.ev.revoked.find((x) => x.groupID === groupID), 'onRevokeAdministrator');
    assert.equal(revoke.opUser.userID, 'gr-owner');

    await o1.gm.transferGroupOwner(groupID, 'gr-admin');
    const owner = await waitFor(() => a2.ev.infoChanged.find((e) => e.changes.some((c) => c.type === V2TIMGroupInfoChangeType.OWNER)), 'owner change');
    assert.equal(owner.changes[0]!.value, 'gr-admin');
    assert.equal((await o1.gm.getGroupsInfo([groupID]))[0]!.info!.owner, 'gr-admin');
    const roles = await o1.gm.getGroupMembersInfo(groupID, ['gr-owner', 'gr-admin']);
    assert.deepEqual(roles.map((m) => [m.userID, m.role]), [['gr-owner', V2TIMGroupMemberRole.MEMBER], ['gr-admin', V2TIMGroupMemberRole.OWNER]]);
    await assert.rejects(o1.gm.transferGroupOwner(groupID, 'gr-owner'), { code: ErrorCode.GROUP_PERMISSION_DENIED }, 'the former owner no longer may');
    await a1.im.dismissGroup(groupID);
    const dismissedBy = await waitFor(() => o2.ev.dismissed[0], 'onGroupDismissed');
    assert.equal(dismissedBy.userID, 'gr-admin');
  });

  test('a muted member is refused with 10017 until the mute ends; mute-all holds members but not admins', async () => {
    const [o1] = await user('gm-owner');
    const [m1, m2] = await user('gm-member');
    const groupID = await o1.gm.createGroup({ groupType: GroupType.WORK, groupName: 'quiet' }, [{ userID: 'gm-member' }]);
    const send = (d: typeof m1, text: string) => d.im.sendGroupTextMessage(text, groupID);
    await send(m1, 'before');
    const MUTE_SECONDS = 3;
    await o1.gm.muteGroupMember(groupID, 'gm-member', MUTE_SECONDS);
    const change = await waitFor(() => m2.ev.memberInfo.find((c) => c.userID === 'gm-member'), 'onMemberInfoChanged');
    assert.equal(change.muteTime, MUTE_SECONDS);
    const [info] = await m1.gm.getGroupMembersInfo(groupID, ['gm-member']);
    assert.ok(info!.muteUntil! * 1000 > Date.now(), 'muteUntil is in the future');
    await assert.rejects(send(m1, 'muted'), { code: ErrorCode.GROUP_MEMBER_MUTED });
    await assert.rejects(send(m2, 'muted too'), { code: ErrorCode.GROUP_MEMBER_MUTED }, 'on every device');
    // Wait past the end without asserting how precisely it ends.
    await sleep(MUTE_SECONDS * 1000 + 500);
    await waitFor(async () => (await send(m1, 'free again').then(() => true, () => false)), 'the mute ended', 15_000);

    await o1.gm.muteGroupMember(groupID, 'gm-member', 600);
    await o1.gm.muteGroupMember(groupID, 'gm-member', 0);
    await send(m1, 'unmuted by 0');

    await o1.gm.setGroupInfo({ groupID, isAllMuted: true });
    const allMuted = await waitFor(() => m2.ev.infoChanged.find((e) => e.changes.some((c) => c.type === V2TIMGroupInfoChangeType.SHUT_UP_ALL)), 'mute-all heard');
    assert.equal(allMuted.changes[0]!.boolValue, true);
    await assert.rejects(send(m1, 'all muted'), { code: ErrorCode.GROUP_MEMBER_MUTED });
    await o1.im.sendGroupTextMessage('the owner speaks', groupID);
    await o1.gm.setGroupInfo({ groupID, isAllMuted: false });
    await send(m1, 'after mute-all');
    await assert.rejects(m1.gm.muteGroupMember(groupID, 'gm-owner', 60), { code: ErrorCode.GROUP_PERMISSION_DENIED });
  });

  test('join applications on a group that needs approval: accepted and refused, with both callbacks', async () => {
    const [o1, o2] = await user('ga-owner');
    const [b1, b2] = await user('ga-bob');
    const [c1] = await user('ga-carol');
    const groupID = await o1.gm.createGroup({ groupType: GroupType.PUBLIC, groupName: 'approval' }, null);
    await o1.gm.setGroupInfo({ groupID, groupAddOpt: V2TIMGroupAddOpt.AUTH });
    await b1.im.joinGroup(groupID, 'let me in');
    const heard = await waitFor(() => o2.ev.applications.find((a) => a.member === 'ga-bob'), 'onReceiveJoinApplication');
    assert.equal(heard.reason, 'let me in');
    await assert.rejects(b1.im.sendGroupTextMessage('not yet', groupID), { code: ErrorCode.GROUP_PERMISSION_DENIED }, 'an applicant is not a member');
    const list = await o1.gm.getGroupApplicationList();
    const fromBob = list.groupApplicationList.find((a) => a.fromUser === 'ga-bob')!;
    assert.equal(fromBob.requestMsg, 'let me in');
    await o1.gm.acceptGroupApplication(fromBob, 'welcome');
    const processed = await waitFor(() => b2.ev.processed.find((p) => p.groupID === groupID), 'onApplicationProcessed');
    assert.deepEqual(processed, { groupID, opUser: 'ga-owner', agreed: true, reason: 'welcome' });
    await b1.im.sendGroupTextMessage('I am in', groupID);
    await assert.rejects(o1.gm.acceptGroupApplication(fromBob, ''), { code: ErrorCode.GROUP_REQUEST_HANDLED });

    await c1.im.joinGroup(groupID, 'me too');
    const fromCarol = await waitFor(async () => (await o1.gm.getGroupApplicationList()).groupApplicationList.find((a) => a.fromUser === 'ga-carol'), 'carol\'s application');
    await o1.gm.refuseGroupApplication(fromCarol, 'full');
    const refused = await waitFor(() => c1.ev.processed.find((p) => p.groupID === groupID), 'carol hears the refusal');
    assert.equal(refused.agreed, false);
    await assert.rejects(c1.im.sendGroupTextMessage('no', groupID), { code: ErrorCode.GROUP_PERMISSION_DENIED });

    await o1.gm.setGroupInfo({ groupID, groupAddOpt: V2TIMGroupAddOpt.FORBID });
    await assert.rejects(c1.im.joinGroup(groupID, ''), { code: ErrorCode.GROUP_PERMISSION_DENIED });
  });

  test('a non-member sees nothing of a Work group and a Public group without its notification', async () => {
    const [o1] = await user('gn-owner');
    const [x1] = await user('gn-outsider');
    const work = await o1.gm.createGroup({ groupType: GroupType.WORK, groupName: 'secret', notification: 'members only' }, null);
    const pub = await o1.gm.createGroup({ groupType: GroupType.PUBLIC, groupName: 'open', notification: 'members only', introduction: 'hello all' }, null);
    const [w, p] = await x1.gm.getGroupsInfo([work, pub]);
    assert.equal(w!.resultCode, ErrorCode.GROUP_PERMISSION_DENIED);
    assert.equal(w!.info, null);
    assert.equal(p!.resultCode, 0);
    assert.equal(p!.info!.groupName, 'open');
    assert.equal(p!.info!.introduction, 'hello all');
    assert.equal(p!.info!.notification, '', 'the notification is for members');
    await assert.rejects(x1.gm.getGroupMembersInfo(pub, ['gn-owner']), { code: ErrorCode.GROUP_PERMISSION_DENIED });
    const mine = await o1.gm.getGroupsInfo([work]);
    assert.equal(mine[0]!.info!.notification, 'members only');
    await o1.im.dismissGroup(work);
    assert.equal((await o1.gm.getGroupsInfo([work]))[0]!.info!.dismissed, true, 'a former member still sees a dismissed group');
    assert.equal((await x1.gm.getGroupsInfo([work]))[0]!.resultCode, ErrorCode.GROUP_PERMISSION_DENIED, 'an outsider does not');
  });

  test('member name card and custom fields', async () => {
    const [o1] = await user('gc-owner');
    const [m1] = await user('gc-member');
    const groupID = await o1.gm.createGroup({ groupType: GroupType.WORK, groupName: 'cards' }, [{ userID: 'gc-member' }]);
    await m1.gm.setGroupMemberInfo(groupID, { userID: 'gc-member', nameCard: 'Mo', customInfo: { team: 'blue' } });
    const [info] = await o1.gm.getGroupMembersInfo(groupID, ['gc-member']);
    assert.equal(info!.nameCard, 'Mo');
    assert.deepEqual(info!.customInfo, { team: 'blue' });
    await assert.rejects(m1.gm.setGroupMemberInfo(groupID, { userID: 'gc-owner', nameCard: 'Boss' }), { code: ErrorCode.GROUP_PERMISSION_DENIED });
    const page = await o1.gm.getGroupMemberList(groupID, 0, 0);
    assert.equal(page.memberInfoList.find((m) => m.userID === 'gc-member')!.nameCard, 'Mo');
  });
});
