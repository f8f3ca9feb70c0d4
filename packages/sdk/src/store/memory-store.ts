/**
 * The default store: plain maps, gone when the process ends. Each scope (app + user) has
 * its own maps, and they survive `close()`/`open()` within one MemoryStore object, so a
 * user who logs out and back in inside one process still sees the cached list.
 */
import { validateBatch, validateScope, notOpen } from './validate.js';
import { comparePositions, positionOf, touchedConversations, unreadDelta } from './order.js';
import type {
  ConversationPosition, LocalStore, MessageQuery, StoreChangeBatch, StoredConversation, StoredMessage, StoreScope,
} from './types.js';
import { MetaKey } from './types.js';
import { keepLocalFields, withLocalCustom } from './local-custom.js';

interface ScopeData {
  meta: Map<string, string>;
  conversations: Map<string, StoredConversation>;
  /** conversationID → seq → message. */
  messages: Map<string, Map<number, StoredMessage>>;
  /** msgID → [conversationID, seq], to find the old copy of a re-put message. */
  byID: Map<string, [string, number]>;
  /** Every conversation's position, in list order (the list's ordered index). */
  order: ConversationPosition[];
  /** Sum of unreadCount over `conversations`, moved by each batch's delta. */
  totalUnread: number;
}

function emptyScope(): ScopeData {
  return { meta: new Map(), conversations: new Map(), messages: new Map(), byID: new Map(), order: [], totalUnread: 0 };
}

/** The first index in `order` whose position comes strictly after `p` (binary search). */
function indexAfter(order: ConversationPosition[], p: ConversationPosition): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (comparePositions(order[mid]!, p) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Above this many touched rows a batch rebuilds the order by one merge instead of a splice per row. */
const BULK_REORDER = 64;

/**
 * The order after a large batch (a 1000-row sync page): the untouched positions keep
 * their order, the touched rows' current positions are sorted and merged in — O(n + k log k)
 * where a splice per row would be O(n·k).
 */
function reorder(order: ConversationPosition[], rows: ReadonlyMap<string, StoredConversation>, touched: string[]): ConversationPosition[] {
  const moved = new Set(touched);
  const kept = order.filter((p) => !moved.has(p.conversationID));
  const added: ConversationPosition[] = [];
  for (const id of moved) {
    const c = rows.get(id);
    if (c) added.push(positionOf(c));
  }
  added.sort(comparePositions);
  const out: ConversationPosition[] = [];
  let i = 0;
  let j = 0;
  while (i < kept.length || j < added.length) {
    if (j >= added.length || (i < kept.length && comparePositions(kept[i]!, added[j]!) < 0)) out.push(kept[i++]!);
    else out.push(added[j++]!);
  }
  return out;
}

/**
 * Keeps `order` in step with one row write: a sorted array updated by binary search and
 * one splice per changed position (a memmove of pointers: microseconds at 10k rows).
 */
function reposition(order: ConversationPosition[], old: StoredConversation | undefined, next: StoredConversation | undefined): void {
  if (old && next && comparePositions(positionOf(old), positionOf(next)) === 0) return;
  if (old) {
    const i = indexAfter(order, positionOf(old)) - 1;
    if (i >= 0 && order[i]!.conversationID === old.conversationID) order.splice(i, 1);
  }
  if (next) {
    const p = positionOf(next);
    order.splice(indexAfter(order, p), 0, p);
  }
}

/**
 * Copies so callers can never mutate what the store holds (a SQLite store can't be
 * mutated either). Rows and messages are plain JSON data, so a recursive copy of arrays
 * and plain objects is enough — and some ten times faster than `structuredClone`, which
 * made paging a 10k list cost ~300 ms in copies alone.
 */
function clone<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(clone) as T;
  const out: Record<string, unknown> = {};
  for (const k in v) out[k] = clone((v as Record<string, unknown>)[k]);
  return out as T;
}

export class MemoryStore implements LocalStore {
  #scopes = new Map<string, ScopeData>();
  #current: ScopeData | undefined;

  async open(scope: StoreScope): Promise<void> {
    validateScope(scope);
    const key = `${scope.sdkAppID}\u0000${scope.userID}`;
    let data = this.#scopes.get(key);
    if (!data) this.#scopes.set(key, (data = emptyScope()));
    this.#current = data;
  }

  async close(): Promise<void> {
    this.#current = undefined;
  }

