/**
 * Recall, modification and per-user deletion of single messages end to end (docs/protocol.md,
 * "Changing sent messages"): real server on port 0, real SQLite files, SDK clients over
 * loopback, two users with two devices each. Waits poll with a guard that fails the test.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfabError, ErrorCode, GroupType, V2TIMMessageStatus, type V2TIMManager, type V2TIMMessage } from '@confab/sdk';
import { SqliteStore } from '@confab/sdk/sqlite-store';
import { device, startTestServer, texts, waitFor } from './helpers/sdk-harness.js';

type Env = Awaited<ReturnType<typeof startTestServer>>;
let env: Env;
let storeDir: string;
const open: V2TIMManager[] = [];
let n = 0;

before(async () => {
  env = await startTestServer({ purge: false });
  storeDir = mkdtempSync(join(tmpdir(), 'confab-mutations-'));
});
after(async () => {
  await env.stop();
  rmSync(storeDir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const im of open.splice(0)) await im.logout().catch(() => undefined);
  await env.server.domain.apps.updateSettings(env.app.sdkAppID, { syncConversationDeletion: false, revokeWindowSeconds: 120 });
});

interface Watched {
  im: V2TIMManager;
  revoked: { msgID: string; revoker?: string; reason?: string }[];
  modified: V2TIMMessage[];
  received: V2TIMMessage[];
}

async function loggedIn(userID: string, deviceID: string, store?: SqliteStore): Promise<Watched> {
  const d = device(env, { deviceID, store });
  open.push(d.im);
  const w: Watched = { im: d.im, revoked: [], modified: [], received: d.events.received };
  d.im.getMessageManager().addAdvancedMsgListener({
    onRecvMessageRevoked: (msgID, revokerInfo, reason) => w.revoked.push({ msgID, revoker: revokerInfo?.userID, reason }),
    onRecvMessageModified: (m) => w.modified.push(m),
  });
  await d.im.login(userID, await env.sig(userID));
  return w;
}

/** Two users with two devices each; B2 keeps a file store so it can come back after being offline. */
async function twoByTwo() {
  n += 1;
  const alice = `mm${n}-alice`;
  const bob = `mm${n}-bob`;
  const b2File = join(storeDir, `${bob}-b2.db`);
  const a1 = await loggedIn(alice, 'A1');
  const a2 = await loggedIn(alice, 'A2');
  const b1 = await loggedIn(bob, 'B1');
  const b2 = await loggedIn(bob, 'B2', new SqliteStore(b2File));
  return { alice, bob, a1, a2, b1, b2, b2File };
}

const history = async (w: Watched, peer: string) => w.im.getMessageManager().getC2CHistoryMessageList(peer, 50, null);
const settle = async (...ws: Watched[]) => {
  // A round trip orders every push sent before it.
  for (const w of ws) await w.im.getConversationManager().pinConversation('c2c_nobody-known', false).catch(() => undefined);
};

async function rejects(p: Promise<unknown>, code: number): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof ConfabError && err.code === code);
}

