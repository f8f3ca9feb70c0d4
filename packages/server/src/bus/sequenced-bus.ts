import { randomUUID } from 'node:crypto';
import { HEARTBEAT_TOPIC, type Bus, type BusMessage } from './types.js';

export interface SequencedBusOptions {
  /** Names this node in heartbeats and logs; a random suffix makes every start a publisher of its own. */
  nodeID?: string;
  /** How often this node publishes its heartbeat (default 500 ms): the bound on noticing a lost last message. */
  heartbeatMs?: number;
  /** Most topics listed in one heartbeat message; a busier interval's beat is sent in parts (default 1000). */
  maxTopicsPerBeat?: number;
  /** Whether `close()` closes the transport too (default true; false for a bus the caller lent). */
  closeTransport?: boolean;
  logger?: { warn(obj: object, msg: string): void };
}

/** A message as it travels: stamped with its publisher (`SequencedBus`'s node name). */
type Stamped = BusMessage & { publisher?: string };
type Handler = (message: BusMessage) => void;

interface TopicEntry {
  handlers: Set<{ handler: Handler }>;
  unsubscribe: () => void;
  /** Per publisher: messages received on this topic since that publisher's beat `beat`. */
  windows: Map<string, { beat: number; count: number }>;
}

/** The last beat (and part of it) received from a publisher. */
interface BeatState {
  beat: number;
  part: number;
  parts: number;
}

export const DEFAULT_BUS_HEARTBEAT_MS = 500;

/**
 * Makes a lossy bus (NATS core drops what is in flight when a server restarts, a route
 * breaks or a connection is cut as a slow consumer) tell the sessions that may have
 * missed something, within about one heartbeat.
 *
 * Each node stamps what it publishes with its name and, every `heartbeatMs`, publishes a
 * numbered heartbeat listing each topic it published to since its previous beat with how
 * many messages. A node subscribed to such a topic counts what it received from that
 * publisher since the previous beat; fewer means a loss, and the topic's handlers get
 * `{kind: 'resync'}` (the gateway then pushes `sync.hint` and the device runs `conv.sync`
 * from its version). Example: node A publishes update 7 for bob and NATS drops it on its
 * way to node B; nothing else happens for bob. A's next beat lists `[u.1.bob, 1]`; B
 * received nothing from A for bob since A's previous beat, so bob's sessions on B are told
 * to sync, and fetch update 7 from the database. Counting (not only the last number)
 * also catches a loss in the middle of a burst, which the following messages would hide.
 *
 * A lost beat, or the transport reporting a reconnect, means any topic may have lost
 * messages: every topic's handlers get `resync`.
 *
 * A beat counts the messages published before it on the same connection; NATS keeps that
 * order from one connection to another, so the messages a beat counts arrive before it. A
 * topic subscribed to in the middle of an interval in which another node sent to it (a
 * login racing an update from another node) reads as a loss once: one needless, harmless
 * `conv.sync`.
 */
export class SequencedBus implements Bus {
  readonly kind: string;
  readonly #transport: Bus;
  readonly #node: string;
  readonly #maxTopics: number;
  readonly #closeTransport: boolean;
  readonly #logger: SequencedBusOptions['logger'];
  readonly #topics = new Map<string, TopicEntry>();
  /** The last beat from each publisher ever heard (never pruned: a publisher silent for a while must still show its gap). */
  readonly #beats = new Map<string, BeatState>();
  /** Topics published to since the last beat, with how many messages. */
  #pending = new Map<string, number>();
  #beat = 0;
  readonly #timer: NodeJS.Timeout;
  readonly #offHeartbeat: () => void;
  readonly #offLoss: () => void;
  #closed = false;

