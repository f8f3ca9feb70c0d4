import type { MessageElem } from '@confab/protocol';
import type { ConversationRow, MessageExtra, StoredMessage, UserChange } from './types.js';

/**
 * Recalls and modifications change a message every participant shares; a per-user
 * deletion hides messages from one user only. Both must reach offline devices through
 * `conv.sync`, so both stamp conversation rows (with a version step):
 *
 * - Each conversation has a change counter (`conversations.change_seq`). A recall or
 *   modification steps it and records it on the message row (indexed by
 *   (app, conv_key, change_seq)). A participant's row records the highest change seq it
 *   has taken (`changeSeq`): in a one-to-one chat both rows move in the same transaction;
 *   in a group the actor's row moves at once and the members' rows through the change
 *   queue, a chunk of members per transaction (`changeStep`), never on the writer path.
 * - A user's deletions are recorded per message with a per-row counter (`deleteSeq`).
 *
 * A device that sees a row's counters above what it holds pages `msg.changes`.
 */
export interface MessageChangeRequest {
  app: number;
  convKey: string;
  seq: number;
  kind: 'revoke' | 'modify';
  /** Who recalls or modifies (a user, or the app's admin over REST). */
  actor: string;
  elem?: MessageElem;
  reason?: string;
  /** Modify only: the version the change is based on; another one refuses (conflict). */
  expectModifyVersion?: number;
  /**
   * Users whose rows take the change in this transaction: both sides of a one-to-one
   * chat, or the actor of a group change (the members follow through the change queue).
   */
  participants: string[];
  /** A group change: queued for the members. */
  group: boolean;
  now: number;
  /**
   * Called inside the transaction with the message as stored (locked): throws to refuse
   * the change (window passed, not allowed, version conflict), changing nothing.
   */
  check(message: StoredMessage): void;
}

export interface MessageChangeResult {
  message: StoredMessage;
  changes: UserChange[];
  /**
   * The changed messages each participant's update carries: every change its row moves
   * past, not only this one (an owner's row may jump over an admin's recall that the change
   * queue had not brought it yet). Absent for a user: more than 100, the device pages.
   */
  delivered: Map<string, StoredMessage[]>;
}

export interface MessageDeleteResult {
  /** The seqs deleted now (already deleted, unknown and invisible ones are left out). */
  seqs: number[];
  change: UserChange | null;
}

export interface ChangesPage {
  changed: StoredMessage[];
  deleted: number[];
  /** Where the next page starts. */
  changeSeq: number;
  deleteSeq: number;
  isFinished: boolean;
}

export interface ChangeJob {
  app: number;
  convKey: string;
  changeTo: number;
}

export interface ChangeStepResult {
  changes: UserChange[];
  /** The changed messages each member's update carries (absent: too many; the device pages). */
  delivered: Map<string, StoredMessage[]>;
  done: boolean;
}

export interface MessageMutationStore {
  /** Recalls or modifies one message in one transaction (see `MessageChangeRequest`). Undefined: no such message. */
  change(req: MessageChangeRequest): Promise<MessageChangeResult | undefined>;
  /**
   * Deletes messages for one user: records them, steps the row's `deleteSeq` and the
   * user's version. A one-to-one message both sides deleted has its content erased in
   * the same transaction.
   */
  deleteForUser(app: number, userID: string, convKey: string, seqs: number[], now: number): Promise<MessageDeleteResult>;
  /** Of the seqs in `fromSeq..toSeq`, those the user deleted (history leaves them out). */
  deletedIn(app: number, userID: string, convKey: string, fromSeq: number, toSeq: number): Promise<Set<number>>;
  /**
   * The newest message in `fromSeq..toSeq` the user did not delete for themselves: the
   * last message a conversation list shows them once they deleted the one at its end.
   */
  lastVisible(app: number, userID: string, convKey: string, fromSeq: number, toSeq: number): Promise<StoredMessage | undefined>;
  /** A page of `msg.changes` for one user's row (changed messages within its visible range). */
  changesPage(app: number, row: ConversationRow, afterChangeSeq: number, afterDeleteSeq: number, count: number): Promise<ChangesPage>;
  /** Group changes not yet applied to every member's row. */
  changeQueue(limit: number): Promise<ChangeJob[]>;
  /** Applies a group's pending changes to at most `maxMembers` members' rows. */
  changeStep(app: number, convKey: string, maxMembers: number): Promise<ChangeStepResult>;
}

/** Changed messages one update carries at most; beyond, the device pages `msg.changes`. */
export const MAX_CHANGES_IN_UPDATE = 100;

/** The element a recalled message keeps: its content is gone. */
export const REVOKED_ELEM: MessageElem = { type: 'text', text: '' };

/**
 * What a recalled message keeps of its extra fields: the sender's profile, not the cloud
 * custom data or the push text, which are content.
 */
export function revokedExtra(extra: MessageExtra | undefined): MessageExtra | undefined {
  if (!extra) return undefined;
  const kept: MessageExtra = {};
  if (extra.nickName !== undefined) kept.nickName = extra.nickName;
  if (extra.faceUrl !== undefined) kept.faceUrl = extra.faceUrl;
  return Object.keys(kept).length ? kept : undefined;
}

/** Whether a user's row shows the message at `seq`. */
export function rowSees(row: ConversationRow | undefined, seq: number): row is ConversationRow {
  return !!row && seq >= row.visibleFromSeq && seq <= row.lastSeq;
}

/** The message columns recalls and modifications add, as both SQL backends return them. */
export interface RawMutationColumns {
  change_seq?: number;
  modify_version?: number;
  revoker?: string | null;
  revoke_reason?: string | null;
}

export const MUTATION_COLUMNS = 'change_seq, modify_version, revoker, revoke_reason';

/** Adds the recall/modification state of a raw row to a message (nothing for a message never changed). */
export function withMutations(message: StoredMessage, raw: RawMutationColumns): StoredMessage {
  if (raw.change_seq) message.changeSeq = raw.change_seq;
  if (raw.modify_version) message.modifyVersion = raw.modify_version;
  if (raw.revoker) message.revoker = raw.revoker;
  if (raw.revoke_reason) message.revokeReason = raw.revoke_reason;
  return message;
}
