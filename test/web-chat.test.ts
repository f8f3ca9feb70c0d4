/**
 * The web chat example (examples/web-chat) end to end: its development back end on port 0
 * with the embedded server in a temp dir, the built page in headless Debian Chromium driven
 * by playwright-core, three browser contexts — alice on two devices (each context has its
 * own IndexedDB, so its own device ID) and bob — and a Node SDK user (erin) for bulk
 * messages and barriers.
 *
 * Screenshots go to test-results/web-chat/ (git-ignored). Waits poll with a generous guard
 * that fails the test; nothing asserts on timing. Without /usr/bin/chromium (or
 * CONFAB_CHROMIUM) the browser tests skip, saying so.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { MemoryStore, V2TIMManager } from '@confab/sdk';
import { buildWebChat, DIST_DIR, startWebChat, type WebChat } from '../examples/web-chat/server.js';

const CHROMIUM = process.env.CONFAB_CHROMIUM || '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: run scripts/ensure-chromium.sh (apt-get install chromium)`;
const GUARD_MS = 15_000;
const SHOTS = fileURLToPath(new URL('../test-results/web-chat/', import.meta.url));

/** Polls `check` until it is truthy; fails the test after the guard. */
async function until<T>(what: string, check: () => Promise<T> | T, guardMs = GUARD_MS): Promise<NonNullable<T>> {
  const deadline = Date.now() + guardMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Device {
  name: string;
  context: BrowserContext;
  page: Page;
}

const item = (d: Device, id: string): Locator => d.page.locator(`[data-testid="conversation-item"][data-conversation-id="${id}"]`);
const listIDs = (d: Device): Promise<string[]> =>
  d.page.getByTestId('conversation-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-conversation-id') ?? ''));
const badge = async (d: Device, id: string): Promise<string | null> => {
  const b = item(d, id).getByTestId('unread-badge');
  return (await b.count()) ? b.innerText() : null;
};
const preview = (d: Device, id: string): Promise<string> => item(d, id).getByTestId('conversation-preview').innerText();
const messageTexts = (d: Device): Promise<string[]> =>
  d.page.getByTestId('message-text').evaluateAll((els) => els.map((e) => e.textContent ?? ''));