  constructor(transport: Bus, options: SequencedBusOptions = {}) {
    this.kind = transport.kind;
    this.#transport = transport;
    this.#node = `${options.nodeID ?? 'node'}/${randomUUID().slice(0, 8)}`;
    this.#maxTopics = options.maxTopicsPerBeat ?? 1000;
    this.#closeTransport = options.closeTransport ?? true;
    this.#logger = options.logger;
    this.#offHeartbeat = transport.subscribe(HEARTBEAT_TOPIC, (message) => this.#onHeartbeat(message));
    this.#offLoss = transport.onLoss?.(() => {
      // Whatever was lost, everything is synced now; beats before the reconnect are moot.
      this.#beats.clear();
      this.#lossAll('the bus reconnected');
    }) ?? (() => {});
    this.#timer = setInterval(() => this.#sendBeat(), options.heartbeatMs ?? DEFAULT_BUS_HEARTBEAT_MS);
    this.#timer.unref();
  }

  publish(topic: string, message: BusMessage): void {
    if (this.#closed) return;
    this.#pending.set(topic, (this.#pending.get(topic) ?? 0) + 1);
    this.#transport.publish(topic, { ...message, publisher: this.#node } as Stamped);
  }

  subscribe(topic: string, handler: Handler): () => void {
    const record = { handler };
    let entry = this.#topics.get(topic);
    if (!entry) {
      const created: TopicEntry = { handlers: new Set(), windows: new Map(), unsubscribe: () => {} };
      // What this node published to the topic before subscribing never arrives here (a
      // login publishes the `kick` for its device first): count it as received, or the
      // next beat would report it lost and every login would cost a needless sync.
      const early = this.#pending.get(topic);
      if (early) created.windows.set(this.#node, { beat: this.#beat, count: early });
      this.#topics.set(topic, created);
      created.unsubscribe = this.#transport.subscribe(topic, (message) => this.#onMessage(created, message as Stamped));
      entry = created;
    }
    const current = entry;
    current.handlers.add(record);
    return () => {
      if (!current.handlers.delete(record) || current.handlers.size > 0) return;
      if (this.#topics.get(topic) === current) this.#topics.delete(topic);
      current.unsubscribe();
    };
  }

  ready(): Promise<void> {
    return this.#transport.ready?.() ?? Promise.resolve();
  }

  connected(): boolean {
    return !this.#closed && (this.#transport.connected?.() ?? true);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // A last beat: a lost final message of this node is still noticed.
    this.#sendBeat();
    this.#closed = true;
    clearInterval(this.#timer);
    this.#offLoss();
    this.#offHeartbeat();
    for (const entry of this.#topics.values()) entry.unsubscribe();
    this.#topics.clear();
    if (this.#closeTransport) await this.#transport.close();
  }

  #onMessage(entry: TopicEntry, message: Stamped): void {
    let plain: BusMessage = message;
    if (message.publisher !== undefined) {
      const { publisher, ...rest } = message;
      // Counted against the publisher's last beat seen: its next beat covers this message.
      const beat = this.#beats.get(publisher)?.beat ?? 0;
      const window = entry.windows.get(publisher);
      if (window && window.beat === beat) window.count++;
      else entry.windows.set(publisher, { beat, count: 1 });
      plain = rest as BusMessage;
    }
    this.#deliver(entry, plain);
  }

  #deliver(entry: TopicEntry, message: BusMessage): void {
    for (const { handler } of [...entry.handlers]) handler(message);
  }

  #sendBeat(): void {
    if (this.#closed) return;
    const topics = [...this.#pending];
    this.#pending = new Map();
    // An idle node still beats: its silence would hide a lost beat.
    const beat = ++this.#beat;
    const parts = Math.max(1, Math.ceil(topics.length / this.#maxTopics));
    for (let part = 0; part < parts; part++) {
      const chunk = topics.slice(part * this.#maxTopics, (part + 1) * this.#maxTopics);
      this.#transport.publish(HEARTBEAT_TOPIC, { kind: 'heartbeat', node: this.#node, beat, part, parts, topics: chunk });
    }
  }

  #onHeartbeat(message: BusMessage): void {
    if (message.kind !== 'heartbeat') return;
    const last = this.#beats.get(message.node);
    this.#beats.set(message.node, { beat: message.beat, part: message.part, parts: message.parts });
    if (last) {
      const next = last.part + 1 < last.parts ? { beat: last.beat, part: last.part + 1 } : { beat: last.beat + 1, part: 0 };
      if (message.beat !== next.beat || message.part !== next.part) {
        this.#lossAll(`a heartbeat of ${message.node} was lost (expected ${next.beat}.${next.part}, got ${message.beat}.${message.part})`);
        return;
      }
    }
    for (const [topic, count] of message.topics) {
      const entry = this.#topics.get(topic);
      if (!entry) continue;
      const window = entry.windows.get(message.node);
      const received = window && window.beat === message.beat - 1 ? window.count : 0;
      if (received < count) this.#deliver(entry, { kind: 'resync' });
    }
  }

  #lossAll(why: string): void {
    this.#logger?.warn({ topics: this.#topics.size }, `${why}; every subscribed topic resyncs`);
    for (const entry of [...this.#topics.values()]) this.#deliver(entry, { kind: 'resync' });
  }
}
