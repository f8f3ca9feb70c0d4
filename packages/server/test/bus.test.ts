/**
 * The bus seam: the conformance suite for the in-process bus and for NATS, the NATS
 * subject mapping, and a loopback run of two real servers joined by NATS.
 *
 * NATS is taken from CONFAB_TEST_NATS_URL (default nats://127.0.0.1:4222); when it is
 * not reachable the NATS tests are skipped with a message saying so.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { connect } from 'nats';
import { WebSocket } from 'ws';
import { ErrorCode, PROTOCOL_VERSION, type LoginResult, type UserUpdate, type WireMessage } from '@confab/protocol';
import { MemoryBus } from '../src/bus/memory-bus.js';
import { connectNatsBus, natsSubject, type NatsBus, type NatsBusLogger } from '../src/bus/nats-bus.js';
import { userTopic } from '../src/bus/types.js';
import { startServer, type ConfabServer } from '../src/server.js';
import { openSqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import type { AppRecord, Storage } from '../src/storage/types.js';
import { runBusConformance, type MakeBus } from './bus-conformance.js';
import { runSequencedConformance } from './sequenced-conformance.js';

const NATS_URL = process.env.CONFAB_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const GUARD_MS = 10_000;

/** Why the NATS tests cannot run, or undefined when NATS answers. */
async function natsUnavailable(): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: NATS_URL, timeout: 3000, reconnect: false });
    await nc.close();
    return undefined;
  } catch (err) {
    return `no NATS server reachable at ${NATS_URL} (${(err as Error).message}); start one (nats-server) or set CONFAB_TEST_NATS_URL`;
  }
}
const natsSkip = await natsUnavailable();

/** A subject prefix of its own per run, so runs sharing a NATS server never hear each other. */
const PREFIX = `confabtest.${randomBytes(6).toString('hex')}`;

/** Records what the bus reports; a conformance test fails if the bus logged an error. */
function recordingLogger(): NatsBusLogger & { errors: unknown[] } {
  const errors: unknown[] = [];
  return { errors, warn: () => {}, error: (obj, msg) => { errors.push({ msg, ...obj }); } };
}

function natsBus(name: string, logger?: NatsBusLogger): Promise<NatsBus> {
  return connectNatsBus({ servers: NATS_URL, name, prefix: PREFIX, ...(logger ? { logger } : {}) });
}

// ---------------------------------------------------------------------------------
// Conformance
// ---------------------------------------------------------------------------------

const memoryPair: MakeBus = async () => {
  // One process is one node: both "nodes" are the same in-process bus.
  const bus = new MemoryBus();
  return {
    a: bus,
    b: bus,
    settle: () => new Promise<void>((resolve) => setImmediate(resolve)),
    close: () => bus.close(),
  };
};

const natsPair: MakeBus = async () => {
  const logger = recordingLogger();
  const a = await natsBus('confab-test-a', logger);
  const b = await natsBus('confab-test-b', logger);
  return {
    a,
    b,
    async settle() {
      // After a's flush the server has routed a's messages and registered its SUBs;
      // b's flush then returns after those messages reached b's callbacks.
      await a.ready();
      await b.ready();
      await a.ready();
      await delay(20);
    },
    async close() {
      await Promise.all([a.close(), b.close()]);
      assert.deepEqual(logger.errors, [], 'the NATS bus logged errors');
    },
  };
};

runBusConformance('memory', memoryPair);
runSequencedConformance('memory', memoryPair);

if (natsSkip) {
  test('bus conformance: nats', { skip: natsSkip }, () => {});
} else {
  runBusConformance('nats', natsPair);
  runSequencedConformance('nats', natsPair);
}

// ---------------------------------------------------------------------------------
// NATS subjects (no server needed)
// ---------------------------------------------------------------------------------

