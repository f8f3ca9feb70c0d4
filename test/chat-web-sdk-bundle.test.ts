/**
 * The browser bundle of `@confab/chat` (`@confab/chat/browser`, built by
 * packages/chat/scripts/build-browser.mjs): it builds with no Node built-in, and the
 * bundle itself logs in, reaches SDK_READY and exchanges a message with a real server
 * (given a WebSocket constructor, as a page has one).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket as NodeWebSocket } from 'ws';
import type TencentCloudChatType from '@confab/chat';
import type { ChatEvent, WebMessage } from '@confab/chat';
import type { WebSocketConstructor } from '@confab/sdk';
import { startTestServer, waitFor } from './helpers/sdk-harness.js';

let env: Awaited<ReturnType<typeof startTestServer>>;
before(async () => { env = await startTestServer(); });
after(async () => { await env.stop(); });

test('the browser bundle builds without Node built-ins and works end to end', async () => {
  const script = fileURLToPath(new URL('../packages/chat/scripts/build-browser.mjs', import.meta.url));
  const out = execFileSync(process.execPath, [script], { encoding: 'utf8' });
  assert.match(out, /confab-chat\.js/);
  const bundle = new URL('../packages/chat/dist/browser/confab-chat.js', import.meta.url);
  const { default: TencentCloudChat } = await import(pathToFileURL(fileURLToPath(bundle)).href) as { default: typeof TencentCloudChatType };
  const make = () => {
    const chat = TencentCloudChat.create({ SDKAppID: env.app.sdkAppID, serverUrl: env.server.wsUrl, WebSocket: NodeWebSocket as unknown as WebSocketConstructor });
    chat.setLogLevel(4);
    return chat;
  };
  const alice = make();
  const bob = make();
  try {
    const received: WebMessage[] = [];
    bob.on(TencentCloudChat.EVENT.MESSAGE_RECEIVED, (e: ChatEvent) => { received.push(...(e.data as WebMessage[])); });
    await alice.login({ userID: 'b-alice', userSig: await env.sig('b-alice') });
    await bob.login({ userID: 'b-bob', userSig: await env.sig('b-bob') });
    await waitFor(() => alice.isReady() && bob.isReady(), 'SDK_READY from the bundle');
    await alice.sendMessage(alice.createTextMessage({ to: 'b-bob', conversationType: TencentCloudChat.TYPES.CONV_C2C, payload: { text: 'bundled' } }));
    await waitFor(() => received.length === 1, 'bob receives');
    assert.equal(received[0]!.payload.text, 'bundled');
  } finally {
    await alice.destroy().catch(() => undefined);
    await bob.destroy().catch(() => undefined);
  }
});
