/**
 * A media message's files leave the file store with the message: after both sides of a
 * chat deleted it and the purge ran, the bytes are in no file store, checked where each
 * keeps them (the disk folder's files, PostgreSQL's chunk rows, s3rver's bucket and
 * folder). Runs on all three stores; none is skipped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import S3rver from 's3rver';
import sharp from 'sharp';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { ServerOptions } from '@confab/server';
import { device, startTestServer, waitFor } from './helpers/sdk-harness.js';
import { TEST_DATABASE_URL } from './helpers/postgres.js';

function filesUnder(root: string): string[] {
  try {
    return readdirSync(root).flatMap((name) => {
      const p = join(root, name);
      return statSync(p).isDirectory() ? filesUnder(p) : [p];
    });
  } catch {
    return [];
  }
}

function holders(root: string, marker: Buffer): string[] {
  return filesUnder(root).filter((f) => readFileSync(f).includes(marker));
}

interface StoreProbe {
  options(): ServerOptions;
  /** How many places in the store hold `marker`, and how many objects/rows it has at all. */
  count(marker: Buffer): Promise<{ withMarker: number; objects: number }>;
  cleanup(): Promise<void>;
}

let s3: S3rver;
let s3Dir: string;
let s3Endpoint: string;
const admin = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });

before(async () => {
  s3Dir = mkdtempSync(join(tmpdir(), 'confab-s3rver-'));
  s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3Dir, configureBuckets: [{ name: 'confab-media', configs: [] }] });
  s3Endpoint = `http://127.0.0.1:${(await s3.run()).port}`;
});
after(async () => {
  await s3.close();
  rmSync(s3Dir, { recursive: true, force: true });
  await admin.end();
});

const probes: Record<string, () => StoreProbe> = {
  disk: () => {
    let dataDir = '';
    return {
      options: () => ({}),
      async count(marker) {
        return { withMarker: holders(join(dataDir, 'files'), marker).length, objects: filesUnder(join(dataDir, 'files')).length };
      },
      cleanup: async () => undefined,
      set dir(d: string) { dataDir = d; },
    } as StoreProbe & { dir: string };
  },
  postgres: () => {
    const schema = `confab_media_${randomBytes(5).toString('hex')}`;
    return {
      options: () => ({ databaseUrl: TEST_DATABASE_URL, databaseSchema: schema }),
      async count(marker) {
        const withMarker = (await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.file_chunks WHERE position($1::bytea IN data) > 0`, [marker])).rows[0]!.n;
        const objects = (await admin.query<{ n: string }>(`SELECT (SELECT count(*) FROM ${schema}.file_chunks) + (SELECT count(*) FROM ${schema}.file_objects)
          + (SELECT count(*) FROM ${schema}.message_files) AS n`)).rows[0]!.n;
        return { withMarker: Number(withMarker), objects: Number(objects) };
      },
      cleanup: async () => { await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`); },
    };
  },
  's3 (s3rver)': () => {
    const prefix = `t${randomBytes(4).toString('hex')}/`;
    const client = new S3Client({ endpoint: s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    return {
      options: () => ({
        fileStore: { kind: 's3', endpoint: s3Endpoint, bucket: 'confab-media', forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', prefix },
      }),
      async count(marker) {
        const listed = await client.send(new ListObjectsV2Command({ Bucket: 'confab-media', Prefix: prefix }));
        return { withMarker: holders(s3Dir, marker).length, objects: listed.KeyCount ?? 0 };
      },
      cleanup: async () => client.destroy(),
    };
  },
};

for (const [name, make] of Object.entries(probes)) {
  describe(`media purge: ${name}`, () => {
    test('after both sides delete the chat, purgeNow deletes its files from the store', async () => {
      const probe = make();
      const env = await startTestServer({ purge: false, ...probe.options() });
      (probe as { dir?: string }).dir = env.dataDir;
      const alice = device(env);
      const bob = device(env);
      try {
        await alice.im.login('alice', await env.sig('alice'));
        await bob.im.login('bob', await env.sig('bob'));
        const marker = Buffer.from(`FILE-MARKER-${randomBytes(8).toString('hex')}`);
        const mm = alice.im.getMessageManager();
        const file = mm.createFileMessage(Buffer.concat([randomBytes(1000), marker, randomBytes(300 * 1024)]), 'secret.bin');
        await mm.sendMessage(file, 'bob', null);
        const image = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#123456' } }).png().toBuffer();
        await mm.sendMessage(mm.createImageMessage(image), 'bob', null);
        await bob.im.sendC2CTextMessage('got them', 'alice');
        await waitFor(() => bob.events.received.length >= 2, 'bob has both media messages');
        const before = await probe.count(marker);
        assert.ok(before.withMarker > 0, `the test sees the marker in the ${name} store before the deletion`);
        assert.ok(before.objects >= 4, `file, image and its two sizes are stored (${before.objects})`);

        await alice.im.getConversationManager().deleteConversation('c2c_bob');
        // One side deleted: the files stay for the other.
        await env.server.purgeNow();
        assert.ok((await probe.count(marker)).withMarker > 0, 'kept while bob can still see the message');
        await bob.im.getConversationManager().deleteConversation('c2c_alice');
        const erased = await env.server.purgeNow();
        assert.ok(erased >= 3, `purged ${erased} messages`);
        assert.deepEqual(await probe.count(marker), { withMarker: 0, objects: 0 }, `nothing left in the ${name} store`);
      } finally {
        await alice.im.logout().catch(() => undefined);
        await bob.im.logout().catch(() => undefined);
        await env.stop();
        await probe.cleanup();
      }
    });
  });
}
