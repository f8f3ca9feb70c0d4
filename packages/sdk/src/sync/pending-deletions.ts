/**
 * Crash safety for conversation deletion. Before `conv.delete` / `conv.clearHistory` is
 * sent, the request is written to the store meta (`MetaKey.PENDING_DELETIONS`); it is
 * removed once the local wipe has committed. If the app dies after the server committed
 * but before the wipe, the entry is still there at the next login, which re-issues it
 * (the server op is idempotent) and completes the wipe.
 *
 * Every entry carries the `requestID` sent with the first attempt; a re-issue sends the
 * same one, and the server answers a request ID it already applied without deleting
 * again. So a re-issue after a crash can never erase messages that arrived after the
 * original deletion (without it, the repeated "delete everything up to now" would).
 *
 * Example: the meta value after `deleteConversation('c2c_bob')` was sent and before its
 * reply was applied:
 * `[{"id":"k1","conversationIDs":["c2c_bob"],"mode":"delete","requestID":"8f0c…","version":41}]`.
 * Entries written by older SDKs have neither `requestID` nor `version`; the recovery
 * gives such an entry a request ID (stored before it is sent) and works as before.
 */
import type { DeletionMode } from '@confab/protocol';
import type { LocalStore } from '../store/types.js';
import { MetaKey } from '../store/types.js';

export interface PendingDeletion {
  /** Local key of the entry, so concurrent deletions clear only their own. */
  id: string;
  conversationIDs: string[];
  mode: DeletionMode;
  /**
   * The idempotency key sent with `conv.delete` / `conv.clearHistory`, the same on every
   * attempt (see `REQUEST_ID_PATTERN`). Absent only in entries of older SDKs.
   */
  requestID?: string;
  /**
   * The device's sync version when the first attempt was sent. Rows at or below it
   * certainly predate the deletion, so a re-issue the server answers as already done
   * wipes only those, never a conversation a later message brought back.
   */
  version?: number;
}

const MODES: ReadonlySet<string> = new Set(['delete', 'deleteKeepHistory', 'clearHistory']);

/** What the server accepts as a deletion's `requestID`. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A fresh random request ID (a UUID where available), matching `REQUEST_ID_PATTERN`. */
export function newRequestID(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string; getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function isEntry(v: unknown): v is PendingDeletion {
  const e = v as PendingDeletion;
  return typeof e === 'object' && e !== null && typeof e.id === 'string' && MODES.has(e.mode)
    && Array.isArray(e.conversationIDs) && e.conversationIDs.every((id) => typeof id === 'string');
}

/** Drops optional fields that are not what this SDK wrote (the entry itself stays usable). */
function normalize(e: PendingDeletion): PendingDeletion {
  const { requestID, version, ...rest } = e;
  return {
    ...rest,
    ...(typeof requestID === 'string' && REQUEST_ID_PATTERN.test(requestID) ? { requestID } : {}),
    ...(Number.isSafeInteger(version) && version! >= 0 ? { version } : {}),
  };
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
      return Array.isArray(parsed) ? parsed.filter(isEntry).map(normalize) : [];
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

  /** Replaces the entry with the same `id` (nothing happens if it is gone). */
  update(entry: PendingDeletion): Promise<void> {
    return this.#serial(async () => {
      const all = await this.#read();
      const index = all.findIndex((e) => e.id === entry.id);
      if (index < 0) return;
      all[index] = entry;
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
