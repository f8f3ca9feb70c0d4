import {
  DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { assertFileKey, type FileStore } from './types.js';

export interface S3FileStoreOptions {
  /** e.g. `https://s3.eu-west-1.amazonaws.com`, `http://minio:9000`; AWS's default when left out. */
  endpoint?: string;
  bucket: string;
  /** Default `us-east-1` (MinIO and Ceph accept any). */
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** `http://host/bucket/key` instead of `http://bucket.host/key`: MinIO and Ceph usually need it. */
  forcePathStyle?: boolean;
  /** Prepended to every key, e.g. `confab/`, to share a bucket. */
  prefix?: string;
}

function missing(err: unknown): boolean {
  return err instanceof NoSuchKey || err instanceof NotFound
    || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;
}

/**
 * Files in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW). A put buffers the upload
 * (at most the 100 MB limit of a file message) and sends it as one object, so an upload
 * that fails midway leaves nothing in the bucket.
 */
export class S3FileStore implements FileStore {
  readonly kind = 's3';
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(options: S3FileStoreOptions) {
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? '';
    this.#client = new S3Client({
      region: options.region ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.accessKeyId && options.secretAccessKey
        ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } } : {}),
    });
  }

  #key(key: string): string {
    assertFileKey(key);
    return this.#prefix + key;
  }

  async put(key: string, data: Readable | Uint8Array, contentType?: string): Promise<{ size: number }> {
    const objectKey = this.#key(key);
    let body: Buffer;
    if (data instanceof Uint8Array) body = Buffer.from(data);
    else {
      const parts: Buffer[] = [];
      for await (const chunk of data) parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
      body = Buffer.concat(parts);
    }
    await this.#client.send(new PutObjectCommand({
      Bucket: this.#bucket, Key: objectKey, Body: body, ContentLength: body.length,
      ...(contentType ? { ContentType: contentType } : {}),
    }));
    return { size: body.length };
  }

  async get(key: string): Promise<{ size: number; stream: Readable } | undefined> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
      const body = out.Body as Readable | undefined;
      if (!body) return undefined;
      return { size: out.ContentLength ?? 0, stream: body instanceof Readable ? body : Readable.from(body as AsyncIterable<Uint8Array>) };
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
      return { size: out.ContentLength ?? 0 };
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}
