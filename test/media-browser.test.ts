/**
 * Media messages from a browser: the shipped SDK bundle in headless Chromium, on a page
 * served from another origin than the chat server (so uploads and downloads go through
 * CORS), sends an image from a Blob; the upload goes through XMLHttpRequest with progress
 * events. A Node SDK user receives it and downloads the same bytes. Without
 * /usr/bin/chromium (or CONFAB_CHROMIUM) the test skips, saying so.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { chromium, type Browser } from 'playwright-core';
import { V2TIMElemType } from '@confab/sdk';
import { device, startTestServer, waitFor } from './helpers/sdk-harness.js';

const CHROMIUM = process.env.CONFAB_CHROMIUM || '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: run scripts/ensure-chromium.sh (apt-get install chromium)`;
const BUNDLE = fileURLToPath(new URL('../packages/sdk/dist/browser/confab-sdk.js', import.meta.url));

describe('media messages from a browser', { skip }, () => {
  let env: Awaited<ReturnType<typeof startTestServer>>;
  let page: Server;
  let pageUrl: string;
  let browser: Browser;

  before(async () => {
    env = await startTestServer({ purge: false });
    page = createServer((req, res) => {
      if (req.url === '/sdk.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(BUNDLE));
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>media</title>');
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    pageUrl = `http://localhost:${(page.address() as AddressInfo).port}/`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => page?.close(resolve));
    await env?.stop();
  });

  test('an image from a Blob: XHR progress, then the receiver downloads the same bytes', async () => {
    assert.ok(existsSync(BUNDLE), 'the SDK bundle is built (npm run build)');
    const bob = device(env);
    await bob.im.login('bob', await env.sig('bob'));
    const original = await sharp({ create: { width: 900, height: 600, channels: 3, background: '#3366cc' } }).jpeg().toBuffer();
    const tab = await (await browser.newContext()).newPage();
    await tab.goto(pageUrl);
    // Page code as text: the test runner's transform would add helpers the page lacks.
    const args = { serverUrl: env.server.wsUrl, sdkAppID: env.app.sdkAppID, userSig: await env.sig('alice'), bytes: [...original] };
    const result = await tab.evaluate(`(async (a) => {
      const sdk = await import('/sdk.js');
      const im = new sdk.V2TIMManager();
      im.initSDK(a.sdkAppID, { serverUrl: a.serverUrl, logLevel: 'silent' });
      await im.login('alice', a.userSig);
      const mm = im.getMessageManager();
      const msg = mm.createImageMessage(new Blob([new Uint8Array(a.bytes)], { type: 'image/jpeg' }));
      const progress = [];
      await mm.sendMessage(msg, 'bob', null, 0, false, null, { onProgress: (p) => progress.push(p) });
      const thumb = msg.imageElem.imageList[1];
      const res = await fetch(await thumb.getUrl());
      const thumbBytes = (await res.arrayBuffer()).byteLength;
      await im.logout();
      return { progress, clientMsgID: msg.clientMsgID, thumbSize: thumb.size, thumbBytes, usedXhr: typeof XMLHttpRequest === 'function' };
    })(${JSON.stringify(args)})`) as { progress: number[]; clientMsgID: string; thumbSize: number; thumbBytes: number; usedXhr: boolean };
    assert.ok(result.usedXhr);
    assert.equal(result.progress[0], 0);
    assert.equal(result.progress.at(-1), 100);
    assert.equal(result.thumbBytes, result.thumbSize, 'the page fetched the thumbnail across origins');
    const got = await waitFor(() => bob.events.received.find((m) => m.clientMsgID === result.clientMsgID), 'bob receives the image');
    assert.equal(got.elemType, V2TIMElemType.IMAGE);
    const res = await fetch(await got.imageElem!.imageList[0]!.getUrl());
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(original));
    await bob.im.logout();
  });
});
