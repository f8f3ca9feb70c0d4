/**
 * The reference-compatible REST API (`POST /v4/<service>/<command>`) over loopback: a
 * real server on port 0 with a temp SQLite folder, `fetch` for REST and raw WebSocket
 * clients to see what users see. docs/rest-api.md is the contract.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { genUserSig, startServer, type AppRecord, type ConfabServer } from '@confab/server';
import { ErrorCode, type WireMessage } from '@confab/protocol';
import { RawClient } from './helpers/raw-client.js';

let server: ConfabServer;
let dir: string;
let app: AppRecord;
let adminSig: string;
let clients: RawClient[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confab-rest-'));
  server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent' });
  app = await server.createApp({ name: 'rest-test' });
  adminSig = await server.genUserSig(app.sdkAppID, 'administrator');
});

afterEach(async () => {
  for (const client of clients) await client.close();
  clients = [];
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Envelope {
  ActionStatus: 'OK' | 'FAIL';
  ErrorCode: number;
  ErrorInfo: string;
  ErrorDisplay: string;
  [field: string]: unknown;
}

type Query = Partial<Record<'sdkappid' | 'identifier' | 'usersig' | 'random' | 'contenttype', string | null>>;

let randomCounter = 1;

function restURL(command: string, query: Query = {}): string {
  const params: Record<string, string | null> = {
    sdkappid: String(app.sdkAppID), identifier: 'administrator', usersig: adminSig,
    random: String(randomCounter++), contenttype: 'json', ...query,
  };
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null) search.set(k, v);
  return `${server.httpUrl}/v4/${command}?${search}`;
}

/** A raw REST call: the HTTP status and the parsed envelope. */
async function call(command: string, body: unknown, query: Query = {}, init: RequestInit = {}): Promise<{ status: number; json: Envelope }> {
  const res = await fetch(restURL(command, query), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
  return { status: res.status, json: (await res.json()) as Envelope };
}

/** A REST call that must succeed. */
async function ok(command: string, body: unknown): Promise<Envelope> {
  const { status, json } = await call(command, body);
  assert.equal(status, 200);
  assert.equal(json.ActionStatus, 'OK', `${command} failed: ${JSON.stringify(json)}`);
  assert.equal(json.ErrorCode, 0);
  assert.equal(json.ErrorInfo, '');
  assert.equal(json.ErrorDisplay, '');
  return json;
}

/** A REST call that must fail with `code`, still HTTP 200. */
async function fails(command: string, body: unknown, code: number, query: Query = {}): Promise<Envelope> {
  const { status, json } = await call(command, body, query);
  assert.equal(status, 200, `HTTP status of a failed ${command}`);
  assert.equal(json.ActionStatus, 'FAIL', `${command} should have failed with ${code}: ${JSON.stringify(json)}`);
  assert.equal(json.ErrorCode, code, `${command}: ${json.ErrorInfo}`);
  assert.equal(typeof json.ErrorInfo, 'string');
  assert.equal(json.ErrorDisplay, '');
  return json;
}

async function importAccounts(...userIDs: string[]): Promise<void> {
  const res = await ok('im_open_login_svc/multiaccount_import', { Accounts: userIDs });
  assert.deepEqual(res.FailAccounts, []);
}

function textBody(text: string) {
  return [{ MsgType: 'TIMTextElem', MsgContent: { Text: text } }];
}

let msgRandom = 1000;
async function sendText(from: string, to: string, text: string): Promise<Envelope> {
  return ok('openim/sendmsg', { SyncOtherMachine: 1, From_Account: from, To_Account: to, MsgRandom: msgRandom++, MsgBody: textBody(text) });
}

async function login(userID: string): Promise<RawClient> {
  const client = await RawClient.connect(server.wsUrl);
  clients.push(client);
  await client.login({ sdkAppID: app.sdkAppID, userID, userSig: await server.genUserSig(app.sdkAppID, userID), deviceID: `dev-${userID}` });
  return client;
}

function texts(messages: WireMessage[]): string[] {
  return messages.map((m) => (m.elem.type === 'text' ? m.elem.text : `<${m.elem.type}>`));
}

async function history(client: RawClient, conversationID: string): Promise<string[]> {
  const { messages } = await client.ok('msg.history', { conversationID, count: 100 });
  return texts(messages);
}

interface SessionItem {
  Type: number;
  To_Account?: string;
  GroupId?: string;
  MsgTime: number;
  TopFlag: number;
  StandardMark: string;
  CustomMark: string;
  ContactGroupId: unknown[];
}

function itemID(item: SessionItem): string {
  return item.Type === 2 ? `group_${item.GroupId}` : `c2c_${item.To_Account}`;
}

/** Pages through `get_list` from the start until CompleteFlag; returns every page's items in order. */
async function listAll(from: string, assistFlags: number, pageSize?: number): Promise<{ pages: SessionItem[][] }> {
  let cursor = { TimeStamp: 0, StartIndex: 0, TopTimeStamp: 0, TopStartIndex: 0 };
  const pages: SessionItem[][] = [];
  for (let guard = 0; guard < 100; guard++) {
    const res = await ok('recentcontact/get_list', {
      From_Account: from, ...cursor, AssistFlags: assistFlags, ...(pageSize ? { PageSize: pageSize } : {}),
    });
    const items = res.SessionItem as SessionItem[];
    if (pageSize && assistFlags & 4) assert.ok(items.length <= pageSize, `page of ${items.length} > PageSize ${pageSize}`);
    pages.push(items);
    cursor = {
      TimeStamp: res.TimeStamp as number, StartIndex: res.StartIndex as number,
      TopTimeStamp: res.TopTimeStamp as number, TopStartIndex: res.TopStartIndex as number,
    };
    if (res.CompleteFlag === 1) return { pages };
    assert.equal(res.CompleteFlag, 0);
  }
  throw new Error('get_list never completed');
}

describe('auth and envelope', () => {
  test('a valid admin call answers OK with the envelope', async () => {
    const res = await ok('im_open_login_svc/account_import', { UserID: 'alice' });
    assert.deepEqual(Object.keys(res).slice(0, 4), ['ActionStatus', 'ErrorCode', 'ErrorInfo', 'ErrorDisplay']);
    // random takes the whole uint32 range; contenttype may be left out.
    await ok('im_open_login_svc/account_import', { UserID: 'alice' });
    const edge = await call('im_open_login_svc/account_import', { UserID: 'alice' }, { random: '4294967295', contenttype: null });
    assert.equal(edge.json.ActionStatus, 'OK');
  });

  test('failures answer FAIL with the reference codes and HTTP 200', async () => {
    const body = { UserID: 'alice' };
    const cmd = 'im_open_login_svc/account_import';
    // identifier is not the admin (even with a valid sig for it)
    await fails(cmd, body, ErrorCode.REST_ADMIN_REQUIRED, { identifier: 'alice', usersig: await server.genUserSig(app.sdkAppID, 'alice') });
    // bad signatures
    await fails(cmd, body, ErrorCode.USER_SIG_KEY_MISMATCH,
      { usersig: genUserSig({ sdkAppID: app.sdkAppID, secretKey: 'not-the-key', userID: 'administrator' }) });
    await fails(cmd, body, ErrorCode.USER_SIG_IDENTIFIER_MISMATCH, { usersig: await server.genUserSig(app.sdkAppID, 'alice') });
    await fails(cmd, body, ErrorCode.USER_SIG_INVALID, { usersig: 'eJyrVgrxCdYrSi1WslIyUqoFAA__' });
    await fails(cmd, body, ErrorCode.USER_SIG_EMPTY, { usersig: null });
    await fails(cmd, body, ErrorCode.USER_SIG_EXPIRED,
      { usersig: genUserSig({ sdkAppID: app.sdkAppID, secretKey: app.secretKey, userID: 'administrator', now: 1_000_000, expireSeconds: 60 }) });
    // unknown app, missing or bad URL parameters
    await fails(cmd, body, ErrorCode.REST_INVALID_SDKAPPID, { sdkappid: String(app.sdkAppID + 1) });
    await fails(cmd, body, ErrorCode.REST_BAD_URL, { sdkappid: null });
    await fails(cmd, body, ErrorCode.REST_BAD_URL, { sdkappid: 'abc' });
    await fails(cmd, body, ErrorCode.REST_BAD_URL, { identifier: null });
    await fails(cmd, body, ErrorCode.REST_BAD_URL, { random: 'x1' });
    await fails(cmd, body, ErrorCode.REST_BAD_URL, { random: '-1' });
    await fails(cmd, body, ErrorCode.REST_BAD_URL, { random: '1'.repeat(21) });
    await fails(cmd, body, ErrorCode.REST_BAD_URL, { contenttype: 'xml' });
    // bad bodies
    await fails(cmd, '{"UserID": ', ErrorCode.REST_INVALID_JSON);
    await fails(cmd, '', ErrorCode.REST_INVALID_JSON);
    await fails(cmd, '["alice"]', ErrorCode.REST_INVALID_JSON);
    // unknown command, wrong method
    await fails('im_open_login_svc/no_such_command', body, ErrorCode.REST_BAD_URL);
    await fails('nosuchservice', body, ErrorCode.REST_BAD_URL);
    const get = await fetch(restURL(cmd), { method: 'GET' });
    assert.equal(get.status, 200);
    assert.equal(((await get.json()) as Envelope).ErrorCode, ErrorCode.REST_BAD_URL);
    // None of that imported alice.
    const portrait = await ok('profile/portrait_get', { To_Account: ['alice'] });
    assert.equal((portrait.UserProfileItem as { ResultCode: number }[])[0]!.ResultCode, ErrorCode.ACCOUNT_NOT_FOUND);
  });

  test('a body over 1 MiB fails with 9522 and the server stays usable', async () => {
    const big = JSON.stringify({ UserID: 'alice', Nick: 'x'.repeat(1024 * 1024) });
    await fails('im_open_login_svc/account_import', big, ErrorCode.PACKET_TOO_LARGE);
    await ok('im_open_login_svc/account_import', { UserID: 'alice' });
  });
});

describe('accounts and sendmsg', () => {
  test('account_import, then sendmsg to the imported account reaches the user', async () => {
    await fails('openim/sendmsg', { From_Account: 'alice', To_Account: 'bob', MsgRandom: 1, MsgBody: textBody('hi') }, ErrorCode.ACCOUNT_NOT_FOUND);
    await ok('im_open_login_svc/account_import', { UserID: 'alice', Nick: 'Alice', FaceUrl: 'https://example.com/a.png' });
    await fails('im_open_login_svc/account_import', { UserID: 'not valid!' }, ErrorCode.INVALID_IDENTIFIER);
    await fails('im_open_login_svc/account_import', { Nick: 'no user' }, ErrorCode.INVALID_PARAMETERS);
    // bob does not exist yet: the MessageService's 20003
    await fails('openim/sendmsg', { From_Account: 'alice', To_Account: 'bob', MsgRandom: 1, MsgBody: textBody('hi') }, ErrorCode.UNKNOWN_RECEIVER);

    const imported = await ok('im_open_login_svc/multiaccount_import', { Accounts: ['bob', 'carol', 'bad id!', 7] });
    assert.deepEqual(imported.FailAccounts, ['bad id!', 7]);
    await fails('im_open_login_svc/multiaccount_import', { Accounts: Array.from({ length: 101 }, (_, i) => `u${i}`) }, ErrorCode.INVALID_PARAMETERS);

    const bob = await login('bob');
    const before = Math.floor(Date.now() / 1000);
    const sent = await ok('openim/sendmsg', { SyncOtherMachine: 2, From_Account: 'alice', To_Account: 'bob', MsgRandom: 1, MsgBody: textBody('hi bob') });
    assert.ok((sent.MsgTime as number) >= before && (sent.MsgTime as number) <= Math.floor(Date.now() / 1000) + 1);
    assert.equal(typeof sent.MsgKey, 'string');
    const push = await bob.nextPush('update', (u) => u.messages.length > 0);
    assert.deepEqual(texts(push.messages), ['hi bob']);
    assert.equal(push.messages[0]!.sender, 'alice');
    assert.equal(push.messages[0]!.msgID, sent.MsgKey);
    assert.deepEqual(await history(bob, 'c2c_alice'), ['hi bob']);

    const portrait = await ok('profile/portrait_get', { To_Account: ['alice', 'nobody'], TagList: ['Tag_Profile_IM_Nick', 'Tag_Profile_IM_Image', 'Tag_Profile_IM_Unknown'] });
    assert.deepEqual(portrait.UserProfileItem, [
      { To_Account: 'alice', ProfileItem: [{ Tag: 'Tag_Profile_IM_Nick', Value: 'Alice' }, { Tag: 'Tag_Profile_IM_Image', Value: 'https://example.com/a.png' }], ResultCode: 0, ResultInfo: '' },
      { To_Account: 'nobody', ProfileItem: [], ResultCode: ErrorCode.ACCOUNT_NOT_FOUND, ResultInfo: 'account does not exist' },
    ]);
  });

  test('sendmsg is idempotent on MsgRandom and maps the element kinds and options', async () => {
    await importAccounts('alice', 'bob');
    const first = await ok('openim/sendmsg', { From_Account: 'alice', To_Account: 'bob', MsgRandom: 42, MsgBody: textBody('one') });
    const retry = await ok('openim/sendmsg', { From_Account: 'alice', To_Account: 'bob', MsgRandom: 42, MsgBody: textBody('one') });
    assert.equal(retry.MsgKey, first.MsgKey);
    assert.equal(retry.MsgTime, first.MsgTime);
    const custom = await ok('openim/sendmsg', {
      From_Account: 'alice', To_Account: 'bob', MsgRandom: 43,
      MsgBody: [{ MsgType: 'TIMCustomElem', MsgContent: { Data: '{"k":1}', Desc: 'd', Ext: 'e' } }],
    });
    assert.notEqual(custom.MsgKey, first.MsgKey);
    // The same MsgRandom from the other side is another message.
    const reply = await ok('openim/sendmsg', { From_Account: 'bob', To_Account: 'alice', MsgRandom: 42, MsgBody: textBody('two') });
    assert.notEqual(reply.MsgKey, first.MsgKey);

    const bob = await login('bob');
    const { messages } = await bob.ok('msg.history', { conversationID: 'c2c_alice', count: 100 });
    assert.deepEqual(texts(messages), ['one', '<custom>', 'two']);
    assert.deepEqual(messages[1]!.elem, { type: 'custom', data: '{"k":1}', description: 'd', extension: 'e' });
    assert.equal(messages[0]!.clientMsgID, 'rest-alice-42');

    // Face and location elements, cloud custom data and offline push info.
    await ok('openim/sendmsg', {
      From_Account: 'alice', To_Account: 'bob', MsgRandom: 44, CloudCustomData: 'ccd',
      OfflinePushInfo: { PushFlag: 1, Title: 'T', Desc: 'D', Ext: 'E', ApnsInfo: { Sound: 'a.caf', BadgeMode: 1 }, AndroidInfo: { Sound: 'a.mp3' } },
      MsgBody: [{ MsgType: 'TIMFaceElem', MsgContent: { Index: 3, Data: 'wink' } }],
    });
    await ok('openim/sendmsg', {
      From_Account: 'alice', To_Account: 'bob', MsgRandom: 45,
      MsgBody: [{ MsgType: 'TIMLocationElem', MsgContent: { Desc: 'HQ', Latitude: 22.5, Longitude: 113.9 } }],
    });
    const more = (await bob.ok('msg.history', { conversationID: 'c2c_alice', afterSeq: 3, count: 10 })).messages;
    assert.deepEqual(more.map((m) => m.elem), [{ type: 'face', index: 3, data: 'wink' }, { type: 'location', desc: 'HQ', latitude: 22.5, longitude: 113.9 }]);
    assert.equal(more[0]!.cloudCustomData, 'ccd');
    assert.deepEqual(more[0]!.offlinePushInfo, { title: 'T', desc: 'D', ext: 'E', iOSSound: 'a.caf', androidSound: 'a.mp3', disablePush: true, ignoreIOSBadge: true });

    const base = { From_Account: 'alice', To_Account: 'bob', MsgRandom: 50, MsgBody: textBody('x') };
    await fails('openim/sendmsg', { ...base, MsgBody: [{ MsgType: 'TIMLocationElem', MsgContent: { Latitude: 'north', Longitude: 1 } }] }, ErrorCode.INVALID_PARAMETERS);
    await fails('openim/sendmsg', { ...base, MsgBody: [{ MsgType: 'TIMLocationElem', MsgContent: { Latitude: 95, Longitude: 1 } }] }, ErrorCode.INVALID_PARAMETERS);
    await fails('openim/sendmsg', { ...base, OfflinePushInfo: { Title: 5 } }, ErrorCode.INVALID_PARAMETERS);
    await fails('openim/sendmsg', { ...base, MsgBody: [...textBody('a'), ...textBody('b')] }, ErrorCode.INVALID_PARAMETERS);
    await fails('openim/sendmsg', { ...base, MsgBody: [] }, ErrorCode.INVALID_PARAMETERS);
    await fails('openim/sendmsg', { ...base, MsgBody: [{ MsgType: 'TIMImageElem', MsgContent: {} }] }, ErrorCode.INVALID_PARAMETERS);
    await fails('openim/sendmsg', { ...base, MsgBody: textBody('') }, ErrorCode.INVALID_PARAMETERS);
    await fails('openim/sendmsg', { ...base, MsgRandom: -1 }, ErrorCode.INVALID_PARAMETERS);
    await fails('openim/sendmsg', { ...base, SyncOtherMachine: 3 }, ErrorCode.INVALID_PARAMETERS);
    await fails('openim/sendmsg', { ...base, From_Account: 'nobody' }, ErrorCode.ACCOUNT_NOT_FOUND);
    await fails('openim/sendmsg', { ...base, To_Account: 'alice' }, ErrorCode.INVALID_PARAMETERS);
    await fails('openim/sendmsg', { ...base, To_Account: 'no such user' }, ErrorCode.UNKNOWN_RECEIVER);
    await fails('openim/sendmsg', { ...base, MsgBody: textBody('x'.repeat(13 * 1024)) }, ErrorCode.SERVER_MESSAGE_TOO_LARGE);
    assert.equal((await bob.ok('msg.history', { conversationID: 'c2c_alice', count: 100 })).messages.length, 5, 'none of the refused ones');
  });
});

describe('recentcontact/get_list', () => {
  const peers = Array.from({ length: 11 }, (_, i) => `p${i}`);

  /**
   * owner's conversations, in the order of their last activity:
   *   p0, p1, p2, p3 (one message each, in turn), g1, g2 (a message each),
   *   p4..p9 (one message each, all in ONE commit: equal orderKeys),
   *   then pins: p1, p5, g2, p10 (p10 has no message: an empty conversation),
   *   then c2c_p7 deleted.
   */
  async function setUp(): Promise<RawClient> {
    await importAccounts('owner', ...peers);
    const owner = await login('owner');
    await owner.ok('group.create', { groupID: 'g1', groupType: 'Work', groupName: 'one', memberUserIDs: ['p0'] });
    await owner.ok('group.create', { groupID: 'g2', groupType: 'Work', groupName: 'two', memberUserIDs: ['p1'] });
    for (const p of ['p0', 'p1', 'p2', 'p3']) await sendText(p, 'owner', `from ${p}`);
    await owner.ok('msg.send', { conversationID: 'group_g1', clientMsgID: 'g1-1', elem: { type: 'text', text: 'g1' } });
    await owner.ok('msg.send', { conversationID: 'group_g2', clientMsgID: 'g2-1', elem: { type: 'text', text: 'g2' } });
    // Same tick → same group commit → one version step for owner → equal orderKeys.
    const record = (await server.domain.apps.get(app.sdkAppID))!;
    await Promise.all(['p4', 'p5', 'p6', 'p7', 'p8', 'p9'].map((p) => server.domain.messages.send(
      { app: record, userID: p, deviceID: 'test', capabilities: new Set<string>() }, 'c2c_owner', `tie-${p}`, { type: 'text', text: `from ${p}` })));
    for (const id of ['c2c_p1', 'c2c_p5', 'group_g2', 'c2c_p10']) await owner.ok('conv.pin', { conversationID: id, isPinned: true });
    await owner.ok('conv.setCustomData', { conversationIDs: ['c2c_p3'], customData: 'vip' });
    await ok('recentcontact/delete', { From_Account: 'owner', Type: 1, To_Account: 'p7' });

    const rows = await server.domain.storage.conversations.changedSince(app.sdkAppID, 'owner', 0, 1000);
    const tied = rows.filter((r) => !r.deleted && ['c2c_p4', 'c2c_p6', 'c2c_p8', 'c2c_p9'].includes(r.conversationID));
    assert.equal(new Set(tied.map((r) => r.orderKey)).size, 1, 'the setup produced equal orderKeys');
    return owner;
  }

  const PINNED = ['group_g2', 'c2c_p5', 'c2c_p1'];
  const OTHERS = ['c2c_p4', 'c2c_p6', 'c2c_p8', 'c2c_p9', 'group_g1', 'c2c_p3', 'c2c_p2', 'c2c_p0'];

  test('the cursors page through every conversation exactly once, pinned first', async () => {
    await setUp();
    for (const [flags, expected] of [
      [7, ['c2c_p10', ...PINNED, ...OTHERS]], // pinned, empty conversations, pinned paged
      [5, [...PINNED, ...OTHERS]], // pinned paged, no empty conversations
    ] as const) {
      for (let pageSize = 1; pageSize <= expected.length + 1; pageSize++) {
        const { pages } = await listAll('owner', flags, pageSize);
        const ids = pages.flat().map(itemID);
        assert.deepEqual(ids, expected, `AssistFlags ${flags}, PageSize ${pageSize}`);
        assert.equal(pages.length, Math.max(1, Math.ceil(expected.length / pageSize)), `AssistFlags ${flags}, PageSize ${pageSize}: pages`);
        for (const item of pages.flat()) assert.equal(item.TopFlag, expected.indexOf(itemID(item)) < expected.length - OTHERS.length ? 1 : 0);
      }
    }
  });

  test('without paging pinned, all pinned come with the first page; without bit0 there is no pinned section', async () => {
    await setUp();
    const { pages } = await listAll('owner', 1, 2);
    assert.deepEqual(pages[0]!.map(itemID), [...PINNED, 'c2c_p4', 'c2c_p6']);
    assert.deepEqual(pages.flat().map(itemID), [...PINNED, ...OTHERS]);
    assert.equal(pages.length, 4);

    // No pinned support: one list by last activity (the pins were the latest activations).
    const plain = await listAll('owner', 0, 3);
    assert.deepEqual(plain.pages.flat().map(itemID), [...PINNED, ...OTHERS]);
    const withEmpty = await listAll('owner', 2);
    assert.deepEqual(withEmpty.pages.flat().map(itemID), ['c2c_p10', ...PINNED, ...OTHERS]);
    assert.equal(withEmpty.pages.length, 1);
  });

  test('SessionItem fields and errors', async () => {
    await setUp();
    const res = await ok('recentcontact/get_list', { From_Account: 'owner', TimeStamp: 0, StartIndex: 0, TopTimeStamp: 0, TopStartIndex: 0, AssistFlags: 7 });
    assert.equal(res.CompleteFlag, 1);
    const items = res.SessionItem as SessionItem[];
    const now = Math.floor(Date.now() / 1000);
    const byID = new Map(items.map((i) => [itemID(i), i]));
    assert.deepEqual(byID.get('c2c_p10'), { Type: 1, To_Account: 'p10', MsgTime: 0, TopFlag: 1, StandardMark: '', CustomMark: '', ContactGroupId: [] });
    const g2 = byID.get('group_g2')!;
    assert.equal(g2.Type, 2);
    assert.equal(g2.GroupId, 'g2');
    assert.equal('To_Account' in g2, false);
    assert.ok(g2.MsgTime > now - 60 && g2.MsgTime <= now + 1);
    assert.equal(byID.get('c2c_p3')!.CustomMark, 'vip');
    assert.equal(byID.get('c2c_p3')!.TopFlag, 0);

    const cursor = { TimeStamp: 0, StartIndex: 0, TopTimeStamp: 0, TopStartIndex: 0, AssistFlags: 7 };
    await fails('recentcontact/get_list', { ...cursor, From_Account: 'nobody' }, ErrorCode.CONV_ACCOUNT_NOT_FOUND);
    await fails('recentcontact/get_list', { ...cursor, From_Account: 'owner', TimeStamp: -1 }, ErrorCode.CONV_INVALID_PARAMETERS);
    await fails('recentcontact/get_list', { ...cursor, From_Account: 'owner', StartIndex: 'a' }, ErrorCode.CONV_INVALID_PARAMETERS);
    await fails('recentcontact/get_list', { ...cursor }, ErrorCode.CONV_INVALID_PARAMETERS);
    // A user with nothing: one empty, complete page.
    const empty = await ok('recentcontact/get_list', { ...cursor, From_Account: 'p10' });
    assert.deepEqual(empty.SessionItem, []);
    assert.equal(empty.CompleteFlag, 1);
  });
});

describe('recentcontact/delete and batch_delete', () => {
  async function setUp(): Promise<{ alice: RawClient; bob: RawClient; carol: RawClient }> {
    await importAccounts('alice', 'bob', 'carol');
    for (const [from, to, text] of [['alice', 'bob', 'ab1'], ['bob', 'alice', 'ab2'], ['alice', 'bob', 'ab3'], ['carol', 'alice', 'ac1'], ['alice', 'carol', 'ac2']] as const) {
      await sendText(from, to, text);
    }
    const alice = await login('alice');
    await alice.ok('group.create', { groupID: 'team', groupType: 'Work', groupName: 'team', memberUserIDs: ['bob'] });
    await alice.ok('msg.send', { conversationID: 'group_team', clientMsgID: 't1', elem: { type: 'text', text: 'team1' } });
    return { alice, bob: await login('bob'), carol: await login('carol') };
  }

  async function listIDs(userID: string): Promise<string[]> {
    return (await listAll(userID, 7)).pages.flat().map(itemID).sort();
  }

  test('ClearRamble 1 erases the history for that user only; 0 (the default) keeps it', async () => {
    const { alice, bob, carol } = await setUp();
    await ok('recentcontact/delete', { From_Account: 'alice', Type: 1, To_Account: 'bob', ClearRamble: 1 });
    assert.deepEqual(await history(alice, 'c2c_bob'), []);
    assert.deepEqual(await history(bob, 'c2c_alice'), ['ab1', 'ab2', 'ab3']);
    assert.deepEqual(await listIDs('bob'), ['c2c_alice', 'group_team']);

    await ok('recentcontact/delete', { From_Account: 'alice', Type: 1, To_Account: 'carol' });
    assert.deepEqual(await history(alice, 'c2c_carol'), ['ac1', 'ac2']);
    assert.deepEqual(await history(carol, 'c2c_alice'), ['ac1', 'ac2']);

    await ok('recentcontact/delete', { From_Account: 'alice', Type: 2, ToGroupid: 'team', ClearRamble: 1 });
    assert.deepEqual(await history(alice, 'group_team'), []);
    assert.deepEqual(await history(bob, 'group_team'), ['team1']);
    assert.deepEqual(await listIDs('alice'), []);

    // The deletion is the SDK's, recorded as made from the device `rest`.
    const audit = await server.domain.storage.deletions.list(app.sdkAppID, { userID: 'alice', limit: 10 });
    assert.deepEqual(audit.map((d) => [d.conversationID, d.mode, d.deviceID]).reverse(), [
      ['c2c_bob', 'delete', 'rest'], ['c2c_carol', 'deleteKeepHistory', 'rest'], ['group_team', 'delete', 'rest'],
    ]);

    // A new message brings the conversation back with only what came after the deletion.
    await sendText('bob', 'alice', 'ab4');
    assert.deepEqual(await history(alice, 'c2c_bob'), ['ab4']);
    assert.deepEqual(await listIDs('alice'), ['c2c_bob']);

    // Idempotent, and the errors.
    await ok('recentcontact/delete', { From_Account: 'alice', Type: 1, To_Account: 'carol', ClearRamble: 0 });
    await ok('recentcontact/delete', { From_Account: 'alice', Type: 1, To_Account: 'never-talked' });
    await fails('recentcontact/delete', { From_Account: 'nobody', Type: 1, To_Account: 'bob' }, ErrorCode.CONV_ACCOUNT_NOT_FOUND);
    await fails('recentcontact/delete', { Type: 1, To_Account: 'bob' }, ErrorCode.CONV_INVALID_PARAMETERS);
    await fails('recentcontact/delete', { From_Account: 'alice', Type: 3, To_Account: 'bob' }, ErrorCode.CONV_INVALID_PARAMETERS);
    await fails('recentcontact/delete', { From_Account: 'alice', Type: 1 }, ErrorCode.CONV_INVALID_PARAMETERS);
    await fails('recentcontact/delete', { From_Account: 'alice', Type: 2, To_Account: 'team' }, ErrorCode.CONV_INVALID_PARAMETERS);
    await fails('recentcontact/delete', { From_Account: 'alice', Type: 1, To_Account: 'bob', ClearRamble: 2 }, ErrorCode.CONV_INVALID_PARAMETERS);
    assert.deepEqual(await history(alice, 'c2c_bob'), ['ab4']);
  });

  test('batch_delete answers per item; more than 100 items is 51006', async () => {
    const { alice, bob } = await setUp();
    const res = await ok('recentcontact/batch_delete', {
      From_Account: 'alice', ClearRamble: 1,
      ContactItem: [
        { Type: 1, To_Account: 'bob' },
        { Type: 2, ToGroupid: 'team' },
        { Type: 3, To_Account: 'bob' },
        { Type: 1 },
        { Type: 2, ToGroupid: 'bad id!' },
        { Type: 1, To_Account: 'never-talked' },
        'not an object',
      ],
    });
    const results = res.ResultItem as Record<string, unknown>[];
    assert.deepEqual(results.map((r) => r.ResultCode), [0, 0, 50002, 50002, 50002, 0, 50002]);
    assert.deepEqual(results[0], { Type: 1, To_Account: 'bob', ResultCode: 0, ResultInfo: '' });
    assert.deepEqual(results[1], { Type: 2, ToGroupid: 'team', ResultCode: 0, ResultInfo: '' });
    assert.equal(typeof results[2]!.ResultInfo, 'string');
    assert.deepEqual(await listIDs('alice'), ['c2c_carol']);
    assert.deepEqual(await history(alice, 'c2c_bob'), []);
    assert.deepEqual(await history(alice, 'group_team'), []);
    assert.deepEqual(await history(bob, 'c2c_alice'), ['ab1', 'ab2', 'ab3']);

    const many = Array.from({ length: 101 }, (_, i) => ({ Type: 1, To_Account: `u${i}` }));
    await fails('recentcontact/batch_delete', { From_Account: 'alice', ContactItem: many }, ErrorCode.TOO_MANY_CONVERSATIONS);
    await ok('recentcontact/batch_delete', { From_Account: 'alice', ContactItem: many.slice(0, 100) });
    await fails('recentcontact/batch_delete', { From_Account: 'alice', ContactItem: [] }, ErrorCode.CONV_INVALID_PARAMETERS);
    await fails('recentcontact/batch_delete', { From_Account: 'nobody', ContactItem: [{ Type: 1, To_Account: 'bob' }] }, ErrorCode.CONV_ACCOUNT_NOT_FOUND);
    // ClearRamble defaults to 0: carol's history stays.
    await ok('recentcontact/batch_delete', { From_Account: 'alice', ContactItem: [{ Type: 1, To_Account: 'carol' }] });
    assert.deepEqual(await listIDs('alice'), []);
    assert.deepEqual(await history(alice, 'c2c_carol'), ['ac1', 'ac2']);
  });
});
