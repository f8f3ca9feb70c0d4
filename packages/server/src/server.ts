import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { genUserSig } from './auth/usersig.js';
import { MemoryBus } from './bus/memory-bus.js';
import type { Bus } from './bus/types.js';
import { Gateway } from './gateway/gateway.js';
import { Domain } from './services/domain.js';
import type { PurgeWorkerOptions } from './services/purge-worker.js';
import { Router, sendJson } from './http/router.js';
import { httpAreas } from './http/areas.js';
import { openSqliteStorage } from './storage/sqlite/sqlite-storage.js';
import type { AppRecord, Storage } from './storage/types.js';

export interface ServerOptions {
  /** Folder for the embedded SQLite database (default `./.confab-data`). */
  dataDir?: string;
  /** Port to listen on; 0 picks a free one (default 8080). */
  port?: number;
  host?: string;
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** A storage backend to use instead of the embedded SQLite file. */
  storage?: Storage;
  /** A bus to use instead of the in-process one. */
  bus?: Bus;
  /** `full` (default) syncs every commit to disk; see `SqliteStorageOptions`. */
  durability?: 'full' | 'normal';
  /**
   * The operator token for the admin API and console (all apps). Without one, admins
   * sign in per app with its SDKAppID and secret key.
   */
  adminToken?: string;
  /** Purge worker tuning; `false` turns it off (then call `purgeNow()`). */
  purge?: PurgeWorkerOptions | false;
}

export interface ConfabServer {
  readonly port: number;
  /** `http://host:port` */
  readonly httpUrl: string;
  /** `ws://host:port/ws`, the SDK's `serverUrl`. */
  readonly wsUrl: string;
  readonly domain: Domain;
  readonly logger: Logger;
  /** Creates an app (SDKAppID + secret key). */
  createApp(opts?: { name?: string; sdkAppID?: number; secretKey?: string }): Promise<AppRecord>;
  /** A UserSig for a user of an app on this server; for tests and development tools. */
  genUserSig(sdkAppID: number, userID: string, expireSeconds?: number): Promise<string>;
  /** Runs the purge worker now and resolves with the number of messages erased. */
  purgeNow(): Promise<number>;
  /** Connected WebSocket sessions on this node. */
  readonly sessionCount: number;
  close(): Promise<void>;
}

/** Starts a Confab server: HTTP and WebSocket on one port. */
export async function startServer(options: ServerOptions = {}): Promise<ConfabServer> {
  const logger = pino({ level: options.logLevel ?? 'info', base: undefined });
  const storage = options.storage ?? openSqliteStorage({
    filename: join(options.dataDir ?? '.confab-data', 'confab.db'),
    durability: options.durability ?? 'full',
  });
  const bus = options.bus ?? new MemoryBus();
  const domain = new Domain(storage, bus, logger, { purge: options.purge || {} });
  if (options.purge !== false) domain.purge.start();
  const gateway = new Gateway(domain, bus, logger);
  const router = new Router();
  router.on('GET', '/healthz', (_req, res) => sendJson(res, 200, { ok: true, sessions: gateway.sessionCount }));
  for (const register of httpAreas) register(router, { domain, gateway, logger, adminToken: options.adminToken });
  const http: HttpServer = createServer((req, res) => void router.handle(req, res));
  gateway.attach(http);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closed = false;

  return {
    port: address.port,
    httpUrl: `http://${host}:${address.port}`,
    wsUrl: `ws://${host}:${address.port}/ws`,
    domain,
    logger,
    get sessionCount() {
      return gateway.sessionCount;
    },
    createApp: (opts = {}) => domain.apps.create({ name: opts.name ?? 'app', sdkAppID: opts.sdkAppID, secretKey: opts.secretKey, now: Date.now() }),
    purgeNow: () => domain.purge.runOnce(),
    async genUserSig(sdkAppID, userID, expireSeconds) {
      const app = await domain.apps.get(sdkAppID);
      if (!app) throw new Error(`no app ${sdkAppID}`);
      return genUserSig({ sdkAppID, secretKey: app.secretKey, userID, expireSeconds });
    },
    async close() {
      if (closed) return;
      closed = true;
      await domain.purge.stop();
      await gateway.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await bus.close();
      await storage.close();
    },
  };
}