describe('revokeMessage', () => {
  test('reaches every device online, and an offline device when it reconnects; history keeps a content-free placeholder', async () => {
    const { alice, bob, a1, a2, b1, b2, b2File } = await twoByTwo();
    const sent = await a1.im.sendC2CTextMessage('oops', bob);
    await a1.im.sendC2CTextMessage('after', bob);
    await waitFor(() => b2.received.length === 2, 'B2 has both');
    await b2.im.logout();
    await a1.im.getMessageManager().revokeMessage(sent);
    assert.equal(sent.status, V2TIMMessageStatus.LOCAL_REVOKED);
    for (const w of [a2, b1]) {
      await waitFor(() => w.revoked.length === 1, 'the revoke reaches the device');
      assert.deepEqual(w.revoked[0], { msgID: sent.msgID, revoker: alice, reason: '' });
    }
    const seen = await history(b1, alice);
    const placeholder = seen.find((m) => m.msgID === sent.msgID)!;
    assert.equal(placeholder.status, V2TIMMessageStatus.LOCAL_REVOKED);
    assert.equal(placeholder.textElem?.text, '');
    assert.equal(placeholder.revokerInfo?.userID, alice);
    assert.deepEqual(texts(seen.filter((m) => m.msgID !== sent.msgID)), ['after']);
    // The last message was not the revoked one: the list still shows "after".
    const conv = await b1.im.getConversationManager().getConversation(`c2c_${alice}`);
    assert.equal(conv.lastMessage?.textElem?.text, 'after');

    // B2 was offline: it learns the revoke at catch-up from its stored state.
    const back = await loggedIn(bob, 'B2', new SqliteStore(b2File));
    await waitFor(() => back.revoked.length === 1, 'the offline device learns the revoke at reconnect');
    assert.equal(back.revoked[0]!.msgID, sent.msgID);
    const cached = (await history(back, alice)).find((m) => m.msgID === sent.msgID)!;
    assert.equal(cached.status, V2TIMMessageStatus.LOCAL_REVOKED);
    assert.equal(cached.textElem?.text, '');
  });

  test('only the sender may recall a one-to-one message, within the app window (20016 after it)', async () => {
    const { bob, a1, b1 } = await twoByTwo();
    const sent = await a1.im.sendC2CTextMessage('mine', bob);
    const theirs = await waitFor(async () => (await history(b1, sent.sender)).find((m) => m.msgID === sent.msgID), 'bob has it');
    await rejects(b1.im.getMessageManager().revokeMessage(theirs), ErrorCode.GROUP_PERMISSION_DENIED);
    await env.server.domain.apps.updateSettings(env.app.sdkAppID, { revokeWindowSeconds: 0 });
    await rejects(a1.im.getMessageManager().revokeMessage(sent), ErrorCode.MSG_REVOKE_TIME_LIMIT);
    const still = await history(b1, sent.sender);
    assert.deepEqual(texts(still), ['mine'], 'nothing changed');
  });

  test('a group owner recalls a member\'s message; a plain member may not recall another\'s; group window is 10031', async () => {
    n += 1;
    const owner = await loggedIn(`mm${n}-owner`, 'O1');
    const member = await loggedIn(`mm${n}-member`, 'M1');
    const other = await loggedIn(`mm${n}-other`, 'X1');
    const groupID = await owner.im.getGroupManager().createGroup({ groupType: GroupType.WORK, groupID: null, groupName: 'recall' },
      [{ userID: `mm${n}-member` }, { userID: `mm${n}-other` }]);
    const sent = await member.im.sendGroupTextMessage('spam', groupID);
    const copies = await Promise.all([owner, other].map((w) => waitFor(async () =>
      (await w.im.getMessageManager().getGroupHistoryMessageList(groupID, 10, null)).find((m) => m.msgID === sent.msgID), 'member message arrives')));
    await rejects(other.im.getMessageManager().revokeMessage(copies[1]!), ErrorCode.GROUP_PERMISSION_DENIED);
    await owner.im.getMessageManager().revokeMessage(copies[0]!);
    for (const w of [member, other]) {
      await waitFor(() => w.revoked.some((r) => r.msgID === sent.msgID && r.revoker === `mm${n}-owner`), 'every member hears of it');
    }
    const seen = await other.im.getMessageManager().getGroupHistoryMessageList(groupID, 10, null);
    assert.equal(seen.find((m) => m.msgID === sent.msgID)?.status, V2TIMMessageStatus.LOCAL_REVOKED);
    const late = await member.im.sendGroupTextMessage('late', groupID);
    await env.server.domain.apps.updateSettings(env.app.sdkAppID, { revokeWindowSeconds: 0 });
    await rejects(member.im.getMessageManager().revokeMessage(late), ErrorCode.GROUP_MSG_REVOKE_TIME_LIMIT);
  });
});

