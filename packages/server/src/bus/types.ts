import type { PushName, Pushes, UserUpdate } from '@confab/protocol';

/**
 * What travels between the domain layer and the sessions of one user, on this node or
 * (with NATS) on any node.
 */
export type BusMessage =
  /** `skipSession`: the session whose request caused it; its reply already carries the update. */
  | { kind: 'update'; update: UserUpdate; skipSession?: string }
  | { kind: 'push'; push: Exclude<PushName, 'update' | 'kicked'>; body: Pushes[Exclude<PushName, 'update' | 'kicked'>] }
  /** End the sessions of this user that use `deviceID`, except session `keep`. */
  | { kind: 'kick'; deviceID: string; keep: string; code: number; desc: string };

/**
 * The bus seam: publish to a user, subscribe to a user. The in-process bus serves one
 * node; a NATS bus carries the same messages between nodes.
 */
export interface Bus {
  readonly kind: string;
  publish(topic: string, message: BusMessage): void;
  subscribe(topic: string, handler: (message: BusMessage) => void): () => void;
  close(): Promise<void>;
}

export function userTopic(app: number, userID: string): string {
  return `u.${app}.${userID}`;
}
