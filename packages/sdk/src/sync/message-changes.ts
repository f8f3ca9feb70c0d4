/**
 * Recalls, modifications and this user's own message deletions, applied to the local
 * store with the rows that announce them (docs/protocol.md, "Changing sent messages").
 *
 * A row's `changeSeq` / `deleteSeq` above what the stored row holds means something
 * changed in that conversation. The update that moved them usually carries what changed
 * (`changedMessages`, `deletedMessages`); when it does not (a `conv.sync` after being
 * offline, or a group member's row that jumped over more than 100 changes), the device
 * pages `msg.changes` from the stored counters before the rows are stored, so a failed
 * fetch leaves the counters where they were and the next sync asks again.
 *
 * A deleted message stays in the store as a content-free entry with status
 * HAS_DELETED (4): history calls skip it, and a later history page from the server (for
 * a device-only deletion the server still has) cannot bring it back.
 */
import { MessageStatus, type DeletedMessageRef, type WireConversation, type WireMessage } from '@confab/protocol';
import type { LocalStore, StoreChangeBatch, StoredConversation } from '../store/types.js';
import type { Requester } from './sync-engine.js';

export interface GivenChanges {
  changed?: WireMessage[];
  deleted?: DeletedMessageRef[];
}

export interface CollectedChanges {
  changed: WireMessage[];
  deleted: DeletedMessageRef[];
}

/** `msg.changes` pages for one conversation at most (100 changes each). */
const MAX_PAGES = 1000;

/** What changed in the conversations of `rows`, from the update or from `msg.changes`. */
export async function collectChanges(rows: WireConversation[], existing: ReadonlyMap<string, StoredConversation>,
  given: GivenChanges, request: Requester): Promise<CollectedChanges> {
  const changed = [...(given.changed ?? [])];
  const deleted = [...(given.deleted ?? [])];
  const givenChanged = new Set(changed.map((m) => m.conversationID));
  const givenDeleted = new Set(deleted.map((d) => d.conversationID));
  for (const row of rows) {
    const old = existing.get(row.conversationID);
    // A row new to the device has nothing cached that could be stale.
    if (!old || row.deleted || old.version > row.version) continue;
    const needChanges = (row.changeSeq ?? 0) > (old.changeSeq ?? 0) && !givenChanged.has(row.conversationID);
    const needDeletes = (row.deleteSeq ?? 0) > (old.deleteSeq ?? 0) && !givenDeleted.has(row.conversationID);
    if (!needChanges && !needDeletes) continue;
    let afterChangeSeq = needChanges ? old.changeSeq ?? 0 : row.changeSeq ?? 0;
    let afterDeleteSeq = needDeletes ? old.deleteSeq ?? 0 : row.deleteSeq ?? 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await request('msg.changes', { conversationID: row.conversationID, afterChangeSeq, afterDeleteSeq, count: 100 });
      changed.push(...res.changed);
      deleted.push(...res.deleted);
      if (res.isFinished || (res.changeSeq <= afterChangeSeq && res.deleteSeq <= afterDeleteSeq)) break;
      afterChangeSeq = res.changeSeq;
      afterDeleteSeq = res.deleteSeq;
    }
  }
  return { changed, deleted };
}

/** A deleted message as the store keeps it: position and sender, no content. */
export function deletedEntry(m: WireMessage): WireMessage {
  return { ...m, status: MessageStatus.HAS_DELETED, elem: { type: 'text', text: '' } };
}

/**
 * Adds the changes to a batch: cached messages take their new state (deleted ones become
 * content-free entries), and a row whose last message was deleted shows the newest
 * message before it that the store holds, or none. Returns the messages to announce.
 */
export async function addChangesToBatch(store: LocalStore, batch: StoreChangeBatch, changes: CollectedChanges): Promise<{ revoked: WireMessage[]; modified: WireMessage[] }> {
  const out = { revoked: [] as WireMessage[], modified: [] as WireMessage[] };
  if (changes.changed.length === 0 && changes.deleted.length === 0) return out;
  const ids = [...changes.changed.map((m) => m.msgID), ...changes.deleted.map((d) => d.msgID)];
  const cached = new Map((await store.getMessagesByID(ids)).map((m) => [m.msgID, m]));
  // Changes are oldest first: a message recalled after a modification ends recalled.
  const latest = new Map<string, WireMessage>();
  for (const m of changes.changed) latest.set(m.msgID, m);
  const gone = new Set(changes.deleted.map((d) => d.msgID));
  batch.putMessages ??= [];
  for (const m of latest.values()) {
    const had = cached.get(m.msgID);
    if (gone.has(m.msgID) || had?.status === MessageStatus.HAS_DELETED) continue;
    if (had && (had.modifyVersion ?? 0) >= (m.modifyVersion ?? 0)) continue; // already applied
    if (had) batch.putMessages.push(m);
    if (m.status === MessageStatus.LOCAL_REVOKED) out.revoked.push(m);
    else out.modified.push(m);
  }
  for (const id of gone) {
    const had = cached.get(id);
    if (had && had.status !== MessageStatus.HAS_DELETED) batch.putMessages.push(deletedEntry(had));
  }
  await fixLastMessages(store, batch, latest, gone, changes.deleted.map((d) => d.conversationID));
  return out;
}

/** Rows (in the batch, else stored) whose last message changed or was deleted. */
async function fixLastMessages(store: LocalStore, batch: StoreChangeBatch, latest: Map<string, WireMessage>, gone: Set<string>,
  deletedIn: string[]): Promise<void> {
  batch.upsertConversations ??= [];
  const inBatch = new Map(batch.upsertConversations.map((c, i) => [c.conversationID, i]));
  const touched = [...new Set([...[...latest.values()].map((m) => m.conversationID), ...deletedIn])];
  const stored = new Map((await store.getConversations(touched.filter((id) => !inBatch.has(id)))).map((c) => [c.conversationID, c]));
  for (const conversationID of touched) {
    const index = inBatch.get(conversationID);
    const row = index !== undefined ? batch.upsertConversations[index]! : stored.get(conversationID);
    const last = row?.lastMessage;
    if (!row || !last) continue;
    let next: WireMessage | null = last;
    if (gone.has(last.msgID)) {
      // The newest cached message before it that is still there (none cached: no last message).
      const before = await store.getMessages(conversationID, { beforeSeq: last.seq, limit: 20 });
      next = [...before].reverse().find((m) => m.status !== MessageStatus.HAS_DELETED && !gone.has(m.msgID)) ?? null;
    } else if (latest.has(last.msgID)) {
      next = latest.get(last.msgID)!;
    }
    if (next === last) continue;
    // A row of the batch is changed in place: it is the object the row events carry.
    if (index !== undefined) row.lastMessage = next;
    else batch.upsertConversations.push({ ...row, lastMessage: next });
  }
}

/**
 * Leaves out messages the store holds as deleted: a history page from the server still
 * has a message this device deleted only locally (`deleteMessageFromLocalStorage`).
 */
export async function keepLocalDeletions(store: LocalStore, messages: WireMessage[]): Promise<WireMessage[]> {
  if (messages.length === 0) return messages;
  const deleted = new Set((await store.getMessagesByID(messages.map((m) => m.msgID)))
    .filter((m) => m.status === MessageStatus.HAS_DELETED).map((m) => m.msgID));
  return deleted.size ? messages.filter((m) => !deleted.has(m.msgID)) : messages;
}