describe('deleteMessages', () => {
  test('is per user: gone for the caller on the server; the peer keeps it; other device not told with sync off', async () => {
    const { alice, bob, a1, a2, b1 } = await twoByTwo();
    const one = await a1.im.sendC2CTextMessage('one', bob);
    await a1.im.sendC2CTextMessage('two', bob);
    await waitFor(async () => (await history(a2, bob)).length === 2, 'A2 has both');
    await a1.im.getMessageManager().deleteMessages([one]);
    assert.deepEqual(texts(await history(a1, bob)), ['two']);
    await settle(a2);
    assert.deepEqual(texts(await history(a2, bob)), ['two', 'one'], 'sync off: the other device keeps its copy');
    const fresh = await loggedIn(alice, 'A3');
    assert.deepEqual(texts(await history(fresh, bob)), ['two'], 'the server no longer serves it to alice');
    assert.deepEqual(texts(await history(b1, alice)), ['two', 'one'], 'bob is unaffected');
  });

  test('with deletion sync on, the caller\'s other device drops the message too', async () => {
    await env.server.domain.apps.updateSettings(env.app.sdkAppID, { syncConversationDeletion: true });
    const { bob, a1, a2, b1, b2 } = await twoByTwo();
    const one = await a1.im.sendC2CTextMessage('one', bob);
    const two = await a1.im.sendC2CTextMessage('two', bob);
    await waitFor(async () => (await history(a2, bob)).length === 2, 'A2 has both');
    await a1.im.getMessageManager().deleteMessages([two]);
    await waitFor(async () => texts(await history(a2, bob)).join() === 'one', 'A2 drops it');
    const conv = await a2.im.getConversationManager().getConversation(`c2c_${bob}`);
    assert.equal(conv.lastMessage?.textElem?.text, 'one', 'the list no longer shows the deleted message');
    for (const w of [b1, b2]) assert.deepEqual(texts(await history(w, one.sender)), ['two', 'one'], 'the peer\'s devices keep both');
  });

  test('deleting the last message: the list shows the one before it, on this device and on a fresh one', async () => {
    const { alice, bob, a1 } = await twoByTwo();
    await a1.im.sendC2CTextMessage('one', bob);
    const two = await a1.im.sendC2CTextMessage('two', bob);
    await a1.im.getMessageManager().deleteMessages([two]);
    assert.equal((await a1.im.getConversationManager().getConversation(`c2c_${bob}`)).lastMessage?.textElem?.text, 'one');
    const fresh = await loggedIn(alice, 'A3');
    const listed = await waitFor(async () => (await fresh.im.getConversationManager().getConversationList(0, 10)).conversationList
      .find((c) => c.conversationID === `c2c_${bob}`), 'the fresh device lists the chat');
    assert.equal(listed.lastMessage?.textElem?.text, 'one');
  });

  test('deleteMessageFromLocalStorage removes it from this device only, and a server page does not bring it back', async () => {
    const { bob, a1, a2 } = await twoByTwo();
    const one = await a1.im.sendC2CTextMessage('one', bob);
    await a1.im.sendC2CTextMessage('two', bob);
    await a1.im.getMessageManager().deleteMessageFromLocalStorage(one);
    assert.deepEqual(texts(await history(a1, bob)), ['two']);
    assert.deepEqual(texts(await history(a2, bob)), ['two', 'one']);
    const raw = await env.server.domain.messages.history(
      { app: env.app, userID: one.sender, deviceID: 'x', capabilities: new Set() }, `c2c_${bob}`, {});
    assert.equal(raw.messages.length, 2, 'the server keeps it');
  });
});

