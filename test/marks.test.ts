/**
 * Conversation marks (the reference's markConversation): labels per user and
 * conversation that reach every device of the user and start empty after a deletion.
 */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type AppRecord, type ConfabServer } from '@confab/server';
import { ConversationMarkType, ErrorCode } from '@confab/protocol';
import { RawClient } from './helpers/raw-client.js';

let server: ConfabServer;
let dir: string;
let app: AppRecord;
const clients: RawClient[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confab-marks-'));
  server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent', purge: false });
  app = await server.createApp({ name: 'marks' });
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function login(userID: string, deviceID: string): Promise<RawClient> {
  const client = await RawClient.connect(server.wsUrl);
  clients.push(client);
  await client.login({ sdkAppID: app.sdkAppID, userID, userSig: await server.genUserSig(app.sdkAppID, userID), deviceID });
  return client;
}

test('marks are set per conversation, reach the other device, and are cleared by a deletion', async () => {
  const phone = await login('alice', 'phone');
  const laptop = await login('alice', 'laptop');
  const bob = await login('bob', 'bob');
  await bob.ok('msg.send', { conversationID: 'c2c_alice', clientMsgID: 'b1', elem: { type: 'text', text: 'hi' } });
  await laptop.nextPush('update');

  const marked = await phone.ok('conv.mark', { conversationIDs: ['c2c_bob', 'c2c_nobody', 'bad id'], markType: ConversationMarkType.STAR, enableMark: true });
  assert.deepEqual(marked.results.map((r) => r.resultCode), [0, ErrorCode.INVALID_CONVERSATION, ErrorCode.INVALID_PARAMETERS]);
  assert.deepEqual(marked.update?.conversations[0]?.markList, [1]);
  const pushed = await laptop.nextPush('update');
  assert.deepEqual(pushed.conversations[0]?.markList, [1], 'the other device gets the mark');
  assert.equal(pushed.conversations[0]?.unreadCount, 1, 'marks are labels: unread is unchanged');

  const custom = 2 ** 33;
  await phone.ok('conv.mark', { conversationIDs: ['c2c_bob'], markType: custom, enableMark: true });
  const off = await phone.ok('conv.mark', { conversationIDs: ['c2c_bob'], markType: ConversationMarkType.STAR, enableMark: false });
  assert.deepEqual(off.update?.conversations[0]?.markList, [custom]);

  for (const bad of [0, 3, -1, 2 ** 53, 1.5]) {
    assert.equal((await phone.fail('conv.mark', { conversationIDs: ['c2c_bob'], markType: bad, enableMark: true })).code, ErrorCode.INVALID_PARAMETERS, `markType ${bad}`);
  }
  const tooMany = Array.from({ length: 101 }, (_, i) => `c2c_u${i}`);
  assert.equal((await phone.fail('conv.mark', { conversationIDs: tooMany, markType: 1, enableMark: true })).code, ErrorCode.TOO_MANY_CONVERSATIONS);

  const deleted = await phone.ok('conv.delete', { conversationIDs: ['c2c_bob'], clearMessages: true });
  assert.deepEqual(deleted.update?.conversations[0]?.markList, []);
  await bob.ok('msg.send', { conversationID: 'c2c_alice', clientMsgID: 'b2', elem: { type: 'text', text: 'again' } });
  const back = (await phone.ok('conv.sync', { sinceVersion: 0 })).conversations.find((c) => c.conversationID === 'c2c_bob');
  assert.deepEqual(back?.markList, [], 'a conversation that comes back starts without marks');
});

test('SDK: markConversation on one device shows in markList on the other', async () => {
  const { V2TIMManager, V2TIMConversationMarkType } = await import('@confab/sdk');
  const devices = [];
  for (const deviceID of ['phone', 'laptop']) {
    const im = new V2TIMManager();
    im.initSDK(app.sdkAppID, { serverUrl: server.wsUrl, deviceID, logLevel: 'silent' });
    await im.login('alice', await server.genUserSig(app.sdkAppID, 'alice'));
    devices.push(im);
  }
  const [phone, laptop] = devices as [InstanceType<typeof V2TIMManager>, InstanceType<typeof V2TIMManager>];
  const bob = await login('bob', 'bob');
  await bob.ok('msg.send', { conversationID: 'c2c_alice', clientMsgID: 'b1', elem: { type: 'text', text: 'hi' } });
  try {
    const results = await phone.getConversationManager().markConversation(['c2c_bob'], V2TIMConversationMarkType.STAR, true);
    assert.deepEqual(results.map((r) => r.resultCode), [0]);
    await assert.rejects(phone.getConversationManager().markConversation(['c2c_bob'], 3, true), { code: ErrorCode.INVALID_PARAMETERS });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const c = await laptop.getConversationManager().getConversation('c2c_bob');
      if (c.markList.includes(V2TIMConversationMarkType.STAR)) break;
      if (Date.now() > deadline) assert.fail('the laptop never saw the mark');
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    for (const im of devices) await im.logout();
  }
});
