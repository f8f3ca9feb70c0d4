import { readFile, readdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, sep } from 'node:path';
import type { HttpContext } from './areas.js';
import { sendJson, type Router } from './router.js';

/**
 * The admin console (`@confab/console`): static files served at `/console` from the
 * package's `public/` folder. The page is an ordinary client of the admin API.
 *
 * Only files that exist in `public/` when the server starts are served, looked up by
 * name in that list, so no request path can reach anything else.
 */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

/** The console package's `public/` folder, or undefined when the package is not installed. */
export function consolePublicDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@confab/console/package.json')), 'public');
  } catch {
    return undefined;
  }
}

/** Every file under `dir`, by its `/`-separated path relative to `dir`. */
async function listFiles(dir: string, prefix = ''): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) for (const [name, full] of await listFiles(path, `${prefix}${entry.name}/`)) files.set(name, full);
    else if (entry.isFile()) files.set(`${prefix}${entry.name}`, path);
  }
  return files;
}

export function registerConsole(router: Router, ctx: HttpContext): void {
  const dir = consolePublicDir();
  let files: Promise<Map<string, string>> | undefined;
  const list = (): Promise<Map<string, string>> => {
    if (!dir) return Promise.resolve(new Map());
    files ??= listFiles(dir).catch((err: unknown) => {
      ctx.logger.warn({ err, dir }, 'the console files could not be listed');
      files = undefined;
      return new Map<string, string>();
    });
    return files;
  };
  if (!dir) ctx.logger.warn('@confab/console is not installed; /console is off');
  else void list();

  const serve = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    let name: string;
    if (url.pathname === '/console' || url.pathname === '/console/') {
      name = 'index.html';
    } else {
      try {
        name = decodeURIComponent(url.pathname.slice('/console/'.length));
      } catch {
        return notFound(res, url);
      }
      // Belt and braces: the lookup below only knows real files, but say no to traversal outright.
      if (name.split(/[/\\]/).some((part) => part === '..' || part === '.' || part === '') || name.includes('\0') || name.includes('\\')) {
        return sendJson(res, 400, { code: 400, desc: 'bad console path' });
      }
    }
    const path = (await list()).get(name);
    if (!dir || !path || !path.startsWith(dir + sep)) return notFound(res, url);
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch {
      return notFound(res, url);
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream',
      'content-length': body.length,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  for (const method of ['GET', 'HEAD']) {
    router.on(method, '/console', serve);
    router.prefix(method, '/console/', serve);
  }
}

function notFound(res: ServerResponse, url: URL): void {
  sendJson(res, 404, { code: 404, desc: `no console file ${url.pathname}` });
}
