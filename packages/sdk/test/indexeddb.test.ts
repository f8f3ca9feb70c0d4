/**
 * IndexedDbStore, tested where it runs: headless Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core; never a downloaded browser).
 *
 * 1. The shared store conformance suite (./store-conformance.ts, the same one MemoryStore
 *    and SqliteStore pass in stores.test.ts) is bundled with esbuild into a browser entry
 *    (./browser/conformance-entry.ts), with `node:test` and `node:assert/strict` mapped to
 *    small shims. The page runs it and leaves the results in `window.__results`; each
 *    browser test becomes a node:test subtest here, failing with the browser's error.
 * 2. Reload: data written before a page reload — and before a whole browser restart on the
 *    same user-data-dir — is there afterwards; after a deletion batch it is gone.
 * 3. The shipped bundle, packages/sdk/dist/browser/confab-sdk.js (built by `npm run build`),
 *    loads as an ES module and its IndexedDbStore works.
 *
 * Without /usr/bin/chromium the browser tests skip, naming it (scripts/ensure-chromium.sh
 * installs it; CONFAB_CHROMIUM overrides the path).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ConfabError } from '@confab/protocol';
import { IndexedDbStore } from '../src/store/indexeddb-store.js';
import type { BrowserTestResult } from './browser/node-test-shim.js';

/** Debian's package; CONFAB_CHROMIUM points elsewhere (another Chromium build, or a missing path to see the skip). */
const CHROMIUM = process.env.CONFAB_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const skipBrowser = existsSync(CHROMIUM)
  ? false
  : `Chromium not found at ${CHROMIUM} (Debian package "chromium"; run scripts/ensure-chromium.sh)`;

const sdkDir = fileURLToPath(new URL('..', import.meta.url));
const browserDir = join(sdkDir, 'test', 'browser');
const distBundle = join(sdkDir, 'dist', 'browser', 'confab-sdk.js');