describe('NATS subject mapping', () => {
  const ids = ['a', 'a.b', 'a.b.c', '.a', 'a.', 'a..b', '...', 'user@example.com', '-_-', '_', 'A', '1', '1.a', 'x'.repeat(32)];

  test('a user topic is <prefix>.u.<app>.<one token>, with tokens NATS accepts', () => {
    for (const id of ids) {
      const subject = natsSubject('confab', userTopic(42, id));
      const tokens = subject.split('.');
      assert.equal(tokens.length, 4, `${id} → ${subject}`);
      assert.deepEqual(tokens.slice(0, 3), ['confab', 'u', '42']);
      assert.match(tokens[3]!, /^[A-Za-z0-9_-]+$/, `${id} → ${subject}`);
      assert.equal(Buffer.from(tokens[3]!, 'base64url').toString('utf8'), id);
    }
  });

  test('distinct topics give distinct subjects, across apps and outside user topics', () => {
    const topics = [
      ...ids.map((id) => userTopic(1, id)), ...ids.map((id) => userTopic(11, id)), ...ids.map((id) => userTopic(1_400_000_001, id)),
      'u.01.a', 'u.1', 'u.', 'u', '', 'x.y', 'u.x.y',
    ];
    const subjects = topics.map((t) => natsSubject('p.q', t));
    assert.equal(new Set(subjects).size, new Set(topics).size);
    for (const s of subjects) assert.match(s, /^p\.q\.(u\.\d+|t)\.[A-Za-z0-9_-]+$/, s);
  });

  test('an invalid prefix is refused before connecting', async () => {
    for (const prefix of ['', 'a..b', '.a', 'a.', 'a b', 'a.*', 'a.>']) {
      await assert.rejects(connectNatsBus({ servers: 'nats://127.0.0.1:1', prefix }), /invalid NATS subject prefix/, prefix);
    }
  });
});

// ---------------------------------------------------------------------------------
// Two servers joined by NATS, over loopback
// ---------------------------------------------------------------------------------

type Frame = { id: number; ok: true; body: unknown } | { id: number; ok: false; code: number; desc: string } | { push: string; body: unknown };

