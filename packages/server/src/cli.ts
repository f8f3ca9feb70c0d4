#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startServer, type ConfabServer } from './server.js';
import { openSqliteStorage } from './storage/sqlite/sqlite-storage.js';
import { openPostgresStorage } from './storage/postgres/pg-storage.js';
import { AppService } from './services/domain.js';
import { DEFAULT_USER_SIG_EXPIRE_SECONDS, genUserSig } from './auth/usersig.js';
import { ConfigError, CONFIG_FLAGS, loadConfig, maskUrls, printableConfig, settingsTable, type LoadedConfig } from './config.js';
import type { AppRecord } from './storage/types.js';

const HELP = `confab — self-hosted instant messaging server

Usage:
  confab start [--port 8080] [--host 127.0.0.1] [--data ./.confab-data] [--config confab.json]
               [--database-url postgres://…] [--nats-url nats://…] [--node-id ID]
               [--log-level info] [--log-format auto|pretty|json] [--drain-timeout-ms 30000]
      Starts a server node. By default on the embedded SQLite database in --data and an
      in-process bus: one node, nothing else to run. On the first start, once the port is
      bound, it creates an app and prints its SDKAppID and secret key.
      With --database-url (PostgreSQL) and --nats-url (NATS), any number of nodes form
      one cluster behind a load balancer (docs/operations.md); create the first app
      once with \`confab app create\` and the same --database-url.
      SIGTERM (or Ctrl-C) drains the node: /readyz turns 503, clients are told to
      reconnect elsewhere, requests under way finish; it exits within the drain timeout.
  confab app create --name NAME
  confab app list
  confab app show ID [--secret]          the app; with --secret its secret key too
  confab app rotate-secret ID            gives the app a new secret key and prints it
  confab usersig --sdkappid ID --user USER [--expire SECONDS] [--key SECRET]
      Prints a UserSig (TLSSigAPIv2) for USER. Without --key the app's key is read from
      the database.
  confab config print
      Prints the effective configuration (flags, environment, config file, defaults) as
      JSON, secrets masked.
  The app, usersig and config commands find the database as \`start\` does (--data,
  --database-url, the environment or the config file).

Configuration: a flag wins over its environment variable, which wins over the JSON
config file (--config or CONFAB_CONFIG; keys as in \`confab config print\`), which wins
over the default. A malformed value stops the command with exit code 2, naming it.
${settingsTable()}
  CONFAB_MAX_…                the gateway's abuse limits ("limits" in the config file):
                              each variable, its default and what a client sees are in
                              docs/protocol.md, "Limits"
In a cluster, give every node the same CONFAB_ADMIN_TOKEN: each node's data folder would
otherwise hold a token of its own.`;

function fail(message: string, showHelp = true): never {
  console.error(`confab: ${message}${showHelp ? '\n\nRun `confab --help` for the commands and settings.' : ''}`);
  process.exit(2);
}

