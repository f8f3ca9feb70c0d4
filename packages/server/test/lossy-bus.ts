/**
 * A test double of the bus: one node's view of a shared bus (the in-process one, or a
 * NATS connection) that loses the deliveries a test picks, the way NATS core loses
 * what is in flight. Several views of one `MemoryBus` are the nodes of an in-process
 * cluster; closing a view detaches only its own subscriptions.
 */
import type { Bus, BusMessage } from '../src/bus/types.js';

/** Decides, per delivery to this view, whether it is lost. */
export type DropRule = (topic: string, message: BusMessage) => boolean;

export class LossyBus implements Bus {
  readonly kind: string;
  /** Deliveries lost so far, newest last. */
  readonly dropped: { topic: string; message: BusMessage }[] = [];
  readonly #shared: Bus;
  readonly #offs = new Set<() => void>();
  readonly #lossListeners = new Set<() => void>();
  #rule: DropRule | undefined;
  #closed = false;

  constructor(shared: Bus, rule?: DropRule) {
    this.kind = shared.kind;
    this.#shared = shared;
    this.#rule = rule;
  }

  /** Replaces the drop rule (undefined: lose nothing). */
  drop(rule: DropRule | undefined): void {
    this.#rule = rule;
  }

  /** Tells the listeners of `onLoss` what a NATS reconnect tells them. */
  reportLoss(): void {
    for (const listener of [...this.#lossListeners]) listener();
  }

  publish(topic: string, message: BusMessage): void {
    if (!this.#closed) this.#shared.publish(topic, message);
  }

  subscribe(topic: string, handler: (message: BusMessage) => void): () => void {
    if (this.#closed) return () => {};
    const off = this.#shared.subscribe(topic, (message) => {
      if (this.#rule?.(topic, message)) {
        this.dropped.push({ topic, message });
        return;
      }
      handler(message);
    });
    let done = false;
    const unsubscribe = () => {
      if (done) return;
      done = true;
      this.#offs.delete(unsubscribe);
      off();
    };
    this.#offs.add(unsubscribe);
    return unsubscribe;
  }

  ready(): Promise<void> {
    return this.#shared.ready?.() ?? Promise.resolve();
  }

  onLoss(listener: () => void): () => void {
    const record = () => listener();
    this.#lossListeners.add(record);
    const offShared = this.#shared.onLoss?.(record) ?? (() => {});
    return () => {
      this.#lossListeners.delete(record);
      offShared();
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const off of [...this.#offs]) off();
  }
}
