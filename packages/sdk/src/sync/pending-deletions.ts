/**
 * Crash safety for conversation deletion. Before `conv.delete` / `conv.clearHistory` is
 * sent, the request is written to the store meta (`MetaKey.PENDING_DELETIONS`); it is
 * removed once the local wipe has committed. If the app dies after the server committed
 * but before the wipe, the entry is still there at the next login, which re-issues it
 * (the server op is idempotent) and completes the wipe.
 *
 * Example: the meta value after `deleteConversation('c2c_bob')` was sent and before its
 * reply was applied: `[{"id":"k1","conversationIDs":["c2c_bob"],"mode":"delete"}]`.
 */
import type { DeletionMode } from '@confab/protocol';
import type { LocalStore } from '../store/types.js';
import { MetaKey } from '../store/types.js';

export interface PendingDeletion {
  /** Local key of the entry, so concurrent deletions clear only their own. */
  id: string;
  conversationIDs: string[];
  mode: DeletionMode;
}

const MODES: ReadonlySet<string> = new Set(['delete', 'deleteKeepHistory', 'clearHistory']);

function isEntry(v: unknown): v is PendingDeletion {
  const e = v as PendingDeletion;
  return typeof e === 'object' && e !== null && typeof e.id === 'string' && MODES.has(e.mode)
    && Array.isArray(e.conversationIDs) && e.conversationIDs.every((id) => typeof id === 'string');
}

/** Reads and writes the pending list; every read-modify-write runs one at a time. */
export class PendingDeletions {
  readonly #store: LocalStore;
  #lock: Promise<unknown> = Promise.resolve();

  constructor(store: LocalStore) {
    this.#store = store;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #read(): Promise<PendingDeletion[]> {
    const raw = await this.#store.getMeta(MetaKey.PENDING_DELETIONS);
    if (!raw) return [];
    try {
      const parsed = JSON.parse(raw) as unknown;
      return Array.isArray(parsed) ? parsed.filter(isEntry) : [];
    } catch {
      return []; // unreadable: nothing we could re-issue safely
    }
  }

  list(): Promise<PendingDeletion[]> {
    return this.#serial(() => this.#read());
  }

  add(entry: PendingDeletion): Promise<void> {
    return this.#serial(async () => {
      const all = await this.#read();
      all.push(entry);
      await this.#store.setMeta(MetaKey.PENDING_DELETIONS, JSON.stringify(all));
    });
  }

  remove(id: string): Promise<void> {
    return this.#serial(async () => {
      const all = await this.#read();
      const rest = all.filter((e) => e.id !== id);
      if (rest.length !== all.length) await this.#store.setMeta(MetaKey.PENDING_DELETIONS, JSON.stringify(rest));
    });
  }
}
