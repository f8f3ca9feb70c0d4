/**
 * `@confab/chat/browser` in headless Chromium: a page of the Confab server's own origin
 * creates instances without `serverUrl` (it defaults to the origin's `/ws`), logs
 * two users in, and one receives what the other sends. Skips, naming it, without
 * Debian's /usr/bin/chromium (scripts/ensure-chromium.sh installs it; CI has it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { startTestServer } from './helpers/sdk-harness.js';

const CHROMIUM = process.env.CONFAB_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const skipBrowser = existsSync(CHROMIUM)
  ? false
  : `Chromium not found at ${CHROMIUM} (Debian package "chromium"; run scripts/ensure-chromium.sh)`;

describe('@confab/chat in Chromium', { skip: skipBrowser }, () => {
  let env: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Browser;
  before(async () => {
    env = await startTestServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  });
  after(async () => {
    await browser?.close();
    await env?.stop();
  });

  test('a page on the server\'s origin: default serverUrl, SDK_READY, send and receive', async () => {
    execFileSync(process.execPath, [fileURLToPath(new URL('../packages/chat/scripts/build-browser.mjs', import.meta.url))]);
    const bundle = readFileSync(new URL('../packages/chat/dist/browser/confab-chat.js', import.meta.url), 'utf8');
    const origin = new URL(env.server.wsUrl.replace(/^ws/, 'http')).origin;
    const page = await browser.newPage();
    // A real page of the server (its console), so the page's origin is the server's and
    // `/ws` is its WebSocket; the bundle is answered here on that origin. (A page answered
    // by the test itself would count as a public address, and Chromium's local-network
    // checks would block its socket to 127.0.0.1.)
    await page.route(`${origin}/chat-test/confab-chat.js`, (route) => route.fulfill({ contentType: 'text/javascript', body: bundle }));
    await page.goto(`${origin}/console`);
    const sigs = { alice: await env.sig('p-alice'), bob: await env.sig('p-bob') };
    const result = await page.evaluate(async ({ sdkAppID, sigs }) => {
      const url = '/chat-test/confab-chat.js';
      const TIM = (await import(url) as { default: typeof import('@confab/chat').default }).default;
      const alice = TIM.create({ SDKAppID: sdkAppID });
      const again = TIM.create({ SDKAppID: sdkAppID });
      const sameInstance = alice === again;
      // One instance per SDKAppID in a page, as in the reference: alice sends, logs out,
      // and bob logs in on the same instance.
      alice.setLogLevel(4);
      await alice.login({ userID: 'p-bob', userSig: sigs.bob }); // bob's account exists once he logged in
      await alice.logout();
      const ready = new Promise((resolve) => alice.once(TIM.EVENT.SDK_READY, resolve));
      await alice.login({ userID: 'p-alice', userSig: sigs.alice });
      await ready;
      const message = alice.createTextMessage({ to: 'p-bob', conversationType: TIM.TYPES.CONV_C2C, payload: { text: 'from a page' } });
      const sent = await alice.sendMessage(message);
      await alice.logout();
      const bobReady = new Promise((resolve) => alice.once(TIM.EVENT.SDK_READY, resolve));
      await alice.login({ userID: 'p-bob', userSig: sigs.bob });
      await bobReady;
      const list = await alice.getConversationList();
      const history = await alice.getMessageList({ conversationID: 'C2Cp-alice' });
      await alice.destroy();
      return {
        sameInstance,
        sentCode: sent.code,
        conversations: list.data.conversationList.map((c) => [c.conversationID, c.unreadCount, c.lastMessage.messageForShow]),
        texts: history.data.messageList.map((m) => m.payload.text),
      };
    }, { sdkAppID: env.app.sdkAppID, sigs });
    assert.deepEqual(result, {
      sameInstance: true,
      sentCode: 0,
      conversations: [['C2Cp-alice', 1, 'from a page']],
      texts: ['from a page'],
    });
    await page.close();
  });
});
