import { ConfabError, ErrorCode, MAX_BATCH, parseConversationID, type GroupReceipt } from '@confab/protocol';
import { userTopic } from '../bus/types.js';
import type { AppRecord, GroupMemberRecord } from '../storage/types.js';
import type { Caller, ServiceContext } from './context.js';

/** Most members one page of `msg.readMembers` lists. */
export const MAX_READ_MEMBERS_PAGE = 100;

/**
 * Group message read receipts (the reference's sendMessageReadReceipts,
 * getMessageReadReceipts, getGroupMessageReadMemberList), behind the app setting
 * `groupReadReceipt`. A receipt is one row per (message, reader) and a count per
 * message, so a 6,000-member group's receipts cost one small write per reader and every
 * read is O(page). `unreadCount` is the group's current members minus the sender minus
 * the readers: members who joined after the message count as not having read it.
 */
export class ReceiptService {
  readonly #ctx: ServiceContext;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
  }

  /** The caller's group (the app must allow receipts, the caller must be a member). */
  async #group(caller: Caller, conversationID: string): Promise<{ groupID: string; convKey: string; member: GroupMemberRecord; memberCount: number }> {
    const app = this.#ctx.apps?.peek(caller.app.sdkAppID) ?? caller.app;
    if (!receiptsEnabled(app)) {
      throw new ConfabError(ErrorCode.INTERFACE_NOT_SUPPORT, 'group read receipts are off for this app (setting groupReadReceipt)');
    }
    const parsed = parseConversationID(conversationID);
    if (parsed.type !== 2) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'read receipts of one-to-one messages come with the conversation (isPeerRead)');
    const group = await this.#ctx.storage.groups.get(caller.app.sdkAppID, parsed.groupID);
    if (!group || group.dismissedAt !== null) throw new ConfabError(ErrorCode.GROUP_NOT_FOUND, `group ${parsed.groupID} does not exist or was dismissed`);
    const member = await this.#ctx.storage.groups.member(caller.app.sdkAppID, parsed.groupID, caller.userID);
    if (!member) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, `you are not a member of group ${parsed.groupID}`);
    return { groupID: parsed.groupID, convKey: `group:${parsed.groupID}`, member, memberCount: group.memberCount };
  }

  /** Records the caller's reads and tells each sender (a `msg.readReceipts` push to their sessions). */
  async send(caller: Caller, conversationID: string, seqs: number[]): Promise<void> {
    checkSeqs(seqs);
    const { groupID, convKey, member, memberCount } = await this.#group(caller, conversationID);
    const app = caller.app.sdkAppID;
    const row = await this.#ctx.storage.conversations.get(app, caller.userID, convKey);
    // Only messages the caller can see: not below their watermark, not after they left.
    const visible = row ? seqs.filter((s) => s >= row.visibleFromSeq && s <= row.lastSeq) : [];
    if (visible.length === 0) return;
    const changed = await this.#ctx.storage.receipts.markRead(app, convKey, caller.userID, member.seq, visible, this.#ctx.now());
    const bySender = new Map<string, GroupReceipt[]>();
    for (const c of changed) {
      let list = bySender.get(c.sender);
      if (!list) bySender.set(c.sender, (list = []));
      list.push(toReceipt(groupID, convKey, c.seq, c.readCount, memberCount));
    }
    for (const [sender, receipts] of bySender) {
      this.#ctx.bus.publish(userTopic(app, sender), { kind: 'push', push: 'msg.readReceipts', body: { receipts } });
    }
  }

  async get(caller: Caller, conversationID: string, seqs: number[]): Promise<GroupReceipt[]> {
    checkSeqs(seqs);
    const { groupID, convKey, memberCount } = await this.#group(caller, conversationID);
    const counts = await this.#ctx.storage.receipts.counts(caller.app.sdkAppID, convKey, seqs);
    return seqs.map((seq) => toReceipt(groupID, convKey, seq, counts.get(seq) ?? 0, memberCount));
  }

  /** One page of the members who read (filter 0) or have not read (1) a message. */
  async members(caller: Caller, conversationID: string, seq: number, filter: 0 | 1, nextSeq = 0, count = MAX_READ_MEMBERS_PAGE): Promise<{ userIDs: string[]; nextSeq: number; isFinished: boolean }> {
    const { convKey } = await this.#group(caller, conversationID);
    const app = caller.app.sdkAppID;
    const message = await this.#ctx.storage.messages.get(app, convKey, seq);
    if (!message) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `no message ${seq} in ${conversationID}`);
    const limit = Math.min(Math.max(count, 1), MAX_READ_MEMBERS_PAGE);
    const page = filter === 0
      ? await this.#ctx.storage.receipts.readers(app, convKey, seq, nextSeq, limit)
      : await this.#ctx.storage.receipts.nonReaders(app, convKey, seq, nextSeq, limit, message.sender);
    const isFinished = page.length < limit;
    return { userIDs: page.map((p) => p.userID), nextSeq: isFinished ? 0 : page[page.length - 1]!.memberSeq, isFinished };
  }
}

export function receiptsEnabled(app: AppRecord): boolean {
  return app.settings.groupReadReceipt === true;
}

function checkSeqs(seqs: number[]): void {
  if (seqs.length === 0) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'messageList is empty');
  if (seqs.length > MAX_BATCH) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `at most ${MAX_BATCH} messages per call`);
}

function toReceipt(groupID: string, convKey: string, seq: number, readCount: number, memberCount: number): GroupReceipt {
  return { msgID: `${convKey}/${seq}`, groupID, seq, readCount, unreadCount: Math.max(0, memberCount - 1 - readCount) };
}
