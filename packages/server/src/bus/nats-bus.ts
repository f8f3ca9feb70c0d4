import { connect, type ConnectionOptions, type NatsConnection, type Subscription } from 'nats';
import type { Bus, BusMessage } from './types.js';

/** Where the NATS bus reports what it cannot throw (publish is fire-and-forget). A pino logger fits. */
export interface NatsBusLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface NatsBusOptions {
  /** One or more NATS URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** The connection name NATS shows in its monitoring (default `confab`). */
  name?: string;
  /** First subject token(s) of every Confab subject (default `confab`); lets several deployments share a NATS cluster. */
  prefix?: string;
  /** Where publish and delivery failures are reported (default: the console). */
  logger?: NatsBusLogger;
  /** Further connection settings (credentials, TLS, reconnect tuning) passed to `nats.connect`. */
  connection?: Omit<ConnectionOptions, 'servers' | 'name'>;
}

export interface NatsBus extends Bus {
  readonly kind: 'nats';
  /**
   * Resolves once the NATS server has processed everything this connection sent so far
   * (a PING/PONG round trip): subscriptions made before the call are registered, and a
   * message published by another connection after it resolves reaches them. On one
   * connection no wait is needed: the server handles SUB and PUB in the order sent.
   */
  ready(): Promise<void>;
  /** Calls `listener` after each reconnect, once the resubscriptions are confirmed (see `Bus.onLoss`). */
  onLoss(listener: () => void): () => void;
}

/** One NATS subject token per topic segment: letters, digits, `-` and `_` only. */
const PREFIX = /^[^\s.*>]+(\.[^\s.*>]+)*$/;
const USER_TOPIC = /^u\.(\d+)\.(.+)$/s;

/**
 * The NATS subject for a bus topic. A user topic `u.<app>.<userID>` becomes
 * `<prefix>.u.<app>.<base64url(userID)>`: user IDs may hold `.` (a subject separator),
 * so the ID is encoded into one token that cannot split, be empty, or meet another ID.
 * Any other topic becomes `<prefix>.t.<base64url(topic)>`, a namespace of its own.
 */
export function natsSubject(prefix: string, topic: string): string {
  const user = USER_TOPIC.exec(topic);
  if (user) return `${prefix}.u.${user[1]}.${token(user[2]!)}`;
  return `${prefix}.t.${token(topic)}`;
}

/** base64url of the UTF-8 bytes; `_` for the empty string (base64url never yields one character). */
function token(text: string): string {
  return text === '' ? '_' : Buffer.from(text, 'utf8').toString('base64url');
}

type Handler = (message: BusMessage) => void;

interface TopicEntry {
  sub: Subscription;
  /** One record per `subscribe` call, so the same function subscribed twice unsubscribes independently. */
  handlers: Set<{ handler: Handler }>;
}

/**
 * Connects a bus that carries `BusMessage`s between the nodes of a cluster over NATS
 * core (no JetStream): at-most-once, and in publish order for one publisher and one
 * topic. The sequenced bus (sequenced-bus.ts) that the server puts on top notices losses
 * (with `onLoss` for reconnects) and has the devices sync; see docs/operations.md.
 */
export async function connectNatsBus(options: NatsBusOptions): Promise<NatsBus> {
  const prefix = options.prefix ?? 'confab';
  if (!PREFIX.test(prefix)) throw new Error(`invalid NATS subject prefix ${JSON.stringify(prefix)}: use dot-separated tokens without spaces, * or >`);
  const nc = await connect({
    // A node keeps trying to reach NATS for as long as it runs; while disconnected the
    // client buffers what is published and resubscribes on reconnect.
    maxReconnectAttempts: -1,
    ...options.connection,
    servers: options.servers,
    name: options.name ?? 'confab',
  });
  return new NatsBusImpl(nc, prefix, options.logger ?? consoleLogger);
}

const consoleLogger: NatsBusLogger = {
  warn: (obj, msg) => console.warn(`[confab nats-bus] ${msg}`, obj),
  error: (obj, msg) => console.error(`[confab nats-bus] ${msg}`, obj),
};

class NatsBusImpl implements NatsBus {
  readonly kind = 'nats' as const;
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #logger: NatsBusLogger;
  readonly #topics = new Map<string, TopicEntry>();
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder();
  readonly #lossListeners = new Set<() => void>();
  #closing: Promise<void> | undefined;
  /** False from a `disconnect` status until the next `reconnect`. */
  #up = true;

  constructor(nc: NatsConnection, prefix: string, logger: NatsBusLogger) {
    this.#nc = nc;
    this.#prefix = prefix;
    this.#logger = logger;
    void this.#watch();
  }

