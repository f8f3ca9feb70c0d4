import type { ConversationPatch, ConversationRow, DeletionMode } from './types.js';

/**
 * The rules for changing one user's conversation row, shared by every storage backend
 * so SQLite and PostgreSQL cannot drift apart. Backends decide how rows are read,
 * locked and written; these functions decide what the new row is.
 */

/** A fresh row whose history starts at `visibleFromSeq` (1 for a new chat; after the last message for a new group member). */
export function newConversationRow(userID: string, convKey: string, conversationID: string, visibleFromSeq: number): ConversationRow {
  return {
    userID, convKey, conversationID, lastSeq: visibleFromSeq - 1, unreadCount: 0, readSeq: visibleFromSeq - 1,
    visibleFromSeq, orderKey: 0, isPinned: false, draftText: '', draftTimestamp: 0, customData: '', marks: [],
    deleted: false, version: 0, changeSeq: 0, deleteSeq: 0,
  };
}

/**
 * The row a patch applies to, or undefined when there is none and the patch may not
 * create one (the caller reports the conversation missing). Pinning or drafting a
 * conversation with no live row starts one, as the reference activates a conversation
 * on pin and on draft; a tombstone keeps its watermark so nothing from before a
 * deletion comes back.
 */
export function rowForPatch(existing: ConversationRow | undefined, target: { convKey: string; conversationID: string; create: boolean }, userID: string): ConversationRow | undefined {
  if (existing && !existing.deleted) return existing;
  if (!target.create) return undefined;
  return existing ? { ...existing, deleted: false } : newConversationRow(userID, target.convKey, target.conversationID, 1);
}

export function applyPatch(row: ConversationRow, patch: ConversationPatch): void {
  switch (patch.kind) {
    case 'markRead':
      row.readSeq = row.lastSeq;
      row.unreadCount = 0;
      return;
    case 'pin':
      row.isPinned = patch.isPinned;
      return;
    case 'draft':
      row.draftText = patch.draftText;
      row.draftTimestamp = patch.draftText === '' ? 0 : patch.now;
      return;
    case 'customData':
      row.customData = patch.customData;
      return;
    case 'mark': {
      // Marks are labels only (the reference's UNREAD mark does not change unreadCount,
      // HIDE hides nothing); kept sorted so equal sets compare equal.
      const marks = new Set(row.marks);
      if (patch.enable) marks.add(patch.markType);
      else marks.delete(patch.markType);
      row.marks = [...marks].sort((a, b) => a - b);
      return;
    }
  }
}

/** Pinning and setting a draft raise the conversation in the list; the others do not. */
export function patchActivates(patch: ConversationPatch): boolean {
  return patch.kind === 'pin' ? patch.isPinned : patch.kind === 'draft' && patch.draftText !== '';
}

/** The row fields a deletion changes, kept while it can be undone. */
export type Snapshot = Pick<ConversationRow, 'visibleFromSeq' | 'deleted' | 'isPinned' | 'draftText' | 'draftTimestamp' | 'customData' | 'marks' | 'unreadCount' | 'readSeq' | 'lastSeq'>;

/**
 * Applies a deletion or history clear to a row. Returns undefined when it changes
 * nothing (deleting again is idempotent), else the audit watermark (null when history
 * was kept) and the row as it was, for undo.
 */
export function applyRemoval(row: ConversationRow, mode: DeletionMode): { watermark: number | null; snapshot: Snapshot } | undefined {
  const snapshot: Snapshot = {
    visibleFromSeq: row.visibleFromSeq, deleted: row.deleted, isPinned: row.isPinned, draftText: row.draftText,
    draftTimestamp: row.draftTimestamp, customData: row.customData, marks: row.marks, unreadCount: row.unreadCount, readSeq: row.readSeq, lastSeq: row.lastSeq,
  };
  const before = JSON.stringify(row);
  if (mode !== 'deleteKeepHistory') {
    // The watermark: everything up to the last message is gone for this user. It never
    // moves backwards, so a late duplicate request cannot resurrect anything.
    row.visibleFromSeq = Math.max(row.visibleFromSeq, row.lastSeq + 1);
  }
  row.unreadCount = 0;
  row.readSeq = Math.max(row.readSeq, row.lastSeq);
  if (mode !== 'clearHistory') {
    // A deleted conversation comes back only with a new message, and then starts clean:
    // no pin, draft or custom data from before.
    row.deleted = true;
    row.isPinned = false;
    row.draftText = '';
    row.draftTimestamp = 0;
    row.customData = '';
    row.marks = [];
  }
  if (JSON.stringify(row) === before) return undefined;
  return { watermark: mode === 'deleteKeepHistory' ? null : row.visibleFromSeq, snapshot };
}

/** Undoes a deletion on a row from the snapshot taken when it was removed. */
export function applyUndo(row: ConversationRow, snapshot: Snapshot, mode: DeletionMode): void {
  if (mode === 'clearHistory') {
    // A clear changed only the history: give back the history, and leave everything the
    // user did since (replies, reads, a pin or draft) as it is now.
    row.visibleFromSeq = Math.min(row.visibleFromSeq, snapshot.visibleFromSeq);
  } else if (row.deleted) {
    // Nothing happened since: the row is exactly as it was before the deletion.
    Object.assign(row, { ...snapshot, lastSeq: row.lastSeq });
  } else {
    // A new message brought the conversation back meanwhile: keep its new state and give
    // back only the history.
    row.visibleFromSeq = Math.min(row.visibleFromSeq, snapshot.visibleFromSeq);
  }
}
