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
  | { kind: 'push'; push: Exclude<PushName, 'update' | 'kicked'>; body: Pushes[Exclude<PushName, 'update' | 'kicked'>] }
  /** End the sessions of this user that use `deviceID`, except session `keep`. */
  | { kind: 'kick'; deviceID: string; keep: string; code: number; desc: string }
  /** On `CLUSTER_TOPIC`, from node `node`: an app's record (its settings) changed; re-read it. */
  | { kind: 'app'; sdkAppID: number; node: string }
  /** On `CLUSTER_TOPIC`, from node `node`: deletions were queued for purging; the purger should run. */
  | { kind: 'purge'; node: string }
  /** On `CLUSTER_TOPIC`, from node `node`: group messages were queued for fan-out; the fan-out worker should run. */
  | { kind: 'fanout'; node: string };

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
  close(): Promise<void>;
}

/** The topic every node subscribes to for cluster housekeeping (app changes, purge wake-ups). */
export const CLUSTER_TOPIC = 'cluster';

export function userTopic(app: number, userID: string): string {
  return `u.${app}.${userID}`;
}
