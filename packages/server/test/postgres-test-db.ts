/**
 * A PostgreSQL database for the storage tests: each opened Storage gets a schema of its
 * own, dropped after use. Shared by the test files that run suites against PostgreSQL, so
 * that the suites can run in parallel files (each test migrates a fresh schema, which
 * dominates their time).
 */
import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresStorage } from '../src/storage/postgres/pg-storage.js';
import type { OpenStorage } from './storage-conformance.js';

export const DATABASE_URL = process.env.CONFAB_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable CONFAB_TEST_DATABASE_URL)';
  }
}

/** Undefined when PostgreSQL answers; otherwise why the suites are skipped. */
export async function unreachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL not reachable at ${redacted(DATABASE_URL)} (${(err as Error).message}); `
      + 'start one or set CONFAB_TEST_DATABASE_URL';
  } finally {
    await client.end().catch(() => undefined);
  }
}


let admin: pg.Pool | undefined;
const schemas = new Set<string>();

export function newSchema(): string {
  const schema = `confab_t_${randomBytes(6).toString('hex')}`;
  schemas.add(schema);
  return schema;
}

/** A small pool for statements outside any Storage (dropping schemas, reading them). */
export function adminPool(): pg.Pool {
  admin ??= new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  return admin;
}

export async function dropSchema(schema: string): Promise<void> {
  await adminPool().query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  schemas.delete(schema);
}

after(async () => {
  for (const schema of [...schemas]) await dropSchema(schema);
  await admin?.end();
});

export const openPostgres: OpenStorage = async () => {
  const schema = newSchema();
  const storage = await openPostgresStorage({ connectionString: DATABASE_URL, schema, poolSize: 4 });
  return {
    storage,
    async cleanup() {
      await storage.close();
      await dropSchema(schema);
    },
  };
};
