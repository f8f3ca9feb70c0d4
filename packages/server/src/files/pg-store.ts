import pg from 'pg';
import { Readable } from 'node:stream';
import { assertFileKey, type FileStore } from './types.js';

/** Bytes per row of `file_chunks`: small enough that a chunk read never holds much memory. */
const CHUNK_BYTES = 256 * 1024;

export interface PgFileStoreOptions {
  connectionString: string;
  /** The schema with Confab's tables (the storage's migrations create `file_objects` and `file_chunks`). */
  schema?: string;
  poolSize?: number;
}

/**
 * Files in PostgreSQL, in 256 KiB chunks: a cluster on PostgreSQL keeps its files in
 * the same database and needs no shared disk or object store. A put is one transaction
 * (the object row is written with its last chunk), so a reader sees the whole file or
 * none; a get reads one chunk at a time as the stream is consumed.
 */
export class PgFileStore implements FileStore {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;

  constructor(options: PgFileStoreOptions) {
    const schema = options.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema ${JSON.stringify(schema)} must match [a-z_][a-z0-9_]*`);
    this.#pool = new pg.Pool({
      connectionString: options.connectionString, max: options.poolSize ?? 4,
      connectionTimeoutMillis: 5000, options: `-c search_path=${schema}`,
    });
    this.#pool.on('error', () => undefined);
  }

  async put(key: string, data: Readable | Uint8Array): Promise<{ size: number }> {
    assertFileKey(key);
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM file_chunks WHERE key = $1', [key]);
      await client.query('DELETE FROM file_objects WHERE key = $1', [key]);
      let n = 0;
      let size = 0;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async (all: boolean) => {
        let buf = Buffer.concat(pending);
        while (buf.length >= CHUNK_BYTES || (all && buf.length > 0)) {
          const part = buf.subarray(0, CHUNK_BYTES);
          await client.query('INSERT INTO file_chunks (key, n, data) VALUES ($1, $2, $3)', [key, n++, part]);
          buf = buf.subarray(part.length);
        }
        pending = buf.length ? [buf] : [];
        pendingBytes = buf.length;
      };
      for await (const chunk of data instanceof Uint8Array ? [data] : data) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        size += b.length;
        pending.push(b);
        pendingBytes += b.length;
        if (pendingBytes >= CHUNK_BYTES) await flush(false);
      }
      await flush(true);
      await client.query('INSERT INTO file_objects (key, size, chunks) VALUES ($1, $2, $3)', [key, size, n]);
      await client.query('COMMIT');
      return { size };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async get(key: string): Promise<{ size: number; stream: Readable } | undefined> {
    assertFileKey(key);
    const row = (await this.#pool.query<{ size: string; chunks: number }>('SELECT size, chunks FROM file_objects WHERE key = $1', [key])).rows[0];
    if (!row) return undefined;
    const pool = this.#pool;
    let n = 0;
    const stream = new Readable({
      read() {
        if (n >= row.chunks) {
          this.push(null);
          return;
        }
        pool.query<{ data: Buffer }>('SELECT data FROM file_chunks WHERE key = $1 AND n = $2', [key, n++]).then(
          (r) => {
            if (!r.rows[0]) this.destroy(new Error(`file ${key} lost a chunk (deleted while read)`));
            else this.push(r.rows[0].data);
          },
          (err: Error) => this.destroy(err),
        );
      },
    });
    return { size: Number(row.size), stream };
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    assertFileKey(key);
    const row = (await this.#pool.query<{ size: string }>('SELECT size FROM file_objects WHERE key = $1', [key])).rows[0];
    return row ? { size: Number(row.size) } : undefined;
  }

  async delete(key: string): Promise<void> {
    assertFileKey(key);
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM file_objects WHERE key = $1', [key]);
      await client.query('DELETE FROM file_chunks WHERE key = $1', [key]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
