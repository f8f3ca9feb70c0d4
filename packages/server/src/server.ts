import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { genUserSig } from './auth/usersig.js';
import { MemoryBus } from './bus/memory-bus.js';
import { connectNatsBus } from './bus/nats-bus.js';
import { SequencedBus } from './bus/sequenced-bus.js';
import type { Bus } from './bus/types.js';
import { Gateway } from './gateway/gateway.js';
import { Presence } from './gateway/presence.js';
import { resolveLimits, type GatewayLimits } from './gateway/limits.js';
import { Domain } from './services/domain.js';
import { persistedNodeID } from './node-identity.js';
import type { PurgeWorkerOptions } from './services/purge-worker.js';
import type { FanoutWorkerOptions } from './services/fanout-worker.js';
import type { PushProvider } from './services/offline-push.js';
import { Router, sendJson } from './http/router.js';
import { httpAreas } from './http/areas.js';
import { openSqliteStorage } from './storage/sqlite/sqlite-storage.js';
import { openPostgresStorage } from './storage/postgres/pg-storage.js';
import type { AppRecord, Storage } from './storage/types.js';
import { instrumentStorage, Metrics, PURGE_BACKLOG_CAP } from './metrics.js';
import { registerProbes, type Lifecycle } from './http/probes.js';

export interface ServerOptions {
  /** Folder for the embedded SQLite database (default `./.confab-data`). */
  dataDir?: string;
  /** Port to listen on; 0 picks a free one (default 8080). */
  port?: number;
  host?: string;
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /**
   * `json` (one JSON object a line, for log collectors), `pretty` (coloured lines for a
   * person) or `auto` (default): pretty when standard output is a terminal.
   */
  logFormat?: 'auto' | 'pretty' | 'json';
  /** A storage backend to use instead of the embedded SQLite file (wins over `databaseUrl`). */
  storage?: Storage;
  /**
   * PostgreSQL instead of the embedded SQLite file, e.g. `postgres://confab@db:5432/confab`:
   * every node of a cluster points at the same database (and schema).
   */
  databaseUrl?: string;
  /** The PostgreSQL schema holding Confab's tables (default `public`); created and migrated on start. */
  databaseSchema?: string;
  /** A bus to use instead of the in-process one (wins over `natsUrl`). */
  bus?: Bus;
  /**
   * NATS instead of the in-process bus, e.g. `nats://nats:4222` (several: comma-separated):
   * the nodes of a cluster push each other's updates to their sessions through it.
   */
  natsUrl?: string;
  /**
   * How often this node tells the others what it published (default 500 ms), so a push
   * lost between nodes reaches the device within about this long (docs/operations.md).
   */
  busHeartbeatMs?: number;
  /** First subject token(s) of Confab's NATS subjects (default `confab`), to share a NATS server between deployments. */
  natsPrefix?: string;
  /**
   * This node's ID, in every log line and as the holder of background-job leases.
   * Default: on the embedded SQLite database, an ID kept in the data folder (so a
   * restarted node gets its purge lease back at once); otherwise random.
   */
  nodeID?: string;
  /** `full` (default) syncs every commit to disk; see `SqliteStorageOptions`. */
  durability?: 'full' | 'normal';
  /**
   * The operator token for the admin API and console (all apps). Without one, admins
   * sign in per app with its SDKAppID and secret key.
   */
  adminToken?: string;
  /**
   * How often sockets are pinged (and expired UserSigs end their sessions); 25 s by
   * default. A socket that has not answered the previous ping is closed.
   */
  heartbeatMs?: number;
  /**
   * How long a node's rows in the cluster-wide presence table (the admin's "online
   * sessions") count without renewal (default 90 s); each node renews its rows every
   * third of it, so a node that dies drops out of the view within this time.
   */
  presenceTtlMs?: number;
  /** Purge worker tuning; `false` turns it off (then call `purgeNow()`). */
  purge?: PurgeWorkerOptions | false;
  /**
   * Abuse limits of the WebSocket gateway (output budget, login deadline, connection,
   * session and rate caps); each one left out keeps its default. See docs/protocol.md, "Limits".
   */
  limits?: Partial<GatewayLimits>;
  /** Group fan-out worker tuning; `false` (or `paused`) leaves it stopped (then call `domain.fanout.runOnce()`). */
  fanout?: FanoutWorkerOptions | false;
  /**
   * Receives an offline push for each stored message reaching a recipient with no session
   * online (see `PushProvider`); without one, each is a debug log line.
   */
  pushProvider?: PushProvider;
}

