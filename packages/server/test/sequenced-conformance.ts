/**
 * The sequenced bus (src/bus/sequenced-bus.ts) over a bus pair of the conformance suite:
 * two nodes, each a `SequencedBus` over a `LossyBus` view of its side of the pair, so a
 * test can lose chosen deliveries to node b. Runs against the in-process bus and NATS.
 *
 * What it holds the sequenced bus to: nothing lost, no `resync` and messages exactly as
 * published; a lost message (the last one too) makes its topic's subscribers on the
 * losing node get `resync`, and no other topic; a lost heartbeat or a transport loss
 * (a reconnect) makes every topic get it.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SequencedBus } from '../src/bus/sequenced-bus.js';
import { HEARTBEAT_TOPIC, userTopic, type BusMessage } from '../src/bus/types.js';
import { Inbox, marker, type BusPair, type MakeBus } from './bus-conformance.js';
import { LossyBus } from './lossy-bus.js';

const APP = 1_400_000_002;
/** Short so the tests run quickly; they wait for beats, never for an amount of time. */
const BEAT_MS = 100;

function labels(inbox: Inbox): string[] {
  return inbox.messages.map((m) => (m.kind === 'push' && m.push === 'friend.event' ? (m.body as { userIDs: string[] }).userIDs[0]! : `<${m.kind}>`));
}

function isMarker(message: BusMessage, text: string): boolean {
  return message.kind === 'push' && (message.body as { userIDs?: string[] }).userIDs?.[0] === text;
}

function isBeatOf(message: BusMessage, node: string): boolean {
  return message.kind === 'heartbeat' && message.node.startsWith(`${node}/`);
}

