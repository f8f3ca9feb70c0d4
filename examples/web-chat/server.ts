/**
 * The web chat's development back end: one process that
 *
 * - starts an embedded Confab server (SQLite in a data folder) — or points at a running
 *   one, given its URL, SDKAppID and secret key;
 * - answers `POST /api/usersig {userID}` with `{ sdkAppID, userSig, serverUrl }`, so the
 *   browser never sees the secret key (an app's real back end would first check who is
 *   asking: this one hands a UserSig to anyone, which is fine on 127.0.0.1 only);
 * - serves the built page (`dist/`, made by `vite build`).
 *
 *   npm run web-chat                    # at the repository root: builds, then runs this
 *   node --import tsx examples/web-chat/server.ts --port 5180 --confab-port 5181
 *
 * Tests import `startWebChat` and pass `port: 0` and a temporary `dataDir`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { genUserSig, startServer, type ConfabServer } from '@confab/server';
import { isValidUserID } from '@confab/protocol';

export const EXAMPLE_DIR = fileURLToPath(new URL('.', import.meta.url));
export const DIST_DIR = join(EXAMPLE_DIR, 'dist');
/** A UserSig from this back end is good for a day; the page asks for a new one on 70001. */
const USER_SIG_EXPIRE_SECONDS = 24 * 3600;
const MAX_BODY_BYTES = 4096;

export interface WebChatOptions {
  /** The page's port; 0 picks a free one. Default 5180. */
  port?: number;
  /** Default 127.0.0.1. This back end signs any user in: keep it off other interfaces. */
  host?: string;
  /** The built page. Default `dist/` beside this file. */
  staticDir?: string;
  /** Embedded server: its data folder. Default `examples/web-chat/.confab-data`. */
  dataDir?: string;
  /** Embedded server: its port; 0 picks a free one. Default 0. */
  confabPort?: number;
  /** Embedded server: turn "Sync conversation deletion across clients" on or off at start. */
  syncConversationDeletion?: boolean;
  /** Embedded server: pino log level. Default `warn`. */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Use a running Confab server instead of starting one. */
  external?: { serverUrl: string; sdkAppID: number; secretKey: string };
}

export interface WebChat {
  /** The page: `http://host:port/`. */
  readonly url: string;
  readonly port: number;
  readonly sdkAppID: number;
  /** The SDK's `serverUrl` (`ws://…/ws`). */
  readonly serverUrl: string;
  /** The embedded server (absent with `external`): tests change app settings through it. */
  readonly confab: ConfabServer | undefined;
  /** Where the embedded server keeps its data. */
  readonly dataDir: string | undefined;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The operator token for the embedded server's console, kept in its data folder (as `confab start` does). */
function operatorToken(dir: string): string {
  const file = join(dir, 'operator-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw Object.assign(new Error('request body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw Object.assign(new Error('request body must be JSON'), { status: 400 });
  }
}

/** `/`, `/index.html` and every non-file path get index.html; files only from inside `root`. */
function staticFile(root: string, urlPath: string): { file: string; type: string; immutable: boolean } | undefined {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (path.includes('\0')) return undefined;
  const file = resolve(root, `.${path}`);
  if (file !== root && !file.startsWith(root + sep)) return undefined;
  const isFile = existsSync(file) && statSync(file).isFile();
  if (isFile) return { file, type: TYPES[extname(file)] ?? 'application/octet-stream', immutable: path.startsWith('/assets/') };
  if (extname(path) !== '') return undefined; // a missing asset is a 404, not the page
  return { file: join(root, 'index.html'), type: TYPES['.html']!, immutable: false };
}

/** Builds the page into `dist/` with Vite (no network needed). `npm run build` does the same. */
export async function buildWebChat(logLevel: 'info' | 'warn' | 'silent' = 'warn'): Promise<void> {
  const { build } = await import('vite');
  await build({ root: EXAMPLE_DIR, logLevel, configFile: false });
}

export async function startWebChat(options: WebChatOptions = {}): Promise<WebChat> {
  const staticDir = resolve(options.staticDir ?? DIST_DIR);
  if (!existsSync(join(staticDir, 'index.html'))) {
    throw new Error(`${join(staticDir, 'index.html')} is missing: build the page first (npm run build, or npm run build -w @confab/web-chat)`);
  }

  let confab: ConfabServer | undefined;
  let dataDir: string | undefined;
  let sdkAppID: number;
  let secretKey: string;
  let serverUrl: string;
  if (options.external) {
    ({ sdkAppID, secretKey, serverUrl } = options.external);
  } else {
    dataDir = resolve(options.dataDir ?? join(EXAMPLE_DIR, '.confab-data'));
    mkdirSync(dataDir, { recursive: true });
    confab = await startServer({
      dataDir,
      port: options.confabPort ?? 0,
      host: options.host ?? '127.0.0.1',
      logLevel: options.logLevel ?? 'warn',
      adminToken: operatorToken(dataDir),
    });
    try {
      const apps = await confab.domain.apps.list();
      const app = apps.find((a) => a.name === 'web-chat') ?? await confab.createApp({ name: 'web-chat' });
      if (options.syncConversationDeletion !== undefined) {
        await confab.domain.apps.updateSettings(app.sdkAppID, { syncConversationDeletion: options.syncConversationDeletion });
      }
      sdkAppID = app.sdkAppID;
      secretKey = app.secretKey;
      serverUrl = confab.wsUrl;
    } catch (err) {
      await confab.close();
      throw err;
    }
  }

  // The page talks to this origin and to the Confab WebSocket, nothing else.
  const wsOrigin = new URL(serverUrl).origin.replace(/^http/, 'ws');
  const csp = [
    "default-src 'self'", `connect-src 'self' ${wsOrigin}`, "img-src 'self' data:", "style-src 'self'",
    "script-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'", "object-src 'none'",
  ].join('; ');

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/api/usersig') {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        return sendJson(res, 405, { error: 'use POST' });
      }
      let body: unknown;
      try {
        body = await readJson(req);
      } catch (err) {
        return sendJson(res, (err as { status?: number }).status ?? 400, { error: (err as Error).message });
      }
      const userID = (body as { userID?: unknown } | null)?.userID;
      if (!isValidUserID(userID)) {
        return sendJson(res, 400, { error: 'userID must be 1-32 characters of A-Z a-z 0-9 _ . @ -' });
      }
      const userSig = genUserSig({ sdkAppID, secretKey, userID, expireSeconds: USER_SIG_EXPIRE_SECONDS });
      return sendJson(res, 200, { sdkAppID, userSig, serverUrl, userID });
    }
    if (path.startsWith('/api/')) return sendJson(res, 404, { error: `no such API: ${path}` });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const found = staticFile(staticDir, path);
    if (!found) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
      return;
    }
    const body = readFileSync(found.file);
    res.writeHead(200, {
      'content-type': found.type,
      'content-length': body.length,
      'cache-control': found.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      ...(found.type.startsWith('text/html') ? { 'content-security-policy': csp } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  const http: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String((err as Error)?.message ?? err) });
      else res.destroy();
    });
  });
  try {
    await new Promise<void>((ok, fail) => {
      http.once('error', fail);
      http.listen(options.port ?? 5180, options.host ?? '127.0.0.1', () => ok());
    });
  } catch (err) {
    await confab?.close();
    throw err;
  }
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closed = false;
  return {
    url: `http://${host}:${address.port}/`,
    port: address.port,
    sdkAppID,
    serverUrl,
    confab,
    dataDir,
    async close() {
      if (closed) return;
      closed = true;
      http.closeAllConnections();
      await new Promise<void>((ok) => http.close(() => ok()));
      await confab?.close();
    },
  };
}