describe('modifyMessage', () => {
  test('reaches every participant\'s devices; a change based on an older version fails with 22000 and the current message', async () => {
    const { alice, bob, a1, a2, b1, b2 } = await twoByTwo();
    const sent = await a1.im.sendC2CTextMessage('draft', bob);
    const bobsCopy = await waitFor(async () => (await history(b1, alice)).find((m) => m.msgID === sent.msgID), 'bob has it');
    sent.textElem = { text: 'final' };
    const edited = await a1.im.getMessageManager().modifyMessage(sent);
    assert.equal(edited.textElem?.text, 'final');
    for (const w of [a2, b1, b2]) {
      await waitFor(() => w.modified.some((m) => m.msgID === sent.msgID && m.textElem?.text === 'final'), 'the edit reaches the device');
    }
    assert.deepEqual(texts(await history(b2, alice)), ['final']);
    // Bob's copy predates the edit: his change must not overwrite alice's.
    bobsCopy.textElem = { text: 'bob was here' };
    const outcome = await new Promise<{ code: number; message: V2TIMMessage }>((resolve) => {
      void b1.im.getMessageManager().modifyMessage(bobsCopy, { onComplete: (code, _desc, message) => resolve({ code, message }) });
    });
    assert.equal(outcome.code, ErrorCode.MSG_MODIFY_CONFLICT);
    assert.equal(outcome.message.textElem?.text, 'final', 'the callback carries the current message');
    // Based on the current version, bob's edit goes through (any participant may modify, as in the reference).
    outcome.message.textElem = { text: 'bob was here' };
    await b1.im.getMessageManager().modifyMessage(outcome.message);
    await waitFor(() => a1.modified.some((m) => m.textElem?.text === 'bob was here'), 'alice hears of bob\'s edit');
  });
});

