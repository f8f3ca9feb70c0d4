import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertFileKey, type FileStore } from './types.js';

/**
 * Files in a folder (by default `files/` in the server's data folder), one file per key.
 * A put writes a temporary file, syncs it and renames it into place, so a reader never
 * sees half a file and a crash leaves at most a stray temporary file.
 */
export class DiskFileStore implements FileStore {
  readonly kind = 'disk';
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  #path(key: string): string {
    assertFileKey(key);
    return join(this.dir, key);
  }

  async put(key: string, data: Readable | Uint8Array): Promise<{ size: number }> {
    const path = this.#path(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await pipeline(data instanceof Uint8Array ? Readable.from([data]) : data, createWriteStream(tmp));
      const handle = await open(tmp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { size: (await stat(path)).size };
  }

  async get(key: string): Promise<{ size: number; stream: Readable } | undefined> {
    const info = await this.stat(key);
    if (!info) return undefined;
    return { size: info.size, stream: createReadStream(this.#path(key)) };
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      return { size: (await stat(this.#path(key))).size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async close(): Promise<void> {}
}