export interface ConfabServer {
  readonly nodeID: string;
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
  /**
   * Runs the purge worker now and resolves with the number of messages this node erased:
   * 0 when another node of the cluster holds the purge lease.
   */
  purgeNow(): Promise<number>;
  /** Connected WebSocket sessions on this node. */
  readonly sessionCount: number;
  /** Whether `/readyz` may answer 200: started, not draining (storage and bus are checked per request). */
  readonly ready: boolean;
  /**
   * A graceful shutdown's first half (SIGTERM): `/readyz` turns 503, the port stops
   * accepting connections, every session is closed with 4004 once its requests in flight
   * are answered (so every acknowledged message is committed), and HTTP requests under way
   * finish. Resolves `true` when all that ended within `timeoutMs`, else `false` at the
   * deadline. Call `close()` afterwards either way.
   */
  drain(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Starts a Confab server: HTTP and WebSocket on one port. By default on the embedded
 * SQLite database and the in-process bus (one node); with `databaseUrl` and `natsUrl`
 * any number of such nodes form one cluster (see docs/operations.md).
 */
export async function startServer(options: ServerOptions = {}): Promise<ConfabServer> {
  // One node on its own SQLite file keeps its ID across restarts (see node-identity.ts).
  const ownsDataDir = !options.storage && !options.databaseUrl;
  const nodeID = options.nodeID ?? (ownsDataDir ? persistedNodeID(options.dataDir ?? '.confab-data') : randomUUID());
  // Checked before anything is opened: a mistyped limit fails the start, not a later login.
  const limits = resolveLimits(options.limits);
  const format = options.logFormat ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  // pino-pretty as a stream in this thread (not pino's worker transport): a line logged
  // just before the process exits is still printed.
  const logger = pretty
    ? pino({ level: options.logLevel ?? 'info', base: { node: nodeID } }, pinoPretty({ colorize: true, sync: true }))
    : pino({ level: options.logLevel ?? 'info', base: { node: nodeID } });
  // What this call opened is closed again if a later step fails.
  const opened: { close(): Promise<void> }[] = [];
  try {
    const backend = options.storage ?? (options.databaseUrl
      ? await openPostgresStorage({ connectionString: options.databaseUrl, ...(options.databaseSchema ? { schema: options.databaseSchema } : {}) })
      : openSqliteStorage({
        filename: join(options.dataDir ?? '.confab-data', 'confab.db'),
        durability: options.durability ?? 'full',
      }));
    if (!options.storage) opened.push(backend);
    // Sources are read at scrape time, once the gateway exists.
    let gateway: Gateway | undefined;
    const metrics = new Metrics({
      nodeID,
      connections: () => gateway?.sessionCount ?? 0,
      sessions: () => gateway?.loggedInCount ?? 0,
      purgeBacklog: () => backend.deletions.purgeBacklog(PURGE_BACKLOG_CAP),
    });
    const storage = instrumentStorage(backend, metrics);
    const transport = options.bus ?? (options.natsUrl
      ? await connectNatsBus({
        servers: options.natsUrl.split(',').map((url) => url.trim()).filter(Boolean),
        name: `confab-${nodeID}`,
        logger,
        ...(options.natsPrefix ? { prefix: options.natsPrefix } : {}),
      })
      : new MemoryBus());
    // Every bus is sequenced, also the in-process one: same code on one node and many,
    // and a bus lent by the caller (a test's lossy one) is checked the same way. As
    // before, close() closes a lent bus too.
    const bus = new SequencedBus(transport, {
      nodeID, logger, ...(options.busHeartbeatMs ? { heartbeatMs: options.busHeartbeatMs } : {}),
    });
    if (!options.bus) opened.push(bus);
    return await listen(options, { nodeID, logger, storage, bus, limits, metrics, onGateway: (g) => { gateway = g; } });
  } catch (err) {
    for (const resource of opened.reverse()) await resource.close().catch(() => undefined);
    throw err;
  }
}

async function listen(options: ServerOptions, parts: {
  nodeID: string; logger: Logger; storage: Storage; bus: Bus; limits: GatewayLimits; metrics: Metrics; onGateway(gateway: Gateway): void;
}): Promise<ConfabServer> {
  const { nodeID, logger, storage, bus, limits, metrics } = parts;
  const domain = new Domain(storage, bus, logger, {
    purge: options.purge || {}, fanout: options.fanout || {}, nodeID, ...(options.pushProvider ? { pushProvider: options.pushProvider } : {}),
  });
  if (options.purge !== false) domain.purge.start();
  if (options.fanout !== false && !options.fanout?.paused) domain.fanout.start();
  const presence = new Presence(storage.presence, nodeID, logger, options.presenceTtlMs);
  const gateway = new Gateway(domain, bus, logger, options.heartbeatMs, limits, presence);
  parts.onGateway(gateway);
  const lifecycle: Lifecycle = { state: 'starting' };
  const router = new Router(() => storage.readBarrier?.());
  router.on('GET', '/healthz', (_req, res) => sendJson(res, 200, { ok: true, node: nodeID, sessions: gateway.sessionCount }));
  registerProbes(router, { lifecycle, storage, bus, metrics, nodeID });
  for (const register of httpAreas) register(router, { domain, gateway, logger, adminToken: options.adminToken });
  const http: HttpServer = createServer((req, res) => void router.handle(req, res));
  gateway.attach(http);
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve());
    });
  } catch (err) {
    await domain.close();
    await gateway.close();
    await presence.close();
    throw err;
  }
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closed = false;
  lifecycle.state = 'ready';
  logger.info({ storage: storage.kind, bus: bus.kind, port: address.port }, 'node started');

  return {
    nodeID,
    port: address.port,
    httpUrl: `http://${host}:${address.port}`,
    wsUrl: `ws://${host}:${address.port}/ws`,
    domain,
    logger,
    get sessionCount() {
      return gateway.sessionCount;
    },
    get ready() {
      return lifecycle.state === 'ready';
    },
    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      lifecycle.state = 'draining';
      logger.info({ timeoutMs }, 'draining: refusing new connections, closing sessions once their requests are answered');
      // No new connections; requests on open HTTP connections still run.
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      const sessionsClosed = await gateway.drain(deadline);
      const timedOut = Symbol('timeout');
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        httpClosed,
        new Promise<symbol>((resolve) => { timer = setTimeout(() => resolve(timedOut), Math.max(0, deadline - Date.now())); }),
      ]);
      clearTimeout(timer);
      const clean = sessionsClosed && outcome !== timedOut;
      logger.info({ clean }, clean ? 'drained' : 'drain timed out; closing what is left');
      return clean;
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
      lifecycle.state = 'draining';
      // The purge lease is released first, so another node can take the work over at once.
      await domain.close();
      await gateway.close();
      // Its sessions are closed: its rows leave the presence table now, not at expiry.
      await presence.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await bus.close();
      await storage.close();
    },
  };
}
