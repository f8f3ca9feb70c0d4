import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Storage } from './storage/types.js';

/**
 * The node's Prometheus metrics, served at `/metrics`. One registry per server, not
 * prom-client's global one: a process that runs several nodes (the tests do) must not
 * add their counts together.
 *
 * Storage calls are counted by wrapping the storage seam (`instrumentStorage`) rather
 * than inside the services: a message counts when its batch committed, whichever
 * service sent it, and the services stay free of metrics code.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly messages: Counter;
  readonly deletions: Counter;
  readonly purged: Counter;
  readonly batchSize: Histogram;
  readonly batchSeconds: Histogram;

  constructor(sources: {
    nodeID: string;
    connections(): number;
    sessions(): number;
    /** Conversations queued for purging (counted up to a cap). */
    purgeBacklog(): Promise<number>;
  }) {
    this.registry.setDefaultLabels({ node: sources.nodeID });
    // Process and Node.js figures, among them nodejs_eventloop_lag_seconds.
    collectDefaultMetrics({ register: this.registry, prefix: 'confab_' });
    new Gauge({ name: 'confab_connections', help: 'Open WebSocket connections on this node (logged in or not)', registers: [this.registry],
      collect() { this.set(sources.connections()); } });
    new Gauge({ name: 'confab_sessions', help: 'Logged-in WebSocket sessions on this node', registers: [this.registry],
      collect() { this.set(sources.sessions()); } });
    new Gauge({ name: 'confab_purge_backlog', help: `Conversations with deleted messages waiting to be purged (counted up to ${PURGE_BACKLOG_CAP})`,
      registers: [this.registry],
      async collect() { this.set(await sources.purgeBacklog().catch(() => Number.NaN)); } });
    this.messages = new Counter({ name: 'confab_messages_total', help: 'Messages committed by this node (resends of a stored message not counted)', registers: [this.registry] });
    this.deletions = new Counter({ name: 'confab_conversation_deletions_total', help: 'Conversations deleted or cleared through this node', registers: [this.registry] });
    this.purged = new Counter({ name: 'confab_purged_messages_total', help: 'Messages erased by this node\'s purge worker; rate() of it is the purge rate', registers: [this.registry] });
    this.batchSize = new Histogram({ name: 'confab_group_commit_batch_size', help: 'Messages per group-commit batch', registers: [this.registry],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] });
    this.batchSeconds = new Histogram({ name: 'confab_group_commit_seconds', help: 'Time from a batch\'s start to its durable commit', registers: [this.registry],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

export const PURGE_BACKLOG_CAP = 1000;

/**
 * A view of `storage` whose message batches, deletions and purge steps are counted in
 * `metrics`. Everything else passes through; methods are called on the real objects
 * (a backend's classes keep private fields, which a plain proxy would break).
 */
export function instrumentStorage(storage: Storage, metrics: Metrics): Storage {
  const messages = override(storage.messages, {
    // Every argument passed on as it came: a parameter added to the seam later still arrives.
    async appendBatch(original, ...args) {
      const end = metrics.batchSeconds.startTimer();
      const result = await original(...args);
      end();
      metrics.batchSize.observe(args[0].length);
      metrics.messages.inc(result.results.filter((r) => !r.duplicate).length);
      return result;
    },
  });
  const deletions = override(storage.deletions, {
    async remove(original, ...args) {
      const result = await original(...args);
      metrics.deletions.inc(args[2].length);
      return result;
    },
    async purgeStep(original, ...args) {
      const result = await original(...args);
      metrics.purged.inc(result.erased);
      return result;
    },
  });
  return override(storage, {}, { messages, deletions });
}

type Fn = (...args: never[]) => unknown;
type Wrappers<T> = { [K in keyof T]?: T[K] extends (...args: infer A) => infer R ? (original: (...args: A) => R, ...args: A) => R : never };

function override<T extends object>(target: T, wrappers: Wrappers<T>, values: Partial<T> = {}): T {
  return new Proxy(target, {
    get(obj, prop) {
      if (prop in values) return values[prop as keyof T];
      const value = Reflect.get(obj, prop, obj) as unknown;
      if (typeof value !== 'function') return value;
      const bound = (value as Fn).bind(obj);
      const wrap = wrappers[prop as keyof T] as ((original: Fn, ...args: unknown[]) => unknown) | undefined;
      return wrap ? (...args: unknown[]) => wrap(bound, ...args) : bound;
    },
  });
}
