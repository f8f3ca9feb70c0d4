import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPostgresStorage } from '../src/storage/postgres/pg-storage.js';
import type { AppendRequest, Storage, UserChange } from '../src/storage/types.js';
import { appRecord, c2cKey, c2cMessage, runStorageConformance } from './storage-conformance.js';
import { adminPool, DATABASE_URL, newSchema, openPostgres, unreachable } from './postgres-test-db.js';

const APP = 1_400_000_001;
const T0 = 1_700_000_000_000;
const skip = await unreachable();

runStorageConformance('postgres', openPostgres, skip ? { skip } : {});

/** Opens a node: its own Storage and pool on a shared schema. */
async function node(schema: string, poolSize = 4): Promise<Storage> {
  return openPostgresStorage({ connectionString: DATABASE_URL, schema, poolSize });
}

/** Drains the purge queue as the purge worker does; returns what this node erased. */
async function drain(storage: Storage, maxRows: number): Promise<number> {
  let erased = 0;
  for (let round = 0; round < 1000; round++) {
    const queue = await storage.deletions.purgeQueue(100, T0 + 1000);
    if (queue.length === 0) return erased;
    for (const { app, convKey } of queue) {
      for (let guard = 0; guard < 10_000; guard++) {
        const step = await storage.deletions.purgeStep(app, convKey, maxRows, T0 + 1000);
        erased += step.erased;
        if (step.done) break;
      }
    }
  }
  throw new Error('the purge queue never emptied');
}

/** A user's version steps, from every change a call returned: 1, 2, 3, … with no gap or repeat. */
function assertGapFree(changes: UserChange[], userID: string, finalVersion: number): void {
  const mine = changes.filter((c) => c.userID === userID).sort((x, y) => x.version - y.version);
  assert.deepEqual(mine.map((c) => c.version), Array.from({ length: finalVersion }, (_, i) => i + 1),
    `${userID}'s versions step 1..${finalVersion} without gaps or repeats`);
  for (const c of mine) assert.equal(c.prevVersion, c.version - 1);
}

