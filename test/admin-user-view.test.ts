/**
 * The admin's user view pages conversations and devices: a user with hundreds of
 * conversations is shown a page at a time, each conversation exactly once, and the
 * deletions list reads the devices of its users in one batch.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type AppRecord, type ConfabServer } from '@confab/server';
import { ErrorCode } from '@confab/protocol';
import { chromium } from 'playwright-core';
import type { AppendRequest } from '../packages/server/src/storage/types.js';

let server: ConfabServer;
let dir: string;
let app: AppRecord;
let token: string;
const peers = Array.from({ length: 250 }, (_, i) => `v${String(i).padStart(3, '0')}`);

function send(from: string): AppendRequest {
  return {
    app: app.sdkAppID, convKey: `c2c:${from}|zed`, sender: from, clientMsgID: `${from}-1`, elem: { type: 'text', text: 'secret words' },
    recipients: [{ userID: from, conversationID: 'c2c_zed' }, { userID: 'zed', conversationID: `c2c_${from}` }], now: Date.now(),
  };
}

/** Polls a browser condition; fails (not hangs) after a generous guard. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (const start = Date.now(); !(await check());) {
    if (Date.now() - start > 20_000) throw new Error('the console did not get there');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function view(query: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.httpUrl}/admin/api/apps/${app.sdkAppID}/users/zed${query}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'confab-admin-view-'));
  server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent', purge: false, adminToken: 'op' });
  app = await server.createApp({ name: 'admin-view' });
  const { storage } = server.domain;
  for (const id of ['zed', ...peers]) await storage.accounts.ensure(app.sdkAppID, id, Date.now());
  await storage.messages.appendBatch(peers.slice(0, 150).map(send)); // one step of 150 rows
  await storage.messages.appendBatch(peers.slice(150).map(send));
  for (const d of ['d-c', 'd-a', 'd-b']) {
    await storage.devices.touch(app.sdkAppID, 'zed', { deviceID: d, platform: 'test', capabilities: [], protocolVersion: 1 }, Date.now());
  }
  const login = await fetch(`${server.httpUrl}/admin/api/login`, { method: 'POST', body: JSON.stringify({ operatorToken: 'op' }) });
  ({ token } = (await login.json()) as { token: string });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('admin user view', () => {
  test('conversations and devices come a page at a time, each once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { status, body } = await view(`?limit=70${cursor ? `&conversationsCursor=${cursor}` : ''}`);
      assert.equal(status, 200);
      assert.ok(body.conversations.length <= 70);
      seen.push(...body.conversations.map((c: { conversationID: string }) => c.conversationID));
      assert.ok(body.conversations.every((c: { lastMessage: unknown }) => c.lastMessage !== null), 'the last message is there (without content)');
      assert.doesNotMatch(JSON.stringify(body), /secret words/);
      cursor = body.conversationsCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 4);
    assert.deepEqual([...seen].sort(), peers.map((p) => `c2c_${p}`));
    assert.equal(new Set(seen).size, seen.length);

    const first = await view('?limit=2');
    assert.deepEqual(first.body.devices.map((d: { deviceID: string }) => d.deviceID), ['d-a', 'd-b']);
    assert.equal(first.body.devicesCursor, 'd-b');
    const second = await view(`?limit=2&devicesCursor=${first.body.devicesCursor}`);
    assert.deepEqual(second.body.devices.map((d: { deviceID: string }) => d.deviceID), ['d-c']);
    assert.equal(second.body.devicesCursor, null);
    assert.equal(second.body.user.syncVersion, 2);
  });

  test('the console loads more conversations a page at a time', async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`${server.httpUrl}/console`);
      await page.getByTestId('signin-operator-token').fill('op');
      await page.getByTestId('signin-submit').click();
      await page.getByTestId(`app-open-${app.sdkAppID}`).click();
      await page.getByTestId('user-id-input').fill('zed');
      await page.getByTestId('user-submit').click();
      const rows = page.getByTestId('conv-row');
      await page.getByTestId('user-conversations').waitFor();
      assert.equal(await rows.count(), 100, 'the first page');
      const more = page.getByTestId('user-more-conversations');
      await more.click();
      await until(async () => (await rows.count()) === 200);
      await page.getByTestId('user-more-conversations').click();
      await until(async () => (await rows.count()) === 250);
      assert.equal(await page.getByTestId('user-more-conversations').count(), 0, 'no button once everything is shown');
      const ids = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-conversation-id')));
      assert.equal(new Set(ids).size, 250);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  test('a bad limit or cursor is a 400 with 6017', async () => {
    for (const query of ['?limit=0', '?limit=501', '?limit=x', '?conversationsCursor=nope']) {
      const { status, body } = await view(query);
      assert.equal(status, 400, query);
      assert.equal(body.code, ErrorCode.INVALID_PARAMETERS, query);
    }
  });
});