describe('erasure', () => {
  function files(root: string): string[] {
    return readdirSync(root).flatMap((name) => {
      const p = join(root, name);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
  }
  const holders = (marker: string) => files(env.dataDir).filter((f) => readFileSync(f).includes(marker));

  test('a recalled message\'s text is in no file of the data folder after the compaction', async () => {
    const marker = `MARKER-${Math.random().toString(36).slice(2)}-${Date.now()}`;
    const { bob, a1, b1 } = await twoByTwo();
    const sent = await a1.im.sendC2CTextMessage(`secret ${marker}`, bob);
    await waitFor(() => b1.received.length === 1, 'bob has it');
    assert.ok(holders(marker).length > 0, 'the test can see the marker on disk before the recall');
    await a1.im.getMessageManager().revokeMessage(sent);
    await env.server.purgeNow();
    assert.deepEqual(holders(marker), [], 'marker in no server file');
  });

  test('a one-to-one message both sides deleted is erased', async () => {
    const marker = `MARKER-${Math.random().toString(36).slice(2)}-${Date.now()}`;
    const { alice, bob, a1, b1 } = await twoByTwo();
    const sent = await a1.im.sendC2CTextMessage(`secret ${marker}`, bob);
    await a1.im.sendC2CTextMessage('keep', bob);
    const copy = await waitFor(async () => (await history(b1, alice)).find((m) => m.msgID === sent.msgID), 'bob has it');
    await a1.im.getMessageManager().deleteMessages([sent]);
    await env.server.purgeNow();
    assert.ok(holders(marker).length > 0, 'one side still sees it: kept');
    await b1.im.getMessageManager().deleteMessages([copy]);
    await env.server.purgeNow();
    assert.deepEqual(holders(marker), [], 'marker in no server file');
  });
});

describe('REST', () => {
  async function rest(command: string, body: unknown): Promise<Record<string, unknown>> {
    const q = new URLSearchParams({
      sdkappid: String(env.app.sdkAppID), identifier: 'administrator', usersig: await env.sig('administrator'),
      random: String(Math.floor(Math.random() * 1e9)), contenttype: 'json',
    });
    const res = await fetch(`${env.server.httpUrl}/v4/${command}?${q}`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>;
  }

  test('admin_msgwithdraw recalls by MsgKey past the window; modify_c2c_msg edits; delete_c2c_msg_ramble deletes for one side', async () => {
    const { alice, bob, a1, b1 } = await twoByTwo();
    const one = await a1.im.sendC2CTextMessage('one', bob);
    const two = await a1.im.sendC2CTextMessage('two', bob);
    const three = await a1.im.sendC2CTextMessage('three', bob);
    await env.server.domain.apps.updateSettings(env.app.sdkAppID, { revokeWindowSeconds: 0 });
    const wrong = await rest('openim/admin_msgwithdraw', { From_Account: bob, To_Account: alice, MsgKey: one.msgID });
    assert.equal(wrong.ErrorCode, ErrorCode.MSG_NOT_FOUND, 'bob did not send it');
    const withdrawn = await rest('openim/admin_msgwithdraw', { From_Account: alice, To_Account: bob, MsgKey: one.msgID });
    assert.equal(withdrawn.ActionStatus, 'OK', JSON.stringify(withdrawn));
    await waitFor(() => b1.revoked.some((r) => r.msgID === one.msgID && r.revoker === 'administrator'), 'bob hears of the admin recall');

    const modified = await rest('openim/modify_c2c_msg', {
      From_Account: alice, To_Account: bob, MsgKey: two.msgID, MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'TWO' } }],
    });
    assert.equal(modified.ActionStatus, 'OK', JSON.stringify(modified));
    await waitFor(() => b1.modified.some((m) => m.msgID === two.msgID && m.textElem?.text === 'TWO'), 'bob hears of the edit');

    const deleted = await rest('openim/delete_c2c_msg_ramble', { Operator_Account: bob, Peer_Account: alice, MsgKeyList: [three.msgID] });
    assert.equal(deleted.ActionStatus, 'OK', JSON.stringify(deleted));
    const fresh = await loggedIn(bob, 'B3');
    assert.deepEqual(texts(await history(fresh, alice)).filter((t) => t !== ''), ['TWO'], 'gone from bob\'s roaming history');
    assert.deepEqual(texts(await history(a1, bob)).filter((t) => t !== ''), ['three', 'TWO'], 'alice keeps it');
  });

  test('group_msg_recall and modify_group_msg act on group messages by MsgSeq', async () => {
    n += 1;
    const owner = await loggedIn(`mm${n}-gowner`, 'O1');
    const member = await loggedIn(`mm${n}-gmember`, 'M1');
    const groupID = await owner.im.getGroupManager().createGroup({ groupType: GroupType.WORK, groupID: null, groupName: 'rest' },
      [{ userID: `mm${n}-gmember` }]);
    const first = await owner.im.sendGroupTextMessage('first', groupID);
    const second = await owner.im.sendGroupTextMessage('second', groupID);
    const recalled = await rest('group_open_http_svc/group_msg_recall', { GroupId: groupID, MsgSeqList: [{ MsgSeq: first.seq }, { MsgSeq: 999 }] });
    assert.equal(recalled.ActionStatus, 'OK', JSON.stringify(recalled));
    assert.deepEqual(recalled.RecallRetList, [{ MsgSeq: first.seq, RetCode: 0 }, { MsgSeq: 999, RetCode: ErrorCode.MSG_NOT_FOUND }]);
    await waitFor(() => member.revoked.some((r) => r.msgID === first.msgID), 'the member hears of the recall');
    const modified = await rest('group_open_http_svc/modify_group_msg', {
      GroupId: groupID, MsgSeq: second.seq, MsgBody: [{ MsgType: 'TIMTextElem', MsgContent: { Text: 'SECOND' } }],
    });
    assert.equal(modified.ActionStatus, 'OK', JSON.stringify(modified));
    await waitFor(() => member.modified.some((m) => m.msgID === second.msgID && m.textElem?.text === 'SECOND'), 'the member hears of the edit');
  });
});
