/**
 * The file store conformance suite on its three backends: a folder, PostgreSQL (a fresh
 * schema per test) and S3 (an s3rver started here on port 0; no skip).
 */
import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { DiskFileStore } from '../src/files/disk-store.js';
import { PgFileStore } from '../src/files/pg-store.js';
import { S3FileStore } from '../src/files/s3-store.js';
import { fileStoreConformance } from './file-store-conformance.js';
import { DATABASE_URL, dropSchema, newSchema } from './postgres-test-db.js';
import { openPostgresStorage } from '../src/storage/postgres/pg-storage.js';

fileStoreConformance('disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confab-files-'));
  return { store: new DiskFileStore(dir), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

fileStoreConformance('postgres', async () => {
  // The storage's migrations create the file tables; the file store opens its own pool on the schema.
  const schema = newSchema();
  const storage = await openPostgresStorage({ connectionString: DATABASE_URL, schema, poolSize: 1 });
  await storage.close();
  const store = new PgFileStore({ connectionString: DATABASE_URL, schema });
  return { store, cleanup: async () => { await store.close(); await dropSchema(schema); } };
});

let s3: S3rver;
let s3Dir: string;
let endpoint: string;
before(async () => {
  s3Dir = mkdtempSync(join(tmpdir(), 'confab-s3rver-'));
  s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3Dir, configureBuckets: [{ name: 'confab-test', configs: [] }] });
  const { port } = await s3.run();
  endpoint = `http://127.0.0.1:${port}`;
});
after(async () => {
  await s3.close();
  rmSync(s3Dir, { recursive: true, force: true });
});

fileStoreConformance('s3 (s3rver)', async () => {
  const store = new S3FileStore({
    endpoint, bucket: 'confab-test', region: 'us-east-1', forcePathStyle: true,
    accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', prefix: `t-${crypto.randomUUID()}/`,
  });
  return { store, cleanup: () => store.close() };
});
