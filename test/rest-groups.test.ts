/**
 * The reference's `group_open_http_svc` commands in its request and response shapes,
 * each checked by what members then see (a raw WebSocket client) or by another command.
 */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type AppRecord, type ConfabServer } from '@confab/server';
import { ErrorCode } from '@confab/protocol';
import { RawClient } from './helpers/raw-client.js';
import { RestCaller, textBody } from './helpers/rest.js';

let server: ConfabServer;
let dir: string;
let app: AppRecord;
let rest: RestCaller;
let clients: RawClient[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confab-rest-group-'));
  server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent' });
  app = await server.createApp({ name: 'rest-groups' });
  rest = await RestCaller.create(server, app);
  await rest.ok('im_open_login_svc/multiaccount_import', { Accounts: ['alice', 'bob', 'carol', 'dave'] });
});

afterEach(async () => {
  for (const client of clients) await client.close().catch(() => {});
  clients = [];
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function login(userID: string): Promise<RawClient> {
  const client = await RawClient.connect(server.wsUrl);
  clients.push(client);
  await client.login({ sdkAppID: app.sdkAppID, userID, userSig: await server.genUserSig(app.sdkAppID, userID), deviceID: `dev-${userID}` });
  return client;
}

type Member = { Member_Account: string; Role: string };

async function memberIDs(groupID: string): Promise<string[]> {
  const res = await rest.ok('group_open_http_svc/get_group_member_info', { GroupId: groupID });
  return (res.MemberList as Member[]).map((m) => `${m.Member_Account}:${m.Role}`).sort();
}

test('create_group, get_group_info, get_joined_group_list, get_group_member_info', async () => {
  const created = await rest.ok('group_open_http_svc/create_group', {
    Owner_Account: 'alice', Type: 'Public', GroupId: 'team', Name: 'Team', Introduction: 'intro',
    MemberList: [{ Member_Account: 'bob' }], ApplyJoinOption: 'FreeAccess',
  });
  assert.equal(created.GroupId, 'team');
  const info = await rest.ok('group_open_http_svc/get_group_info', { GroupIdList: ['team', 'nope'] });
  const [team, nope] = info.GroupInfo as Record<string, unknown>[];
  assert.equal(team!.ErrorCode, 0);
  assert.equal(team!.Name, 'Team');
  assert.equal(team!.Type, 'Public');
  assert.equal(team!.Owner_Account, 'alice');
  assert.equal(team!.MemberNum, 2);
  assert.equal(nope!.ErrorCode, ErrorCode.GROUP_NOT_FOUND);

  // bob sees the group through the SDK's op
  const bob = await login('bob');
  assert.deepEqual((await bob.ok('group.joinedList', {})).groups.map((g: { groupID: string }) => g.groupID), ['team']);
  const joined = await rest.ok('group_open_http_svc/get_joined_group_list', { Member_Account: 'bob' });
  assert.equal(joined.TotalCount, 1);
  assert.deepEqual((joined.GroupIdList as { GroupId: string }[]).map((g) => g.GroupId), ['team']);
  assert.deepEqual(await memberIDs('team'), ['alice:Owner', 'bob:Member']);

  // Without Owner_Account the admin owns the group; a generated GroupId comes back.
  const noOwner = await rest.ok('group_open_http_svc/create_group', { Type: 'Private', Name: 'Ops' });
  assert.equal(typeof noOwner.GroupId, 'string');
  await rest.fails('group_open_http_svc/create_group', { Type: 'Public', GroupId: 'team', Name: 'Again' }, ErrorCode.GROUP_ID_IN_USE);
  await rest.fails('group_open_http_svc/create_group', { Type: 'Nonsense', Name: 'X' }, ErrorCode.GROUP_INVALID_PARAMETERS);
});

test('add_group_member, delete_group_member, member paging with Next and Offset', async () => {
  await rest.ok('group_open_http_svc/create_group', { Owner_Account: 'alice', Type: 'Public', GroupId: 'g1', Name: 'G1' });
  const added = await rest.ok('group_open_http_svc/add_group_member', {
    GroupId: 'g1', MemberList: [{ Member_Account: 'bob' }, { Member_Account: 'carol' }, { Member_Account: 'alice' }, { Member_Account: 'ghost' }],
  });
  assert.deepEqual((added.MemberList as { Member_Account: string; Result: number }[]).map((m) => [m.Member_Account, m.Result]),
    [['bob', 1], ['carol', 1], ['alice', 2], ['ghost', 0]]);
  const first = await rest.ok('group_open_http_svc/get_group_member_info', { GroupId: 'g1', Limit: 2 });
  assert.equal(first.MemberNum, 3);
  assert.equal((first.MemberList as Member[]).length, 2);
  assert.notEqual(first.Next, '');
  const rest2 = await rest.ok('group_open_http_svc/get_group_member_info', { GroupId: 'g1', Limit: 2, Next: first.Next });
  const byOffset = await rest.ok('group_open_http_svc/get_group_member_info', { GroupId: 'g1', Limit: 2, Offset: 2 });
  assert.deepEqual(rest2.MemberList, byOffset.MemberList);
  assert.equal(rest2.Next, '');

  await rest.ok('group_open_http_svc/delete_group_member', { GroupId: 'g1', MemberToDel_Account: ['carol'], Silence: 1 });
  assert.deepEqual(await memberIDs('g1'), ['alice:Owner', 'bob:Member']);
  await rest.fails('group_open_http_svc/delete_group_member', { GroupId: 'zzz', MemberToDel_Account: ['bob'] }, ErrorCode.GROUP_NOT_FOUND);
});

test('send_group_msg reaches members; destroy_group dismisses the group', async () => {
  await rest.ok('group_open_http_svc/create_group', {
    Owner_Account: 'alice', Type: 'Public', GroupId: 'g2', Name: 'G2', MemberList: [{ Member_Account: 'bob' }],
  });
  const bob = await login('bob');
  const pushed = bob.nextPush('update', (u) => JSON.stringify(u).includes('hello group'));
  const sent = await rest.ok('group_open_http_svc/send_group_msg', { GroupId: 'g2', From_Account: 'alice', Random: 9, MsgBody: textBody('hello group') });
  assert.equal(typeof sent.MsgSeq, 'number');
  assert.equal(typeof sent.MsgTime, 'number');
  await pushed;
  const history = await bob.ok('msg.history', { conversationID: 'group_g2', count: 10 });
  assert.deepEqual(history.messages.map((m) => (m.elem.type === 'text' ? m.elem.text : '')), ['hello group']);
  await rest.fails('group_open_http_svc/send_group_msg', { GroupId: 'g2', From_Account: 'dave', Random: 1, MsgBody: textBody('x') }, ErrorCode.GROUP_PERMISSION_DENIED);
  await rest.fails('group_open_http_svc/send_group_msg', { GroupId: 'g2', From_Account: 'alice', MsgBody: [] }, ErrorCode.GROUP_INVALID_PARAMETERS);

  await rest.ok('group_open_http_svc/destroy_group', { GroupId: 'g2' });
  const info = await rest.ok('group_open_http_svc/get_group_info', { GroupIdList: ['g2'] });
  assert.equal((info.GroupInfo as { ErrorCode: number }[])[0]!.ErrorCode, ErrorCode.GROUP_NOT_FOUND);
  await rest.fails('group_open_http_svc/destroy_group', { GroupId: 'g2' }, ErrorCode.GROUP_NOT_FOUND);
});
