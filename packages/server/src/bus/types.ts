import type { PushName, Pushes, UserUpdate } from '@confab/protocol';

/**
 * What travels between the domain layer and the sessions of one user, on this node or
 * (with NATS) on any node.
 */
export type BusMessage =
  /**
   * `skipSession`: the session whose request caused it; its reply already carries the update.
   * `messagesJson`: the update's messages as encoded JSON array text (then `update.messages`
   * is empty): a message reaching 1,000 members is encoded once, not 1,000 times.
   */
  | { kind: 'update'; update: UserUpdate; skipSession?: string; messagesJson?: string }
  | { kind: 'push'; push: Exclude<PushName, 'update' | 'kicked' | 'sync.hint'>; body: Pushes[Exclude<PushName, 'update' | 'kicked' | 'sync.hint'>] }
  /** End the sessions of this user that use `deviceID`, except session `keep`. */
  | { kind: 'kick'; deviceID: string; keep: string; code: number; desc: string }
  /** On `CLUSTER_TOPIC`, from node `node`: an app's record (its settings) changed; re-read it. */
  | { kind: 'app'; sdkAppID: number; node: string }
  /** On `CLUSTER_TOPIC`, from node `node`: deletions were queued for purging; the purger should run. */
  | { kind: 'purge'; node: string }
  /** On `CLUSTER_TOPIC`, from node `node`: group messages were queued for fan-out; the fan-out worker should run. */
  | { kind: 'fanout'; node: string }
  /**
   * Never published: the sequenced bus (sequenced-bus.ts) hands it to a topic's handlers
   * when a message for the topic may have been lost between nodes; the user's sessions
   * are told to sync from their version.
   */
  | { kind: 'resync' }
  /**
   * On `HEARTBEAT_TOPIC`: publisher `node` sends beat number `beat` (one every interval,
   * numbered so a lost beat is itself noticed). `topics` lists every topic it published to
   * since its previous beat, with how many messages; a busy interval's list is split into
   * `parts` messages numbered by `part` from 0.
   */
  | { kind: 'heartbeat'; node: string; beat: number; part: number; parts: number; topics: [topic: string, count: number][] };

/**
 * The bus seam: publish to a user, subscribe to a user. The in-process bus serves one
 * node; a NATS bus carries the same messages between nodes.
 */
export interface Bus {
  readonly kind: string;
  publish(topic: string, message: BusMessage): void;
  subscribe(topic: string, handler: (message: BusMessage) => void): () => void;
  /**
   * Resolves once the subscriptions made so far receive whatever any node publishes
   * after it resolves. A bus whose `subscribe` is effective at once (the in-process one)
   * need not have it.
   */
  ready?(): Promise<void>;
  /**
   * Calls `listener` when this node may have missed messages it is subscribed to for a
   * reason the bus itself sees (NATS: it reconnected), once its subscriptions receive
   * again. Returns the unregister function. A bus that cannot lose messages need not have it.
   */
  onLoss?(listener: () => void): () => void;
  /** Whether the bus reaches the other nodes now (`/readyz`); a bus without it always does. */
  connected?(): boolean;
  close(): Promise<void>;
}

/** The topic every node subscribes to for cluster housekeeping (app changes, purge wake-ups). */
export const CLUSTER_TOPIC = 'cluster';

/** The topic every node's sequenced bus publishes its heartbeats on and subscribes to. */
export const HEARTBEAT_TOPIC = 'bus.heartbeat';

export function userTopic(app: number, userID: string): string {
  return `u.${app}.${userID}`;
}
