/**
 * Background prefetch of the first screen's messages. After `onSyncServerFinish` a fresh
 * device holds every conversation with its last message but no history (see
 * sync-engine.ts); the conversations a user is most likely to open next are the top of
 * the list, so their newest messages are fetched now, a few requests at a time, and the
 * chat opens from the cache. Never before the list is ready, never the whole list: with
 * 10k conversations this is `conversations` requests at most, and none for conversations
 * whose newest messages are already cached.
 */
import type { Logger } from '../log.js';
import type { LocalStore, StoredConversation } from '../store/types.js';
import type { Requester } from './sync-engine.js';
import type { WireMessage } from '@confab/protocol';

export interface HistoryPrefetchOptions {
  /** How many conversations from the top of the list. Default 20. */
  conversations?: number;
  /** Newest messages per conversation. Default 20 (at most 100, one history page). */
  messages?: number;
}

export const PREFETCH_DEFAULTS = { conversations: 20, messages: 20 } as const;
/** Requests in flight at once: the prefetch must leave the connection's window to the app. */
export const PREFETCH_CONCURRENCY = 4;

export interface PrefetchDeps {
  store: LocalStore;
  request: Requester;
  /** Stores fetched messages (the engine's cacheHistory, in its write queue). */
  cache(messages: WireMessage[]): Promise<void>;
  stopped(): boolean;
  log: Logger;
}

/** True when the newest `want` visible messages of `c` are all cached. */
async function cached(store: LocalStore, c: StoredConversation, want: number): Promise<boolean> {
  const have = await store.getMessages(c.conversationID, { limit: want });
  return have.length === want && have[0]!.seq === c.lastSeq - want + 1 && have[want - 1]!.seq === c.lastSeq;
}

/** Fetches and caches the newest messages of the top conversations; resolves when done. Never rejects. */
export async function prefetchFirstScreen(deps: PrefetchDeps, options: HistoryPrefetchOptions = {}): Promise<void> {
  const conversations = Math.max(0, Math.floor(options.conversations ?? PREFETCH_DEFAULTS.conversations));
  const messages = Math.min(100, Math.max(1, Math.floor(options.messages ?? PREFETCH_DEFAULTS.messages)));
  if (conversations === 0) return;
  try {
    const todo: string[] = [];
    for (const c of await deps.store.listConversationPage(undefined, conversations)) {
      const floor = Math.max(1, c.visibleFromSeq);
      if (c.lastSeq < floor) continue; // nothing visible to fetch
      if (!(await cached(deps.store, c, Math.min(messages, c.lastSeq - floor + 1)))) todo.push(c.conversationID);
    }
    const work = async (): Promise<void> => {
      for (let id = todo.shift(); id !== undefined && !deps.stopped(); id = todo.shift()) {
        try {
          const res = await deps.request('msg.history', { conversationID: id, count: messages });
          if (!deps.stopped()) await deps.cache(res.messages);
        } catch (err) {
          deps.log.debug(`prefetching ${id} failed: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PREFETCH_CONCURRENCY, todo.length) }, work));
  } catch (err) {
    // A store closed by a logout mid-way: the prefetch is only a head start.
    deps.log.debug(`history prefetch stopped: ${(err as Error).message}`);
  }
}
