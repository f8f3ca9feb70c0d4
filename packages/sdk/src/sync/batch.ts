/**
 * Sans-I/O core of the sync engine: server rows + messages + what the store holds →
 * one StoreChangeBatch and the events it implies. No sockets, no timers, no store calls,
 * so tests feed hand-written frames and compare plain objects.
 */
import type { WireConversation, WireMessage } from '@confab/protocol';
import type { StoreChangeBatch, StoredConversation } from '../store/types.js';

export interface BatchInput {
  conversations: WireConversation[];
  messages: WireMessage[];
  /** The sync version the batch brings the device to (omit for message-only batches). */
  syncVersion?: number;
  /**
   * True during this device's first sync (it started at stored version 0). Such a device
   * treats everything the server already has as history, not as new messages: a fresh
   * install must not replay a year of chats through `onRecvNewMessage`, nor pull every
   * conversation's messages before its list is ready. The rows' unread counts and last
   * messages show what is new; opening a conversation loads its messages.
   */
  fresh: boolean;
  /**
   * Conversations this batch brings back by undoing a deletion: their history returns,
   * but none of it is new, so nothing is announced.
   */
  restored?: ReadonlySet<string>;
}

export interface BuiltBatch {
  batch: StoreChangeBatch;
  /** Rows new to the store (→ onNewConversation). */
  added: StoredConversation[];
  /** Rows that existed and differ now (→ onConversationChanged). */
  changed: StoredConversation[];
  /** Conversations that existed and were tombstoned (→ onConversationDeleted). */
  removed: string[];
  /** Messages the batch stores, ascending by (conversation, seq); the engine filters the seen ones. */
  messages: WireMessage[];
}

/** Where delivery starts for a conversation the device has not seen yet. */
export function initialDeliveredSeq(row: WireConversation | StoredConversation, fresh: boolean): number {
  return fresh ? Math.max(row.lastSeq, row.visibleFromSeq - 1, 0) : Math.max(row.visibleFromSeq - 1, 0);
}

function sameRow(a: StoredConversation, b: StoredConversation): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function buildBatch(input: BatchInput, existing: ReadonlyMap<string, StoredConversation>): BuiltBatch {
  // One row per conversation: the newest wins (a sync page may in theory repeat one).
  const rows = new Map<string, WireConversation>();
  for (const row of input.conversations) {
    const prev = rows.get(row.conversationID);
    if (!prev || row.version >= prev.version) rows.set(row.conversationID, row);
  }

  const batch: StoreChangeBatch = {
    upsertConversations: [], removeConversations: [], putMessages: [], dropMessagesBelow: [], clearMessages: [],
  };
  if (input.syncVersion !== undefined) batch.syncVersion = input.syncVersion;
  const out: BuiltBatch = { batch, added: [], changed: [], removed: [], messages: [] };

  // Highest seq per conversation among this batch's messages, for deliveredSeq.
  const maxSeqInBatch = new Map<string, number>();
  for (const m of input.messages) {
    maxSeqInBatch.set(m.conversationID, Math.max(maxSeqInBatch.get(m.conversationID) ?? 0, m.seq));
  }

  const live = new Map<string, StoredConversation>(existing);
  const tombstoned = new Set<string>();
  for (const row of rows.values()) {
    const old = existing.get(row.conversationID);
    // A row older than what we hold: the store already has a newer state of it.
    if (old && old.version > row.version) continue;
    if (row.deleted) {
      tombstoned.add(row.conversationID);
      live.delete(row.conversationID);
      // Remove even when unknown: history calls may have cached messages without a row.
      batch.removeConversations!.push(row.conversationID);
      if (old) out.removed.push(row.conversationID);
      continue;
    }
    const { deleted: _deleted, ...rest } = row;
    // Back after a deletion this device did not hear of (another device deleted it while
    // deletion sync was off, or the tombstone was hidden from `conv.sync`): the watermark
    // jumped past everything the device held and there is something above it. It is a new
    // conversation again, as on the devices that removed it.
    const reborn = !!old && row.visibleFromSeq > old.visibleFromSeq && row.visibleFromSeq > old.lastSeq
      && row.lastSeq >= row.visibleFromSeq;
    const known = old && !reborn ? old : undefined;
    const base = input.restored?.has(row.conversationID)
      ? row.lastSeq
      : known?.deliveredSeq ?? initialDeliveredSeq(row, input.fresh);
    const stored: StoredConversation = {
      ...rest,
      deliveredSeq: Math.max(base, maxSeqInBatch.get(row.conversationID) ?? 0),
    };
    live.set(row.conversationID, stored);
    if (reborn) batch.clearMessages!.push(row.conversationID);
    batch.upsertConversations!.push(stored);
    if (row.visibleFromSeq > 1 && (!old || old.visibleFromSeq < row.visibleFromSeq)) {
      batch.dropMessagesBelow!.push({ conversationID: row.conversationID, seq: row.visibleFromSeq });
    }
    if (!known) out.added.push(stored);
    else if (!sameRow(known, stored)) out.changed.push(stored);
  }

  const seenIDs = new Set<string>();
  for (const m of input.messages) {
    if (tombstoned.has(m.conversationID) || seenIDs.has(m.msgID)) continue;
    const conv = live.get(m.conversationID);
    if (conv && m.seq < conv.visibleFromSeq) continue; // already deleted for this user
    seenIDs.add(m.msgID);
    out.messages.push(m);
  }
  out.messages.sort((a, b) => (a.conversationID === b.conversationID ? a.seq - b.seq : a.conversationID < b.conversationID ? -1 : 1));
  batch.putMessages = out.messages;
  return out;
}
