/**
 * `chat.on(event, handler, context)` / `chat.off(...)` as in the Web SDK: handlers get
 * one argument `{ name, data }` and are called with `this = context` (the reference's
 * UIKits pass their store as context and rely on it). A throwing handler is reported on
 * the console and does not stop the others, nor the SDK.
 */
export interface ChatEvent<T = unknown> {
  name: string;
  data: T;
}
export type Handler = (event: ChatEvent) => void;

interface Entry {
  handler: Handler;
  context: unknown;
  once: boolean;
}

export class WebEmitter {
  readonly #entries = new Map<string, Entry[]>();

  on(name: string, handler: Handler, context?: unknown, once = false): void {
    if (typeof name !== 'string' || typeof handler !== 'function') return;
    const list = this.#entries.get(name) ?? [];
    list.push({ handler, context, once });
    this.#entries.set(name, list);
  }

  /** Without a handler, removes every handler of the event (the reference does the same). */
  off(name: string, handler?: Handler, context?: unknown): void {
    const list = this.#entries.get(name);
    if (!list) return;
    const keep = handler === undefined
      ? []
      : list.filter((e) => e.handler !== handler || (context !== undefined && e.context !== context));
    if (keep.length) this.#entries.set(name, keep);
    else this.#entries.delete(name);
  }

  emit(name: string, data: unknown): void {
    const list = this.#entries.get(name);
    if (!list?.length) return;
    const event: ChatEvent = { name, data };
    for (const e of [...list]) {
      if (e.once) this.off(name, e.handler, e.context);
      try {
        e.handler.call(e.context, event);
      } catch (err) {
        console.error(`[confab chat] a handler of ${name} threw:`, err);
      }
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
