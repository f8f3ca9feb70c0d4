/**
 * `@confab/chat` across a server restart: the instance stays ready (as the reference's
 * does during a network drop), reports NET_STATE_CHANGE, and after reconnecting delivers
 * what arrived meanwhile through MESSAGE_RECEIVED and CONVERSATION_LIST_UPDATED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '@confab/server';
import TencentCloudChat, { type ChatEvent, type WebConversation, type WebMessage } from '@confab/chat';
import { waitFor } from './helpers/sdk-harness.js';

const { EVENT, TYPES } = TencentCloudChat;

test('a restart: NET_STATE_CHANGE, still ready, catch-up announced', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'confab-chat-reconnect-'));
  let server = await startServer({ dataDir, port: 0, logLevel: 'silent' });
  const port = server.port;
  const app = await server.createApp({ name: 'chat-reconnect' });
  const sig = (u: string) => server.genUserSig(app.sdkAppID, u);
  const alice = TencentCloudChat.create({ SDKAppID: app.sdkAppID, serverUrl: server.wsUrl });
  const bob = TencentCloudChat.create({ SDKAppID: app.sdkAppID, serverUrl: server.wsUrl });
  alice.setLogLevel(4);
  bob.setLogLevel(4);
  const states: string[] = [];
  const received: WebMessage[] = [];
  let list: WebConversation[] = [];
  alice.on(EVENT.NET_STATE_CHANGE, (e: ChatEvent) => { states.push((e.data as { state: string }).state); });
  alice.on(EVENT.MESSAGE_RECEIVED, (e: ChatEvent) => { received.push(...(e.data as WebMessage[])); });
  alice.on(EVENT.CONVERSATION_LIST_UPDATED, (e: ChatEvent) => { list = e.data as WebConversation[]; });
  try {
    await alice.login({ userID: 'r-alice', userSig: await sig('r-alice') });
    await bob.login({ userID: 'r-bob', userSig: await sig('r-bob') });
    await waitFor(() => alice.isReady() && bob.isReady(), 'both ready');
    await bob.sendMessage(bob.createTextMessage({ to: 'r-alice', conversationType: TYPES.CONV_C2C, payload: { text: 'before' } }));
    await waitFor(() => received.length === 1, 'first message');

    await server.close();
    await waitFor(() => states.includes(TYPES.NET_STATE_DISCONNECTED) || states.includes(TYPES.NET_STATE_CONNECTING), 'alice notices the drop');
    assert.equal(alice.isReady(), true, 'a network drop does not make the SDK not ready');
    server = await startServer({ dataDir, port, logLevel: 'silent' });
    await waitFor(async () => bob.sendMessage(bob.createTextMessage({ to: 'r-alice', conversationType: TYPES.CONV_C2C, payload: { text: 'after' } }))
      .then(() => true, () => false), 'bob sends after the restart', 30_000);
    await waitFor(() => received.length === 2, 'alice receives after reconnecting', 30_000);
    assert.deepEqual(received.map((m) => m.payload.text), ['before', 'after']);
    await waitFor(() => list[0]?.lastMessage.messageForShow === 'after' && list[0]?.unreadCount === 2, 'the list caught up');
    assert.equal(states.at(-1), TYPES.NET_STATE_CONNECTED);
    assert.equal(alice.getTotalUnreadMessageCount(), 2);
  } finally {
    await alice.destroy().catch(() => undefined);
    await bob.destroy().catch(() => undefined);
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
