/**
 * The one suite every FileStore backend passes (disk, PostgreSQL, S3 via s3rver):
 * file-store.test.ts runs it against each.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FileStore } from '../src/files/types.js';

export type OpenFileStore = () => Promise<{ store: FileStore; cleanup(): Promise<void> }>;

async function bytesOf(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

function key(): string {
  return `1400000001/${crypto.randomUUID()}`;
}

export function fileStoreConformance(name: string, open: OpenFileStore): void {
  describe(`FileStore conformance: ${name}`, () => {
    const withStore = (fn: (store: FileStore) => Promise<void>) => async () => {
      const { store, cleanup } = await open();
      try {
        await fn(store);
      } finally {
        await cleanup();
      }
    };

    test('put bytes, get them back, stat the size', withStore(async (store) => {
      const k = key();
      const data = randomBytes(1000);
      assert.deepEqual(await store.put(k, data, 'application/octet-stream'), { size: 1000 });
      assert.deepEqual(await store.stat(k), { size: 1000 });
      const got = await store.get(k);
      assert.ok(got);
      assert.equal(got.size, 1000);
      assert.ok((await bytesOf(got.stream)).equals(data));
    }));

    test('a stream of many chunks larger than one storage chunk round-trips', withStore(async (store) => {
      const k = key();
      const parts = Array.from({ length: 40 }, () => randomBytes(17 * 1024 + 3));
      const { size } = await store.put(k, Readable.from(parts));
      const all = Buffer.concat(parts);
      assert.equal(size, all.length);
      const got = await store.get(k);
      assert.ok(got);
      assert.ok((await bytesOf(got.stream)).equals(all));
    }));

    test('put replaces what was under the key', withStore(async (store) => {
      const k = key();
      await store.put(k, Buffer.from('first version, longer'));
      await store.put(k, Buffer.from('second'));
      const got = await store.get(k);
      assert.equal((await bytesOf(got!.stream)).toString(), 'second');
      assert.deepEqual(await store.stat(k), { size: 6 });
    }));

    test('a missing key: get and stat are undefined, delete succeeds', withStore(async (store) => {
      const k = key();
      assert.equal(await store.get(k), undefined);
      assert.equal(await store.stat(k), undefined);
      await store.delete(k);
    }));

    test('delete removes the bytes, and deleting again succeeds', withStore(async (store) => {
      const k = key();
      const other = key();
      await store.put(k, Buffer.from('to be deleted'));
      await store.put(other, Buffer.from('kept'));
      await store.delete(k);
      assert.equal(await store.get(k), undefined);
      assert.equal(await store.stat(k), undefined);
      await store.delete(k);
      assert.equal((await bytesOf((await store.get(other))!.stream)).toString(), 'kept');
    }));

    test('a stream that fails midway leaves nothing under the key', withStore(async (store) => {
      const k = key();
      async function* broken() {
        yield randomBytes(300 * 1024);
        throw new Error('client went away');
      }
      await assert.rejects(store.put(k, Readable.from(broken())), /client went away/);
      assert.equal(await store.stat(k), undefined);
      assert.equal(await store.get(k), undefined);
    }));

    test('keys outside the server scheme are refused', withStore(async (store) => {
      await assert.rejects(store.put('../etc/passwd', Buffer.from('x')));
      await assert.rejects(store.get('a/../../b'));
    }));
  });
}