  publish(topic: string, message: BusMessage): void {
    if (this.#closing) {
      this.#logger.warn({ topic, kind: message.kind }, 'publish after close; message dropped');
      return;
    }
    try {
      this.#nc.publish(natsSubject(this.#prefix, topic), this.#encoder.encode(JSON.stringify(message)));
    } catch (err) {
      // Closed or draining connection, or a payload above the server's max_payload.
      this.#logger.error({ err, topic, kind: message.kind }, 'NATS publish failed; message dropped');
    }
  }

  subscribe(topic: string, handler: Handler): () => void {
    const record = { handler };
    let entry = this.#topics.get(topic);
    if (!entry) {
      if (this.#closing) {
        this.#logger.warn({ topic }, 'subscribe after close; nothing will be delivered');
        return () => {};
      }
      const handlers = new Set<{ handler: Handler }>();
      let sub: Subscription;
      try {
        // The SUB is queued on the connection now, ahead of anything published after
        // this returns, so this node's own later publishes to the topic reach it.
        sub = this.#nc.subscribe(natsSubject(this.#prefix, topic), {
          callback: (err, msg) => {
            if (err) {
              this.#logger.error({ err, topic }, 'NATS subscription error');
              return;
            }
            this.#deliver(topic, handlers, msg.data);
          },
        });
      } catch (err) {
        this.#logger.error({ err, topic }, 'NATS subscribe failed; nothing will be delivered');
        return () => {};
      }
      entry = { sub, handlers };
      this.#topics.set(topic, entry);
    }
    const current = entry;
    current.handlers.add(record);
    return () => {
      if (!current.handlers.delete(record) || current.handlers.size > 0) return;
      if (this.#topics.get(topic) === current) this.#topics.delete(topic);
      if (this.#closing) return;
      try {
        current.sub.unsubscribe();
      } catch (err) {
        this.#logger.warn({ err, topic }, 'NATS unsubscribe failed');
      }
    };
  }

  async ready(): Promise<void> {
    if (this.#closing || this.#nc.isClosed()) return;
    await this.#nc.flush();
  }

  onLoss(listener: () => void): () => void {
    const record = () => listener();
    this.#lossListeners.add(record);
    return () => void this.#lossListeners.delete(record);
  }

  /**
   * After a reconnect: whatever other nodes published while this connection was down is
   * gone. The client resubscribes first thing on reconnect; once the server confirmed
   * that (flush), a device that syncs now misses nothing published after.
   */
  async #reconnected(): Promise<void> {
    try {
      await this.#nc.flush();
    } catch (err) {
      // Closed or disconnected again: the next reconnect reports the loss again.
      this.#logger.warn({ err }, 'NATS flush after reconnect failed');
      return;
    }
    if (this.#closing) return;
    for (const listener of [...this.#lossListeners]) {
      try {
        listener();
      } catch (err) {
        this.#logger.error({ err }, 'bus loss listener failed');
      }
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#drain();
    return this.#closing;
  }

  async #drain(): Promise<void> {
    try {
      // Drain: unsubscribe, hand what is already in flight to the handlers, flush what
      // was published, then close.
      if (!this.#nc.isClosed() && !this.#nc.isDraining()) await this.#nc.drain();
    } catch (err) {
      this.#logger.warn({ err }, 'NATS drain failed; closing');
      if (!this.#nc.isClosed()) await this.#nc.close().catch(() => {});
    } finally {
      this.#topics.clear();
    }
  }

  #deliver(topic: string, handlers: Set<{ handler: Handler }>, data: Uint8Array): void {
    let message: BusMessage;
    try {
      message = JSON.parse(this.#decoder.decode(data)) as BusMessage;
    } catch (err) {
      this.#logger.error({ err, topic }, 'undecodable bus message dropped');
      return;
    }
    if (typeof message !== 'object' || message === null || typeof message.kind !== 'string') {
      this.#logger.error({ topic }, 'malformed bus message dropped');
      return;
    }
    for (const { handler } of [...handlers]) {
      try {
        handler(message);
      } catch (err) {
        // One failing handler must not starve the others or kill the subscription.
        this.#logger.error({ err, topic, kind: message.kind }, 'bus handler failed');
      }
    }
  }

  connected(): boolean {
    return this.#up && !this.#closing && !this.#nc.isClosed();
  }

  async #watch(): Promise<void> {
    try {
      for await (const status of this.#nc.status()) {
        if (status.type === 'disconnect' || status.type === 'reconnect') this.#up = status.type === 'reconnect';
        if (status.type === 'disconnect') this.#logger.warn({ server: status.data }, 'NATS disconnected; messages for this node are lost until it reconnects');
        else if (status.type === 'reconnect') {
          this.#logger.warn({ server: status.data }, 'NATS reconnected; sessions are told to sync');
          void this.#reconnected();
        }
        else if (status.type === 'error') this.#logger.error({ err: status.data }, 'NATS async error');
      }
    } catch {
      // The status iterator ends with the connection.
    }
    const err = await this.#nc.closed();
    if (err && !this.#closing) this.#logger.error({ err }, 'NATS connection closed with an error; the bus no longer delivers');
  }
}
