/**
 * The database records its schema version (SQLite `user_version`, PostgreSQL
 * `schema_migrations`), migration N being the Nth entry of the backend's list, and a
 * build refuses a database that a newer release migrated further, with a message that
 * says so, on both backends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import { SQLITE_SCHEMA_VERSION } from '../src/storage/sqlite/schema.js';
import { openPostgresStorage } from '../src/storage/postgres/pg-storage.js';
import { POSTGRES_SCHEMA_VERSION } from '../src/storage/postgres/schema.js';
import { adminPool, DATABASE_URL, newSchema, unreachable } from './postgres-test-db.js';

const pgSkip = await unreachable();

test('SQLite: a new database records the current version; a newer one is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confab-schema-'));
  try {
    const file = join(dir, 'confab.db');
    await openSqliteStorage({ filename: file }).close();
    const db = new Database(file);
    assert.equal(db.pragma('user_version', { simple: true }), SQLITE_SCHEMA_VERSION);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(() => openSqliteStorage({ filename: file }),
      new RegExp(`has schema version ${SQLITE_SCHEMA_VERSION + 1}, newer than this Confab's ${SQLITE_SCHEMA_VERSION}: it was written by a newer release`));
    // The refusal changed nothing: the version is still the newer one.
    const after = new Database(file);
    assert.equal(after.pragma('user_version', { simple: true }), SQLITE_SCHEMA_VERSION + 1);
    after.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL: every migration is recorded by number; a newer schema is refused', { skip: pgSkip }, async () => {
  const schema = newSchema();
  await (await openPostgresStorage({ connectionString: DATABASE_URL, schema, poolSize: 1 })).close();
  const admin = adminPool();
  const { rows } = await admin.query<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
  assert.deepEqual(rows.map((r) => r.version), Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
  await admin.query(`INSERT INTO "${schema}".schema_migrations (version) VALUES ($1)`, [POSTGRES_SCHEMA_VERSION + 1]);
  await assert.rejects(openPostgresStorage({ connectionString: DATABASE_URL, schema, poolSize: 1 }),
    new RegExp(`PostgreSQL schema ${schema} has schema version ${POSTGRES_SCHEMA_VERSION + 1}, newer than this Confab's ${POSTGRES_SCHEMA_VERSION}`));
});