const HELP = `Confab web chat — development back end

Usage: node --import tsx examples/web-chat/server.ts [options]   (or: npm run web-chat)

  --port N             the page's port (default 5180)
  --confab-port N      the embedded Confab server's port (default 5181)
  --data DIR           the embedded server's data folder (default examples/web-chat/.confab-data)
  --sync-deletion on|off
                       set "Sync conversation deletion across clients" for the app at start
  --build              build the page first (vite build)

  To use a running Confab server instead of the embedded one:
  --server-url ws://HOST:PORT/ws --sdkappid ID   and the app's secret key in CONFAB_SECRET_KEY
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' }, 'confab-port': { type: 'string' }, data: { type: 'string' },
      'sync-deletion': { type: 'string' }, build: { type: 'boolean' },
      'server-url': { type: 'string' }, sdkappid: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const sync = values['sync-deletion'];
  if (sync !== undefined && sync !== 'on' && sync !== 'off') throw new Error('--sync-deletion takes on or off');
  let external: WebChatOptions['external'];
  if (values['server-url']) {
    const sdkAppID = Number(values.sdkappid);
    const secretKey = process.env.CONFAB_SECRET_KEY;
    if (!Number.isSafeInteger(sdkAppID) || sdkAppID <= 0) throw new Error('--server-url needs --sdkappid');
    if (!secretKey) throw new Error('--server-url needs the app\'s secret key in CONFAB_SECRET_KEY');
    external = { serverUrl: values['server-url'], sdkAppID, secretKey };
  }
  if (values.build || !existsSync(join(DIST_DIR, 'index.html'))) await buildWebChat('warn');
  const chat = await startWebChat({
    port: Number(values.port ?? process.env.WEB_CHAT_PORT ?? 5180),
    confabPort: Number(values['confab-port'] ?? process.env.WEB_CHAT_CONFAB_PORT ?? 5181),
    ...(values.data ? { dataDir: values.data } : {}),
    ...(sync ? { syncConversationDeletion: sync === 'on' } : {}),
    ...(external ? { external } : {}),
  });
  const settings = chat.confab ? (await chat.confab.domain.apps.get(chat.sdkAppID))?.settings : undefined;
  console.log(`\n  Confab web chat:  ${chat.url}\n`);
  if (chat.confab) {
    console.log(`  Confab server:    ${chat.serverUrl}  (embedded, SQLite in ${chat.dataDir})`);
    console.log(`  SDKAppID:         ${chat.sdkAppID}, deletion sync ${settings?.syncConversationDeletion ? 'on' : 'off'} (--sync-deletion on|off)`);
    console.log(`  Admin console:    ${chat.confab.httpUrl}/console  (operator token in ${join(chat.dataDir!, 'operator-token')})`);
  } else {
    console.log(`  Confab server:    ${chat.serverUrl}  (SDKAppID ${chat.sdkAppID})`);
  }
  console.log('\n  Open the page in two browsers (or a normal and a private window) to be two users or');
  console.log('  two devices. Development only: /api/usersig signs in whoever asks. Ctrl+C stops.\n');
  const stop = () => {
    void chat.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(`web-chat: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
