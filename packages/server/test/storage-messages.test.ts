/** Runs the message extras conformance (storage-conformance-messages.ts) on SQLite and PostgreSQL. */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import { openPostgresStorage } from '../src/storage/postgres/pg-storage.js';
import type { OpenStorage } from './storage-conformance.js';
import { runMessageConformance } from './storage-conformance-messages.js';

const DATABASE_URL = process.env.CONFAB_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const openSqlite: OpenStorage = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confab-msgs-'));
  const storage = openSqliteStorage({ filename: join(dir, 'confab.db') });
  return {
    storage,
    async cleanup() {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** Undefined when PostgreSQL answers; otherwise why its run is skipped. */
async function unreachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return undefined;
  } catch (err) {
    return `PostgreSQL not reachable (${(err as Error).message}); start one or set CONFAB_TEST_DATABASE_URL`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

let admin: pg.Pool | undefined;
after(async () => { await admin?.end(); });

const openPostgres: OpenStorage = async () => {
  const schema = `confab_m_${randomBytes(6).toString('hex')}`;
  const storage = await openPostgresStorage({ connectionString: DATABASE_URL, schema, poolSize: 4 });
  return {
    storage,
    async cleanup() {
      await storage.close();
      admin ??= new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
};

const skip = await unreachable();
runMessageConformance('sqlite', openSqlite);
runMessageConformance('postgres', openPostgres, skip ? { skip } : {});
