import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A deliberately small HTTP router: exact-path routes, or prefix routes for a family
 * such as `/v4/`. Each area (health, REST API, admin API, console) registers its own
 * routes in its own file, so none of them edits the server's wiring.
 */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

export class Router {
  /** Awaited before every handler when it returns a promise (storage's `readBarrier`). */
  readonly #before: (() => Promise<void> | undefined) | undefined;

  constructor(before?: () => Promise<void> | undefined) {
    this.#before = before;
  }

  readonly #exact = new Map<string, Map<string, HttpHandler>>();
  readonly #prefixes: { method: string; prefix: string; handler: HttpHandler }[] = [];

  on(method: string, path: string, handler: HttpHandler): this {
    let byMethod = this.#exact.get(path);
    if (!byMethod) this.#exact.set(path, (byMethod = new Map()));
    byMethod.set(method, handler);
    return this;
  }

  prefix(method: string, prefix: string, handler: HttpHandler): this {
    this.#prefixes.push({ method, prefix, handler });
    return this;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const handler = this.#exact.get(url.pathname)?.get(method)
      ?? this.#prefixes.find((p) => p.method === method && url.pathname.startsWith(p.prefix))?.handler;
    if (!handler) {
      sendJson(res, 404, { code: 404, desc: `no route for ${method} ${url.pathname}` });
      return;
    }
    try {
      const barrier = this.#before?.();
      if (barrier) await barrier;
      await handler(req, res, url);
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { code: 70500, desc: 'internal server error' });
      else res.destroy(err as Error);
    }
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** Reads a request body up to `limit` bytes; larger bodies reject with `tooLarge`. */
export async function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw Object.assign(new Error('request body too large'), { tooLarge: true });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
