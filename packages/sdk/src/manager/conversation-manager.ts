/**
 * `V2TIMConversationManager`: the conversation list, served from the LOCAL store (the sync
 * engine keeps it current), and the few conversation writes, which go to the server and
 * come back as an `update` the engine applies before the promise resolves.
 */
import {
  ConfabError, ErrorCode, MAX_BATCH, MAX_MARK_TYPE, parseConversationID, tryParseConversationID,
} from '@confab/protocol';
import { withCallback, type CallbackResult, type V2TIMCallback, type V2TIMValueCallback } from '../callback.js';
import { toV2Conversation } from '../convert.js';
import { positionOf } from '../store/order.js';
import type { StoredConversation } from '../store/types.js';
import type { DeletionStatus as V2TIMConversationDeletionStatus } from '@confab/protocol';
import type {
  V2TIMConversation, V2TIMConversationListener, V2TIMConversationOperationResult, V2TIMConversationResult,
} from '../types.js';
import type { SdkCore, Session } from './core.js';
import { removeConversations } from './deletion.js';
import { markAllRead, markReadUpTo } from './read-state.js';

/** The reference's limit for customData. */
const MAX_CUSTOM_DATA_BYTES = 256;

function byteLength(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** A list of conversation IDs for a batch call: 1 to 100 of them (6017 / 51006). */
function checkBatch(conversationIDs: unknown): asserts conversationIDs is string[] {
  if (!Array.isArray(conversationIDs) || conversationIDs.length === 0) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'conversationIDs must be a non-empty array');
  }
  if (conversationIDs.length > MAX_BATCH) {
    throw new ConfabError(ErrorCode.TOO_MANY_CONVERSATIONS, `at most ${MAX_BATCH} conversations per call`);
  }
}

/** A conversation the store does not hold yet: what `getConversation` returns for a valid, unknown ID. */
function blankConversation(conversationID: string): StoredConversation {
  const p = parseConversationID(conversationID);
  return {
    conversationID, type: p.type,
    ...(p.type === 1 ? { userID: p.userID } : { groupID: p.groupID }),
    lastSeq: 0, lastMessage: null, unreadCount: 0, readSeq: 0, visibleFromSeq: 0, orderKey: 0,
    isPinned: false, draftText: '', draftTimestamp: 0, customData: '', markList: [], version: 0,
  };
}

export class V2TIMConversationManager {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  addConversationListener(listener: V2TIMConversationListener): void {
    this.#core.conversationListeners.add(listener);
  }

  removeConversationListener(listener: V2TIMConversationListener): void {
    this.#core.conversationListeners.delete(listener);
  }

