/**
 * The bus conformance suite: every backend behind the `Bus` seam runs it. It talks only
 * through `src/bus/types.ts`, so a new backend runs it unchanged:
 *
 *   runBusConformance('nats', async () => ({ a, b, settle, close }));
 *
 * `a` and `b` behave as two nodes of one cluster. For the in-process bus one process is
 * one node, so both are the same instance; for NATS they are two connections.
 *
 * `settle()` resolves once everything published so far has been delivered (NATS: flush
 * both connections, then a short guard); subscriptions made before it are registered
 * cluster-wide when it resolves. Tests never assert on timing: a wait for a delivery
 * has a generous guard that fails the test with a message instead of hanging it.
 *
 * What the suite holds a bus to (docs/protocol.md, sync model): delivery may be
 * at-most-once, but for one publisher and one topic the order is kept.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, type UserUpdate } from '@confab/protocol';
import { userTopic, type Bus, type BusMessage } from '../src/bus/types.js';

export interface BusPair {
  a: Bus;
  b: Bus;
  settle(): Promise<void>;
  close(): Promise<void>;
}

export type MakeBus = () => Promise<BusPair>;

const APP = 1_400_000_001;
const GUARD_MS = 10_000;

/** Collects what a handler receives; `waitFor(n)` resolves once n messages arrived. */
export class Inbox {
  readonly messages: BusMessage[] = [];
  readonly #waiters: { n: number; resolve: () => void }[] = [];
  readonly handler = (message: BusMessage): void => {
    this.messages.push(message);
    for (const waiter of [...this.#waiters]) {
      if (this.messages.length >= waiter.n) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  constructor(readonly label: string) {}

  /** Resolves when `n` messages in all have arrived; fails after a generous guard. */
  waitFor(n: number): Promise<void> {
    if (this.messages.length >= n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`${this.label}: expected ${n} messages, got ${this.messages.length} within the ${GUARD_MS} ms guard: ` +
          JSON.stringify(this.messages).slice(0, 1000)));
      }, GUARD_MS);
      const waiter = { n, resolve: () => { clearTimeout(timer); resolve(); } };
      this.#waiters.push(waiter);
    });
  }
}

/** A small, distinct message: a `push` carrying a marker in `userIDs`. */
export function marker(text: string): BusMessage {
  return { kind: 'push', push: 'friend.event', body: { event: 'added', userIDs: [text] } };
}

function markersOf(inbox: Inbox): string[] {
  return inbox.messages.map((m) => (m.kind === 'push' && m.push === 'friend.event' ? (m.body as { userIDs: string[] }).userIDs[0]! : `<${m.kind}>`));
}

function update(prevVersion: number): UserUpdate {
  const message = {
    msgID: `m-${prevVersion}`, conversationID: 'c2c_bob.smith@example.com', seq: 7, sender: 'alice', receiver: 'bob.smith@example.com',
    clientMsgID: 'client-1', timestamp: 1_700_000_000_123, elem: { type: 'text' as const, text: 'héllo 👋 "quoted" \\ back\nslash\u0000' },
  };
  return {
    prevVersion, version: prevVersion + 1,
    conversations: [{
      conversationID: 'c2c_bob.smith@example.com', type: 1, userID: 'bob.smith@example.com', lastSeq: 7, lastMessage: message,
      unreadCount: 0, readSeq: 7, visibleFromSeq: 1, orderKey: 42, isPinned: true, draftText: '', draftTimestamp: 0,
      customData: JSON.stringify({ nested: { deep: [1, 2, { x: null }] } }), markList: [1, 2 ** 40], deleted: false, version: prevVersion + 1,
    }],
    messages: [message, { ...message, msgID: 'm-custom', seq: 8, elem: { type: 'custom', data: '{"a":[1,{"b":2}]}', description: 'd', extension: 'e' } }],
    deletion: { mode: 'clearHistory', conversationIDs: ['c2c_bob.smith@example.com', 'group_@TGS#1'], deviceID: 'dev-1' },
  };
}

