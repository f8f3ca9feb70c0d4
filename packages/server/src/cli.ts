#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileStoreFromEnv } from './files/env.js';
import { startServer } from './server.js';
import { openSqliteStorage } from './storage/sqlite/sqlite-storage.js';
import { openPostgresStorage } from './storage/postgres/pg-storage.js';
import { AppService } from './services/domain.js';
import { DEFAULT_USER_SIG_EXPIRE_SECONDS, genUserSig } from './auth/usersig.js';
import { limitsFromEnv } from './gateway/limits.js';
import { purgeOptionsFromEnv } from './services/purge-env.js';

const HELP = `confab — self-hosted instant messaging server

Usage:
  confab start [--port 8080] [--host 127.0.0.1] [--data ./.confab-data]
               [--database-url postgres://…] [--nats-url nats://…] [--node-id ID]
      Starts a server node. By default on the embedded SQLite database in --data and an
      in-process bus: one node, nothing else to run. On the first start it creates an
      app and prints its SDKAppID and secret key.
      With --database-url (PostgreSQL) and --nats-url (NATS), any number of nodes form
      one cluster behind a load balancer (docs/operations.md); create the first app
      once with \`confab app create\` and the same --database-url.
  confab app create --name NAME [--data DIR | --database-url URL]
  confab app list [--data DIR | --database-url URL]
  confab usersig --sdkappid ID --user USER [--expire SECONDS] [--key SECRET | --data DIR | --database-url URL]
      Prints a UserSig (TLSSigAPIv2) for USER. Without --key the app's key is read from
      the database.

Environment:
  CONFAB_PORT, CONFAB_HOST, CONFAB_DATA_DIR, CONFAB_LOG_LEVEL, CONFAB_ADMIN_TOKEN
  CONFAB_DATABASE_URL      PostgreSQL connection string (as --database-url)
  CONFAB_DATABASE_SCHEMA   PostgreSQL schema for Confab's tables (default public)
  CONFAB_NATS_URL          NATS server URL(s), comma-separated (as --nats-url)
  CONFAB_NATS_PREFIX       first token(s) of Confab's NATS subjects (default confab)
  CONFAB_BUS_HEARTBEAT_MS  how often a node tells the others what it published (default 500);
                           a push lost between nodes reaches the device within about this long
  CONFAB_NODE_ID           this node's ID in logs and leases (as --node-id; default: kept in the
                           data folder on SQLite, random with a database URL)
  CONFAB_PURGE_LEASE_SECONDS  how long the purge lease lasts without renewal (default 10)
  CONFAB_RESEND_GUARD_HOURS   how long a resend of a purged message is still refused (default 24)
  CONFAB_FILE_STORE        where media messages' files go: disk (default without a database URL),
                           postgres (default with one) or s3
  CONFAB_FILE_DIR          the disk store's folder (default: files/ in the data folder)
  CONFAB_S3_ENDPOINT, CONFAB_S3_BUCKET, CONFAB_S3_REGION, CONFAB_S3_ACCESS_KEY_ID,
  CONFAB_S3_SECRET_ACCESS_KEY, CONFAB_S3_FORCE_PATH_STYLE (1 for MinIO/Ceph), CONFAB_S3_PREFIX
                           the s3 store (see docs/operations.md, "Files")
  CONFAB_MAX_…             the gateway's abuse limits (output budget, login deadline, caps on
                           connections, sessions, devices and request rates): each variable,
                           its default and what a client sees are in docs/protocol.md, "Limits"
Flags win over the environment. In a cluster, give every node the same
CONFAB_ADMIN_TOKEN: each node's data folder would otherwise hold a token of its own.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string' }, host: { type: 'string' }, data: { type: 'string' }, name: { type: 'string' },
    sdkappid: { type: 'string' }, user: { type: 'string' }, expire: { type: 'string' }, key: { type: 'string' },
    'database-url': { type: 'string' }, 'nats-url': { type: 'string' }, 'node-id': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

const dataDir = resolve(values.data ?? process.env.CONFAB_DATA_DIR ?? '.confab-data');
const databaseUrl = values['database-url'] ?? (process.env.CONFAB_DATABASE_URL || undefined);
const databaseSchema = process.env.CONFAB_DATABASE_SCHEMA || undefined;
const natsUrl = values['nats-url'] ?? (process.env.CONFAB_NATS_URL || undefined);

/** Where the apps are: PostgreSQL when configured, else the SQLite file in the data folder. */
function describeDatabase(): string {
  if (!databaseUrl) return dataDir;
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return `${url.toString()}${databaseSchema ? ` (schema ${databaseSchema})` : ''}`;
  } catch {
    return 'the PostgreSQL database in CONFAB_DATABASE_URL';
  }
}

async function withApps<T>(fn: (apps: AppService) => Promise<T>): Promise<T> {
  const storage = databaseUrl
    ? await openPostgresStorage({ connectionString: databaseUrl, ...(databaseSchema ? { schema: databaseSchema } : {}), poolSize: 1 })
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

function fail(message: string): never {
  console.error(`confab: ${message}\n\n${HELP}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const [command, sub] = positionals;
  if (values.help || !command) {
    console.log(HELP);
    return;
  }
  if (command === 'start') {
    // Read first: a mistyped limit stops the start before anything is created.
    const limits = limitsFromEnv(process.env);
    const purge = purgeOptionsFromEnv(process.env);
    // One node creates the first app on its own database. Nodes of a cluster could race
    // to do it, so there the operator creates apps once with `confab app create`.
    const first = databaseUrl ? undefined : await withApps(async (apps) => {
      if ((await apps.list()).length > 0) return undefined;
      return apps.create({ name: 'default', now: Date.now() });
    });
    if (databaseUrl && !process.env.CONFAB_ADMIN_TOKEN) {
      console.warn('confab: CONFAB_ADMIN_TOKEN is not set; this node uses the operator token in its own data folder. '
        + 'Give every node of a cluster the same CONFAB_ADMIN_TOKEN.');
    }
    const adminToken = process.env.CONFAB_ADMIN_TOKEN ?? operatorToken(dataDir);
    const server = await startServer({
      adminToken,
      limits,
      purge,
      dataDir,
      port: Number(values.port ?? process.env.CONFAB_PORT ?? 8080),
      host: values.host ?? process.env.CONFAB_HOST ?? '127.0.0.1',
      logLevel: (process.env.CONFAB_LOG_LEVEL as 'info' | undefined) ?? 'info',
      ...(databaseUrl ? { databaseUrl } : {}),
      ...(databaseSchema ? { databaseSchema } : {}),
      ...(natsUrl ? { natsUrl } : {}),
      ...(process.env.CONFAB_NATS_PREFIX ? { natsPrefix: process.env.CONFAB_NATS_PREFIX } : {}),
      ...(process.env.CONFAB_BUS_HEARTBEAT_MS ? { busHeartbeatMs: positiveMs(process.env.CONFAB_BUS_HEARTBEAT_MS) } : {}),
      ...((values['node-id'] ?? process.env.CONFAB_NODE_ID) ? { nodeID: values['node-id'] ?? process.env.CONFAB_NODE_ID } : {}),
      ...fileStoreFromEnv(process.env),
    });
    console.log(`Confab node ${server.nodeID} listening on ${server.httpUrl} (WebSocket ${server.wsUrl}), data in ${describeDatabase()}, `
      + `bus ${natsUrl ? 'NATS' : 'in-process'}`);
    if (databaseUrl && !natsUrl) {
      console.warn('confab: a database URL without a NATS URL: fine for one node; several nodes on one database need NATS '
        + 'to push each other\'s updates (set CONFAB_NATS_URL).');
    }
    console.log(`Admin console: ${server.httpUrl}/console  (operator token in ${join(dataDir, 'operator-token')}${process.env.CONFAB_ADMIN_TOKEN ? ', overridden by CONFAB_ADMIN_TOKEN' : ''})`);
    if (first) {
      console.log(`Created the first app:\n  SDKAppID:   ${first.sdkAppID}\n  secret key: ${first.secretKey}`);
      console.log(`A UserSig for user "alice": npm run confab -- usersig --sdkappid ${first.sdkAppID} --user alice --data ${dataDir}`);
    } else {
      const apps = await server.domain.apps.list();
      if (apps.length) console.log(`Apps: ${apps.map((a) => `${a.sdkAppID} (${a.name})`).join(', ')}`);
      else console.log('No app yet: create one with `confab app create --name NAME` and the same CONFAB_DATABASE_URL.');
    }
    const stop = async () => {
      await server.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return;
  }
  if (command === 'app' && sub === 'create') {
    if (!values.name) fail('app create needs --name');
    const app = await withApps((apps) => apps.create({ name: values.name!, now: Date.now() }));
    console.log(JSON.stringify({ sdkAppID: app.sdkAppID, secretKey: app.secretKey, name: app.name }, null, 2));
    return;
  }
  if (command === 'app' && sub === 'list') {
    const list = await withApps((apps) => apps.list());
    for (const app of list) console.log(`${app.sdkAppID}\t${app.name}`);
    return;
  }
  if (command === 'usersig') {
    const sdkAppID = Number(values.sdkappid);
    if (!Number.isSafeInteger(sdkAppID) || sdkAppID <= 0) fail('usersig needs --sdkappid');
    if (!values.user) fail('usersig needs --user');
    const secretKey = values.key ?? await withApps(async (apps) => (await apps.get(sdkAppID))?.secretKey);
    if (!secretKey) fail(`no app ${sdkAppID} in ${describeDatabase()}; pass --key`);
    const expireSeconds = values.expire ? Number(values.expire) : DEFAULT_USER_SIG_EXPIRE_SECONDS;
    console.log(genUserSig({ sdkAppID, secretKey, userID: values.user, expireSeconds }));
    return;
  }
  fail(`unknown command ${positionals.join(' ')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

/** A positive whole number of milliseconds from the environment, or exit with the reason. */
function positiveMs(text: string): number {
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms <= 0) {
    console.error(`confab: CONFAB_BUS_HEARTBEAT_MS must be a positive whole number of milliseconds, not ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return ms;
}
