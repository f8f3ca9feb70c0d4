import type { Bus } from '../bus/types.js';
import type { Metrics } from '../metrics.js';
import type { Storage } from '../storage/types.js';
import { sendJson, type Router } from './router.js';

/** Where the node is in its life: `/readyz` answers 200 only while `ready`. */
export interface Lifecycle {
  state: 'starting' | 'ready' | 'draining';
}

/** A storage that does not answer in this long counts as down: a load balancer's probe must not hang. */
const STORAGE_PING_MS = 2000;

/**
 * `/readyz` (may a load balancer send clients here?) and `/metrics` (Prometheus).
 * `/healthz` stays what it was — the process answers — so an orchestrator does not
 * restart a node whose database is down, which a restart would not fix.
 */
export function registerProbes(router: Router, ctx: { lifecycle: Lifecycle; storage: Storage; bus: Bus; metrics: Metrics; nodeID: string }): void {
  router.on('GET', '/readyz', async (_req, res) => {
    const reason = await notReady(ctx);
    sendJson(res, reason ? 503 : 200, { ready: !reason, node: ctx.nodeID, ...(reason ? { reason } : {}) });
  });
  router.on('GET', '/metrics', async (_req, res) => {
    const text = await ctx.metrics.text();
    res.writeHead(200, { 'content-type': ctx.metrics.contentType, 'content-length': Buffer.byteLength(text) }).end(text);
  });
}

async function notReady(ctx: { lifecycle: Lifecycle; storage: Storage; bus: Bus }): Promise<string | undefined> {
  if (ctx.lifecycle.state !== 'ready') return ctx.lifecycle.state;
  if (ctx.bus.connected && !ctx.bus.connected()) return 'bus disconnected';
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ctx.storage.ping?.(),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${STORAGE_PING_MS} ms`)), STORAGE_PING_MS); }),
    ]);
    return undefined;
  } catch (err) {
    return `storage unavailable: ${(err as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}
