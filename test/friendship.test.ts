import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErrorCode, V2TIMFriendAcceptType, V2TIMFriendAllowType, V2TIMFriendApplicationType, V2TIMFriendRelationType, V2TIMFriendType,
  type V2TIMFriendApplication, type V2TIMFriendInfo, type V2TIMManager,
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

interface FriendEvents {
  added: V2TIMFriendInfo[]; deleted: string[]; appsAdded: V2TIMFriendApplication[]; appsDeleted: string[]; appsRead: number;
  blackAdded: V2TIMFriendInfo[]; blackDeleted: string[]; infoChanged: V2TIMFriendInfo[];
}

/** One device of a user, with its friendship listener's events. */
async function deviceOf(userID: string, deviceID: string) {
  const d = device(env, { deviceID });
  open.push(d.im);
  const ev: FriendEvents = { added: [], deleted: [], appsAdded: [], appsDeleted: [], appsRead: 0, blackAdded: [], blackDeleted: [], infoChanged: [] };
  d.im.getFriendshipManager().addFriendListener({
    onFriendListAdded: (l) => ev.added.push(...l),
    onFriendListDeleted: (l) => ev.deleted.push(...l),
    onFriendApplicationListAdded: (l) => ev.appsAdded.push(...l),
    onFriendApplicationListDeleted: (l) => ev.appsDeleted.push(...l),
    onFriendApplicationListRead: () => { ev.appsRead++; },
    onBlackListAdded: (l) => ev.blackAdded.push(...l),
    onBlackListDeleted: (l) => ev.blackDeleted.push(...l),
    onFriendInfoChanged: (l) => ev.infoChanged.push(...l),
  });
  await d.im.login(userID, await env.sig(userID));
  return { ...d, fm: d.im.getFriendshipManager(), ev };
}

/** A user logged in on two devices. */
async function user(userID: string) {
  return [await deviceOf(userID, `${userID}-phone`), await deviceOf(userID, `${userID}-laptop`)] as const;
}

const ids = (l: { userID: string }[]) => l.map((x) => x.userID).sort();

