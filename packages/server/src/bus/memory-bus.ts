import type { Bus, BusMessage } from './types.js';

/**
 * The default bus for one node: a map from topic to handlers, delivered synchronously
 * in publish order. Synchronous delivery is what keeps "update N+1 never overtakes
 * update N" on one node without any sequencing of its own.
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory';
  readonly #handlers = new Map<string, Set<(message: BusMessage) => void>>();

  publish(topic: string, message: BusMessage): void {
    const handlers = this.#handlers.get(topic);
    if (!handlers) return;
    for (const handler of [...handlers]) handler(message);
  }

  subscribe(topic: string, handler: (message: BusMessage) => void): () => void {
    let handlers = this.#handlers.get(topic);
    if (!handlers) this.#handlers.set(topic, (handlers = new Set()));
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
      if (handlers.size === 0) this.#handlers.delete(topic);
    };
  }

  async close(): Promise<void> {
    this.#handlers.clear();
  }
}
