import type { Readable } from 'node:stream';

/**
 * The file store seam: where the bytes of image, sound, video and file messages live.
 * Three backends pass one conformance suite (packages/server/test/file-store-conformance.ts):
 * a folder on local disk (the embedded default), PostgreSQL (chunks in a table, so a
 * cluster needs nothing beyond its database) and S3-compatible object storage (AWS,
 * MinIO, Ceph).
 *
 * Which files exist and which message each belongs to is not kept here but in the
 * storage's `files` table (`FileRecordStore`); a backend only maps keys to bytes.
 */
export interface FileStore {
  readonly kind: string;
  /**
   * Stores the bytes under `key`, replacing what was there; resolves once they are
   * durable, with their size. A failed or aborted stream leaves nothing under the key.
   */
  put(key: string, data: Readable | Uint8Array, contentType?: string): Promise<{ size: number }>;
  /** The bytes under `key` as a stream, or undefined when there are none. */
  get(key: string): Promise<{ size: number; stream: Readable } | undefined>;
  stat(key: string): Promise<{ size: number } | undefined>;
  /** Removes the key; removing a missing key succeeds (a purge may be repeated). */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Keys are made by the server: `<sdkAppID>/<uuid>[-<variant>]`. Anything else is refused. */
export function assertFileKey(key: string): void {
  if (!/^[0-9]{1,12}\/[A-Za-z0-9-]{1,80}$/.test(key)) throw new Error(`invalid file key ${JSON.stringify(key)}`);
}
