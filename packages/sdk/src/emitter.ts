/**
 * A minimal typed event emitter (no `node:events`: the main entry must run in browsers).
 * `Events` maps an event name to its payload type, so `on('state', ctx => ctx.newState)`
 * is type-checked.
 */
export class TypedEmitter<Events extends object> {
  #handlers = new Map<keyof Events, Set<(payload: never) => void>>();

  on<K extends keyof Events>(event: K, handler: (payload: Events[K]) => void): () => void {
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => set!.delete(handler as (payload: never) => void);
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const handler of [...(this.#handlers.get(event) ?? [])]) {
      (handler as (p: Events[K]) => void)(payload);
    }
  }
}
