import { ConfabError, ErrorCode, parseConversationID, type MessageElem, type UserUpdate, type WireMessage } from '@confab/protocol';
import type { AppendRequest, AppendResult, ConversationRow, StoredMessage, UserChange } from '../storage/types.js';
import { publishChanges, type Caller, type PublishTurn, type ServiceContext } from './context.js';
import { GroupCommitter } from './group-commit.js';
import { convKeyFor, toWireMessage } from './wire.js';
import type { AccountService } from './accounts.js';
import { refusePurgedResend } from './purged-resends.js';
import { buildExtra, checkMergerDepth, deliverOnline, messageBytes, priorityRank, type SendOptions } from './message-options.js';
import { filteredHistory, type HistoryFilter } from './history-filter.js';

interface PendingSend extends AppendRequest {
  sessionID?: string;
}

interface SendOutcome {
  result: AppendResult;
  update: UserUpdate | undefined;
}

export class MessageService {
  readonly #ctx: ServiceContext;
  readonly #accounts: AccountService;
  readonly #committer: GroupCommitter<PendingSend, SendOutcome>;
  /** The time the last batch was stamped with (see #writeBatch). */
  #lastStamp = 0;

  constructor(ctx: ServiceContext, accounts: AccountService) {
    this.#ctx = ctx;
    this.#accounts = accounts;
    // Under a backlog the next batch takes HIGH-priority sends first, LOW ones last.
    this.#committer = new GroupCommitter((batch, committed) => this.#writeBatch(batch, committed), undefined, undefined,
      (req) => priorityRank(req.extra?.priority));
  }

  /** Messages waiting for their group commit. */
  get pendingWrites(): number {
    return this.#committer.pending;
  }

  async send(caller: Caller, conversationID: string, clientMsgID: string, elem: MessageElem, options: SendOptions = {}): Promise<{ message: WireMessage; update?: UserUpdate }> {
    const target = parseConversationID(conversationID);
    checkMergerDepth(elem);
    const size = messageBytes(elem, options);
    if (size > caller.app.settings.maxMessageBytes) {
      throw new ConfabError(ErrorCode.SERVER_MESSAGE_TOO_LARGE,
        `message is ${size} bytes; this app accepts at most ${caller.app.settings.maxMessageBytes}`);
    }
    const app = caller.app.sdkAppID;
    const convKey = convKeyFor(caller.userID, target);
    let recipients: AppendRequest['recipients'];
    let fanout = false;
    if (target.type === 1) {
      if (target.userID === caller.userID) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'cannot send a message to yourself');
      if (!(await this.#accounts.exists(app, target.userID))) {
        throw new ConfabError(ErrorCode.UNKNOWN_RECEIVER, `user ${target.userID} does not exist`);
      }
      recipients = [
        { userID: caller.userID, conversationID },
        { userID: target.userID, conversationID: `c2c_${caller.userID}` },
      ];
    } else {
      const group = await this.#ctx.storage.groups.get(app, target.groupID);
      if (!group || group.dismissedAt !== null) throw new ConfabError(ErrorCode.GROUP_NOT_FOUND, `group ${target.groupID} does not exist or was dismissed`);
      if (!(await this.#ctx.storage.groups.member(app, target.groupID, caller.userID))) {
        throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, `you are not a member of group ${target.groupID}`);
      }
      // The commit updates the sender's row and queues the message; the fan-out worker
      // brings it to the members (those of the group when it commits) afterwards.
      recipients = [{ userID: caller.userID, conversationID }];
      fanout = true;
    }
    const extra = await buildExtra(this.#ctx, caller, options);
    if (options.onlineUserOnly) return { message: await deliverOnline(this.#ctx, caller, convKey, clientMsgID, elem, extra) };
    await refusePurgedResend(this.#ctx, app, convKey, caller.userID, clientMsgID);
    const { result, update } = await this.#committer.submit({
      app, convKey, sender: caller.userID, clientMsgID, elem, recipients, now: this.#ctx.now(), sessionID: caller.sessionID,
      ...(fanout ? { fanout } : {}), ...(Object.keys(extra).length > 0 ? { extra } : {}),
    });
    if (result.duplicate) {
      // A resend (say, after a reconnect) of a message its sender deleted in the meantime,
      // with the conversation: never hand the deleted content back.
      const row = await this.#ctx.storage.conversations.get(app, caller.userID, convKey);
      if (row && result.message.seq < row.visibleFromSeq) {
        throw new ConfabError(ErrorCode.MESSAGE_DELETED, 'this message is no longer visible to you (the conversation was deleted or cleared since it was first sent, or it belongs to an earlier group membership); it is not sent again');
      }
    }
    const message = toWireMessage(caller.userID, result.message);
    const reply: { message: WireMessage; update?: UserUpdate } = { message };
    // The reply's update leaves out the sent message itself: it is `message` already
    // (docs/protocol.md).
    if (update) reply.update = { ...update, messages: update.messages.filter((m) => m.msgID !== message.msgID) };
    return reply;
  }

  async #writeBatch(batch: PendingSend[], committed: () => void): Promise<SendOutcome[]> {
    // A batch's messages are stamped with one time, never earlier than the previous
    // batch's: a message's time then never goes down as its seq goes up, which is what
    // lets a history page turn a time range into a seq range (history-filter.ts). Without
    // it, a HIGH send taken ahead of the backlog would get a lower seq than, and an
    // earlier-looking time than, sends that arrived before it.
    const stamp = this.#lastStamp = Math.max(this.#lastStamp, ...batch.map((req) => req.now));
    for (const req of batch) req.now = stamp;
    // The publish turn is taken when the batch commits, not when its sync completes: a
    // fan-out chunk or a pin committing meanwhile must not overtake its updates.
    let turn: PublishTurn | undefined;
    let appended;
    try {
      appended = await this.#ctx.storage.messages.appendBatch(batch, () => {
        turn = this.#ctx.publishOrder.reserve();
        committed();
      });
    } catch (err) {
      turn?.done();
      throw err;
    }
    try {
      return await this.#publishBatch(batch, appended, turn);
    } finally {
      turn?.done(); // publishChanges released it already; a throw before it must not stall the line
    }
  }

  async #publishBatch(batch: PendingSend[], { results, changes }: { results: AppendResult[]; changes: UserChange[] }, turn: PublishTurn | undefined): Promise<SendOutcome[]> {
    if (batch.some((req, i) => req.fanout && !results[i]!.duplicate)) this.#ctx.onFanout?.();
    // A sender's update for the whole batch (one version step) is delivered once: in the
    // reply to the sender's last request of the batch when all of them came from one
    // session (its push is skipped), else pushed to every session and in no reply.
    // Copying it into each reply made 32 pipelined sends cost 32 x 32 messages of replies.
    const carriers = new Map<string, { session: string | undefined; index: number }>();
    batch.forEach((req, i) => {
      if (results[i]!.duplicate) return;
      const key = `${req.app}|${req.sender}`;
      const seen = carriers.get(key);
      carriers.set(key, { session: seen && seen.session !== req.sessionID ? undefined : req.sessionID, index: i });
    });
    const origins = new Map([...carriers].map(([key, c]) => [key, c.session]));
    // Each user's update carries the messages addressed to that user, not every message
    // of the batch in the same conversation: a member removed between two sends of one
    // batch must not receive the second. A group message reaches its sender here (with
    // what its row moved past) and the other members through the fan-out worker.
    const byUser = new Map<string, StoredMessage[]>();
    batch.forEach((req, i) => {
      const result = results[i]!;
      if (result.duplicate) return;
      for (const r of req.recipients) {
        const key = `${req.app}|${r.userID}`;
        let list = byUser.get(key);
        if (!list) byUser.set(key, (list = []));
        if (r.userID === req.sender && result.passedOver) list.push(...result.passedOver);
        list.push(result.message);
      }
    });
    const updates = await publishChanges(this.#ctx, changes, (app, userID) => byUser.get(`${app}|${userID}`) ?? [], {}, origins, turn);
    // One-to-one recipients with no session online get an offline push (group members
    // get theirs from the fan-out, as their rows are updated).
    const offline = new Map<number, Map<string, StoredMessage[]>>();
    batch.forEach((req, i) => {
      if (results[i]!.duplicate || req.fanout) return;
      for (const r of req.recipients) {
        if (r.userID === req.sender) continue;
        let users = offline.get(req.app);
        if (!users) offline.set(req.app, (users = new Map()));
        users.set(r.userID, [...(users.get(r.userID) ?? []), results[i]!.message]);
      }
    });
    for (const [app, users] of offline) void this.#ctx.offlinePush?.dispatch(app, users);
    return results.map((result, i) => {
      const key = `${batch[i]!.app}|${batch[i]!.sender}`;
      const carrier = carriers.get(key);
      const carries = !result.duplicate && carrier !== undefined && carrier.index === i && carrier.session !== undefined;
      return { result, update: carries ? updates.get(key) : undefined };
    });
  }

  /**
   * History of one conversation as the caller may see it: never below the caller's
   * watermark (`visibleFromSeq`) and never past the caller's own last seq (a former
   * group member does not see what was sent after they left).
   */
  async #hideDeleted(app: number, row: ConversationRow, messages: StoredMessage[]): Promise<StoredMessage[]> {
    if (messages.length === 0) return messages;
    const seqs = messages.map((m) => m.seq);
    const gone = await this.#ctx.storage.mutations.deletedIn(app, row.userID, row.convKey, Math.min(...seqs), Math.max(...seqs));
    return gone.size ? messages.filter((m) => !gone.has(m.seq)) : messages;
  }

  async history(caller: Caller, conversationID: string, opts: { beforeSeq?: number; afterSeq?: number; count?: number } & HistoryFilter): Promise<{ messages: WireMessage[]; isFinished: boolean; nextSeq?: number }> {
    const target = parseConversationID(conversationID);
    const app = caller.app.sdkAppID;
    const convKey = convKeyFor(caller.userID, target);
    const row = await this.#ctx.storage.conversations.get(app, caller.userID, convKey);
    const count = Math.min(Math.max(opts.count ?? 20, 1), 100);
    if (!row || row.deleted && row.lastSeq < row.visibleFromSeq) return { messages: [], isFinished: true };
    const floor = row.visibleFromSeq;
    const ceiling = row.lastSeq;
    if (opts.timeFrom !== undefined || opts.timeTo !== undefined || opts.elemTypes !== undefined) {
      const page = await filteredHistory(this.#ctx.storage, app, convKey, Math.max(floor, 1), ceiling, count, opts);
      const newer = opts.afterSeq !== undefined;
      const cut = withinPageBytes(page.messages, newer ? 'oldest' : 'newest');
      if (cut.length < page.messages.length) {
        // Cut by size: the next page goes on from the last message kept.
        page.isFinished = false;
        page.nextSeq = newer ? cut[cut.length - 1]!.seq : cut[0]!.seq;
      }
      const kept = row.deleteSeq ? await this.#hideDeleted(app, row, cut) : cut;
      return { ...page, messages: kept.map((m) => toWireMessage(caller.userID, m)) };
    }
    let stored;
    let isFinished: boolean;
    if (opts.afterSeq !== undefined) {
      const from = Math.max(floor, opts.afterSeq + 1);
      stored = await this.#ctx.storage.messages.range(app, convKey, from, ceiling, count, 'asc');
      isFinished = stored.length < count || stored[stored.length - 1]!.seq >= ceiling;
      const kept = withinPageBytes(stored, 'oldest');
      if (kept.length < stored.length) [stored, isFinished] = [kept, false];
    } else {
      const to = Math.min(ceiling, opts.beforeSeq ? opts.beforeSeq - 1 : ceiling);
      stored = (await this.#ctx.storage.messages.range(app, convKey, floor, to, count, 'desc')).reverse();
      isFinished = stored.length < count || stored[0]!.seq <= floor;
      const kept = withinPageBytes(stored, 'newest');
      if (kept.length < stored.length) [stored, isFinished] = [kept, false];
    }
    // Messages the caller deleted for themselves are left out; the page's end is judged
    // on what was read, so a page of deleted messages does not end the history early.
    if (row.deleteSeq) stored = await this.#hideDeleted(app, row, stored);
    return { messages: stored.map((m) => toWireMessage(caller.userID, m)), isFinished };
  }

  /**
   * Messages by msgID (`<conversation key>/<seq>`), those the caller may see: in a
   * conversation the caller has, between its watermark and its last seq. Unknown,
   * foreign, deleted and online-only IDs are left out. At most 100 IDs: 100 reads.
   */
  async find(caller: Caller, msgIDs: string[]): Promise<{ messages: WireMessage[] }> {
    const app = caller.app.sdkAppID;
    const out: WireMessage[] = [];
    for (const msgID of new Set(msgIDs)) {
      const slash = msgID.lastIndexOf('/');
      const convKey = msgID.slice(0, slash);
      const seq = Number(msgID.slice(slash + 1));
      if (slash <= 0 || !Number.isSafeInteger(seq) || seq <= 0) continue;
      const row = await this.#ctx.storage.conversations.get(app, caller.userID, convKey);
      if (!row || seq < row.visibleFromSeq || seq > row.lastSeq) continue;
      if (row.deleteSeq && (await this.#ctx.storage.mutations.deletedIn(app, caller.userID, convKey, seq, seq)).size) continue;
      const stored = await this.#ctx.storage.messages.get(app, convKey, seq);
      if (stored) out.push(toWireMessage(caller.userID, stored));
    }
    return { messages: out };
  }
}

/** A history page stops near this many bytes of message content, whatever its count. */
export const HISTORY_PAGE_BYTES = 1024 * 1024;

/**
 * The messages of a page that fit in HISTORY_PAGE_BYTES (at least one), from the end the
 * page grows from: 100 messages of an app that allows 1 MiB each would otherwise make a
 * 100 MiB reply. The client pages on from where this one stopped.
 */
function withinPageBytes(messages: StoredMessage[], keep: 'oldest' | 'newest'): StoredMessage[] {
  let bytes = 0;
  const ordered = keep === 'oldest' ? messages : [...messages].reverse();
  let n = 0;
  for (const m of ordered) {
    bytes += JSON.stringify(m.elem).length + 200;
    if (n > 0 && bytes > HISTORY_PAGE_BYTES) break;
    n++;
  }
  if (n === messages.length) return messages;
  return keep === 'oldest' ? messages.slice(0, n) : messages.slice(messages.length - n);
}
