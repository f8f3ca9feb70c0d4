/**
 * The reference's REST commands for accounts, messages, profiles and friends, in the
 * reference's request and response shapes; each checked by what a user then sees
 * (a raw WebSocket client) or by another command. docs/rest-api.md is the contract.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type AppRecord, type ConfabServer } from '@confab/server';
import { ErrorCode, type WireMessage } from '@confab/protocol';
import { RawClient } from './helpers/raw-client.js';
import { RestCaller, textBody } from './helpers/rest.js';

let server: ConfabServer;
let dir: string;
let app: AppRecord;
let rest: RestCaller;
let clients: RawClient[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confab-rest-cmd-'));
  server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent' });
  app = await server.createApp({ name: 'rest-commands' });
  rest = await RestCaller.create(server, app);
});

afterEach(async () => {
  for (const client of clients) await client.close().catch(() => {});
  clients = [];
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function login(userID: string, deviceID = `dev-${userID}`): Promise<RawClient> {
  const client = await RawClient.connect(server.wsUrl);
  clients.push(client);
  await client.login({ sdkAppID: app.sdkAppID, userID, userSig: await server.genUserSig(app.sdkAppID, userID), deviceID });
  return client;
}

async function importAccounts(...ids: string[]): Promise<void> {
  assert.deepEqual((await rest.ok('im_open_login_svc/multiaccount_import', { Accounts: ids })).FailAccounts, []);
}

function texts(messages: WireMessage[]): string[] {
  return messages.map((m) => (m.elem.type === 'text' ? m.elem.text : `<${m.elem.type}>`));
}

async function statusOf(...ids: string[]): Promise<string[]> {
  const res = await rest.ok('openim/query_online_status', { To_Account: ids });
  return (res.QueryResult as { To_Account: string; Status: string }[]).map((r) => `${r.To_Account}:${r.Status}`);
}

describe('leniency where the reference is lenient', () => {
  test('no random, a 64-bit random, no contenttype, unknown fields and the old Identifier are accepted', async () => {
    await rest.ok('im_open_login_svc/account_import', { Identifier: 'old1', SomethingNew: true }, { random: null });
    await rest.ok('im_open_login_svc/account_import', { UserID: 'new1' }, { random: '18446744073709551615', contenttype: null });
    const check = await rest.ok('im_open_login_svc/account_check', { CheckItem: [{ UserID: 'old1' }, { UserID: 'new1' }, { UserID: 'ghost' }] });
    assert.deepEqual((check.ResultItem as { UserID: string; AccountStatus: string }[]).map((r) => `${r.UserID}:${r.AccountStatus}`),
      ['old1:Imported', 'new1:Imported', 'ghost:NotImported']);
    await rest.fails('im_open_login_svc/account_import', {}, ErrorCode.INVALID_PARAMETERS);
  });

  test('a non-admin identifier on recentcontact answers 50003, elsewhere 60010', async () => {
    const alice = { identifier: 'alice', usersig: await server.genUserSig(app.sdkAppID, 'alice') };
    await rest.fails('recentcontact/delete', { From_Account: 'alice', Type: 1, To_Account: 'bob' }, ErrorCode.CONV_ADMIN_REQUIRED, alice);
    await rest.fails('openim/sendmsg', { To_Account: 'bob', MsgBody: textBody('x') }, ErrorCode.REST_ADMIN_REQUIRED, alice);
  });
});

describe('accounts', () => {
  test('query_online_status sees a session; kick signs every device out', async () => {
    await importAccounts('alice', 'bob');
    const phone = await login('alice', 'phone');
    const laptop = await login('alice', 'laptop');
    assert.deepEqual(await statusOf('alice', 'bob', 'ghost'), ['alice:Online', 'bob:Offline', 'ghost:Offline']);
    const detail = await rest.ok('openim/query_online_status', { To_Account: ['alice'], IsNeedDetail: 1 });
    assert.equal(((detail.QueryResult as { Detail: unknown[] }[])[0]!.Detail).length, 2);

    const kicked = [phone.nextPush('kicked'), laptop.nextPush('kicked')];
    await rest.ok('im_open_login_svc/kick', { UserID: 'alice' });
    for (const push of await Promise.all(kicked)) assert.equal(push.code, ErrorCode.KICKED_OFF_BY_OTHER);
    // The presence rows go when the sockets close.
    const deadline = Date.now() + 10_000;
    while ((await statusOf('alice'))[0] !== 'alice:Offline') {
      assert.ok(Date.now() < deadline, 'alice still online after the kick');
      await new Promise((r) => setTimeout(r, 50));
    }
    await rest.ok('im_open_login_svc/kick', { UserID: 'bob' }); // no session: no error
    await rest.fails('im_open_login_svc/kick', { UserID: 'bad id!' }, ErrorCode.INVALID_IDENTIFIER);
  });
});

describe('messages', () => {
  test('sendmsg without From_Account sends as the admin; MsgRandom is optional', async () => {
    await importAccounts('bob');
    const bob = await login('bob');
    const sent = await rest.ok('openim/sendmsg', { To_Account: 'bob', MsgBody: textBody('from the admin'), MsgLifeTime: 0 });
    assert.equal(typeof sent.MsgKey, 'string');
    const { messages } = await bob.ok('msg.history', { conversationID: `c2c_${app.adminUserID}`, count: 10 });
    assert.deepEqual(texts(messages), ['from the admin']);
    assert.equal(messages[0]!.sender, app.adminUserID);
  });

  test('batchsendmsg sends one message to each receiver and lists the failures', async () => {
    await importAccounts('alice', 'bob', 'carol');
    const res = await rest.ok('openim/batchsendmsg', {
      SyncOtherMachine: 2, From_Account: 'alice', To_Account: ['bob', 'carol', 'ghost'], MsgRandom: 7, MsgBody: textBody('hi all'),
    });
    assert.deepEqual(res.ErrorList, [{ To_Account: 'ghost', ErrorCode: ErrorCode.UNKNOWN_RECEIVER }]);
    assert.equal(typeof res.MsgKey, 'string');
    for (const id of ['bob', 'carol']) {
      const client = await login(id);
      assert.deepEqual(texts((await client.ok('msg.history', { conversationID: 'c2c_alice', count: 10 })).messages), ['hi all']);
    }
    await rest.fails('openim/batchsendmsg', { From_Account: 'alice', To_Account: [], MsgBody: textBody('x') }, ErrorCode.INVALID_PARAMETERS);
  });
});

describe('profiles and friends', () => {
  test('portrait_set then portrait_get', async () => {
    await importAccounts('alice');
    await rest.ok('profile/portrait_set', {
      From_Account: 'alice',
      ProfileItem: [{ Tag: 'Tag_Profile_IM_Nick', Value: 'Alice' }, { Tag: 'Tag_Profile_IM_Image', Value: 'https://x/a.png' }],
    });
    const got = await rest.ok('profile/portrait_get', { To_Account: ['alice'], TagList: ['Tag_Profile_IM_Nick', 'Tag_Profile_IM_Image'] });
    assert.deepEqual((got.UserProfileItem as { ProfileItem: unknown }[])[0]!.ProfileItem,
      [{ Tag: 'Tag_Profile_IM_Nick', Value: 'Alice' }, { Tag: 'Tag_Profile_IM_Image', Value: 'https://x/a.png' }]);
    await rest.fails('profile/portrait_set', { From_Account: 'alice', ProfileItem: [{ Tag: 'Tag_Profile_IM_Gender', Value: 1 }] }, ErrorCode.INVALID_PARAMETERS);
    await rest.fails('profile/portrait_set', { From_Account: 'ghost', ProfileItem: [{ Tag: 'Tag_Profile_IM_Nick', Value: 'x' }] }, ErrorCode.ACCOUNT_NOT_FOUND);
  });

  test('friend_add, friend_get, friend_check, friend_delete', async () => {
    await importAccounts('alice', 'bob', 'carol');
    const add = await rest.ok('sns/friend_add', {
      From_Account: 'alice', AddFriendItem: [{ To_Account: 'bob', Remark: 'B', AddSource: 'AddSource_Type_XXXXXXXX' }, { To_Account: 'ghost' }], AddType: 'Add_Type_Both',
    });
    assert.deepEqual((add.ResultItem as { To_Account: string; ResultCode: number }[]).map((r) => [r.To_Account, r.ResultCode]),
      [['bob', 0], ['ghost', ErrorCode.FRIEND_ACCOUNT_NOT_FOUND]]);
    assert.deepEqual(add.Fail_Account, ['ghost']);
    // bob sees the friendship through the SDK's op
    const bob = await login('bob');
    assert.deepEqual((await bob.ok('friend.list', {})).friends.map((f: { userID: string }) => f.userID), ['alice']);

    const got = await rest.ok('sns/friend_get', { From_Account: 'alice', StartIndex: 0 });
    assert.equal(got.FriendNum, 1);
    assert.equal(got.CompleteFlag, 1);
    const item = (got.UserDataItem as { To_Account: string; ValueItem: { Tag: string; Value: unknown }[] }[])[0]!;
    assert.equal(item.To_Account, 'bob');
    assert.deepEqual(item.ValueItem[0], { Tag: 'Tag_SNS_IM_Remark', Value: 'B' });

    const check = await rest.ok('sns/friend_check', { From_Account: 'alice', To_Account: ['bob', 'carol'], CheckType: 'CheckResult_Type_Both' });
    assert.deepEqual((check.InfoItem as { Relation: string }[]).map((i) => i.Relation), ['CheckResult_Type_BothWay', 'CheckResult_Type_NoRelation']);

    const del = await rest.ok('sns/friend_delete', { From_Account: 'alice', To_Account: ['bob', 'carol'], DeleteType: 'Delete_Type_Both' });
    assert.deepEqual((del.ResultItem as { ResultCode: number }[]).map((r) => r.ResultCode), [0, ErrorCode.NOT_FRIENDS]);
    const after = await rest.ok('sns/friend_check', { From_Account: 'bob', To_Account: ['alice'], CheckType: 'CheckResult_Type_Both' });
    assert.equal((after.InfoItem as { Relation: string }[])[0]!.Relation, 'CheckResult_Type_NoRelation');
    await rest.fails('sns/friend_get', { From_Account: 'ghost' }, ErrorCode.FRIEND_ACCOUNT_NOT_FOUND);
  });
});

describe('history and unread', () => {
  test('admin_getroammsg pages back from MaxTime with LastMsgKey; get_c2c_unread_msg_num counts', async () => {
    await importAccounts('alice', 'bob', 'carol');
    const keys: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const sent = await rest.ok('openim/sendmsg', { From_Account: 'alice', To_Account: 'bob', MsgRandom: 100 + i, MsgBody: textBody(`m${i}`) });
      keys.push(sent.MsgKey as string);
    }
    await rest.ok('openim/sendmsg', { From_Account: 'carol', To_Account: 'bob', MsgRandom: 1, MsgBody: textBody('c1') });
    const window = { Operator_Account: 'bob', Peer_Account: 'alice', MinTime: 0, MaxTime: 4_000_000_000 };
    type Item = { From_Account: string; To_Account: string; MsgKey: string; MsgRandom: number; MsgBody: { MsgContent: { Text: string } }[] };
    const first = await rest.ok('openim/admin_getroammsg', { ...window, MaxCnt: 3 });
    const firstList = first.MsgList as Item[];
    assert.deepEqual(firstList.map((m) => m.MsgBody[0]!.MsgContent.Text), ['m5', 'm4', 'm3']);
    assert.equal(first.Complete, 0);
    assert.equal(first.LastMsgKey, keys[2]);
    assert.deepEqual([firstList[0]!.From_Account, firstList[0]!.To_Account, firstList[0]!.MsgKey, firstList[0]!.MsgRandom], ['alice', 'bob', keys[4], 105]);
    const second = await rest.ok('openim/admin_getroammsg', { ...window, MaxCnt: 3, MaxTime: first.LastMsgTime, LastMsgKey: first.LastMsgKey });
    assert.deepEqual((second.MsgList as Item[]).map((m) => m.MsgBody[0]!.MsgContent.Text), ['m2', 'm1']);
    assert.equal(second.Complete, 1);
    const none = await rest.ok('openim/admin_getroammsg', { ...window, MaxTime: 1 });
    assert.equal(none.MsgCnt, 0);
    await rest.fails('openim/admin_getroammsg', { ...window, Operator_Account: 'ghost' }, ErrorCode.ACCOUNT_NOT_FOUND);

    const unread = await rest.ok('openim/get_c2c_unread_msg_num', { To_Account: 'bob', Peer_Account: ['alice', 'carol', 'dave'] });
    assert.equal(unread.AllC2CUnreadMsgNum, 6);
    assert.deepEqual(unread.C2CUnreadMsgNumList, [
      { Peer_Account: 'alice', C2CUnreadMsgNum: 5 }, { Peer_Account: 'carol', C2CUnreadMsgNum: 1 }, { Peer_Account: 'dave', C2CUnreadMsgNum: 0 },
    ]);
    // bob reads alice's chat on a device: the counts follow
    const bob = await login('bob');
    await bob.ok('conv.markRead', { conversationID: 'c2c_alice' });
    assert.equal((await rest.ok('openim/get_c2c_unread_msg_num', { To_Account: 'bob' })).AllC2CUnreadMsgNum, 1);
  });
});
