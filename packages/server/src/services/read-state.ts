import {
  ConfabError, ErrorCode, MAX_BATCH, ReceiveMessageOpt, parseConversationID, tryParseConversationID,
  type OperationResult, type UserUpdate,
} from '@confab/protocol';
import { originOf, publishChanges, type Caller, type ServiceContext } from './context.js';
import type { AccountService } from './accounts.js';
import type { ConversationService } from './conversations.js';
import { convKeyFor } from './wire.js';

/** Rows marked read per transaction by markAllRead: a user with 100k unread chats takes 500 short ones. */
export const MARK_ALL_PAGE = 200;

/**
 * Read points and receive options: partial reads (the reference's
 * cleanConversationUnreadMessageCount with a seq or time), marking everything read,
 * and `setC2C/GroupReceiveMessageOpt`.
 */
export class ReadStateService {
  readonly #ctx: ServiceContext;
  readonly #accounts: AccountService;
  readonly #conversations: ConversationService;

  constructor(ctx: ServiceContext, accounts: AccountService, conversations: ConversationService) {
    this.#ctx = ctx;
    this.#accounts = accounts;
    this.#conversations = conversations;
  }

  /**
   * Marks read to the end, up to `upToSeq`, or up to the last message sent at or before
   * `upToTimestamp` (seconds). The time is turned into a seq by a binary search over
   * seqs (messages are committed in seq order, so their times ascend): O(log n) reads.
   */
  async markRead(caller: Caller, conversationID: string, opts: { upToSeq?: number; upToTimestamp?: number } = {}): Promise<UserUpdate | undefined> {
    const parsed = parseConversationID(conversationID);
    let upToSeq = opts.upToSeq || undefined;
    if (upToSeq === undefined && opts.upToTimestamp) {
      const row = await this.#ctx.storage.conversations.get(caller.app.sdkAppID, caller.userID, convKeyFor(caller.userID, parsed));
      if (!row) return this.#conversations.markRead(caller, conversationID);
      upToSeq = await this.#lastSeqAtOrBefore(caller.app.sdkAppID, row.convKey, Math.max(row.visibleFromSeq, 1), row.lastSeq, opts.upToTimestamp * 1000);
      if (upToSeq === 0) return undefined;
    }
    return this.#conversations.markRead(caller, conversationID, upToSeq);
  }

  /** The highest seq in [lo, hi] whose message was committed at or before `ms` (0 if none). */
  async #lastSeqAtOrBefore(app: number, convKey: string, lo: number, hi: number, ms: number): Promise<number> {
    let found = 0;
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      // The first stored message at or above mid (a purged or removed seq is a hole).
      const [m] = await this.#ctx.storage.messages.range(app, convKey, mid, hi, 1, 'asc');
      if (!m) {
        hi = mid - 1;
      } else if (m.createdAt <= ms) {
        found = m.seq;
        lo = m.seq + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * Marks every conversation read (`type` 1 C2C, 2 groups), MARK_ALL_PAGE rows per
   * transaction, found by the unread partial index, with a turn of the event loop
   * between pages; each page's changes go to every session of the user as pushes
   * (the caller's too: a 100k-row reply would not fit a frame).
   */
  async markAllRead(caller: Caller, type: 0 | 1 | 2): Promise<number> {
    const app = caller.app.sdkAppID;
    let count = 0;
    for (;;) {
      const { changes, more } = await this.#ctx.storage.conversations.markReadPage(app, caller.userID, type, MARK_ALL_PAGE);
      count += changes.find((c) => c.userID === caller.userID)?.rows.length ?? 0;
      if (changes.length) await publishChanges(this.#ctx, changes);
      if (!more) return count;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Sets a receive option on up to 100 conversations; one result per ID. */
  async setRecvOpt(caller: Caller, conversationIDs: string[], recvOpt: number): Promise<{ results: OperationResult[]; update?: UserUpdate }> {
    if (!Object.values(ReceiveMessageOpt).includes(recvOpt as ReceiveMessageOpt)) {
      throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `recvOpt must be one of 0-4 (V2TIMReceiveMessageOpt), got ${recvOpt}`);
    }
    if (conversationIDs.length === 0) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'conversationIDs is empty');
    if (conversationIDs.length > MAX_BATCH) {
      throw new ConfabError(ErrorCode.TOO_MANY_CONVERSATIONS, `at most ${MAX_BATCH} conversations per call, got ${conversationIDs.length}`);
    }
    const app = caller.app.sdkAppID;
    const results = new Map<string, OperationResult>();
    const targets = [];
    for (const id of new Set(conversationIDs)) {
      const parsed = tryParseConversationID(id);
      if (!parsed || (parsed.type === 1 && parsed.userID === caller.userID)) {
        results.set(id, { id, resultCode: ErrorCode.INVALID_PARAMETERS, resultInfo: 'malformed conversation ID' });
        continue;
      }
      // The option may precede the first message: a row is created when the peer exists,
      // or the caller is a member of the group.
      const create = parsed.type === 1
        ? await this.#accounts.exists(app, parsed.userID)
        : (await this.#ctx.storage.groups.member(app, parsed.groupID, caller.userID)) !== undefined;
      targets.push({ convKey: convKeyFor(caller.userID, parsed), conversationID: id, create });
    }
    const { change, missing } = targets.length
      ? await this.#ctx.storage.conversations.patch(app, caller.userID, targets, { kind: 'recvOpt', recvOpt })
      : { change: null, missing: [] };
    for (const id of missing) {
      results.set(id, { id, resultCode: ErrorCode.INVALID_CONVERSATION, resultInfo: 'no such user, or not a member of the group' });
    }
    const out: { results: OperationResult[]; update?: UserUpdate } = {
      results: conversationIDs.filter((id, i) => conversationIDs.indexOf(id) === i).map((id) => results.get(id) ?? { id, resultCode: 0, resultInfo: '' }),
    };
    if (change) {
      const update = (await publishChanges(this.#ctx, [change], undefined, {}, originOf(caller))).get(`${app}|${caller.userID}`);
      if (update) out.update = update;
    }
    return out;
  }

  /** The caller's receive options (0 where none was set), read row by row by primary key. */
  async getRecvOpt(caller: Caller, conversationIDs: string[]): Promise<{ conversationID: string; recvOpt: number }[]> {
    if (conversationIDs.length > MAX_BATCH) {
      throw new ConfabError(ErrorCode.TOO_MANY_CONVERSATIONS, `at most ${MAX_BATCH} conversations per call, got ${conversationIDs.length}`);
    }
    const out = [];
    for (const id of conversationIDs) {
      const parsed = parseConversationID(id);
      const row = await this.#ctx.storage.conversations.get(caller.app.sdkAppID, caller.userID, convKeyFor(caller.userID, parsed));
      out.push({ conversationID: id, recvOpt: row?.recvOpt ?? 0 });
    }
    return out;
  }
}