  #data(): ScopeData {
    return this.#current ?? notOpen();
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.#data().meta.get(key);
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.#data().meta.set(key, String(value));
  }

  async listConversations(): Promise<StoredConversation[]> {
    return [...this.#data().conversations.values()].map(clone);
  }

  async listConversationPage(after: ConversationPosition | undefined, count: number): Promise<StoredConversation[]> {
    const data = this.#data();
    if (!(count > 0)) return [];
    const start = after ? indexAfter(data.order, after) : 0;
    return data.order.slice(start, start + count).map((p) => clone(data.conversations.get(p.conversationID)!));
  }

  async getTotalUnread(): Promise<number> {
    return this.#data().totalUnread;
  }

  async getConversations(conversationIDs: string[]): Promise<StoredConversation[]> {
    const data = this.#data();
    const out: StoredConversation[] = [];
    for (const id of new Set(conversationIDs)) {
      const c = data.conversations.get(id);
      if (c) out.push(clone(c));
    }
    return out;
  }

  async getConversation(conversationID: string): Promise<StoredConversation | undefined> {
    const c = this.#data().conversations.get(conversationID);
    return c && clone(c);
  }

  async getMessages(conversationID: string, query: MessageQuery): Promise<StoredMessage[]> {
    const bySeq = this.#data().messages.get(conversationID);
    if (!bySeq || query.limit <= 0) return [];
    const all = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    if (query.afterSeq !== undefined) {
      return all.filter((m) => m.seq > query.afterSeq!).slice(0, query.limit).map(clone);
    }
    const below = query.beforeSeq === undefined ? all : all.filter((m) => m.seq < query.beforeSeq!);
    return below.slice(Math.max(0, below.length - query.limit)).map(clone);
  }

  async getMessagesByID(msgIDs: string[]): Promise<StoredMessage[]> {
    const data = this.#data();
    const out: StoredMessage[] = [];
    for (const id of new Set(msgIDs)) {
      const loc = data.byID.get(id);
      const m = loc && data.messages.get(loc[0])?.get(loc[1]);
      if (m) out.push(clone(m));
    }
    return out;
  }

  async apply(batch: StoreChangeBatch): Promise<void> {
    const data = this.#data();
    // Validate everything first: maps cannot roll back.
    validateBatch(batch);
    const before = new Map<string, number>();
    for (const id of touchedConversations(batch)) {
      const c = data.conversations.get(id);
      if (c) before.set(id, c.unreadCount);
    }
    data.totalUnread += unreadDelta(batch, before);
    const touched = (batch.removeConversations?.length ?? 0) + (batch.upsertConversations?.length ?? 0);
    const bulk = touched > BULK_REORDER;
    for (const id of batch.removeConversations ?? []) {
      if (!bulk) reposition(data.order, data.conversations.get(id), undefined);
      data.conversations.delete(id);
      this.#clear(data, id);
    }
    for (const id of batch.clearMessages ?? []) this.#clear(data, id);
    for (const c of batch.upsertConversations ?? []) {
      const next = clone(c);
      if (!bulk) reposition(data.order, data.conversations.get(c.conversationID), next);
      data.conversations.set(c.conversationID, next);
    }
    if (bulk) data.order = reorder(data.order, data.conversations, touchedConversations(batch));
    for (const m of batch.putMessages ?? []) this.#put(data, clone(m));
    for (const { conversationID, seq } of batch.dropMessagesBelow ?? []) {
      const bySeq = data.messages.get(conversationID);
      for (const [s, m] of bySeq ?? []) {
        if (s < seq) {
          bySeq!.delete(s);
          data.byID.delete(m.msgID);
        }
      }
    }
    if (batch.syncVersion !== undefined) data.meta.set(MetaKey.SYNC_VERSION, String(batch.syncVersion));
    for (const patch of batch.setLocalCustom ?? []) {
      const loc = data.byID.get(patch.msgID);
      const m = loc && data.messages.get(loc[0])?.get(loc[1]);
      if (m) data.messages.get(loc[0])!.set(loc[1], withLocalCustom(m, patch));
    }
  }

  async searchMessages(conversationID: string | undefined, match: (m: StoredMessage) => boolean): Promise<StoredMessage[]> {
    const data = this.#data();
    const lists = conversationID === undefined ? [...data.messages.values()] : [data.messages.get(conversationID) ?? new Map<number, StoredMessage>()];
    const out: StoredMessage[] = [];
    for (const bySeq of lists) for (const m of bySeq.values()) if (match(m)) out.push(clone(m));
    return out;
  }

  #clear(data: ScopeData, conversationID: string): void {
    for (const m of data.messages.get(conversationID)?.values() ?? []) data.byID.delete(m.msgID);
    data.messages.delete(conversationID);
  }

  #put(data: ScopeData, m: StoredMessage): void {
    // Same msgID stored elsewhere (should not happen, but the server is the truth): move it.
    const old = data.byID.get(m.msgID);
    if (old) {
      keepLocalFields(m, data.messages.get(old[0])?.get(old[1]));
      data.messages.get(old[0])?.delete(old[1]);
    }
    let bySeq = data.messages.get(m.conversationID);
    if (!bySeq) data.messages.set(m.conversationID, (bySeq = new Map()));
    const displaced = bySeq.get(m.seq);
    if (displaced) data.byID.delete(displaced.msgID);
    bySeq.set(m.seq, m);
    data.byID.set(m.msgID, [m.conversationID, m.seq]);
  }
}