  #v2(s: Session, c: StoredConversation): V2TIMConversation {
    return toV2Conversation(c, s.userID, s.names, s.fileUrl);
  }

  /**
   * A page of the local list: pinned first, then orderKey descending (then
   * conversationID). `nextSeq` 0 = first page, then the `nextSeq` the previous page
   * returned: an opaque cursor valid for this login session (see list-cursors.ts for
   * what it guarantees when the list changes between pages). Each page is one read of
   * the store's ordered index, so its cost does not grow with the list.
   */
  getConversationList<C extends V2TIMValueCallback<V2TIMConversationResult> | undefined>(
    nextSeq: number, count: number, cb?: C,
  ): CallbackResult<V2TIMConversationResult, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      if (!Number.isSafeInteger(nextSeq) || nextSeq < 0 || !Number.isSafeInteger(count) || count <= 0) {
        throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'nextSeq must be >= 0 and count > 0');
      }
      const after = s.listCursors.resolve(nextSeq);
      // One row more than asked tells whether another page exists.
      const rows = await s.store.listConversationPage(after, Math.min(count, Number.MAX_SAFE_INTEGER - 1) + 1);
      const page = rows.slice(0, count);
      const last = page[page.length - 1];
      return {
        conversationList: page.map((c) => this.#v2(s, c)),
        nextSeq: s.listCursors.issue(last ? positionOf(last) : (after ?? null)),
        isFinished: rows.length <= count,
      };
    });
  }

  /**
   * One conversation. For a valid ID the store does not hold (no message yet) it returns an
   * empty conversation instead of failing, like the Web reference's getConversationProfile,
   * so a chat screen can open before the first message. It is not added to the list.
   */
  getConversation<C extends V2TIMValueCallback<V2TIMConversation> | undefined>(
    conversationID: string, cb?: C,
  ): CallbackResult<V2TIMConversation, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      parseConversationID(conversationID);
      const c = (await s.store.getConversation(conversationID)) ?? blankConversation(conversationID);
      return this.#v2(s, c);
    });
  }

  /** The reference's `getConversationList(List<String>)`: the known ones, in the order asked. */
  getConversationListByIDs<C extends V2TIMValueCallback<V2TIMConversation[]> | undefined>(
    conversationIDs: string[], cb?: C,
  ): CallbackResult<V2TIMConversation[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      if (!Array.isArray(conversationIDs)) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'conversationIDs must be an array');
      const out: V2TIMConversation[] = [];
      for (const id of conversationIDs) {
        parseConversationID(id);
        const c = await s.store.getConversation(id);
        if (c) out.push(this.#v2(s, c));
      }
      return out;
    });
  }

  getTotalUnreadMessageCount<C extends V2TIMValueCallback<number> | undefined>(cb?: C): CallbackResult<number, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      return s.store.getTotalUnread();
    });
  }

  /**
   * Pins or unpins (`conv.pin`). Not re-sent automatically after a dropped connection: a
   * pin re-activates the conversation on the server, so a late re-send could revive a
   * conversation deleted meanwhile on another device. A drop before the reply fails the
   * call with 9520; the app may call again.
   */
  pinConversation<C extends V2TIMCallback | undefined>(
    conversationID: string, isPinned: boolean, cb?: C,
  ): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      parseConversationID(conversationID);
      const res = await s.connection.request('conv.pin', { conversationID, isPinned: !!isPinned });
      await s.engine.handleUpdate(res.update);
    });
  }

  /**
   * Stored on the server (`conv.setDraft`) and synced to the user's other devices — the
   * reference keeps drafts on one device only. Empty text clears the draft. Like a pin,
   * never re-sent automatically after a dropped connection (9520 instead): a draft
   * re-activates the conversation and a late re-send could revive a deleted one.
   */
  setConversationDraft<C extends V2TIMCallback | undefined>(
    conversationID: string, draftText: string | null, cb?: C,
  ): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      parseConversationID(conversationID);
      const res = await s.connection.request('conv.setDraft', { conversationID, draftText: draftText ?? '' });
      await s.engine.handleUpdate(res.update);
    });
  }

  setConversationCustomData<C extends V2TIMValueCallback<V2TIMConversationOperationResult[]> | undefined>(
    conversationIDs: string[], customData: string, cb?: C,
  ): CallbackResult<V2TIMConversationOperationResult[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      checkBatch(conversationIDs);
      conversationIDs.forEach((id) => parseConversationID(id));
      if (typeof customData !== 'string' || byteLength(customData) > MAX_CUSTOM_DATA_BYTES) {
        throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `customData must be a string of at most ${MAX_CUSTOM_DATA_BYTES} bytes`);
      }
      const res = await s.connection.request('conv.setCustomData', { conversationIDs: [...conversationIDs], customData }, { resend: true });
      await s.engine.handleUpdate(res.update);
      return res.results.map((r) => ({ conversationID: r.id, resultCode: r.resultCode, resultInfo: r.resultInfo }));
    });
  }

  /**
   * The reference's markConversation: sets (`enableMark` true) or clears one mark on up
   * to 100 conversations, one result per ID. Marks are labels the app interprets (the
   * UNREAD mark does not change unreadCount; HIDE hides nothing) and reach all of the
   * user's devices. `markType` is a power of two: `V2TIMConversationMarkType` values or
   * custom ones up to 2^52. Unlike the reference, no paid edition is needed.
   */
  markConversation<C extends V2TIMValueCallback<V2TIMConversationOperationResult[]> | undefined>(
    conversationIDs: string[], markType: number, enableMark: boolean, cb?: C,
  ): CallbackResult<V2TIMConversationOperationResult[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      checkBatch(conversationIDs);
      if (!Number.isSafeInteger(markType) || markType < 1 || markType > MAX_MARK_TYPE || Math.log2(markType) % 1 !== 0) {
        throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `markType must be a power of two from 1 to 2^52, got ${markType}`);
      }
      // Marking is idempotent (set or clear one bit), so a resend after a reconnect is safe.
      const res = await s.connection.request('conv.mark', { conversationIDs: [...conversationIDs], markType, enableMark: enableMark === true }, { resend: true });
      await s.engine.handleUpdate(res.update);
      return res.results.map((r) => ({ conversationID: r.id, resultCode: r.resultCode, resultInfo: r.resultInfo }));
    });
  }

  /**
   * Deletes the conversation and its history for this user, here and on the server
   * (irrecoverable; the peer and other members keep theirs). Resolves once the server
   * committed it and the local copy is wiped. Deleting an unknown or already deleted
   * conversation succeeds. 6017 malformed ID, 6014 not logged in, 9508 not connected
   * (nothing changes), 9520 connection lost after sending (the next login finishes it if
   * the server did commit).
   *
   * ```ts
   * getConversationManager().deleteConversation('c2c_bob', { onSuccess() {}, onError(code, desc) {} });
   * ```
   */
  deleteConversation<C extends V2TIMCallback | undefined>(conversationID: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      parseConversationID(conversationID);
      const s = this.#core.requireSession();
      const [result] = await removeConversations(s, [conversationID], 'delete');
      if (result && result.resultCode !== 0) throw new ConfabError(result.resultCode, result.resultInfo);
    });
  }

  /**
   * Deletes up to 100 conversations, one result per ID in the order given. With
   * `clearMessage` false the history stays on the server and can still be pulled with the
   * history calls; the conversations leave the list either way. A malformed ID gets its
   * own 6017 result; an empty list fails with 6017, more than 100 with 51006.
   */
  deleteConversationList<C extends V2TIMValueCallback<V2TIMConversationOperationResult[]> | undefined>(
    conversationIDList: string[], clearMessage: boolean, cb?: C,
  ): CallbackResult<V2TIMConversationOperationResult[], C> {
    return withCallback(cb, async () => {
      if (!Array.isArray(conversationIDList) || conversationIDList.length === 0) {
        throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'conversationIDList must be a non-empty array');
      }
      if (conversationIDList.length > MAX_BATCH) {
        throw new ConfabError(ErrorCode.TOO_MANY_CONVERSATIONS, `at most ${MAX_BATCH} conversations per call, got ${conversationIDList.length}`);
      }
      const s = this.#core.requireSession();
      const valid = conversationIDList.filter((id) => tryParseConversationID(id));
      // Malformed IDs are answered here (the server would answer them the same way), so a
      // non-string cannot make the whole request fail.
      const fromServer = valid.length ? await removeConversations(s, valid, clearMessage === false ? 'deleteKeepHistory' : 'delete') : [];
      let next = 0;
      return conversationIDList.map((id): V2TIMConversationOperationResult => {
        if (!tryParseConversationID(id)) {
          return { conversationID: String(id), resultCode: ErrorCode.INVALID_PARAMETERS, resultInfo: 'conversationID must be c2c_<userID> or group_<groupID>' };
        }
        const r = fromServer[next++];
        return { conversationID: id, resultCode: r?.resultCode ?? 0, resultInfo: r?.resultInfo ?? '' };
      });
    });
  }

  /** See `undoDelete`: undoes the latest deletion of a conversation within the app's undo window. */
  undoDeleteConversation<C extends V2TIMCallback | undefined>(conversationID: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      parseConversationID(conversationID);
      await undoDelete(this.#core.requireSession(), conversationID);
    });
  }

  /**
   * Confab extension: this user's latest deletions (of one conversation, or all), newest
   * first, each with its state on the server (`pending` → `purged`, `kept`, `undone`) and
   * on each of the user's devices that are told of deletions (`wiped` once that device
   * applied it): "wiped on 2 of 3 devices".
   */
  getConversationDeletionStatus<C extends V2TIMValueCallback<V2TIMConversationDeletionStatus[]> | undefined>(
    conversationID: string | null, cb?: C,
  ): CallbackResult<V2TIMConversationDeletionStatus[], C> {
    return withCallback(cb, async () => {
      if (conversationID !== null) parseConversationID(conversationID);
      const s = this.#core.requireSession();
      const res = await s.connection.request('conv.deletionStatus', conversationID === null ? {} : { conversationID });
      return res.deletions;
    });
  }

  /**
   * The reference's unread clearing. One conversation: a C2C one is read up to the last
   * message sent at or before `cleanTimestamp` (seconds), a group one up to
   * `cleanSequence`; 0 reads it to the end. `"c2c"`, `"group"` or `""` marks every C2C /
   * group / conversation read (timestamp and sequence are not used then), the server
   * working through them in bounded pages. The new counts arrive via onConversationChanged.
   */
  cleanConversationUnreadMessageCount<C extends V2TIMCallback | undefined>(
    conversationID: string, cleanTimestamp: number, cleanSequence: number, cb?: C,
  ): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      const id = conversationID ?? '';
      if (id === '' || id === 'c2c' || id === 'group') {
        await markAllRead(s, id === 'c2c' ? 1 : id === 'group' ? 2 : 0);
        return;
      }
      const parsed = parseConversationID(id);
      for (const [name, v] of [['cleanTimestamp', cleanTimestamp], ['cleanSequence', cleanSequence]] as const) {
        if (v !== undefined && v !== null && (!Number.isSafeInteger(v) || v < 0)) {
          throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `${name} must be a non-negative integer`);
        }
      }
      if (parsed.type === 1 && cleanTimestamp) await markReadUpTo(s, id, { upToTimestamp: cleanTimestamp });
      else if (parsed.type === 2 && cleanSequence) await markReadUpTo(s, id, { upToSeq: cleanSequence });
      else await markRead(s, id);
    });
  }
}

/**
 * Confab extension: undoes this user's latest deletion of a conversation while the app's
 * undo window (`deletionUndoSeconds`, off by default) is open — from any of the user's
 * devices. The conversation comes back with its history on every device that is told of
 * deletions. 51012 when nothing can be undone (no window, already undone, or too late).
 */
export async function undoDelete(s: Session, conversationID: string): Promise<void> {
  const res = await s.connection.request('conv.undoDelete', { conversationID });
  await s.engine.handleUpdate(res.update);
}

/** `conv.markRead` to the end + apply its update. Shared with the message manager's markXxxAsRead. */
export async function markRead(s: Session, conversationID: string): Promise<void> {
  await markReadUpTo(s, conversationID);
}
