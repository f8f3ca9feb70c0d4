/**
 * The records of media messages' files (`FileRecordStore`), the same on every storage
 * backend: storage-files.test.ts runs this on SQLite and PostgreSQL. (That the purge
 * dooms the files of the messages it erases is checked end to end, on every file store,
 * in test/media-purge.test.ts.)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileRecord, Storage } from '../src/storage/types.js';
import type { OpenStorage } from './storage-conformance.js';

const APP = 1400000001;
const CONV = 'c2c:alice|bob';

function record(uuid: string, owner = 'alice', touchedAt = 1000): FileRecord {
  return {
    app: APP, uuid, owner, kind: 'file', size: 10, fileName: 'a.txt', contentType: 'text/plain',
    keys: [`${APP}/${uuid}`], meta: '{}', createdAt: touchedAt, touchedAt, convKey: null, clientMsgID: null, seq: null, doomedAt: null,
  };
}

async function append(storage: Storage, clientMsgID: string): Promise<number> {
  await storage.accounts.ensure(APP, 'alice', 1);
  await storage.accounts.ensure(APP, 'bob', 1);
  const { results } = await storage.messages.appendBatch([{
    app: APP, convKey: CONV, sender: 'alice', clientMsgID, elem: { type: 'text', text: 'x' }, now: 2000,
    recipients: [{ userID: 'alice', conversationID: 'c2c_bob' }, { userID: 'bob', conversationID: 'c2c_alice' }],
  }]);
  return results[0]!.message.seq;
}

export function runFileRecordConformance(name: string, open: OpenStorage): void {
  describe(`FileRecordStore conformance: ${name}`, () => {
    const withStorage = (fn: (s: Storage) => Promise<void>) => async () => {
      const { storage, cleanup } = await open();
      try {
        await fn(storage);
      } finally {
        await cleanup();
      }
    };

    test('create and get; unknown uuids are left out', withStorage(async (s) => {
      await s.files.create(record('u1'));
      const [got] = await s.files.get(APP, ['u1', 'nope']);
      assert.deepEqual(got, record('u1'));
      assert.deepEqual(await s.files.get(APP + 1, ['u1']), []);
    }));

    test('claim: the owner only, all or nothing, once per message (a resend claims again)', withStorage(async (s) => {
      await s.files.create(record('u1'));
      await s.files.create(record('u2'));
      await s.files.create(record('b1', 'bob'));
      assert.equal(await s.files.claim(APP, ['u1', 'b1'], 'alice', CONV, 'm1', 2000), false, 'bob\'s file is not alice\'s');
      assert.equal((await s.files.get(APP, ['u1']))[0]!.convKey, null, 'nothing claimed');
      assert.equal(await s.files.claim(APP, ['u1', 'u2'], 'alice', CONV, 'm1', 2000), true);
      assert.equal(await s.files.claim(APP, ['u1'], 'alice', CONV, 'm1', 2100), true, 'the same message again');
      assert.equal(await s.files.claim(APP, ['u1'], 'alice', CONV, 'm2', 2200), false, 'another message');
      const [u1] = await s.files.get(APP, ['u1']);
      assert.deepEqual([u1!.convKey, u1!.clientMsgID, u1!.touchedAt], [CONV, 'm1', 2100]);
    }));

    test('the seq: recorded after the append, or read from the message when it was not', withStorage(async (s) => {
      await s.files.create(record('u1'));
      await s.files.create(record('u2'));
      assert.ok(await s.files.claim(APP, ['u1'], 'alice', CONV, 'm1', 2000));
      assert.ok(await s.files.claim(APP, ['u2'], 'alice', CONV, 'm2', 2000));
      const seq1 = await append(s, 'm1');
      const seq2 = await append(s, 'm2');
      await s.files.setSeq(APP, CONV, 'alice', 'm1', seq1);
      const got = await s.files.get(APP, ['u1', 'u2']);
      assert.deepEqual(got.map((r) => [r.uuid, r.seq]).sort(), [['u1', seq1], ['u2', seq2]]);
    }));

    test('doomMessage, doomed, forget; a doomed file cannot be claimed', withStorage(async (s) => {
      await s.files.create(record('u1'));
      await s.files.create(record('u2'));
      assert.ok(await s.files.claim(APP, ['u1'], 'alice', CONV, 'm1', 2000));
      assert.equal(await s.files.doomMessage(APP, CONV, 'alice', 'm1', 3000), 1);
      assert.equal(await s.files.doomMessage(APP, CONV, 'alice', 'm1', 3001), 0, 'already doomed');
      assert.deepEqual((await s.files.doomed(10)).map((r) => [r.uuid, r.doomedAt]), [['u1', 3000]]);
      assert.equal(await s.files.claim(APP, ['u1'], 'alice', CONV, 'm1', 3100), false);
      await s.files.forget(APP, ['u1', 'u2']);
      assert.deepEqual((await s.files.get(APP, ['u1', 'u2'])).map((r) => r.uuid), ['u2'], 'forget removes doomed records only');
      assert.deepEqual(await s.files.doomed(10), []);
    }));

    test('doomUnsent: old unsent files are doomed; sent ones get their seq; recent ones stay', withStorage(async (s) => {
      await s.files.create(record('old', 'alice', 1000));
      await s.files.create(record('recent', 'alice', 9000));
      await s.files.create(record('sent', 'alice', 1000));
      await s.files.create(record('lost', 'alice', 1000));
      // Claimed long ago, appended, but the seq never recorded (a crash in between).
      assert.ok(await s.files.claim(APP, ['sent'], 'alice', CONV, 'm1', 1500));
      const seq = await append(s, 'm1');
      // Claimed long ago for a message that never got stored.
      assert.ok(await s.files.claim(APP, ['lost'], 'alice', CONV, 'm-never', 1500));
      assert.equal(await s.files.doomUnsent(5000, 6000, 100), 2);
      assert.deepEqual((await s.files.doomed(10)).map((r) => r.uuid).sort(), ['lost', 'old']);
      const [sent] = await s.files.get(APP, ['sent']);
      assert.deepEqual([sent!.seq, sent!.doomedAt], [seq, null]);
      assert.equal(await s.files.doomUnsent(5000, 6000, 100), 0, 'nothing more');
      assert.equal((await s.files.get(APP, ['recent']))[0]!.doomedAt, null);
    }));

    test('doomUnsent takes at most `limit` per call, oldest first', withStorage(async (s) => {
      for (let i = 0; i < 5; i++) await s.files.create(record(`f${i}`, 'alice', 1000 + i));
      assert.equal(await s.files.doomUnsent(5000, 6000, 2), 2);
      assert.deepEqual((await s.files.doomed(10)).map((r) => r.uuid).sort(), ['f0', 'f1']);
    }));
  });
}