export function runSequencedConformance(name: string, makeBus: MakeBus): void {
  describe(`sequenced bus over ${name}`, () => {
    let pair: BusPair;
    let lossyB: LossyBus;
    let a: SequencedBus;
    let b: SequencedBus;
    /** Node a's heartbeats as node b's side of the pair sees them (not through the lossy view). */
    let beatsOfA: Inbox;
    let topic: (user: string) => string;

    beforeEach(async () => {
      pair = await makeBus();
      lossyB = new LossyBus(pair.b);
      // At most 3 topics per heartbeat message, so a busy interval's beat comes in parts.
      a = new SequencedBus(new LossyBus(pair.a), { nodeID: 'a', heartbeatMs: BEAT_MS, maxTopicsPerBeat: 3 });
      b = new SequencedBus(lossyB, { nodeID: 'b', heartbeatMs: BEAT_MS, maxTopicsPerBeat: 3 });
      beatsOfA = new Inbox("a's heartbeats on b");
      pair.b.subscribe(HEARTBEAT_TOPIC, (message) => { if (isBeatOf(message, 'a')) beatsOfA.handler(message); });
      const run = randomBytes(4).toString('hex');
      topic = (user) => userTopic(APP, `${user}.${run}`);
      await pair.settle();
    });

    afterEach(async () => {
      await a.close();
      await b.close();
      await pair.close();
    });

    /** Resolves once node b has seen `n` more heartbeats of node a than now. */
    function moreBeats(n: number): Promise<void> {
      return beatsOfA.waitFor(beatsOfA.messages.length + n);
    }

    test('nothing lost: messages arrive exactly as published, and the beats that follow resync nothing', async () => {
      const one = new Inbox('t1 on b');
      const two = new Inbox('t2 on b');
      b.subscribe(topic('one'), one.handler);
      b.subscribe(topic('two'), two.handler);
      await pair.settle();
      const sent = [marker('m1'), marker('m2'), marker('m3')];
      for (const m of sent) a.publish(topic('one'), m);
      a.publish(topic('two'), marker('n1'));
      await Promise.all([one.waitFor(3), two.waitFor(1)]);
      await moreBeats(3);
      assert.deepEqual(one.messages, sent, 'delivered as published, without the sequence stamp');
      assert.deepEqual(labels(two), ['n1']);
    });

    test('a lost last message: its topic gets resync at the next beat, other topics do not', async () => {
      const one = new Inbox('t1 on b');
      const two = new Inbox('t2 on b');
      b.subscribe(topic('one'), one.handler);
      b.subscribe(topic('two'), two.handler);
      await pair.settle();
      lossyB.drop((t, m) => t === topic('one') && isMarker(m, 'lost'));
      a.publish(topic('two'), marker('kept'));
      a.publish(topic('one'), marker('lost'));
      await one.waitFor(1);
      await moreBeats(2);
      assert.deepEqual(labels(one), ['<resync>']);
      assert.deepEqual(labels(two), ['kept']);
      assert.equal(lossyB.dropped.length, 1);
      a.publish(topic('one'), marker('after'));
      await one.waitFor(2);
      await moreBeats(2);
      assert.deepEqual(labels(one), ['<resync>', 'after'], 'delivery goes on, and the loss is reported once');
    });

    test('a lost message followed by others: the others arrive and the topic gets resync', async () => {
      const one = new Inbox('t1 on b');
      b.subscribe(topic('one'), one.handler);
      await pair.settle();
      lossyB.drop((t, m) => isMarker(m, 'm2'));
      for (const text of ['m1', 'm2', 'm3']) a.publish(topic('one'), marker(text));
      await one.waitFor(3);
      await moreBeats(2);
      assert.deepEqual(labels(one), ['m1', 'm3', '<resync>']);
    });

    test('a lost heartbeat: every topic subscribed on the losing node gets resync', async () => {
      const one = new Inbox('t1 on b');
      const two = new Inbox('t2 on b');
      b.subscribe(topic('one'), one.handler);
      b.subscribe(topic('two'), two.handler);
      await pair.settle();
      await moreBeats(1); // b knows a's beat count now
      let lose = 1;
      lossyB.drop((_t, m) => isBeatOf(m, 'a') && lose-- > 0);
      await Promise.all([one.waitFor(1), two.waitFor(1)]);
      await moreBeats(2);
      assert.deepEqual(labels(one), ['<resync>']);
      assert.deepEqual(labels(two), ['<resync>']);
    });

    test('a beat in parts: a loss listed in a later part is found, and a lost part resyncs every topic', async () => {
      const names = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
      const inboxes = names.map((name) => new Inbox(`${name} on b`));
      names.forEach((name, i) => b.subscribe(topic(name), inboxes[i]!.handler));
      await pair.settle();
      lossyB.drop((t, m) => t === topic('p6') && isMarker(m, 'lost'));
      for (const name of names.slice(0, 6)) a.publish(topic(name), marker(name));
      a.publish(topic('p6'), marker('lost'));
      await inboxes[6]!.waitFor(1);
      await moreBeats(3);
      assert.ok(beatsOfA.messages.some((m) => m.kind === 'heartbeat' && m.parts === 3), 'the beat listing 7 topics came in 3 parts');
      assert.deepEqual(inboxes.map(labels), [...names.slice(0, 6).map((name) => [name]), ['<resync>']]);

      // Now lose the middle part of the next 3-part beat.
      let lose = 1;
      lossyB.drop((_t, m) => m.kind === 'heartbeat' && isBeatOf(m, 'a') && m.part === 1 && lose-- > 0);
      for (const name of names) a.publish(topic(name), marker(`${name}'`));
      await Promise.all(inboxes.map((inbox) => inbox.waitFor(3)));
      await moreBeats(2);
      for (const [i, name] of names.entries()) {
        assert.deepEqual(labels(inboxes[i]!), [...(i === 6 ? ['<resync>'] : [name]), `${name}'`, '<resync>'], name);
      }
    });

    test('a loss the transport reports (a reconnect): every subscribed topic gets resync', async () => {
      const one = new Inbox('t1 on b');
      const two = new Inbox('t2 on b');
      b.subscribe(topic('one'), one.handler);
      b.subscribe(topic('two'), two.handler);
      await pair.settle();
      lossyB.reportLoss();
      await Promise.all([one.waitFor(1), two.waitFor(1)]);
      await moreBeats(2);
      assert.deepEqual(labels(one), ['<resync>']);
      assert.deepEqual(labels(two), ['<resync>']);
    });

    test('what a node published to a topic before subscribing to it is not reported lost', async () => {
      // A login publishes the kick for its device to the user's topic, then subscribes.
      b.publish(topic('own'), marker('before'));
      const own = new Inbox('t on b');
      b.subscribe(topic('own'), own.handler);
      await pair.settle();
      b.publish(topic('own'), marker('after'));
      await own.waitFor(1);
      const beatsOfB = new Inbox("b's heartbeats");
      pair.b.subscribe(HEARTBEAT_TOPIC, (message) => { if (isBeatOf(message, 'b')) beatsOfB.handler(message); });
      await beatsOfB.waitFor(3);
      assert.deepEqual(labels(own), ['after']);
    });

    test('a node that subscribed before the publish and lost nothing never gets resync, over many beats and messages', async () => {
      const one = new Inbox('t1 on b');
      b.subscribe(topic('one'), one.handler);
      await pair.settle();
      for (let i = 0; i < 200; i++) {
        a.publish(topic('one'), marker(String(i)));
        if (i % 50 === 0) await moreBeats(1);
      }
      await one.waitFor(200);
      await moreBeats(3);
      assert.deepEqual(labels(one), Array.from({ length: 200 }, (_, i) => String(i)));
    });
  });
}