/** Same rules as packages/sdk/scripts/build-browser.mjs, plus the two test shims. */
const browserTestPlugin: Plugin = {
  name: 'confab-browser-test',
  setup(b) {
    b.onResolve({ filter: /^node:test$/ }, () => ({ path: join(browserDir, 'node-test-shim.ts') }));
    b.onResolve({ filter: /^node:assert(\/strict)?$/ }, () => ({ path: join(browserDir, 'assert-shim.ts') }));
    b.onResolve({ filter: /^@confab\/protocol$/ }, () => ({ path: join(sdkDir, '..', 'protocol', 'src', 'index.ts') }));
    b.onResolve({ filter: /^ws$/ }, () => ({ path: 'ws', namespace: 'ws-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'ws-stub' }, () => ({ contents: "export {};\nthrow new Error('ws is not available in the browser');", loader: 'js' }));
    b.onResolve({ filter: /^node:/ }, (args) => ({
      errors: [{ text: `${args.path} (imported by ${relative(sdkDir, args.importer)}) has no browser shim` }],
    }));
  },
};

async function bundleTestEntry(): Promise<string> {
  const result = await build({
    entryPoints: [join(browserDir, 'conformance-entry.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'inline',
    logLevel: 'silent',
    plugins: [browserTestPlugin],
  });
  return result.outputFiles[0]!.text;
}

const PAGE = '<!doctype html><meta charset="utf-8"><title>Confab IndexedDbStore tests</title><body style="white-space:pre;font:12px monospace"></body><script type="module" src="/entry.js"></script>';
const SDK_PAGE = `<!doctype html><meta charset="utf-8"><title>Confab SDK bundle</title><script type="module">
import('/confab-sdk.js').then((sdk) => { window.__sdk = sdk; window.__sdkLoaded = { ok: true }; },
  (err) => { window.__sdkLoaded = { ok: false, error: String(err && err.stack || err) }; });
</script>`;

function serve(routes: Map<string, () => { type: string; body: string } | undefined>): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const found = routes.get(path)?.();
    if (!found) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'content-type': `${found.type}; charset=utf-8`, 'cache-control': 'no-store' }).end(found.body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

interface Snapshot {
  deviceID: string | null;
  syncVersion: string | null;
  conversations: string[];
  carolDeliveredSeq: number | null;
  bob: number[];
  carol: number[];
  byID: string[];
  rawMessageKeys: unknown[];
}
interface PageApi {
  write(dbName: string): Promise<void>;
  deleteSome(dbName: string): Promise<void>;
  snapshot(dbName: string): Promise<Snapshot>;
}
type PageGlobals = {
  __confab?: PageApi;
  __results?: { done: boolean; results: BrowserTestResult[]; error?: string };
  __sdkLoaded?: { ok: boolean; error?: string };
  __sdk?: Record<string, unknown>;
};

describe('IndexedDbStore in Node (no IndexedDB)', () => {
  it('imports without touching indexedDB; open() rejects with 6019', async () => {
    const store = new IndexedDbStore();
    assert.equal(store.dbName, 'confab');
    await assert.rejects(store.open({ sdkAppID: 1400000001, userID: 'alice' }), (err: unknown) => {
      assert.ok(err instanceof ConfabError);
      assert.equal(err.code, 6019);
      assert.match(err.message, /IndexedDB is not available/);
      return true;
    });
    await assert.rejects(store.listConversations(), { code: 6019 });
    await store.close();
  });

  it('the main entry exports it', async () => {
    const sdk = await import('../src/index.js');
    assert.equal(sdk.IndexedDbStore, IndexedDbStore);
  });
});

describe('IndexedDbStore in headless Chromium', { skip: skipBrowser }, () => {
  let server: Server | undefined;
  let base = '';
  let userDataDir = '';
  let context: BrowserContext | undefined;
  let page: Page;
  const browserLog: string[] = [];

  async function launch(): Promise<void> {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => browserLog.push(`[console.${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => browserLog.push(`[pageerror] ${e.stack ?? e.message}`));
  }

  const tail = () => (browserLog.length ? `\nbrowser log (last 20):\n${browserLog.slice(-20).join('\n')}` : '');

  before(async () => {
    const entry = await bundleTestEntry();
    const routes = new Map<string, () => { type: string; body: string } | undefined>([
      ['/', () => ({ type: 'text/html', body: PAGE })],
      ['/entry.js', () => ({ type: 'text/javascript', body: entry })],
      ['/sdk.html', () => ({ type: 'text/html', body: SDK_PAGE })],
      ['/confab-sdk.js', () => (existsSync(distBundle) ? { type: 'text/javascript', body: readFileSync(distBundle, 'utf8') } : undefined)],
      ['/favicon.ico', () => ({ type: 'text/plain', body: '' })],
    ]);
    ({ server, base } = await serve(routes));
    userDataDir = mkdtempSync(join(tmpdir(), 'confab-chromium-'));
    await launch();
  });

  after(async () => {
    await context?.close().catch(() => {});
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('passes the LocalStore conformance suite (and its IndexedDB specifics)', async (t) => {
    await page.goto(`${base}/?run=conformance`);
    try {
      await page.waitForFunction(() => (globalThis as PageGlobals).__results?.done === true, undefined, { timeout: 90_000 });
    } catch (err) {
      throw new Error(`the browser suite did not finish: ${(err as Error).message}${tail()}`);
    }
    const outcome = await page.evaluate(() => (globalThis as PageGlobals).__results!);
    if (outcome.error) throw new Error(`the browser runner failed: ${outcome.error}${tail()}`);
    const conformance = outcome.results.filter((r) => r.path[0] === 'LocalStore conformance: IndexedDbStore');
    // The suite has 11 tests today; a shim that silently registered nothing must not pass.
    assert.ok(conformance.length >= 11, `expected the conformance tests to run in the browser, got ${conformance.length}${tail()}`);
    for (const r of outcome.results) {
      await t.test(r.path.join(' › '), { skip: r.status === 'skip' }, () => {
        if (r.status !== 'fail') return;
        const err = new Error(`[in Chromium] ${r.error?.message ?? 'failed'}`);
        err.name = r.error?.name ?? 'Error';
        err.stack = `${err.name}: ${err.message}\n  browser stack:\n${r.error?.stack ?? '(none)'}${tail()}`;
        throw err;
      });
    }
  });

  it('keeps data across a page reload and a browser restart; a deletion batch is gone after reload', async () => {
    const dbName = 'confab-reload-test';
    const ready = () => page.waitForFunction(() => (globalThis as PageGlobals).__confab !== undefined, undefined, { timeout: 30_000 });
    const snapshot = () => page.evaluate((name) => (globalThis as PageGlobals).__confab!.snapshot(name), dbName);
    const scope = '1400000001:alice';

    await page.goto(`${base}/`);
    await ready();
    await page.evaluate((name) => (globalThis as PageGlobals).__confab!.write(name), dbName);

    await page.reload();
    await ready();
    assert.deepEqual(await snapshot(), {
      deviceID: 'browser-1', syncVersion: '5', conversations: ['c2c_bob', 'c2c_carol'], carolDeliveredSeq: 2,
      bob: [1, 2], carol: [1, 2], byID: ['c2c_bob/1', 'c2c_bob/2', 'c2c_carol/1', 'c2c_carol/2'],
      rawMessageKeys: [[scope, 'c2c_bob', 1], [scope, 'c2c_bob', 2], [scope, 'c2c_carol', 1], [scope, 'c2c_carol', 2]],
    } satisfies Snapshot);

    await page.evaluate((name) => (globalThis as PageGlobals).__confab!.deleteSome(name), dbName);
    await page.reload();
    await ready();
    const afterDeletion: Snapshot = {
      deviceID: 'browser-1', syncVersion: '6', conversations: ['c2c_carol'], carolDeliveredSeq: 2,
      bob: [], carol: [2], byID: ['c2c_carol/2'], rawMessageKeys: [[scope, 'c2c_carol', 2]],
    };
    assert.deepEqual(await snapshot(), afterDeletion);

    // A new browser process on the same profile reads the same thing from disk.
    await context!.close();
    context = undefined;
    await launch();
    await page.goto(`${base}/`);
    await ready();
    assert.deepEqual(await snapshot(), afterDeletion);
  });

  it('the built bundle dist/browser/confab-sdk.js loads as an ES module and its IndexedDbStore works', async () => {
    assert.ok(existsSync(distBundle), `${relative(process.cwd(), distBundle)} is missing: run \`npm run build\` first`);
    const code = readFileSync(distBundle, 'utf8');
    assert.doesNotMatch(code, /require\s*\(/, 'the bundle must not contain require( (no CommonJS modules or wrappers)');
    assert.doesNotMatch(code, /node:/, 'the bundle must not reference node: modules');
    assert.doesNotMatch(code, /(?:from|import)\s*\(?\s*["']ws["']/, 'the bundle must not import ws');

    await page.goto(`${base}/sdk.html`);
    await page.waitForFunction(() => (globalThis as PageGlobals).__sdkLoaded !== undefined, undefined, { timeout: 30_000 });
    const loaded = await page.evaluate(() => (globalThis as PageGlobals).__sdkLoaded!);
    assert.ok(loaded.ok, `importing the bundle failed: ${loaded.error}${tail()}`);

    const result = await page.evaluate(async () => {
      const sdk = (globalThis as PageGlobals).__sdk as unknown as typeof import('../src/index.js');
      const store = new sdk.IndexedDbStore({ dbName: 'confab-bundle-smoke' });
      await store.open({ sdkAppID: 1400000001, userID: 'alice' });
      await store.apply({
        syncVersion: 1,
        putMessages: [{ msgID: 'm1', conversationID: 'c2c_bob', seq: 1, sender: 'bob', receiver: 'alice', clientMsgID: 'k1', timestamp: 1, elem: { type: 'text', text: 'hi' } }],
      });
      const messages = await store.getMessages('c2c_bob', { limit: 5 });
      let code = 0;
      try {
        await store.apply({ putMessages: [{ msgID: '', conversationID: 'c2c_bob', seq: 1 } as never] });
      } catch (err) {
        code = (err as { code: number }).code;
      }
      await store.close();
      return {
        exports: ['V2TIMManager', 'MemoryStore', 'IndexedDbStore', 'ConfabError', 'ErrorCode', 'MetaKey']
          .filter((k) => (sdk as unknown as Record<string, unknown>)[k] === undefined),
        manager: typeof sdk.V2TIMManager.getInstance(),
        texts: messages.map((m) => (m.elem as { text?: string }).text),
        badBatchCode: code,
      };
    });
    assert.deepEqual(result, { exports: [], manager: 'object', texts: ['hi'], badBatchCode: 6017 });
  });
});