describe('friendship as the reference has it', () => {
  test('an allow-any peer is added at once; SINGLE adds one way, BOTH both ways; delete SINGLE leaves the other half', async () => {
    const [a1, a2] = await user('fa-alice');
    const [b1] = await user('fa-bob');
    const [c1] = await user('fa-carol');
    const single = await a1.fm.addFriend({ userID: 'fa-bob', addType: V2TIMFriendType.SINGLE, friendRemark: 'B' });
    assert.equal(single.resultCode, 0);
    assert.deepEqual(ids(await a1.fm.getFriendList()), ['fa-bob']);
    assert.deepEqual(ids(await b1.fm.getFriendList()), [], 'a one-way add leaves the peer\'s list alone');
    await waitFor(() => a2.ev.added.some((f) => f.userID === 'fa-bob' && f.friendRemark === 'B'), 'alice\'s other device hears of the add');
    const check = await b1.fm.checkFriend(['fa-alice'], V2TIMFriendType.BOTH);
    assert.equal(check[0]!.resultType, V2TIMFriendRelationType.IN_OTHER_FRIEND_LIST);

    await a1.fm.addFriend({ userID: 'fa-carol', addType: V2TIMFriendType.BOTH });
    assert.deepEqual(ids(await c1.fm.getFriendList()), ['fa-alice']);
    assert.equal((await a1.fm.checkFriend(['fa-carol']))[0]!.resultType, V2TIMFriendRelationType.BOTH_WAY);

    const removed = await c1.fm.deleteFromFriendList(['fa-alice'], V2TIMFriendType.SINGLE);
    assert.equal(removed[0]!.resultCode, 0);
    assert.deepEqual(ids(await c1.fm.getFriendList()), []);
    assert.deepEqual(ids(await a1.fm.getFriendList()), ['fa-bob', 'fa-carol'], 'a one-way delete leaves alice\'s half');
    await a1.fm.deleteFromFriendList(['fa-bob'], V2TIMFriendType.BOTH);
    assert.deepEqual(ids(await a1.fm.getFriendList()), ['fa-carol']);
    await waitFor(() => a2.ev.deleted.includes('fa-bob'), 'alice\'s other device hears of the delete');
    assert.equal((await a1.fm.deleteFromFriendList(['fa-bob'], V2TIMFriendType.BOTH))[0]!.resultCode, ErrorCode.NOT_FRIENDS);
  });

  test('need-confirm: the add becomes an application, accepted one-way (AGREE) or two-way (AGREE_AND_ADD), on every device', async () => {
    const [a1, a2] = await user('fc-alice');
    const [b1, b2] = await user('fc-bob');
    const [c1] = await user('fc-carol');
    await a1.im.setSelfInfo({ allowType: V2TIMFriendAllowType.NEED_CONFIRM });
    assert.equal((await b1.im.getUsersInfo(['fc-alice']))[0]!.allowType, V2TIMFriendAllowType.NEED_CONFIRM);

    const pending = await b1.fm.addFriend({ userID: 'fc-alice', addWording: 'hi, it is bob', addSource: 'AddSource_Type_Test' });
    assert.equal(pending.resultCode, ErrorCode.FRIEND_APPLICATION_PENDING);
    assert.deepEqual(ids(await b1.fm.getFriendList()), [], 'nothing is added before alice answers');
    await waitFor(() => a2.ev.appsAdded.some((x) => x.userID === 'fc-bob' && x.type === V2TIMFriendApplicationType.COME_IN), 'alice\'s second device hears of the application');
    await waitFor(() => b2.ev.appsAdded.some((x) => x.userID === 'fc-alice' && x.type === V2TIMFriendApplicationType.SEND_OUT), 'bob\'s second device sees what he sent');
    const list = await a1.fm.getFriendApplicationList();
    assert.equal(list.unreadCount, 1);
    const fromBob = list.friendApplicationList.find((x) => x.userID === 'fc-bob')!;
    assert.equal(fromBob.addWording, 'hi, it is bob');
    assert.equal(fromBob.addSource, 'AddSource_Type_Test');
    await a1.fm.setFriendApplicationRead();
    assert.equal((await a1.fm.getFriendApplicationList()).unreadCount, 0);
    await waitFor(() => a2.ev.appsRead > 0, 'the read mark reaches the other device');

    // One-way: bob gets alice in his list; alice does not get bob.
    await a1.fm.acceptFriendApplication(fromBob, V2TIMFriendAcceptType.AGREE);
    assert.deepEqual(ids(await b1.fm.getFriendList()), ['fc-alice']);
    assert.deepEqual(ids(await a1.fm.getFriendList()), []);
    await waitFor(() => b2.ev.added.some((f) => f.userID === 'fc-alice'), 'bob\'s other device hears alice was added');
    await waitFor(() => a2.ev.appsDeleted.includes('fc-bob'), 'the handled application leaves alice\'s other device');
    assert.equal((await a1.fm.getFriendApplicationList()).friendApplicationList.length, 0);

    // Two-way: carol and alice both get each other.
    await c1.fm.addFriend({ userID: 'fc-alice', addType: V2TIMFriendType.BOTH });
    const fromCarol = (await a1.fm.getFriendApplicationList()).friendApplicationList.find((x) => x.userID === 'fc-carol')!;
    await a1.fm.acceptFriendApplication(fromCarol, V2TIMFriendAcceptType.AGREE_AND_ADD);
    assert.deepEqual(ids(await c1.fm.getFriendList()), ['fc-alice']);
    assert.deepEqual(ids(await a1.fm.getFriendList()), ['fc-carol']);
    await waitFor(() => a2.ev.added.some((f) => f.userID === 'fc-carol'), 'alice\'s other device hears carol was added');
    await assert.rejects(a1.fm.acceptFriendApplication(fromCarol, V2TIMFriendAcceptType.AGREE), { code: ErrorCode.FRIEND_APPLICATION_NOT_FOUND });

    // Refused and deleted applications.
    await b1.fm.deleteFromFriendList(['fc-alice'], V2TIMFriendType.BOTH);
    await b1.fm.addFriend({ userID: 'fc-alice' });
    const again = (await a1.fm.getFriendApplicationList()).friendApplicationList.find((x) => x.userID === 'fc-bob')!;
    await a1.fm.refuseFriendApplication(again);
    assert.deepEqual(ids(await b1.fm.getFriendList()), []);
    await waitFor(() => b2.ev.appsDeleted.includes('fc-alice'), 'bob hears his application is gone');

    await a1.im.setSelfInfo({ allowType: V2TIMFriendAllowType.DENY_ANY });
    assert.equal((await b1.fm.addFriend({ userID: 'fc-alice' })).resultCode, ErrorCode.FRIEND_PEER_DENIES_ALL);
  });

  test('friend info: remark and custom fields, read back and synced', async () => {
    const [a1, a2] = await user('fi-alice');
    await user('fi-bob');
    await a1.fm.addFriend({ userID: 'fi-bob' });
    await a1.fm.setFriendInfo({ userID: 'fi-bob', friendRemark: 'Bobby', friendCustomInfo: { Tag_SNS_Custom_Level: 'gold' } });
    const [info] = await a1.fm.getFriendsInfo(['fi-bob']);
    assert.equal(info!.relation, V2TIMFriendRelationType.BOTH_WAY);
    assert.equal(info!.friendInfo.friendRemark, 'Bobby');
    assert.deepEqual(info!.friendInfo.friendCustomInfo, { Tag_SNS_Custom_Level: 'gold' });
    await waitFor(() => a2.ev.infoChanged.some((f) => f.friendRemark === 'Bobby'), 'the other device hears onFriendInfoChanged');
    await assert.rejects(a1.fm.setFriendInfo({ userID: 'fi-nobody', friendRemark: 'x' }), { code: ErrorCode.NOT_FRIENDS });
  });

  test('a blocked user\'s one-to-one messages are refused with 20007; unblocking lets them through', async () => {
    const [a1, a2] = await user('fb-alice');
    const [b1] = await user('fb-bob');
    await a1.fm.addFriend({ userID: 'fb-bob' });
    await b1.im.sendC2CTextMessage('before', 'fb-alice');
    const blocked = await a1.fm.addToBlackList(['fb-bob']);
    assert.equal(blocked[0]!.resultCode, 0);
    assert.deepEqual(ids(await a1.fm.getBlackList()), ['fb-bob']);
    await waitFor(() => a2.ev.blackAdded.some((f) => f.userID === 'fb-bob'), 'the other device hears onBlackListAdded');
    assert.deepEqual(ids(await a1.fm.getFriendList()), [], 'blocking ends the friendship, as the reference does');
    assert.deepEqual(ids(await b1.fm.getFriendList()), []);

    await assert.rejects(b1.im.sendC2CTextMessage('blocked?', 'fb-alice'), { code: ErrorCode.BLOCKED_BY_RECEIVER });
    assert.equal((await b1.fm.addFriend({ userID: 'fb-alice' })).resultCode, ErrorCode.FRIEND_IN_PEER_BLOCKLIST);
    assert.equal((await a1.fm.addFriend({ userID: 'fb-bob' })).resultCode, ErrorCode.FRIEND_PEER_IN_MY_BLOCKLIST);
    // The blocker may still write to the one they blocked.
    await a1.im.sendC2CTextMessage('still me', 'fb-bob');

    await a2.fm.deleteFromBlackList(['fb-bob']);
    await waitFor(() => a1.ev.blackDeleted.includes('fb-bob'), 'the first device hears onBlackListDeleted');
    assert.deepEqual(await a1.fm.getBlackList(), []);
    const sent = await b1.im.sendC2CTextMessage('after', 'fb-alice');
    assert.equal(sent.status, 2);
  });
});
