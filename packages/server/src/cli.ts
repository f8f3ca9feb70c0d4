#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startServer } from './server.js';
import { openSqliteStorage } from './storage/sqlite/sqlite-storage.js';
import { AppService } from './services/domain.js';
import { DEFAULT_USER_SIG_EXPIRE_SECONDS, genUserSig } from './auth/usersig.js';

const HELP = `confab — self-hosted instant messaging server

Usage:
  confab start [--port 8080] [--host 127.0.0.1] [--data ./.confab-data]
      Starts the server on the embedded SQLite database in --data. On the first start
      it creates an app and prints its SDKAppID and secret key.
  confab app create --name NAME [--data DIR]
  confab app list [--data DIR]
  confab usersig --sdkappid ID --user USER [--expire SECONDS] [--key SECRET | --data DIR]
      Prints a UserSig (TLSSigAPIv2) for USER. Without --key the app's key is read from
      the data folder.

Environment: CONFAB_PORT, CONFAB_HOST, CONFAB_DATA_DIR, CONFAB_LOG_LEVEL, CONFAB_ADMIN_TOKEN.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string' }, host: { type: 'string' }, data: { type: 'string' }, name: { type: 'string' },
    sdkappid: { type: 'string' }, user: { type: 'string' }, expire: { type: 'string' }, key: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

const dataDir = resolve(values.data ?? process.env.CONFAB_DATA_DIR ?? '.confab-data');

async function withApps<T>(fn: (apps: AppService) => Promise<T>): Promise<T> {
  const storage = openSqliteStorage({ filename: join(dataDir, 'confab.db') });
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
    const first = await withApps(async (apps) => {
      if ((await apps.list()).length > 0) return undefined;
      return apps.create({ name: 'default', now: Date.now() });
    });
    const adminToken = process.env.CONFAB_ADMIN_TOKEN ?? operatorToken(dataDir);
    const server = await startServer({
      adminToken,
      dataDir,
      port: Number(values.port ?? process.env.CONFAB_PORT ?? 8080),
      host: values.host ?? process.env.CONFAB_HOST ?? '127.0.0.1',
      logLevel: (process.env.CONFAB_LOG_LEVEL as 'info' | undefined) ?? 'info',
    });
    console.log(`Confab listening on ${server.httpUrl} (WebSocket ${server.wsUrl}), data in ${dataDir}`);
    console.log(`Admin console: ${server.httpUrl}/console  (operator token in ${join(dataDir, 'operator-token')}${process.env.CONFAB_ADMIN_TOKEN ? ', overridden by CONFAB_ADMIN_TOKEN' : ''})`);
    if (first) {
      console.log(`Created the first app:\n  SDKAppID:   ${first.sdkAppID}\n  secret key: ${first.secretKey}`);
      console.log(`A UserSig for user "alice": npx confab usersig --sdkappid ${first.sdkAppID} --user alice --data ${dataDir}`);
    } else {
      const apps = await server.domain.apps.list();
      console.log(`Apps: ${apps.map((a) => `${a.sdkAppID} (${a.name})`).join(', ')}`);
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
    if (!secretKey) fail(`no app ${sdkAppID} in ${dataDir}; pass --key`);
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
