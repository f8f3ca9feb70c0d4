import { join } from 'node:path';
import { DiskFileStore } from './disk-store.js';
import { PgFileStore } from './pg-store.js';
import { S3FileStore, type S3FileStoreOptions } from './s3-store.js';
import type { FileStore } from './types.js';

/** Where the files of media messages go (`startServer({ fileStore })`, CLI `CONFAB_FILE_STORE`). */
export type FileStoreConfig =
  | { kind: 'disk'; dir?: string }
  | { kind: 'postgres' }
  | ({ kind: 's3' } & S3FileStoreOptions);

/**
 * Opens the configured file store. Default: PostgreSQL when the server runs on it (a
 * cluster then needs nothing new), else the `files` folder in the data folder.
 */
export function openFileStore(config: FileStoreConfig | undefined, server: { dataDir: string; databaseUrl?: string; databaseSchema?: string }): FileStore {
  const kind = config?.kind ?? (server.databaseUrl ? 'postgres' : 'disk');
  if (kind === 'disk') return new DiskFileStore((config?.kind === 'disk' && config.dir) || join(server.dataDir, 'files'));
  if (kind === 'postgres') {
    if (!server.databaseUrl) throw new Error('the postgres file store needs the server to run on PostgreSQL (databaseUrl)');
    return new PgFileStore({ connectionString: server.databaseUrl, ...(server.databaseSchema ? { schema: server.databaseSchema } : {}) });
  }
  const s3 = config as { kind: 's3' } & S3FileStoreOptions;
  if (!s3.bucket) throw new Error('the s3 file store needs a bucket');
  return new S3FileStore(s3);
}