let values: Record<string, string | boolean | undefined>;
let positionals: string[];
try {
  ({ values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      ...CONFIG_FLAGS,
      name: { type: 'string' }, sdkappid: { type: 'string' }, user: { type: 'string' }, expire: { type: 'string' }, key: { type: 'string' },
      secret: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (err) {
  // An unknown flag, or a flag without its value: parseArgs says which.
  fail((err as Error).message);
}

let loaded: LoadedConfig;
try {
  loaded = loadConfig(values as Record<string, string | undefined>, process.env);
} catch (err) {
  if (err instanceof ConfigError) fail(err.message, false);
  throw err;
}
const config = loaded.config;
const dataDir = resolve(config.dataDir);

/** Where the apps are: PostgreSQL when configured, else the SQLite file in the data folder. */
function describeDatabase(): string {
  if (!config.databaseUrl) return dataDir;
  return `${maskUrls(config.databaseUrl)}${config.databaseSchema ? ` (schema ${config.databaseSchema})` : ''}`;
}

async function withApps<T>(fn: (apps: AppService) => Promise<T>): Promise<T> {
  const storage = config.databaseUrl
    ? await openPostgresStorage({ connectionString: config.databaseUrl, ...(config.databaseSchema ? { schema: config.databaseSchema } : {}), poolSize: 1 })
    : openSqliteStorage({ filename: join(dataDir, 'confab.db') });
  try {
    return await fn(new AppService(storage));
  } finally {
    await storage.close();
  }
}

/** The operator token lives in the data folder, readable by its owner only; made on first start. */
function operatorToken(dir: string): string {
  const file = join(dir, 'operator-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

function appID(text: string | undefined, command: string): number {
  const id = Number(text);
  if (!text || !Number.isSafeInteger(id) || id <= 0) fail(`${command} needs the app's SDKAppID, e.g. \`confab ${command} 1400000001\``);
  return id;
}

function showApp(app: AppRecord, withSecret: boolean): string {
  return JSON.stringify({ sdkAppID: app.sdkAppID, name: app.name, createdAt: new Date(app.createdAt).toISOString(),
    ...(withSecret ? { secretKey: app.secretKey } : {}) }, null, 2);
}

async function start(): Promise<void> {
  if (config.databaseUrl && !config.adminToken) {
    console.warn('confab: CONFAB_ADMIN_TOKEN is not set; this node uses the operator token in its own data folder. '
      + 'Give every node of a cluster the same CONFAB_ADMIN_TOKEN.');
  }
  const adminToken = config.adminToken ?? operatorToken(dataDir);
  let server: ConfabServer;
  try {
    server = await startServer({
      adminToken,
      limits: config.limits,
      purge: {
        ...(config.purgeLeaseSeconds ? { leaseMs: config.purgeLeaseSeconds * 1000 } : {}),
        ...(config.resendGuardHours ? { resendGuardMs: config.resendGuardHours * 3600 * 1000 } : {}),
      },
      dataDir,
      port: config.port,
      host: config.host,
      logLevel: config.logLevel,
      logFormat: config.logFormat,
      ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
      ...(config.databaseSchema ? { databaseSchema: config.databaseSchema } : {}),
      ...(config.natsUrl ? { natsUrl: config.natsUrl } : {}),
      ...(config.natsPrefix ? { natsPrefix: config.natsPrefix } : {}),
      ...(config.busHeartbeatMs ? { busHeartbeatMs: config.busHeartbeatMs } : {}),
      ...(config.nodeID ? { nodeID: config.nodeID } : {}),
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      const why = code === 'EADDRINUSE' ? 'is already in use' : code === 'EACCES' ? 'may not be used by this user' : 'is not an address of this machine';
      console.error(`confab: port ${config.port} on ${config.host} ${why} (port from ${loaded.sources.port}, host from ${loaded.sources.host}); `
        + 'stop what uses it or choose another with --port / CONFAB_PORT. No app was created.');
      process.exit(1);
    }
    throw err;
  }
  console.log(`Confab node ${server.nodeID} listening on ${server.httpUrl} (WebSocket ${server.wsUrl}), data in ${describeDatabase()}, `
    + `bus ${config.natsUrl ? 'NATS' : 'in-process'}`);
  if (config.databaseUrl && !config.natsUrl) {
    console.warn('confab: a database URL without a NATS URL: fine for one node; several nodes on one database need NATS '
      + 'to push each other\'s updates (set CONFAB_NATS_URL).');
  }
  console.log(`Admin console: ${server.httpUrl}/console  (operator token in ${join(dataDir, 'operator-token')}${config.adminToken ? ', overridden by CONFAB_ADMIN_TOKEN' : ''})`);
  // The first app is created only now that the port is bound: a start that fails (the
  // port is taken) creates nothing, so the start that succeeds is the one that creates
  // the app and prints its key. One node on its own database only: nodes of a cluster
  // could race to do it, so there the operator creates apps with `confab app create`.
  const apps = await server.domain.apps.list();
  if (!config.databaseUrl && apps.length === 0) {
    const first = await server.domain.apps.create({ name: 'default', now: Date.now() });
    console.log(`Created the first app:\n  SDKAppID:   ${first.sdkAppID}\n  secret key: ${first.secretKey}`);
    console.log(`Show it again any time: npm run confab -- app show ${first.sdkAppID} --secret --data ${dataDir}`);
    console.log(`A UserSig for user "alice": npm run confab -- usersig --sdkappid ${first.sdkAppID} --user alice --data ${dataDir}`);
  } else if (apps.length) {
    console.log(`Apps: ${apps.map((a) => `${a.sdkAppID} (${a.name})`).join(', ')}; \`confab app show ID --secret\` prints a key`);
  } else {
    console.log('No app yet: create one with `confab app create --name NAME` and the same CONFAB_DATABASE_URL.');
  }
  let stopping = false;
  const stop = (signal: string) => {
    // A second signal while draining: the operator wants out now.
    if (stopping) process.exit(1);
    stopping = true;
    server.logger.info({ signal }, 'shutting down');
    // Whatever hangs, the process is gone shortly after the drain timeout.
    setTimeout(() => {
      console.error(`confab: shutdown did not finish within ${config.drainTimeoutMs} ms and 10 s more; exiting`);
      process.exit(1);
    }, config.drainTimeoutMs + 10_000).unref();
    void (async () => {
      const clean = await server.drain(config.drainTimeoutMs);
      await server.close();
      process.exit(clean ? 0 : 1);
    })().catch((err: unknown) => {
      console.error(`confab: shutdown failed: ${(err as Error).message}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function main(): Promise<void> {
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    console.log(HELP);
    return;
  }
  if (command === 'start') return start();
  if (command === 'config' && sub === 'print') {
    console.log(JSON.stringify(printableConfig(loaded), null, 2));
    return;
  }
  if (command === 'app' && sub === 'create') {
    if (!values.name) fail('app create needs --name');
    const app = await withApps((apps) => apps.create({ name: values.name as string, now: Date.now() }));
    console.log(JSON.stringify({ sdkAppID: app.sdkAppID, secretKey: app.secretKey, name: app.name }, null, 2));
    return;
  }
  if (command === 'app' && sub === 'list') {
    const list = await withApps((apps) => apps.list());
    for (const app of list) console.log(`${app.sdkAppID}\t${app.name}`);
    return;
  }
  if (command === 'app' && sub === 'show') {
    const id = appID(arg, 'app show');
    const app = await withApps((apps) => apps.get(id));
    if (!app) {
      console.error(`confab: no app ${id} in ${describeDatabase()}`);
      process.exit(1);
    }
    console.log(showApp(app, values.secret === true));
    return;
  }
  if (command === 'app' && sub === 'rotate-secret') {
    const id = appID(arg, 'app rotate-secret');
    const app = await withApps(async (apps) => (await apps.get(id)) ? apps.rotateSecret(id) : undefined);
    if (!app) {
      console.error(`confab: no app ${id} in ${describeDatabase()}`);
      process.exit(1);
    }
    console.log(showApp(app, true));
    console.error('Running nodes use the new key within 30 s. UserSigs made with the old key are refused from their next login on.');
    return;
  }
  if (command === 'usersig') {
    const sdkAppID = appID(values.sdkappid as string | undefined, 'usersig --sdkappid');
    if (!values.user) fail('usersig needs --user');
    const expireSeconds = values.expire !== undefined ? Number(values.expire) : DEFAULT_USER_SIG_EXPIRE_SECONDS;
    if (!Number.isSafeInteger(expireSeconds) || expireSeconds <= 0) fail(`--expire ${String(values.expire)}: must be a positive whole number of seconds`, false);
    const secretKey = (values.key as string | undefined) ?? await withApps(async (apps) => (await apps.get(sdkAppID))?.secretKey);
    if (!secretKey) fail(`no app ${sdkAppID} in ${describeDatabase()}; pass --key`, false);
    console.log(genUserSig({ sdkAppID, secretKey, userID: values.user as string, expireSeconds }));
    return;
  }
  fail(`unknown command ${positionals.join(' ')}`);
}

main().catch((err: unknown) => {
  console.error(`confab: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
