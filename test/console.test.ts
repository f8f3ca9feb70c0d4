/**
 * The admin console (`/console`) end to end: a real server on port 0 with a SQLite file
 * in a temp dir, the console page driven in headless Debian Chromium by playwright-core,
 * and real SDK clients in Node. The console is an ordinary client of the admin API; the
 * test turns "Sync conversation deletion across clients" on in the page and sees the
 * SDK devices behave differently right away, with nothing restarted.
 *
 * Screenshots of the key steps go to test-results/console/ (git-ignored). Waits poll
 * with a generous guard that fails the test; nothing asserts on timing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type AppRecord, type ConfabServer } from '@confab/server';
import { MemoryStore, V2TIMManager, type V2TIMConversation } from '@confab/sdk';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const GUARD_MS = 10_000;
const SHOTS = fileURLToPath(new URL('../test-results/console/', import.meta.url));
const OPERATOR_TOKEN = 'op-secret';

let server: ConfabServer;
let dir: string;
let app: AppRecord;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confab-console-'));
  server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent', adminToken: OPERATOR_TOKEN, purge: false });
  app = await server.createApp({ name: 'Acme Chat' });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Polls `check` until it is truthy; fails the test after the guard. */
async function until<T>(what: string, check: () => Promise<T> | T, guardMs = GUARD_MS): Promise<NonNullable<T>> {
  const deadline = Date.now() + guardMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('console files', () => {
  test('/console serves the page with a strict CSP and no-cache; assets have their types', async () => {
    for (const path of ['/console', '/console/', '/console/index.html']) {
      const res = await fetch(`${server.httpUrl}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(res.headers.get('content-security-policy') ?? '', /(^|;\s*)default-src 'self'(;|$)/);
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      const html = await res.text();
      assert.match(html, /<script type="module" src="\/console\/app\.js">/);
      assert.doesNotMatch(html, /https?:\/\//, 'no external URLs');
    }
    const js = await fetch(`${server.httpUrl}/console/app.js`);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.doesNotMatch(await js.text(), /https?:\/\//, 'no external URLs');
    const css = await fetch(`${server.httpUrl}/console/styles.css`);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    const head = await fetch(`${server.httpUrl}/console/styles.css`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('no directory traversal, only files that exist in public/', async () => {
    const raw = async (path: string): Promise<number> => {
      // fetch() normalises `..`; send the path as written.
      const { request } = await import('node:http');
      return new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, path, method: 'GET' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    };
    for (const path of [
      '/console/../package.json', '/console/..%2Fpackage.json', '/console/%2e%2e/package.json', '/console/..%5Cpackage.json',
      '/console//etc/passwd', '/console/nope.js', '/console/package.json', '/console/public/app.js',
      '/console/%00', '/console/%E0%A4%A',
    ]) {
      const status = await raw(path);
      assert.ok(status === 400 || status === 404, `${path} → ${status}`);
    }
    // Nothing the console serves leaks outside public/.
    assert.equal((await fetch(`${server.httpUrl}/console/app.js`)).status, 200);
  });
});

interface Device {
  im: V2TIMManager;
  userID: string;
  deviceID: string;
  deleted: string[][];
}

async function device(userID: string, deviceID: string): Promise<Device> {
  const im = new V2TIMManager();
  assert.ok(im.initSDK(app.sdkAppID, { serverUrl: server.wsUrl, logLevel: 'silent', deviceID, store: new MemoryStore() }));
  const d: Device = { im, userID, deviceID, deleted: [] };
  let synced = false;
  im.getConversationManager().addConversationListener({
    onSyncServerFinish: () => { synced = true; },
    onConversationDeleted: (ids) => { d.deleted.push(ids); },
  });
  await im.login(userID, await server.genUserSig(app.sdkAppID, userID));
  await until(`${userID}/${deviceID} synced`, () => synced);
  return d;
}

async function convs(d: Device): Promise<V2TIMConversation[]> {
  return (await d.im.getConversationManager().getConversationList(0, 100)).conversationList;
}

async function conv(d: Device, id: string): Promise<V2TIMConversation | undefined> {
  return (await convs(d)).find((c) => c.conversationID === id);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

describe('admin console in Chromium', { skip: hasChromium ? false : `${CHROMIUM} is missing: run scripts/ensure-chromium.sh (apt-get install chromium)` }, () => {
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const devices: Device[] = [];
  let alicePhone: Device;
  let aliceLaptop: Device;
  let bob: Device;
  let carol: Device;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    page.setDefaultTimeout(GUARD_MS);
    page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      // A 4xx answer is logged by the browser as a failed resource; that is expected here.
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageErrors.push(msg.text());
    });
  });

  after(async () => {
    for (const d of devices) await d.im.logout().catch(() => undefined);
    await browser?.close();
  });

  test('a wrong operator token shows the API error', async () => {
    await page.goto(`${server.httpUrl}/console`);
    await page.getByTestId('signin-operator-token').fill('not-the-token');
    await page.getByTestId('signin-submit').click();
    const error = page.getByTestId('signin-error');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), /wrong operator token \(code 60010\)/);
    assert.equal(await page.getByTestId('console-view').isVisible(), false);
    await shot(page, '01-signin-error');
  });

  test('signs in with the operator token and sees the app; creating an app shows its secret once', async () => {
    await page.getByTestId('signin-operator-token').fill(OPERATOR_TOKEN);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('console-view').waitFor({ state: 'visible' });
    assert.equal(await page.getByTestId('session-scope').innerText(), 'Operator · all apps');
    const stored = await page.evaluate('JSON.parse(sessionStorage.getItem("confab.console.session")).scope');
    assert.equal(stored, 'operator', 'the session token is kept in sessionStorage');
    const row = page.getByTestId(`app-row-${app.sdkAppID}`);
    await row.waitFor();
    assert.match(await row.innerText(), /Acme Chat/);

    // The operator creates an app and is shown its secret key, once.
    await page.getByTestId('create-app-name').fill('Second app');
    await page.getByTestId('create-app-submit').click();
    const banner = page.getByTestId('new-app-secret');
    await banner.waitFor({ state: 'visible' });
    const secret = await page.getByTestId('new-app-secret-value').innerText();
    const newID = Number(await page.getByTestId('new-app-id').innerText());
    const created = await server.domain.apps.get(newID);
    assert.equal(created?.name, 'Second app');
    assert.equal(secret, created?.secretKey);
    await page.getByTestId(`app-row-${newID}`).waitFor();
    await shot(page, '02-app-created-secret-once');
    await page.getByTestId('dismiss-secret').click();
    assert.equal(await banner.isVisible(), false);
    assert.equal(await page.getByTestId('new-app-secret-value').innerText(), '');

    await page.getByTestId(`app-open-${app.sdkAppID}`).click();
    await until('the app panel shows Acme Chat', async () => (await page.getByTestId('app-title').innerText()) === 'Acme Chat');
    const sync = page.getByRole('switch', { name: 'Sync conversation deletion across clients' });
    assert.equal(await sync.isChecked(), false, 'off by default');
    assert.match(await page.locator('#sync-deletion-hint').innerText(), /Only SDKs that declare support/);
    assert.equal(await page.getByTestId('setting-max-bytes').inputValue(), '12288');
  });

  test('sync is off by default: the other device keeps the deleted conversation', async () => {
    alicePhone = await device('alice', 'alice-phone');
    aliceLaptop = await device('alice', 'alice-laptop');
    bob = await device('bob', 'bob-phone');
    carol = await device('carol', 'carol-phone');
    devices.push(alicePhone, aliceLaptop, bob, carol);

    await bob.im.sendC2CTextMessage('hello alice', 'alice');
    await until('both alice devices have c2c_bob', async () => (await conv(alicePhone, 'c2c_bob')) && (await conv(aliceLaptop, 'c2c_bob')));

    await alicePhone.im.getConversationManager().deleteConversation('c2c_bob');
    assert.equal(await conv(alicePhone, 'c2c_bob'), undefined, 'gone on the deleting device');

    // A barrier: a later change for alice reaches the laptop after the deletion's step.
    await carol.im.sendC2CTextMessage('barrier', 'alice');
    await until('the laptop sees c2c_carol', () => conv(aliceLaptop, 'c2c_carol'));
    // And a little more, in case the deletion were (wrongly) delivered late.
    const quietUntil = Date.now() + 750;
    while (Date.now() < quietUntil) {
      assert.deepEqual(aliceLaptop.deleted, [], 'the laptop is not told (sync is off)');
      assert.ok(await conv(aliceLaptop, 'c2c_bob'), 'the laptop still lists c2c_bob');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  test('switching sync on in the console applies live: the other device is told', async () => {
    const sync = page.getByRole('switch', { name: 'Sync conversation deletion across clients' });
    await sync.check();
    assert.equal(await page.getByTestId('sync-deletion-state').innerText(), 'On');
    assert.match(await page.getByTestId('settings-status').innerText(), /Unsaved changes/);
    await page.getByTestId('settings-save').click();
    const status = page.getByTestId('settings-status');
    await until('the page says saved', async () => /^Saved at .*Deletion sync is on/.test(await status.innerText()));
    assert.equal(await status.getAttribute('data-kind'), 'success');
    assert.equal(await page.getByTestId('settings-save').isDisabled(), true);
    assert.equal((await server.domain.apps.get(app.sdkAppID))?.settings.syncConversationDeletion, true);
    assert.match(await page.getByTestId(`app-row-${app.sdkAppID}`).innerText(), /sync on/);
    await shot(page, '03-settings-saved-sync-on');

    // The conversation comes back on both devices with a new message.
    await bob.im.sendC2CTextMessage('hello again', 'alice');
    await until('c2c_bob is back on both devices', async () => {
      const [phone, laptop] = [await conv(alicePhone, 'c2c_bob'), await conv(aliceLaptop, 'c2c_bob')];
      return phone?.lastMessage?.textElem?.text === 'hello again' && laptop?.lastMessage?.textElem?.text === 'hello again';
    });

    await alicePhone.im.getConversationManager().deleteConversation('c2c_bob');
    await until('the laptop is told of the deletion', () => aliceLaptop.deleted.length > 0);
    assert.deepEqual(aliceLaptop.deleted, [['c2c_bob']]);
    assert.equal(await conv(aliceLaptop, 'c2c_bob'), undefined, 'the laptop no longer lists c2c_bob');
    assert.ok(await conv(aliceLaptop, 'c2c_carol'), 'other conversations stay');
  });

  test('an out-of-range message size is refused with a clear message', async () => {
    await page.getByTestId('setting-max-bytes').fill('100');
    await page.getByTestId('settings-save').click();
    const status = page.getByTestId('settings-status');
    await until('a client-side range error', async () => /from 256 to 1048576 bytes/.test(await status.innerText()));
    assert.equal(await status.getAttribute('data-kind'), 'error');
    await page.getByTestId('settings-reset').click();
    assert.equal(await page.getByTestId('setting-max-bytes').inputValue(), '12288');
  });

  test('user lookup: profile, online devices with capabilities, conversations with tombstones, no content', async () => {
    await page.getByTestId('user-id-input').fill('nobody');
    await page.getByTestId('user-submit').click();
    const error = page.getByTestId('user-error');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), /user nobody does not exist \(code 70107\)/);

    await page.getByTestId('user-id-input').fill('alice');
    await page.getByTestId('user-submit').click();
    await page.getByTestId('user-profile').waitFor();
    assert.equal(await error.isVisible(), false);
    assert.equal(await page.getByTestId('user-profile-id').innerText(), 'alice');
    assert.equal(await page.getByTestId('user-online-count').innerText(), '2');

    const deviceRows = page.getByTestId('device-row');
    assert.equal(await deviceRows.count(), 2);
    const ids = (await deviceRows.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device-id')))).sort();
    assert.deepEqual(ids, ['alice-laptop', 'alice-phone']);
    for (const row of await deviceRows.all()) {
      assert.match(await row.innerText(), /conv\.deletion-sync/);
      assert.equal(await row.getByTestId('device-receives-sync').innerText(), 'Yes');
    }

    const bobRow = page.locator('[data-testid="conv-row"][data-conversation-id="c2c_bob"]');
    assert.equal(await bobRow.getAttribute('data-deleted'), 'true');
    assert.equal(await bobRow.getByTestId('conv-state').innerText(), 'deleted');
    assert.equal(await bobRow.getByTestId('conv-unread').innerText(), '0');
    assert.equal(await bobRow.getByTestId('conv-pinned').innerText(), 'No');
    assert.equal(await bobRow.getByTestId('conv-visible-from').innerText(), '3', 'past both of bob\'s messages');
    const carolRow = page.locator('[data-testid="conv-row"][data-conversation-id="c2c_carol"]');
    assert.equal(await carolRow.getByTestId('conv-state').innerText(), 'active');
    assert.equal(await carolRow.getByTestId('conv-unread').innerText(), '1');
    const text = await page.getByTestId('user-result').innerText();
    for (const content of ['hello alice', 'hello again', 'barrier']) assert.ok(!text.includes(content), `no message content (${content})`);
    await shot(page, '04-user-lookup');
  });

  test('the deletions audit table: pending rows (purge is off), user filter, paging', async () => {
    await page.getByTestId('deletions-refresh').click();
    const rows = page.getByTestId('deletion-row');
    await until('two deletions listed', async () => (await rows.count()) === 2);
    for (const row of await rows.all()) {
      assert.equal(await row.getAttribute('data-state'), 'pending');
      assert.equal(await row.getByTestId('deletion-state').innerText(), 'pending');
      assert.equal(await row.getByTestId('deletion-conversation').innerText(), 'c2c_bob');
      assert.match(await row.innerText(), /alice-phone/);
    }
    await shot(page, '05-deletions-pending');

    // Filter by user.
    await page.getByTestId('deletions-user-filter').fill('bob');
    await page.getByTestId('deletions-apply').click();
    await page.getByTestId('deletions-empty').waitFor();
    await page.getByTestId('deletions-user-filter').fill('alice');
    await page.getByTestId('deletions-apply').click();
    await until('alice\'s two deletions', async () => (await rows.count()) === 2);

    // More than a page: 21 more deletions, the last one keeping history ('kept').
    for (let i = 0; i < 21; i++) {
      await bob.im.sendC2CTextMessage(`m${i}`, 'alice');
      if (i < 20) await alicePhone.im.getConversationManager().deleteConversation('c2c_bob');
      else await alicePhone.im.getConversationManager().deleteConversationList(['c2c_bob'], false);
    }
    await page.getByTestId('deletions-refresh').click();
    await until('a full first page', async () => (await rows.count()) === 20
      && (await rows.first().getAttribute('data-state')) === 'kept');
    assert.match(await page.getByTestId('deletions-page-info').innerText(), /^Page 1 · 20 entries by alice/);
    assert.equal(await page.getByTestId('deletions-newer').isDisabled(), true);
    await page.getByTestId('deletions-older').click();
    await until('the second page', async () => (await rows.count()) === 3);
    assert.match(await page.getByTestId('deletions-page-info').innerText(), /^Page 2 · 3 entries/);
    assert.equal(await page.getByTestId('deletions-older').isDisabled(), true);
    const states = await rows.evaluateAll((r) => r.map((x) => x.getAttribute('data-state')));
    assert.deepEqual(states, ['pending', 'pending', 'pending']);
    await page.getByTestId('deletions-newer').click();
    await until('back on the first page', async () => (await rows.count()) === 20);
    await shot(page, '06-deletions-paged');
  });

  test('the undo window setting; the audit trail shows undo windows, undone deletions and per-device acknowledgements', async () => {
    const undo = page.getByTestId('setting-undo-seconds');
    const status = page.getByTestId('settings-status');
    const settings = async () => (await server.domain.apps.get(app.sdkAppID))!.settings;
    assert.equal(await undo.inputValue(), '0', 'off by default');
    assert.equal(await page.getByTestId('undo-seconds-human').innerText(), '= off');
    const hint = await page.locator('#undo-seconds-hint').innerText();
    assert.match(hint, /any of that user's devices can undo the deletion/);
    assert.match(hint, /Nothing of the conversation is purged until the window closes; afterwards the deletion is irrecoverable/);

    // Out of range: a clear message in the page, and nothing is sent.
    let patches = 0;
    const countPatches = (req: { method(): string; url(): string }) => {
      if (req.method() === 'PATCH' && req.url().endsWith('/settings')) patches++;
    };
    page.on('request', countPatches);
    await undo.fill('601');
    await page.getByTestId('settings-save').click();
    await until('a client-side range error', async () => /undo window must be a whole number of seconds from 0 \(off\) to 600/.test(await status.innerText()));
    assert.equal(await status.getAttribute('data-kind'), 'error');
    assert.equal(await undo.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate('document.activeElement?.getAttribute("data-testid")'), 'setting-undo-seconds', 'the field is focused');
    page.off('request', countPatches);
    assert.equal(patches, 0, 'the page did not send it');
    assert.equal((await settings()).deletionUndoSeconds, 0, 'not saved');
    // The server refuses it as well, with { code, desc }.
    const token = await page.evaluate('JSON.parse(sessionStorage.getItem("confab.console.session")).token') as string;
    const refused = await fetch(`${server.httpUrl}/admin/api/apps/${app.sdkAppID}/settings`, {
      method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ deletionUndoSeconds: 601 }),
    });
    assert.equal(refused.status, 400);
    const error = await refused.json() as { code: unknown; desc: unknown };
    assert.equal(typeof error.code, 'number');
    assert.match(String(error.desc), /deletionUndoSeconds/);
    assert.equal((await settings()).deletionUndoSeconds, 0);

    // 30 seconds, saved together with the other settings.
    await undo.fill('30');
    assert.equal(await page.getByTestId('undo-seconds-human').innerText(), '= 30 s');
    await page.getByTestId('settings-save').click();
    await until('the page says saved', async () => /^Saved at .*Deletion sync is on; undo window 30 s;/.test(await status.innerText()));
    assert.equal(await status.getAttribute('data-kind'), 'success');
    assert.equal(await undo.getAttribute('aria-invalid'), null);
    assert.equal(await undo.inputValue(), '30');
    assert.equal((await settings()).deletionUndoSeconds, 30);
    assert.equal((await settings()).syncConversationDeletion, true, 'the other settings are unchanged');

    // A deletion with sync on and both of alice's devices online. The SDK acknowledges it by itself.
    const deleteBobFromPhone = async (text: string) => {
      await bob.im.sendC2CTextMessage(text, 'alice');
      await until(`both alice devices show "${text}"`, async () => {
        const [phone, laptop] = [await conv(alicePhone, 'c2c_bob'), await conv(aliceLaptop, 'c2c_bob')];
        return phone?.lastMessage?.textElem?.text === text && laptop?.lastMessage?.textElem?.text === text;
      });
      const told = aliceLaptop.deleted.length;
      await alicePhone.im.getConversationManager().deleteConversation('c2c_bob');
      await until('the laptop is told of the deletion', () => aliceLaptop.deleted.length > told);
      const [record] = await server.domain.storage.deletions.list(app.sdkAppID, { userID: 'alice', limit: 1 });
      assert.equal(record?.conversationID, 'c2c_bob');
      assert.ok(record.undoUntil !== null && record.undoUntil > Date.now(), 'the deletion can be undone for a while');
      return record;
    };
    const rowOf = (id: number) => page.locator(`[data-testid="deletion-row"][data-id="${id}"]`);
    /** Clicks Refresh until the row satisfies `check`. */
    const refreshUntil = (what: string, check: () => Promise<boolean>) => until(what, async () => {
      await page.getByTestId('deletions-refresh').click();
      await new Promise((r) => setTimeout(r, 100));
      return check();
    });

    const first = await deleteBobFromPhone('undo me');
    const firstRow = rowOf(first.id);
    await refreshUntil('wiped on 2 of 2', async () => (await firstRow.count()) === 1
      && (await firstRow.getByTestId('deletion-devices').innerText()).trim() === 'wiped on 2 of 2');
    assert.equal(await firstRow.getAttribute('data-state'), 'pending');
    const until1 = firstRow.getByTestId('deletion-undo-until');
    assert.match(await until1.innerText(), /^undo until \d\d:\d\d:\d\d$/);
    assert.equal(await until1.locator('time').getAttribute('datetime'), new Date(first.undoUntil!).toISOString());

    // Undo from the other device: the row says undone and no longer offers a window.
    await aliceLaptop.im.getConversationManager().undoDeleteConversation('c2c_bob');
    await until('c2c_bob is back on both devices', async () => (await conv(alicePhone, 'c2c_bob')) && (await conv(aliceLaptop, 'c2c_bob')));
    await refreshUntil('the row says undone', async () => (await firstRow.getAttribute('data-state')) === 'undone');
    assert.equal(await firstRow.getByTestId('deletion-state').innerText(), 'undone');
    assert.equal(await firstRow.getByTestId('deletion-undo-until').count(), 0);

    // Delete again: a new pending row, undoable, wiped on both devices; its device list opens.
    const second = await deleteBobFromPhone('delete me');
    const secondRow = rowOf(second.id);
    await refreshUntil('the new row is wiped on 2 of 2', async () => (await secondRow.count()) === 1
      && (await secondRow.getByTestId('deletion-devices').getAttribute('data-wiped')) === '2');
    const cell = secondRow.getByTestId('deletion-devices');
    assert.equal(await cell.getAttribute('data-total'), '2');
    assert.equal((await cell.innerText()).trim(), 'wiped on 2 of 2', 'closed, it shows the count only');
    assert.equal(await page.getByTestId('deletion-row').first().getAttribute('data-id'), String(second.id), 'newest first');
    assert.equal(await secondRow.getAttribute('data-state'), 'pending');
    assert.match(await secondRow.getByTestId('deletion-undo-until').innerText(), /^undo until \d\d:\d\d:\d\d$/);
    const summary = cell.getByTestId('deletion-devices-summary');
    const tooltip = await summary.getAttribute('title') ?? '';
    assert.match(tooltip, /alice-phone: wiped \(deleted here\)/);
    assert.match(tooltip, /alice-laptop: wiped/);
    await summary.click();
    const listed = cell.getByTestId('deletion-device');
    await until('the device list is open', () => listed.first().isVisible());
    const devicesShown = await listed.evaluateAll((items) => items.map((li) => `${li.getAttribute('data-device-id')}=${li.getAttribute('data-wiped')}`));
    assert.deepEqual(devicesShown.sort(), ['alice-laptop=true', 'alice-phone=true']);
    // A refresh re-renders the row and keeps the list open.
    await cell.evaluate((el) => { el.setAttribute('data-stale', ''); });
    await page.getByTestId('deletions-refresh').click();
    await until('the row is re-rendered', async () => (await secondRow.locator('[data-testid="deletion-devices"]:not([data-stale])').count()) === 1);
    assert.equal(await listed.first().isVisible(), true, 'still open after a refresh');
    const overflow = await page.getByTestId('deletions-table').evaluate((t) => t.parentElement!.scrollWidth - t.parentElement!.clientWidth);
    assert.ok(overflow <= 0, `every column fits without scrolling sideways (${overflow}px over)`);
    await shot(page, '07-undo-and-acks');
  });

  test('fits a 390 px phone and a 1280 px window: no sideways page, the wiped column in view', async () => {
    // A device with a random ID (a 36-character UUID, the SDK's default) deletes a
    // conversation, so the audit table holds a long ID.
    const tablet = new V2TIMManager();
    assert.ok(tablet.initSDK(app.sdkAppID, { serverUrl: server.wsUrl, logLevel: 'silent', store: new MemoryStore() }));
    devices.push({ im: tablet, userID: 'alice', deviceID: '', deleted: [] });
    await tablet.login('alice', await server.genUserSig(app.sdkAppID, 'alice'));
    await bob.im.sendC2CTextMessage('for the tablet', 'alice');
    await until('the tablet lists c2c_bob', async () => (await tablet.getConversationManager().getConversationList(0, 100))
      .conversationList.some((c) => c.conversationID === 'c2c_bob'));
    await tablet.getConversationManager().deleteConversation('c2c_bob');
    await page.getByTestId('deletions-user-filter').fill('');
    await page.getByTestId('deletions-apply').click();
    const newest = page.getByTestId('deletion-row').first();
    await until('the tablet\'s deletion is listed', async () => /[0-9a-f]{8}…/.test(await newest.innerText()));
    const full = await newest.locator('code[data-full-id]').first().getAttribute('title');
    assert.match(full ?? '', /^[0-9a-f-]{36}$/, 'the whole device ID is in the tooltip');

    await page.setViewportSize({ width: 1280, height: 900 });
    const inView = async () => page.evaluate(`(() => {
      const cell = document.querySelector('[data-testid="deletion-row"] [data-testid="deletion-devices"]');
      const wrap = cell?.closest('.table-wrap');
      if (!cell || !wrap) return 'missing';
      return cell.getBoundingClientRect().right <= wrap.getBoundingClientRect().right + 1 ? 'visible' : 'cut off';
    })()`);
    assert.equal(await inView(), 'visible', 'at 1280 px the wiped column is not scrolled out of the table');
    await shot(page, '10-width-1280');

    await page.setViewportSize({ width: 390, height: 844 });
    const widths = await page.evaluate('({ page: document.documentElement.scrollWidth, viewport: window.innerWidth })') as { page: number; viewport: number };
    assert.ok(widths.page <= widths.viewport, `at 390 px the page is ${widths.page} px wide`);
    await shot(page, '11-width-390');
    await page.setViewportSize({ width: 1360, height: 900 });
  });

  test('sign out clears the session; an app admin signs in with SDKAppID and secret key', async () => {
    await page.getByTestId('signout').click();
    await page.getByTestId('signin-view').waitFor({ state: 'visible' });
    assert.equal(await page.evaluate('sessionStorage.getItem("confab.console.session")'), null);
    assert.equal(await page.getByTestId('console-view').isVisible(), false);

    await page.getByTestId('signin-mode-app').check();
    await page.getByTestId('signin-sdkappid').fill(String(app.sdkAppID));
    await page.getByTestId('signin-secret').fill('wrong');
    await page.getByTestId('signin-submit').click();
    await until('the app sign-in error', async () => /wrong SDKAppID or secret key \(code 60010\)/.test(await page.getByTestId('signin-error').innerText()));
    await page.getByTestId('signin-secret').fill(app.secretKey);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('console-view').waitFor({ state: 'visible' });
    assert.equal(await page.getByTestId('session-scope').innerText(), `App ${app.sdkAppID}`);
    assert.equal(await page.getByTestId('create-app-form').isVisible(), false, 'only the operator creates apps');
    await until('its only app opens', async () => (await page.getByTestId('app-title').innerText()) === 'Acme Chat');
    await until('the app admin sees only its own app', async () => (await page.getByTestId('app-list').locator('li').count()) === 1);
    // The session survives a reload (sessionStorage), then signing out ends it.
    await page.reload();
    await page.getByTestId('console-view').waitFor({ state: 'visible' });
    await page.getByTestId('signout').click();
    await page.getByTestId('signin-view').waitFor({ state: 'visible' });
  });

  test('an app admin rotates the app\'s secret key: the new key is shown once and the session carries on', async () => {
    await page.getByTestId('signin-mode-app').check();
    await page.getByTestId('signin-sdkappid').fill(String(app.sdkAppID));
    await page.getByTestId('signin-secret').fill(app.secretKey);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('console-view').waitFor({ state: 'visible' });
    await until('its app opens', async () => (await page.getByTestId('app-title').innerText()) === 'Acme Chat');
    const old = app.secretKey;
    // The button asks first: declining changes nothing.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.getByTestId('rotate-secret').click();
    await until('the key is unchanged after declining', async () => (await server.domain.apps.get(app.sdkAppID))?.secretKey === old);
    assert.equal(await page.getByTestId('new-app-secret').isVisible(), false);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByTestId('rotate-secret').click();
    await page.getByTestId('new-app-secret').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#new-app-secret-title').innerText(), 'New secret key — copy it now');
    const shown = await page.getByTestId('new-app-secret-value').innerText();
    const stored = (await server.domain.apps.get(app.sdkAppID))?.secretKey;
    assert.equal(shown, stored);
    assert.notEqual(shown, old);
    await shot(page, '10-secret-rotated');
    await page.getByTestId('dismiss-secret').click();
    // The session was signed with the old key; the console took the new one it was given.
    await page.getByTestId('apps-refresh').click();
    await page.reload();
    await page.getByTestId('console-view').waitFor({ state: 'visible' });
    assert.equal(await page.getByTestId('session-scope').innerText(), `App ${app.sdkAppID}`);
    // Reading the app needs an accepted session (a refused one signs the page out).
    await until('the app opens again after the reload', async () => (await page.getByTestId('app-title').innerText()) === 'Acme Chat');
    assert.equal(await page.getByTestId('signin-view').isVisible(), false);
    app = { ...app, secretKey: shown };
    await page.getByTestId('signout').click();
    await page.getByTestId('signin-view').waitFor({ state: 'visible' });
  });

  test('no script errors or CSP violations in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
