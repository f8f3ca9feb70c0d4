/**
 * The face's copy of the conversation list, in core objects. The Web SDK's
 * CONVERSATION_LIST_UPDATED carries the whole sorted list, so the face keeps every
 * conversation in memory (the reference does too) and applies the core's deltas
 * (onNewConversation / onConversationChanged / onConversationDeleted) to it.
 *
 * It starts from one snapshot read inside the sync engine's write queue (see chat.ts):
 * nothing commits while it is read, so every delta the core announces afterwards is newer
 * than the snapshot and can simply replace the row.
 */
import type { V2TIMConversation } from '@confab/sdk';

/** Pinned first, then the core's orderKey (activity) descending, then ID: the core's own list order. */
function compare(a: V2TIMConversation, b: V2TIMConversation): number {
  if (a.isPinned !== b.isPinned) return a.isPinned ? -1 : 1;
  if (a.orderKey !== b.orderKey) return b.orderKey - a.orderKey;
  return a.conversationID < b.conversationID ? -1 : a.conversationID > b.conversationID ? 1 : 0;
}

export class ConversationList {
  readonly #byID = new Map<string, V2TIMConversation>();
  /**
   * IDs shown only here: `getConversationProfile` on a conversation with no message yet
   * adds it to the list, as the reference does, before the server knows it.
   */
  readonly #localOnly = new Set<string>();
  /** Set when the list changed since the last CONVERSATION_LIST_UPDATED. */
  dirty = false;

  reset(rows: V2TIMConversation[]): void {
    this.#byID.clear();
    this.#localOnly.clear();
    for (const c of rows) this.#byID.set(c.conversationID, c);
    this.dirty = true;
  }

  upsert(rows: V2TIMConversation[]): void {
    for (const c of rows) {
      this.#byID.set(c.conversationID, c);
      this.#localOnly.delete(c.conversationID);
    }
    if (rows.length) this.dirty = true;
  }

  remove(coreIDs: string[]): void {
    for (const id of coreIDs) {
      if (this.#byID.delete(id)) this.dirty = true;
      this.#localOnly.delete(id);
    }
  }

  addLocal(c: V2TIMConversation): void {
    this.#byID.set(c.conversationID, c);
    this.#localOnly.add(c.conversationID);
    this.dirty = true;
  }

  get(coreID: string): V2TIMConversation | undefined {
    return this.#byID.get(coreID);
  }

  has(coreID: string): boolean {
    return this.#byID.has(coreID);
  }

  /** Replaces one row's fields locally (e.g. a draft kept on this device only). */
  patch(coreID: string, patch: Partial<V2TIMConversation>): void {
    const c = this.#byID.get(coreID);
    if (!c) return;
    this.#byID.set(coreID, { ...c, ...patch });
    this.dirty = true;
  }

  sorted(): V2TIMConversation[] {
    return [...this.#byID.values()].sort(compare);
  }

  clear(): void {
    this.#byID.clear();
    this.#localOnly.clear();
    this.dirty = false;
  }
}
