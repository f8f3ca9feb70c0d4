/**
 * Message extras and time seeks, for every backend: what a message carries besides its
 * element (`extra`) comes back from every read path, and `seqAtTime` finds the first and
 * last seq of a time range by index.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Storage } from '../src/storage/types.js';
import { c2cKey, c2cMessage, freshStorageEachTest, groupKey, type OpenStorage } from './storage-conformance.js';

const APP = 1_400_000_001;
const T0 = 1_700_000_000_000;

export function runMessageConformance(name: string, open: OpenStorage, options: { skip?: string } = {}): void {
  describe(`message extras conformance: ${name}`, options.skip ? { skip: options.skip } : {}, () => {
    let storage: Storage;
    freshStorageEachTest(open, (s) => { storage = s; });

    test('extra (profile, cloud custom data, priority, push info) is stored and read back on every path; absent stays absent', async () => {
      for (const id of ['alice', 'bob']) await storage.accounts.ensure(APP, id, T0);
      const extra = { nickName: 'Alice', faceUrl: 'https://x/a.png', cloudCustomData: '{"k":1}', priority: 1, offlinePushInfo: { title: 'T', desc: 'D', disablePush: true } };
      const { results } = await storage.messages.appendBatch([
        { ...c2cMessage('alice', 'bob', 'k1', 'with extra'), extra },
        c2cMessage('alice', 'bob', 'k2', 'plain'),
      ]);
      assert.deepEqual(results[0]!.message.extra, extra);
      assert.equal(results[1]!.message.extra, undefined);
      const key = c2cKey('alice', 'bob');
      assert.deepEqual((await storage.messages.get(APP, key, 1))?.extra, extra);
      assert.equal((await storage.messages.get(APP, key, 2))?.extra, undefined);
      assert.deepEqual((await storage.messages.range(APP, key, 1, 2, 10, 'asc')).map((m) => m.extra), [extra, undefined]);
      assert.deepEqual((await storage.conversations.lastMessages(APP, [{ convKey: key, seq: 1 }]))[0]?.extra, extra);
      // A resend finds the stored message, extra included.
      const again = await storage.messages.appendBatch([{ ...c2cMessage('alice', 'bob', 'k1', 'with extra'), extra }]);
      assert.equal(again.results[0]!.duplicate, true);
      assert.deepEqual(again.results[0]!.message.extra, extra);
    });

    test('presence.onlineAmong names the users of a list with a live session, in one app', async () => {
      const session = (node: string, sessionID: string) => ({ node, sessionID, deviceID: sessionID, capabilities: [], protocolVersion: 1, since: T0 });
      await storage.presence.add(APP, 'alice', session('node-a', 's1'), T0 + 100);
      await storage.presence.add(APP, 'alice', session('node-b', 's2'), T0 + 100);
      await storage.presence.add(APP, 'bob', session('node-a', 's3'), T0 + 50);
      await storage.presence.add(APP + 1, 'carol', session('node-a', 's4'), T0 + 100);
      const among = async (ids: string[], now: number) => [...await storage.presence.onlineAmong(APP, ids, now)].sort();
      assert.deepEqual(await among(['alice', 'bob', 'carol', 'dave'], T0 + 10), ['alice', 'bob']);
      assert.deepEqual(await among(['alice', 'bob'], T0 + 50), ['alice'], 'a row counts until its expiry');
      assert.deepEqual(await among([], T0), []);
      const many = Array.from({ length: 1200 }, (_, i) => `user-${i}`);
      assert.deepEqual(await among([...many, 'bob'], T0 + 10), ['bob']);
    });

    test('seqAtTime seeks the first message at or after a time and the last at or before it', async () => {
      for (const id of ['alice', 'bob']) await storage.accounts.ensure(APP, id, T0);
      // Seqs 1..5 at T0, T0+1000, …, T0+4000.
      for (let i = 0; i < 5; i++) await storage.messages.appendBatch([c2cMessage('alice', 'bob', `t${i}`, `m${i}`, T0 + i * 1000)]);
      const key = c2cKey('alice', 'bob');
      assert.equal(await storage.messages.seqAtTime(APP, key, T0 + 1500, 'first'), 3);
      assert.equal(await storage.messages.seqAtTime(APP, key, T0 + 1500, 'last'), 2);
      assert.equal(await storage.messages.seqAtTime(APP, key, T0 + 2000, 'first'), 3);
      assert.equal(await storage.messages.seqAtTime(APP, key, T0 + 2000, 'last'), 3);
      assert.equal(await storage.messages.seqAtTime(APP, key, T0 - 1, 'first'), 1);
      assert.equal(await storage.messages.seqAtTime(APP, key, T0 - 1, 'last'), undefined);
      assert.equal(await storage.messages.seqAtTime(APP, key, T0 + 9000, 'first'), undefined);
      assert.equal(await storage.messages.seqAtTime(APP, key, T0 + 9000, 'last'), 5);
      assert.equal(await storage.messages.seqAtTime(APP, groupKey('none'), T0, 'first'), undefined);
    });
  });
}