describe('postgres storage: several nodes on one database', skip ? { skip } : {}, () => {
  const open: Storage[] = [];
  async function nodes(schema: string, count: number): Promise<Storage[]> {
    const started = await Promise.all(Array.from({ length: count }, () => node(schema)));
    open.push(...started);
    return started;
  }
  after(async () => {
    for (const storage of open) await storage.close();
  });

  test('nodes starting together migrate the schema once; schemas are isolated; data survives a restart', async () => {
    const schema = newSchema();
    const [a, b, c] = await nodes(schema, 3);
    const { rows } = await adminPool().query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
    const versions = rows.map((r: { version: number }) => r.version);
    assert.ok(versions.length >= 2, 'the schema and the leases table');
    assert.deepEqual(versions, Array.from({ length: versions.length }, (_, i) => i + 1), 'each migration recorded once, in order');

    await a!.apps.create(appRecord(APP));
    for (const id of ['alice', 'bob']) await b!.accounts.ensure(APP, id, T0);
    await c!.messages.appendBatch([c2cMessage('alice', 'bob', 'a1', 'one'), c2cMessage('bob', 'alice', 'b1', 'two')]);
    assert.deepEqual((await a!.messages.range(APP, c2cKey('alice', 'bob'), 1, 10, 10, 'asc')).map((m) => m.seq), [1, 2]);

    const [other] = await nodes(newSchema(), 1);
    assert.deepEqual(await other!.apps.list(), [], 'another schema sees nothing of this one');

    await a!.close();
    const [restarted] = await nodes(schema, 1);
    assert.equal(await restarted!.accounts.syncVersion(APP, 'bob'), 1);
    const next = await restarted!.messages.appendBatch([c2cMessage('alice', 'bob', 'a1', 'dup'), c2cMessage('alice', 'bob', 'a2', 'three')]);
    assert.deepEqual(next.results.map((r) => [r.message.seq, r.duplicate]), [[1, true], [3, false]]);
  });

  test('a failed batch rolls back entirely: no message, no seq, no version step', async () => {
    const [storage] = await nodes(newSchema(), 1);
    await storage!.apps.create(appRecord(APP));
    for (const id of ['alice', 'bob']) await storage!.accounts.ensure(APP, id, T0);
    await storage!.messages.appendBatch([c2cMessage('alice', 'bob', 'a1', 'one')]);
    await assert.rejects(storage!.messages.appendBatch([
      c2cMessage('alice', 'bob', 'a2', 'would be seq 2'),
      c2cMessage('alice', 'ghost', 'x1', 'to nobody'),
    ]), /ghost/);
    assert.deepEqual((await storage!.messages.range(APP, c2cKey('alice', 'bob'), 1, 100, 100, 'asc')).map((m) => m.seq), [1]);
    assert.equal(await storage!.accounts.syncVersion(APP, 'alice'), 1);
    assert.equal(await storage!.conversations.get(APP, 'alice', c2cKey('alice', 'ghost')), undefined);
    const retry = await storage!.messages.appendBatch([c2cMessage('alice', 'bob', 'a2', 'seq 2 now')]);
    assert.deepEqual([retry.results[0]?.message.seq, retry.results[0]?.duplicate], [2, false]);
  });

  test('two nodes appending to the same conversations at once: gap-free unique seqs, versions without gaps or repeats', async () => {
    const [a, b] = await nodes(newSchema(), 2);
    await a!.apps.create(appRecord(APP));
    for (const id of ['alice', 'bob', 'carol']) await a!.accounts.ensure(APP, id, T0);
    const ab = c2cKey('alice', 'bob');
    const ac = c2cKey('alice', 'carol');

    // Node A writes ab then ac, node B ac then ab (opposite orders: locking must not
    // deadlock), and both send the same retried message each round (idempotency across nodes).
    const batchesA: AppendRequest[][] = Array.from({ length: 20 }, (_, i) => [
      c2cMessage('alice', 'bob', `A${i}`, `A${i}`), c2cMessage('carol', 'alice', `A${i}`, `A${i}`),
      c2cMessage('alice', 'bob', `shared${i}`, 'via A'),
    ]);
    const batchesB: AppendRequest[][] = Array.from({ length: 20 }, (_, i) => [
      c2cMessage('carol', 'alice', `B${i}`, `B${i}`), c2cMessage('bob', 'alice', `B${i}`, `B${i}`),
      c2cMessage('alice', 'bob', `shared${i}`, 'via B'),
    ]);
    const results: { node: string; batch: AppendRequest[]; result: Awaited<ReturnType<Storage['messages']['appendBatch']>> }[] = [];
    const changes: UserChange[] = [];
    const ops: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      ops.push(a!.messages.appendBatch(batchesA[i]!).then((result) => { results.push({ node: 'A', batch: batchesA[i]!, result }); changes.push(...result.changes); }));
      ops.push(b!.messages.appendBatch(batchesB[i]!).then((result) => { results.push({ node: 'B', batch: batchesB[i]!, result }); changes.push(...result.changes); }));
      if (i % 4 === 0) {
        ops.push(b!.deletions.remove(APP, 'alice', [{ convKey: ab, conversationID: 'c2c_bob' }, { convKey: ac, conversationID: 'c2c_carol' }],
          { mode: 'clearHistory', deviceID: 'd', now: T0 + i }).then(({ change }) => { if (change) changes.push(change); }));
      }
      if (i % 3 === 0) {
        // Bob's read also steps alice (her peer read point) in the same transaction.
        ops.push(a!.conversations.patch(APP, 'bob', [{ convKey: ab, conversationID: 'c2c_alice', create: false }], { kind: 'markRead' })
          .then(({ change, peerChanges = [] }) => { if (change) changes.push(change); changes.push(...peerChanges); }));
      }
    }
    await Promise.all(ops);

    // Seqs: unique and gap-free per conversation, and exactly what is stored.
    const fresh = results.flatMap((r) => r.result.results.filter((x) => !x.duplicate).map((x) => x.message));
    for (const [key, count] of [[ab, 60], [ac, 40]] as const) {
      const taken = fresh.filter((m) => m.convKey === key).map((m) => m.seq).sort((x, y) => x - y);
      assert.deepEqual(taken, Array.from({ length: count }, (_, i) => i + 1), `${key}: seqs 1..${count}, each once`);
      const stored = await a!.messages.range(APP, key, 1, 1000, 1000, 'asc');
      assert.deepEqual(stored.map((m) => m.seq), taken);
    }
    // The shared message was stored once; both nodes answered with it.
    for (let i = 0; i < 20; i++) {
      const answers = results.flatMap((r) => r.result.results.filter((x) => x.message.clientMsgID === `shared${i}`));
      assert.equal(answers.length, 2);
      assert.equal(answers.filter((x) => !x.duplicate).length, 1, `shared${i} stored once`);
      assert.deepEqual(answers[0]!.message, answers[1]!.message);
    }
    // Versions: every user's steps are 1..N with no gap or repeat, and N is the stored version.
    for (const userID of ['alice', 'bob', 'carol']) {
      const version = await b!.accounts.syncVersion(APP, userID);
      assertGapFree(changes, userID, version);
      const rows = await b!.conversations.changedSince(APP, userID, 0, 100);
      assert.equal(Math.max(...rows.map((r) => r.version)), version);
    }
    // No lost update: each row ends at the last seq with unread = messages from others after its read mark.
    for (const [userID, key] of [['alice', ab], ['bob', ab], ['alice', ac], ['carol', ac]] as const) {
      const r = await a!.conversations.get(APP, userID, key);
      assert.ok(r);
      const all = await a!.messages.range(APP, key, 1, 1000, 1000, 'asc');
      assert.equal(r.lastSeq, all.length);
      assert.equal(r.unreadCount, all.filter((m) => m.sender !== userID && m.seq > r.readSeq).length, `${userID} ${key} unread`);
    }
  });

  test('two nodes purging at once erase every row exactly once', async () => {
    const [a, b] = await nodes(newSchema(), 2);
    await a!.apps.create(appRecord(APP));
    const peers = Array.from({ length: 8 }, (_, i) => `u${i}`);
    for (const id of ['alice', ...peers]) await a!.accounts.ensure(APP, id, T0);
    for (const peer of peers) {
      await a!.messages.appendBatch(Array.from({ length: 25 }, (_, i) =>
        i % 2 ? c2cMessage(peer, 'alice', `p${i}`, `m${i}`) : c2cMessage('alice', peer, `a${i}`, `m${i}`)));
    }
    await a!.deletions.remove(APP, 'alice', peers.map((p) => ({ convKey: c2cKey('alice', p), conversationID: `c2c_${p}` })),
      { mode: 'delete', deviceID: 'd', now: T0 + 1 });
    await Promise.all(peers.map((p) => b!.deletions.remove(APP, p, [{ convKey: c2cKey('alice', p), conversationID: 'c2c_alice' }],
      { mode: 'delete', deviceID: 'd', now: T0 + 2 })));

    const [erasedA, erasedB] = await Promise.all([drain(a!, 7), drain(b!, 7)]);
    assert.equal(erasedA + erasedB, peers.length * 25, `every row erased exactly once across both nodes (A ${erasedA}, B ${erasedB})`);
    for (const peer of peers) {
      assert.deepEqual(await a!.messages.range(APP, c2cKey('alice', peer), 1, 1000, 1000, 'asc'), [], `c2c with ${peer} fully purged`);
    }
    assert.deepEqual(await a!.deletions.purgeQueue(100, T0 + 1000), []);
    const audit = await b!.deletions.list(APP, { limit: 100 });
    assert.equal(audit.length, peers.length * 2);
    assert.ok(audit.every((e) => e.purgedAt !== null), 'every audit entry purged');
    await Promise.all([a!.deletions.compact(), b!.deletions.compact()]);
  });

  test('a deletion committing while another node runs a purge step is never lost from the queue', async () => {
    const [a, b] = await nodes(newSchema(), 2);
    await a!.apps.create(appRecord(APP));
    const peers = Array.from({ length: 40 }, (_, i) => `r${String(i).padStart(2, '0')}`);
    for (const id of ['alice', ...peers]) await a!.accounts.ensure(APP, id, T0);
    await a!.messages.appendBatch(peers.flatMap((p) => [c2cMessage(p, 'alice', 'x', 'x'), c2cMessage('alice', p, 'y', 'y')]));
    await a!.deletions.remove(APP, 'alice', peers.map((p) => ({ convKey: c2cKey('alice', p), conversationID: `c2c_${p}` })),
      { mode: 'delete', deviceID: 'd', now: T0 + 1 });

    // Node A's purge step (which alone would find the peer still seeing everything and
    // drop the queue entry) races node B's deletion by the peer, staggered by 0-5 ms.
    await Promise.all(peers.flatMap((p, i) => [
      (async () => {
        await new Promise((resolve) => setTimeout(resolve, i % 6));
        await a!.deletions.purgeStep(APP, c2cKey('alice', p), 100, T0 + 2);
      })(),
      b!.deletions.remove(APP, p, [{ convKey: c2cKey('alice', p), conversationID: 'c2c_alice' }], { mode: 'delete', deviceID: 'd', now: T0 + 2 }),
    ]));
    // Whatever the interleaving, what is still purgeable is still queued.
    await drain(b!, 100);
    for (const peer of peers) {
      assert.deepEqual(await a!.messages.range(APP, c2cKey('alice', peer), 1, 10, 10, 'asc'), [], `c2c with ${peer} purged`);
    }
  });

  test('nodes racing for a lease: exactly one holds it in every round; another takes over only once it expired', async () => {
    const racers = await nodes(newSchema(), 3);
    const TTL = 1000;
    let now = T0;
    let holder: number | undefined;
    let lastToken: number | undefined;
    for (let round = 0; round < 30; round++) {
      // Every third round the holder stalls: it does not renew, and the lease runs out.
      const stalled = holder !== undefined && round % 3 === 2;
      now += stalled ? TTL : TTL / 2;
      const racing = [0, 1, 2].filter((i) => !(stalled && i === holder));
      const won = await Promise.all(racing.map((i) => racers[i]!.leases.tryAcquire('purge', `node-${i}`, TTL, now)));
      const winners = racing.filter((_, k) => won[k] !== null);
      assert.equal(winners.length, 1, `round ${round}: exactly one holder (${winners.join(', ')})`);
      if (holder !== undefined && !stalled) assert.equal(winners[0], holder, `round ${round}: an unexpired lease stays with its holder`);
      const token = won.find((t) => t !== null)!;
      if (lastToken !== undefined) {
        assert.equal(token, winners[0] === holder ? lastToken : lastToken + 1, `round ${round}: a takeover steps the token, a renewal keeps it`);
      }
      lastToken = token;
      holder = winners[0];
      assert.equal((await racers[0]!.leases.holder('purge', now))?.holder, `node-${holder}`);
    }
  });
});