/** A bare protocol client: JSON frames over one socket, every frame kept. */
class WsClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #nextID = 1;
  #waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      for (const w of [...this.#waiters]) {
        if (w.match(frame)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(frame);
        }
      }
    });
    socket.on('error', () => {});
  }

  static connect(url: string): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new WsClient(socket)));
      socket.once('error', reject);
    });
  }

  /** The first frame, received or to come, that matches; fails after a generous guard. */
  next(match: (f: Frame) => boolean, what: string): Promise<Frame> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no ${what} within the ${GUARD_MS} ms guard; received ${JSON.stringify(this.frames).slice(0, 1500)}`));
      }, GUARD_MS);
      const waiter = { match, resolve: (f: Frame) => { clearTimeout(timer); resolve(f); } };
      this.#waiters.push(waiter);
    });
  }

  async call<T>(op: string, body: unknown): Promise<T> {
    const id = this.#nextID++;
    this.socket.send(JSON.stringify({ id, op, body }));
    const reply = await this.next((f) => 'id' in f && f.id === id, `reply to ${op}`);
    if (!('ok' in reply) || !reply.ok) throw new Error(`${op} failed: ${JSON.stringify(reply)}`);
    return reply.body as T;
  }

  update(where: (u: UserUpdate) => boolean, what: string): Promise<UserUpdate> {
    return this.next((f) => 'push' in f && f.push === 'update' && where(f.body as UserUpdate), what).then((f) => (f as { body: UserUpdate }).body);
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.close();
    const timer = setTimeout(() => this.socket.terminate(), 2000);
    await this.closed;
    clearTimeout(timer);
  }
}

function hasText(update: UserUpdate, text: string): WireMessage | undefined {
  return update.messages.find((m) => m.elem.type === 'text' && m.elem.text === text);
}

describe('two servers joined by NATS', { skip: natsSkip }, () => {
  let dir: string;
  let serverA: ConfabServer;
  let serverB: ConfabServer;
  let busA: NatsBus;
  let busB: NatsBus;
  let app: AppRecord;
  let clients: WsClient[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'confab-nats-'));
    // Two nodes of one deployment share one database. Two SQLite handles on one file
    // would race, so both servers get the same storage instance; B's view of it does not
    // close it (startServer's close() closes its storage), A's does, and A closes last.
    const storage = openSqliteStorage({ filename: join(dir, 'confab.db') });
    const borrowed: Storage = { ...storage, close: async () => {} };
    busA = await natsBus('confab-node-a');
    busB = await natsBus('confab-node-b');
    serverA = await startServer({ dataDir: dir, port: 0, logLevel: 'silent', storage, bus: busA, purge: false });
    serverB = await startServer({ dataDir: dir, port: 0, logLevel: 'silent', storage: borrowed, bus: busB, purge: false });
    app = await serverA.createApp({ name: 'nats-loopback' });
  });

  afterEach(async () => {
    for (const client of clients) await client.close();
    clients = [];
    await serverB?.close();
    await serverA?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function login(server: ConfabServer, bus: NatsBus, userID: string, deviceID = `dev-${userID}`): Promise<{ client: WsClient; login: LoginResult }> {
    const client = await WsClient.connect(server.wsUrl);
    clients.push(client);
    const result = await client.call<LoginResult>('login', {
      sdkAppID: app.sdkAppID, userID, userSig: await server.genUserSig(app.sdkAppID, userID), deviceID, protocolVersion: PROTOCOL_VERSION,
    });
    // The login subscribed this user's topic on the node; make sure NATS has registered
    // it before another node publishes to it.
    await bus.ready();
    return { client, login: result };
  }

  test('a device on node A receives a message sent by a user connected to node B, and the sender\'s other device on A gets it too', async () => {
    const alice = await login(serverA, busA, 'alice.a@example.com');
    const bob = await login(serverB, busB, 'bob-b.1');
    const bobOnA = await login(serverA, busA, 'bob-b.1', 'bob-second-device');

    const sent = await bob.client.call<{ message: WireMessage; update?: UserUpdate }>('msg.send', {
      conversationID: 'c2c_alice.a@example.com', clientMsgID: 'nats-1', elem: { type: 'text', text: 'hello across nodes' },
    });
    assert.equal(sent.message.sender, 'bob-b.1');

    const got = await alice.client.update((u) => !!hasText(u, 'hello across nodes'), 'update with the message on node A');
    const message = hasText(got, 'hello across nodes')!;
    assert.equal(message.sender, 'bob-b.1');
    assert.equal(message.conversationID, 'c2c_bob-b.1');
    assert.equal(message.msgID, sent.message.msgID);
    assert.equal(got.prevVersion, alice.login.version, 'the update continues the version alice holds');
    assert.equal(got.version, alice.login.version + 1);

    // Bob's other device (node A) gets the change too; the sending session (node B) got
    // it in its reply, so `skipSession` keeps the push away from it across nodes.
    const mirrored = await bobOnA.client.update((u) => u.conversations.some((c) => c.conversationID === 'c2c_alice.a@example.com'), 'bob\'s update on node A');
    assert.equal(mirrored.prevVersion, bobOnA.login.version);

    // And back: alice answers from A, bob on B receives it.
    await alice.client.call('msg.send', { conversationID: 'c2c_bob-b.1', clientMsgID: 'nats-2', elem: { type: 'text', text: 'and back' } });
    const back = await bob.client.update((u) => !!hasText(u, 'and back'), 'the answer on node B');
    assert.equal(hasText(back, 'and back')!.sender, 'alice.a@example.com');

    await busA.ready();
    await busB.ready();
    await delay(50);
    assert.equal(bob.client.frames.filter((f) => 'push' in f && f.push === 'update' && !!hasText(f.body as UserUpdate, 'hello across nodes')).length, 0,
      'the sending session is not pushed its own update');
  });

  test('a login on node A replaces the session with the same device ID on node B (kick across nodes)', async () => {
    const first = await login(serverB, busB, 'carol.c', 'shared-device');
    await login(serverA, busA, 'carol.c', 'shared-device');
    const kicked = await first.client.next((f) => 'push' in f && f.push === 'kicked', 'kicked push on node B');
    assert.equal((kicked as { body: { code: number } }).body.code, ErrorCode.KICKED_OFF_BY_OTHER);
    const closed = await first.client.closed;
    assert.equal(closed.code, 4000);
  });
});