export function runBusConformance(name: string, makeBus: MakeBus): void {
  describe(`bus conformance: ${name}`, () => {
    let pair: BusPair;
    let a: Bus;
    let b: Bus;
    let settle: () => Promise<void>;

    beforeEach(async () => {
      pair = await makeBus();
      ({ a, b, settle } = pair);
    });

    afterEach(async () => {
      await pair.close();
    });

    test('a message published on one node reaches the subscribers of its topic on both nodes', async () => {
      const topic = userTopic(APP, 'alice');
      const onA = new Inbox('subscriber on a');
      const onB = new Inbox('subscriber on b');
      a.subscribe(topic, onA.handler);
      b.subscribe(topic, onB.handler);
      await settle();
      a.publish(topic, marker('from-a'));
      await Promise.all([onA.waitFor(1), onB.waitFor(1)]);
      b.publish(topic, marker('from-b'));
      await Promise.all([onA.waitFor(2), onB.waitFor(2)]);
      await settle();
      assert.deepEqual(markersOf(onA), ['from-a', 'from-b']);
      assert.deepEqual(markersOf(onB), ['from-a', 'from-b']);
    });

    test('a message published right after subscribe() returned, on the same node, is delivered', async () => {
      const topic = userTopic(APP, 'eager');
      const inbox = new Inbox('eager subscriber');
      a.subscribe(topic, inbox.handler);
      a.publish(topic, marker('immediately'));
      await inbox.waitFor(1);
      assert.deepEqual(markersOf(inbox), ['immediately']);
    });

    test('other topics do not receive it (other users, other apps)', async () => {
      const target = new Inbox('target');
      const otherUser = new Inbox('other user');
      const otherApp = new Inbox('same user in another app');
      b.subscribe(userTopic(APP, 'alice'), target.handler);
      b.subscribe(userTopic(APP, 'bob'), otherUser.handler);
      b.subscribe(userTopic(APP + 1, 'alice'), otherApp.handler);
      await settle();
      a.publish(userTopic(APP, 'alice'), marker('for alice'));
      a.publish(userTopic(APP, 'nobody-listens'), marker('for nobody'));
      await target.waitFor(1);
      await settle();
      assert.deepEqual(markersOf(target), ['for alice']);
      assert.deepEqual(otherUser.messages, []);
      assert.deepEqual(otherApp.messages, []);
    });

    test('per-topic order of many messages from one publisher is kept, also with two topics interleaved', async () => {
      const N = 500;
      const t1 = userTopic(APP, 'order.one');
      const t2 = userTopic(APP, 'order.two');
      const one = { a: new Inbox('t1 on a'), b: new Inbox('t1 on b') };
      const two = new Inbox('t2 on b');
      a.subscribe(t1, one.a.handler);
      b.subscribe(t1, one.b.handler);
      b.subscribe(t2, two.handler);
      await settle();
      for (let i = 0; i < N; i++) {
        a.publish(t1, { kind: 'update', update: { prevVersion: i, version: i + 1, conversations: [], messages: [] } });
        a.publish(t2, marker(String(i)));
      }
      await Promise.all([one.a.waitFor(N), one.b.waitFor(N), two.waitFor(N)]);
      await settle();
      const expected = Array.from({ length: N }, (_, i) => i);
      for (const inbox of [one.a, one.b]) {
        assert.equal(inbox.messages.length, N, `${inbox.label}: no duplicates`);
        assert.deepEqual(inbox.messages.map((m) => (m.kind === 'update' ? m.update.prevVersion : -1)), expected, `${inbox.label}: in order`);
      }
      assert.deepEqual(markersOf(two), expected.map(String));
    });

    test('unsubscribe stops delivery and a resubscribe works', async () => {
      const topic = userTopic(APP, 'carol');
      const first = new Inbox('first subscription');
      const unsubscribe = b.subscribe(topic, first.handler);
      await settle();
      a.publish(topic, marker('m1'));
      await first.waitFor(1);
      unsubscribe();
      unsubscribe(); // idempotent
      await settle();
      a.publish(topic, marker('m2'));
      await settle();
      assert.deepEqual(markersOf(first), ['m1']);

      const second = new Inbox('second subscription');
      b.subscribe(topic, second.handler);
      await settle();
      a.publish(topic, marker('m3'));
      await second.waitFor(1);
      await settle();
      assert.deepEqual(markersOf(second), ['m3']);
      assert.deepEqual(markersOf(first), ['m1']);
    });

    test('two handlers on one topic both receive; unsubscribing one leaves the other', async () => {
      const topic = userTopic(APP, 'dave');
      const h1 = new Inbox('handler 1');
      const h2 = new Inbox('handler 2');
      const off1 = b.subscribe(topic, h1.handler);
      const off2 = b.subscribe(topic, h2.handler);
      await settle();
      a.publish(topic, marker('both'));
      await Promise.all([h1.waitFor(1), h2.waitFor(1)]);
      off1();
      off1(); // a second call must not take the other handler's subscription with it
      await settle();
      a.publish(topic, marker('only 2'));
      await h2.waitFor(2);
      await settle();
      assert.deepEqual(markersOf(h1), ['both']);
      assert.deepEqual(markersOf(h2), ['both', 'only 2']);
      off2();
      await settle();
      a.publish(topic, marker('nobody'));
      await settle();
      assert.equal(h2.messages.length, 2);
    });

    test('user IDs with dots, @ and - map to distinct topics that never collide or split', async () => {
      // Every character the protocol allows in a user ID ([A-Za-z0-9_.@-]), in shapes
      // that break a naive `<app>.<userID>` subject: prefixes of each other, empty
      // tokens, leading/trailing dots, and IDs that look like an app ID plus a user.
      const ids = ['a', 'a.b', 'a.b.c', 'b', '.a', 'a.', 'a..b', '...', '.', 'user@example.com', 'user@example', '-_-', '_', '-', 'A', '1', '1.a', 'x'];
      const inboxes = new Map<string, Inbox>();
      for (const id of ids) {
        const inbox = new Inbox(`user ${JSON.stringify(id)}`);
        inboxes.set(id, inbox);
        b.subscribe(userTopic(APP, id), inbox.handler);
      }
      // `u.<APP>1.a` against `u.<APP>.1.a`: same characters, different app.
      const appLike = new Inbox('app APP*10+1, user "a"');
      b.subscribe(userTopic(APP * 10 + 1, 'a'), appLike.handler);
      await settle();
      for (const id of ids) a.publish(userTopic(APP, id), marker(id));
      for (const [id, inbox] of inboxes) await inbox.waitFor(1).catch((err: Error) => { throw new Error(`${id}: ${err.message}`); });
      await settle();
      for (const [id, inbox] of inboxes) assert.deepEqual(markersOf(inbox), [id], `user ${JSON.stringify(id)} received only its own`);
      assert.deepEqual(appLike.messages, []);
    });

    test('every BusMessage kind round-trips intact', async () => {
      const topic = userTopic(APP, 'bob.smith@example.com');
      const inbox = new Inbox('round trip');
      b.subscribe(topic, inbox.handler);
      await settle();
      const sent: BusMessage[] = [
        { kind: 'update', update: update(41), skipSession: '5f0c7a52-0a8e-4a39-9d5b-3c1f3f0f7e11' },
        { kind: 'update', update: { prevVersion: 42, version: 43, conversations: [], messages: [] } },
        { kind: 'push', push: 'group.event', body: { groupID: '@TGS#2abc.def', event: 'memberJoined', userIDs: ['a.b', 'c@d', 'e-f'] } },
        { kind: 'push', push: 'friend.event', body: { event: 'deleted', userIDs: [] } },
        { kind: 'kick', deviceID: 'dev.1@x', keep: 'session-2', code: ErrorCode.KICKED_OFF_BY_OTHER, desc: 'another login — replaced "you"' },
        { kind: 'app', sdkAppID: APP, node: 'node-1.example' },
        { kind: 'purge', node: '9b0d7a4e-2f61-4d7e-9a63-0d3c2f5e8b11' },
      ];
      for (const message of sent) a.publish(topic, message);
      await inbox.waitFor(sent.length);
      await settle();
      assert.deepEqual(inbox.messages, sent);
    });

    test('publish to a topic without subscribers is a no-op', async () => {
      a.publish(userTopic(APP, 'nobody'), marker('lost'));
      b.publish(userTopic(APP, 'nobody'), marker('lost'));
      await settle();
    });

    test('close() is idempotent, and publish after close does not throw', async () => {
      const inbox = new Inbox('closing');
      b.subscribe(userTopic(APP, 'erin'), inbox.handler);
      await settle();
      await a.close();
      await a.close();
      await Promise.all([b.close(), b.close()]);
      a.publish(userTopic(APP, 'erin'), marker('after close'));
      await pair.close(); // and afterEach closes once more
    });
  });
}
