/** Runs the file record conformance (storage-conformance-files.ts) on SQLite and PostgreSQL. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import type { OpenStorage } from './storage-conformance.js';
import { runFileRecordConformance } from './storage-conformance-files.js';
import { openPostgres } from './postgres-test-db.js';

const openSqlite: OpenStorage = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confab-files-db-'));
  const storage = openSqliteStorage({ filename: join(dir, 'confab.db') });
  return {
    storage,
    async cleanup() {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

runFileRecordConformance('sqlite', openSqlite);
runFileRecordConformance('postgres', openPostgres);