async function shot(d: Device, name: string): Promise<void> {
  await d.page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

// Bounded: every wait has a guard, and the whole suite a ceiling (it takes ~20 s).
describe('web chat example in Chromium', { skip, timeout: 240_000 }, () => {
  let chat: WebChat;
  let dir: string;
  let browser: Browser;
  const devices: Device[] = [];
  const pageErrors: string[] = [];
  const sdkUsers: V2TIMManager[] = [];
  let alice1: Device;
  let alice2: Device;
  let bob: Device;
  let erin: V2TIMManager;

  async function newPage(d: Device): Promise<Page> {
    const page = await d.context.newPage();
    page.setDefaultTimeout(GUARD_MS);
    page.on('pageerror', (err) => pageErrors.push(`${d.name}: pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(`${d.name}: console: ${msg.text()}`);
    });
    d.page = page;
    return page;
  }

  async function newDevice(name: string): Promise<Device> {
    const context = await browser.newContext({ viewport: { width: 1180, height: 760 }, colorScheme: 'light', locale: 'en-US', timezoneId: 'UTC' });
    const d = { name, context } as Device;
    await newPage(d);
    devices.push(d);
    return d;
  }

  async function reload(d: Device): Promise<void> {
    await d.page.reload();
    await d.page.locator('[data-testid="conversation-list"][data-ready="true"]').waitFor({ state: 'attached' });
    await until(`${d.name} synced after the reload`, async () => (await d.page.getByTestId('connection-status').getAttribute('data-synced')) === 'true');
  }

  async function signIn(d: Device, userID: string): Promise<void> {
    if (!d.page.url().startsWith(chat.url)) await d.page.goto(chat.url);
    await d.page.getByTestId('login-view').waitFor({ state: 'visible' });
    await d.page.getByTestId('login-user-id').fill(userID);
    await d.page.getByTestId('login-submit').click();
    await d.page.locator('[data-testid="conversation-list"][data-ready="true"]').waitFor({ state: 'attached' });
    assert.equal(await d.page.getByTestId('current-user').innerText(), userID);
    await until(`${d.name} online`, async () => (await d.page.getByTestId('connection-status').getAttribute('data-state')) === 'online');
  }

  async function signOut(d: Device): Promise<void> {
    await d.page.getByTestId('sign-out').click();
    await d.page.getByTestId('login-view').waitFor({ state: 'visible' });
  }

  async function openChat(d: Device, id: string): Promise<void> {
    await item(d, id).getByRole('button').click();
    await d.page.locator(`[data-testid="chat-view"][data-conversation-id="${id}"]`).waitFor({ state: 'visible' });
  }

  async function startChat(d: Device, userID: string): Promise<void> {
    await d.page.getByTestId('new-chat-input').fill(userID);
    await d.page.getByTestId('new-chat-submit').click();
    await d.page.locator(`[data-testid="chat-view"][data-conversation-id="c2c_${userID}"]`).waitFor({ state: 'visible' });
  }

  async function send(d: Device, text: string): Promise<void> {
    await d.page.getByTestId('composer-input').fill(text);
    await d.page.getByTestId('composer-input').press('Enter');
    await until(`${d.name} sent "${text}"`, () => d.page.locator('[data-testid="message"][data-status="sent"][data-self="true"]', { hasText: text }).count());
  }

  /** Opens the ⋯ menu, picks an action and returns the confirmation dialog. */
  async function action(d: Device, testid: string): Promise<Locator> {
    await d.page.getByTestId('chat-menu-button').click();
    await d.page.getByTestId(testid).click();
    const dialog = d.page.getByTestId('confirm-dialog');
    await dialog.waitFor({ state: 'visible' });
    return dialog;
  }

  async function sdkUser(userID: string): Promise<V2TIMManager> {
    const im = new V2TIMManager();
    assert.ok(im.initSDK(chat.sdkAppID, { serverUrl: chat.serverUrl, logLevel: 'silent', store: new MemoryStore() }));
    await im.login(userID, await chat.confab!.genUserSig(chat.sdkAppID, userID));
    sdkUsers.push(im);
    return im;
  }

  const setSync = (on: boolean) => chat.confab!.domain.apps.updateSettings(chat.sdkAppID, { syncConversationDeletion: on });

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // `npm run build` builds the page; build it here when a partial build left it out.
    if (!existsSync(join(DIST_DIR, 'index.html'))) await buildWebChat('silent');
    dir = mkdtempSync(join(tmpdir(), 'confab-web-chat-'));
    chat = await startWebChat({ port: 0, confabPort: 0, dataDir: dir, logLevel: 'silent' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    alice1 = await newDevice('alice-1');
    alice2 = await newDevice('alice-2');
    bob = await newDevice('bob');
  });

  after(async () => {
    for (const im of sdkUsers) await im.logout().catch(() => undefined);
    await browser?.close();
    await chat?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the back end hands out UserSigs (never the key) and serves the page with a CSP', async () => {
    const ask = (body: unknown, method = 'POST') => fetch(`${chat.url}api/usersig`, {
      method, headers: { 'content-type': 'application/json' }, ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
    });
    const ok = await ask({ userID: 'alice' });
    assert.equal(ok.status, 200);
    const sig = await ok.json() as Record<string, unknown>;
    assert.deepEqual(Object.keys(sig).sort(), ['sdkAppID', 'serverUrl', 'userID', 'userSig']);
    assert.equal(sig.sdkAppID, chat.sdkAppID);
    assert.equal(sig.serverUrl, chat.serverUrl);
    const app = await chat.confab!.domain.apps.get(chat.sdkAppID);
    assert.ok(!JSON.stringify(sig).includes(app!.secretKey), 'the secret key is not sent');
    assert.equal((await ask({ userID: 'no spaces' })).status, 400);
    assert.equal((await ask({})).status, 400);
    assert.equal((await ask(undefined, 'GET')).status, 405);

    const page = await fetch(chat.url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.ok(csp.includes(new URL(chat.serverUrl).host), 'the WebSocket origin is allowed');
    assert.match(await page.text(), /<script type="module"[^>]*src="\/assets\//);
    assert.equal((await fetch(`${chat.url}assets/nope.js`)).status, 404);
    assert.equal((await fetch(`${chat.url}..%2F..%2Fpackage.json`)).status, 404);
  });

  test('three devices sign in; bob starts a chat and alice gets it live on both devices, with unread badges', async () => {
    await setSync(true);
    await alice1.page.goto(chat.url);
    await alice1.page.getByTestId('login-view').waitFor({ state: 'visible' });
    await shot(alice1, '01-sign-in');
    await signIn(alice1, 'alice');
    await signIn(alice2, 'alice');
    await signIn(bob, 'bob');
    assert.equal(await alice1.page.getByTestId('conversation-list-empty').isVisible(), true);

    // Starting a chat with someone who never signed in is refused with a clear message.
    await bob.page.getByTestId('new-chat-input').fill('nobody');
    await bob.page.getByTestId('new-chat-submit').click();
    await until('the unknown-user error', async () => /No user "nobody" yet/.test(await bob.page.getByTestId('new-chat-error').innerText()));

    await startChat(bob, 'alice');
    assert.equal(await bob.page.getByTestId('chat-title').innerText(), 'alice');
    await send(bob, 'Hi Alice!');
    for (const d of [alice1, alice2]) {
      await until(`${d.name} lists c2c_bob`, async () => (await preview(d, 'c2c_bob')) === 'Hi Alice!');
      assert.equal(await badge(d, 'c2c_bob'), '1');
    }
    await send(bob, 'Are you there?');
    await send(bob, 'Lunch at noon?');
    for (const d of [alice1, alice2]) {
      await until(`${d.name} shows 3 unread`, async () => (await badge(d, 'c2c_bob')) === '3');
      assert.equal(await item(d, 'c2c_bob').getAttribute('data-unread'), '3');
      assert.equal(await preview(d, 'c2c_bob'), 'Lunch at noon?');
    }
    assert.match(await alice1.page.title(), /^\(3\) Confab Chat$/);
    await shot(alice2, '02-alice-2-unread-badge');

    // alice reads on device 1: the badge goes on both devices.
    await openChat(alice1, 'c2c_bob');
    await until('alice-1 shows bob\'s three messages', async () =>
      JSON.stringify(await messageTexts(alice1)) === JSON.stringify(['Hi Alice!', 'Are you there?', 'Lunch at noon?']));
    for (const d of [alice1, alice2]) await until(`${d.name} badge cleared`, async () => (await badge(d, 'c2c_bob')) === null);

    await send(alice1, 'Hey Bob! Noon works.');
    await until('bob sees alice\'s reply live', () => bob.page.locator('[data-testid="message"][data-self="false"]', { hasText: 'Hey Bob! Noon works.' }).count());
    await until('alice-2 previews her own reply', async () => (await preview(alice2, 'c2c_bob')) === 'You: Hey Bob! Noon works.');
    await send(bob, 'Great, see you at the café');
    await until('alice-1 sees it live in the open chat, in order', async () => JSON.stringify(await messageTexts(alice1)) === JSON.stringify(
      ['Hi Alice!', 'Are you there?', 'Lunch at noon?', 'Hey Bob! Noon works.', 'Great, see you at the café']));
    assert.deepEqual(await messageTexts(bob), ['Hi Alice!', 'Are you there?', 'Lunch at noon?', 'Hey Bob! Noon works.', 'Great, see you at the café']);
    await shot(alice1, '03-alice-1-chat');
    await shot(bob, '03-bob-chat');
  });

  test('pinned conversations come first; unread counts stay per conversation', async () => {
    erin = await sdkUser('erin');
    await erin.sendC2CTextMessage('Hello from erin', 'alice');
    await erin.sendC2CTextMessage('Got a minute?', 'alice');
    for (const d of [alice1, alice2]) {
      await until(`${d.name}: erin is newest, on top`, async () => JSON.stringify(await listIDs(d)) === '["c2c_erin","c2c_bob"]');
      await until(`${d.name}: erin has 2 unread`, async () => (await badge(d, 'c2c_erin')) === '2');
    }

    await openChat(alice2, 'c2c_bob');
    assert.equal(await alice2.page.getByTestId('pin-toggle').getAttribute('aria-pressed'), 'false');
    await alice2.page.getByTestId('pin-toggle').click();
    for (const d of [alice1, alice2]) {
      await until(`${d.name}: pinned bob first`, async () => JSON.stringify(await listIDs(d)) === '["c2c_bob","c2c_erin"]');
      assert.equal(await item(d, 'c2c_bob').getAttribute('data-pinned'), 'true');
      assert.equal(await item(d, 'c2c_bob').getByTestId('pinned-indicator').count(), 1);
      assert.equal(await item(d, 'c2c_erin').getByTestId('pinned-indicator').count(), 0);
    }
    await until('the button says Unpin', async () => (await alice2.page.getByTestId('pin-toggle').getAttribute('aria-pressed')) === 'true');
    assert.equal((await alice2.page.getByTestId('pin-toggle').innerText()).trim(), 'Unpin');

    // A newer message does not move an unpinned conversation above a pinned one.
    await erin.sendC2CTextMessage('Ping?', 'alice');
    for (const d of [alice1, alice2]) await until(`${d.name}: erin has 3 unread`, async () => (await badge(d, 'c2c_erin')) === '3');
    assert.deepEqual(await listIDs(alice1), ['c2c_bob', 'c2c_erin']);

    // Unpin: back to newest first; pin again for the rest.
    await alice2.page.getByTestId('pin-toggle').click();
    await until('unpinned: erin first', async () => JSON.stringify(await listIDs(alice1)) === '["c2c_erin","c2c_bob"]');
    await alice2.page.getByTestId('pin-toggle').click();
    await until('pinned again', async () => JSON.stringify(await listIDs(alice1)) === '["c2c_bob","c2c_erin"]');
    await shot(alice1, '04-alice-1-pinned-and-unread');
  });

  test('scroll-back pages through the history', async () => {
    for (let i = 1; i <= 25; i++) await erin.sendC2CTextMessage(`erin #${i}`, 'alice');
    await until('alice-1 has erin #25', async () => (await preview(alice1, 'c2c_erin')) === 'erin #25');
    await openChat(alice1, 'c2c_erin');
    const all = ['Hello from erin', 'Got a minute?', 'Ping?', ...Array.from({ length: 25 }, (_, i) => `erin #${i + 1}`)];
    await until('the newest page', async () => (await messageTexts(alice1)).at(-1) === 'erin #25');
    const first = await messageTexts(alice1);
    assert.ok(first.length < all.length, `one page first (${first.length} of ${all.length})`);
    assert.equal(await alice1.page.getByTestId('load-earlier').isVisible(), true);
    // Scrolling to the top loads the older messages.
    await until('the whole history after scrolling up', async () => {
      await alice1.page.getByTestId('message-scroller').evaluate((el) => { el.scrollTop = 0; });
      return JSON.stringify(await messageTexts(alice1)) === JSON.stringify(all);
    });
    await alice1.page.getByTestId('history-start').waitFor({ state: 'visible' });
    assert.equal(await alice1.page.getByTestId('load-earlier').isVisible(), false);
    await until('erin read on both devices', async () => (await badge(alice2, 'c2c_erin')) === null);
    await shot(alice1, '05-alice-1-scrolled-back');
  });

  test('"remove from list, keep history": the conversation leaves the list, its history stays', async () => {
    const dialog = await action(alice1, 'action-delete-keep-history');
    assert.equal(await dialog.getAttribute('data-kind'), 'delete-keep-history');
    assert.equal(await alice1.page.getByTestId('confirm-title').innerText(), 'Remove from your list?');
    assert.match(await alice1.page.getByTestId('confirm-body').innerText(), /Its history is kept on the server/);
    await alice1.page.getByTestId('confirm-ok').click();
    for (const d of [alice1, alice2]) await until(`${d.name}: erin left the list`, async () => (await item(d, 'c2c_erin').count()) === 0);
    await until('alice-1 shows the placeholder instead of the deleted chat', async () => alice1.page.getByTestId('chat-placeholder').isVisible());

    // Starting the chat again shows the history that was kept.
    await startChat(alice1, 'erin');
    await until('the kept history', async () => (await messageTexts(alice1)).at(-1) === 'erin #25');
    assert.equal(await item(alice1, 'c2c_erin').count(), 0, 'not listed until a new message');
    await send(alice1, 'Sorry, I am back');
    for (const d of [alice1, alice2]) await until(`${d.name}: erin is listed again`, async () => (await preview(d, 'c2c_erin')) === 'You: Sorry, I am back');
  });

  test('"clear history" empties the chat but keeps the conversation', async () => {
    const dialog = await action(alice1, 'action-clear-history');
    assert.equal(await dialog.getAttribute('data-kind'), 'clear-history');
    const body = await alice1.page.getByTestId('confirm-body').innerText();
    assert.match(body, /deleted on this device and on the server/);
    assert.match(body, /cannot be recovered/);
    assert.match(body, /stays in your list/);
    await alice1.page.getByTestId('confirm-ok').click();
    await until('the chat is empty', async () => (await messageTexts(alice1)).length === 0);
    await alice1.page.getByTestId('chat-empty').waitFor({ state: 'visible' });
    for (const d of [alice1, alice2]) {
      await until(`${d.name}: erin listed with no messages`, async () => (await preview(d, 'c2c_erin')) === 'No messages');
    }
    assert.deepEqual(await listIDs(alice1), ['c2c_bob', 'c2c_erin']);
    await shot(alice1, '06-alice-1-history-cleared');
    // A new message after the clear shows alone.
    await erin.sendC2CTextMessage('Hello again', 'alice');
    await until('only the new message', async () => JSON.stringify(await messageTexts(alice1)) === '["Hello again"]');
  });

  test('reload: the list comes from IndexedDB, before the sync with the server answers', async () => {
    // Hold back every conv.sync request: whatever the page shows comes from IndexedDB. A new
    // page in the same context (same IndexedDB, same device ID), replacing the old one.
    let heldSyncs = 0;
    await alice2.page.close();
    const routed = await newPage(alice2);
    await routed.routeWebSocket(/\/ws$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        if (typeof message === 'string' && /"op":"conv\.sync"/.test(message)) {
          heldSyncs++;
          return;
        }
        server.send(message);
      });
      server.onMessage((message) => ws.send(message));
    });
    await routed.goto(chat.url);
    await routed.locator('[data-testid="conversation-list"][data-ready="true"]').waitFor({ state: 'attached' });
    await until('the cached list', async () => JSON.stringify(await listIDs(alice2)) === '["c2c_bob","c2c_erin"]');
    assert.ok(heldSyncs > 0, 'the sync was asked for and held back');
    assert.equal(await routed.getByTestId('connection-status').getAttribute('data-synced'), 'false', 'the sync has not finished');
    assert.equal(await item(alice2, 'c2c_bob').getAttribute('data-pinned'), 'true');
    assert.equal(await preview(alice2, 'c2c_bob'), 'Great, see you at the café');
    const dbs = await routed.evaluate('indexedDB.databases().then((list) => list.map((d) => d.name))') as string[];
    assert.ok(dbs.includes('confab-web-chat'), `IndexedDB databases: ${dbs.join(', ')}`);
    await shot(alice2, '07-alice-2-reloaded-from-indexeddb');
    // Back to an unrouted page (routes belong to the page).
    await routed.close();
    await newPage(alice2);
    await alice2.page.goto(chat.url);
    await alice2.page.locator('[data-testid="conversation-list"][data-ready="true"]').waitFor({ state: 'attached' });
    await until('alice-2 back online', async () => (await alice2.page.getByTestId('connection-status').getAttribute('data-state')) === 'online');
  });

  test('deletion sync ON: deleting on alice\'s device 1 removes the conversation from device 2, also after a reload', async () => {
    await openChat(alice2, 'c2c_bob');
    await openChat(alice1, 'c2c_bob');
    for (const d of [alice1, alice2]) assert.deepEqual(await listIDs(d), ['c2c_bob', 'c2c_erin']);
    await shot(alice1, '08-sync-on-alice-1-before-delete');
    await shot(alice2, '08-sync-on-alice-2-before-delete');

    const dialog = await action(alice1, 'action-delete');
    assert.equal(await dialog.getAttribute('data-kind'), 'delete');
    assert.equal(await alice1.page.getByTestId('confirm-title').innerText(), 'Delete this conversation?');
    const body = await alice1.page.getByTestId('confirm-body').innerText();
    assert.match(body, /The conversation with bob and its history are deleted on this device and on the server\. They cannot be recovered\./);
    assert.match(body, /bob keeps their own copy/);
    assert.equal(await alice1.page.getByTestId('confirm-ok').innerText(), 'Delete');
    // Cancel is the default; the dialog is modal.
    assert.equal(await alice1.page.evaluate('document.activeElement?.getAttribute("data-testid")'), 'confirm-cancel');
    await shot(alice1, '09-delete-dialog');
    await alice1.page.getByTestId('confirm-ok').click();
    await dialog.waitFor({ state: 'hidden' });

    await until('gone on alice-1', async () => (await item(alice1, 'c2c_bob').count()) === 0);
    await until('alice-1 shows the placeholder instead of the deleted chat', async () => alice1.page.getByTestId('chat-placeholder').isVisible());
    await until('gone on alice-2', async () => (await item(alice2, 'c2c_bob').count()) === 0);
    await until('alice-2 is told why its open chat closed', async () =>
      /deleted on another of your devices/.test(await alice2.page.getByTestId('chat-notice').innerText()));
    assert.deepEqual(await listIDs(alice2), ['c2c_erin']);
    await shot(alice1, '10-sync-on-alice-1-after-delete');
    await shot(alice2, '10-sync-on-alice-2-after-delete');

    await reload(alice2);
    await until('alice-2 lists erin', async () => (await item(alice2, 'c2c_erin').count()) === 1);
    assert.equal(await item(alice2, 'c2c_bob').count(), 0, 'still gone after a reload');
    await shot(alice2, '11-sync-on-alice-2-after-reload');

    // bob keeps his copy; a new message brings the conversation back with only itself.
    assert.ok((await messageTexts(bob)).length >= 5, 'bob keeps the history');
    await send(bob, 'Still on for lunch?');
    for (const d of [alice1, alice2]) await until(`${d.name}: bob is back`, async () => (await preview(d, 'c2c_bob')) === 'Still on for lunch?');
    await openChat(alice2, 'c2c_bob');
    await until('only the new message', async () => JSON.stringify(await messageTexts(alice2)) === '["Still on for lunch?"]');
  });

  test('deletion sync OFF (a fresh pair of users): the conversation stays on the other device', async () => {
    await setSync(false);
    for (const d of [alice1, alice2, bob]) await signOut(d);
    const carol1 = alice1;
    const carol2 = alice2;
    const dave = bob;
    await signIn(carol1, 'carol');
    await signIn(carol2, 'carol');
    await signIn(dave, 'dave');
    await startChat(dave, 'carol');
    await send(dave, 'Hi Carol, it is Dave');
    for (const d of [carol1, carol2]) await until(`${d.name}: carol has c2c_dave`, async () => (await preview(d, 'c2c_dave')) === 'Hi Carol, it is Dave');
    await shot(carol1, '12-sync-off-carol-1-before-delete');
    await shot(carol2, '12-sync-off-carol-2-before-delete');

    await openChat(carol1, 'c2c_dave');
    await action(carol1, 'action-delete');
    assert.match(await carol1.page.getByTestId('confirm-body').innerText(), /deleted on this device and on the server\. They cannot be recovered\./);
    await carol1.page.getByTestId('confirm-ok').click();
    await until('gone on carol-1', async () => (await item(carol1, 'c2c_dave').count()) === 0);

    // A barrier: a later change for carol reaches device 2 after the deletion's version step.
    await erin.sendC2CTextMessage('barrier', 'carol');
    await until('carol-2 lists erin', async () => (await item(carol2, 'c2c_erin').count()) === 1);
    const quietUntil = Date.now() + 750;
    while (Date.now() < quietUntil) {
      assert.equal(await item(carol2, 'c2c_dave').count(), 1, 'carol-2 still lists dave (sync is off)');
      await new Promise((r) => setTimeout(r, 50));
    }
    await shot(carol1, '13-sync-off-carol-1-after-delete');
    await shot(carol2, '13-sync-off-carol-2-after-delete');

    await reload(carol2);
    await until('carol-2 lists erin', async () => (await item(carol2, 'c2c_erin').count()) === 1);
    assert.equal(await item(carol2, 'c2c_dave').count(), 1, 'carol-2 keeps its copy after a reload');
    assert.equal(await item(carol1, 'c2c_dave').count(), 0);
  });

  test('narrow screens show one pane at a time', async () => {
    const dave = bob;
    await dave.page.setViewportSize({ width: 390, height: 740 });
    await send(dave, 'Carol? Are you there?');
    assert.equal(await dave.page.getByTestId('chat-view').isVisible(), true);
    assert.equal(await dave.page.getByRole('complementary', { name: 'Conversations' }).isVisible(), false);
    await shot(dave, '14-narrow-chat');
    await dave.page.getByTestId('chat-back').click();
    await dave.page.getByTestId('conversation-list').waitFor({ state: 'visible' });
    assert.equal(await dave.page.getByTestId('chat-pane').isVisible(), false);
    await shot(dave, '14-narrow-list');
  });

  test('no script errors or CSP violations in the pages', () => {
    assert.deepEqual(pageErrors, []);
  });
});
