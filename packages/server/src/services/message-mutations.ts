import {
  ConfabError, ErrorCode, GroupMemberRole, parseConversationID, type DeletedMessageRef, type MessageElem, type UserUpdate,
  type WireMessage,
} from '@confab/protocol';
import type { StoredMessage } from '../storage/types.js';
import { DEFAULT_APP_SETTINGS } from '../storage/types.js';
import { rowSees, type MessageChangeResult } from '../storage/message-mutations.js';
import { originOf, publishChanges, type Caller, type ServiceContext } from './context.js';
import { receivesDeletionSync } from './conversations.js';
import { convKeyFor, toWireMessage } from './wire.js';

/** Messages one `msg.delete` takes at most (the reference's newer limit). */
export const MAX_DELETE_MESSAGES = 50;

/** Who asks for a change: a user over the WebSocket, or the app's admin over REST (no window, any message). */
export type Actor = Caller | { admin: true; app: Caller['app']; userID: string };

function isAdmin(actor: Actor): actor is { admin: true; app: Caller['app']; userID: string } {
  return 'admin' in actor;
}

/** Thrown inside a recall's transaction when the message was recalled already: nothing to write. */
class AlreadyRevoked extends Error {
  constructor(readonly message_: StoredMessage) {
    super('already recalled');
  }
}

/**
 * Recall (`msg.revoke`), modification (`msg.modify`) and deletion for oneself
 * (`msg.delete`) of single messages, and the catch-up of all three (`msg.changes`).
 * See storage/message-mutations.ts for how they reach every device.
 */
export class MessageMutationService {
  readonly #ctx: ServiceContext;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
  }

  /**
   * Recalls a message for everyone. A user may recall their own message within the
   * app's window; in a group an admin or the owner may recall anyone's, within the same
   * window. The app admin (REST) may recall any message at any time.
   */
  async revoke(actor: Actor, conversationID: string, seq: number, reason?: string): Promise<{ message: WireMessage; update?: UserUpdate }> {
    const { convKey, viewer, participants, group, role } = await this.#locate(actor, conversationID, seq);
    // Settings change at run time: the current record, not the one cached at login.
    const settings = (this.#ctx.apps?.peek(actor.app.sdkAppID) ?? actor.app).settings;
    const windowMs = (settings.revokeWindowSeconds ?? DEFAULT_APP_SETTINGS.revokeWindowSeconds!) * 1000;
    const now = this.#ctx.now();
    let result;
    try {
      result = await this.#ctx.storage.mutations.change({
        app: actor.app.sdkAppID, convKey, seq, kind: 'revoke', actor: isAdmin(actor) ? actor.app.adminUserID : actor.userID, reason, participants, group, now,
        check: (m) => {
          if (m.revoker) throw new AlreadyRevoked(m);
          if (isAdmin(actor)) return;
          if (m.sender !== actor.userID && !(group && role !== undefined && role >= GroupMemberRole.ADMIN)) {
            throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, group
              ? 'only the sender, a group admin or the owner may recall this message'
              : 'only the sender may recall a one-to-one message');
          }
          if (now - m.createdAt > windowMs) {
            throw new ConfabError(group ? ErrorCode.GROUP_MSG_REVOKE_TIME_LIMIT : ErrorCode.MSG_REVOKE_TIME_LIMIT,
              `the message was sent more than ${windowMs / 1000} s ago and can no longer be recalled`);
          }
        },
      });
    } catch (err) {
      if (err instanceof AlreadyRevoked) return { message: toWireMessage(viewer, err.message_) };
      throw err;
    }
    if (!result) throw notFound();
    this.#ctx.onErased?.();
    // A recalled image, sound, video or file loses its bytes with its content: the
    // element is gone, so no one could be given a URL for them again anyway.
    await this.#ctx.files?.purgeMessageFiles(actor.app.sdkAppID, convKey, result.message.sender, result.message.clientMsgID)
      .catch((err: unknown) => this.#ctx.logger.warn({ err, convKey, seq }, 'could not delete a recalled message\'s files; the purge worker collects them'));
    return this.#publish(actor, result, group, viewer);
  }

  /**
   * Replaces a message's element for everyone. As in the reference, any participant who
   * sees the message may modify it (apps restrict it further if they wish); a change
   * based on an older `modifyVersion` is refused with 22000.
   */
  async modify(actor: Actor, conversationID: string, seq: number, elem: MessageElem, modifyVersion: number | undefined): Promise<{ message: WireMessage; update?: UserUpdate }> {
    const size = Buffer.byteLength(JSON.stringify(elem));
    if (size > actor.app.settings.maxMessageBytes) {
      throw new ConfabError(ErrorCode.SERVER_MESSAGE_TOO_LARGE, `message is ${size} bytes; this app accepts at most ${actor.app.settings.maxMessageBytes}`);
    }
    const { convKey, viewer, participants, group } = await this.#locate(actor, conversationID, seq);
    const result = await this.#ctx.storage.mutations.change({
      app: actor.app.sdkAppID, convKey, seq, kind: 'modify', actor: isAdmin(actor) ? actor.app.adminUserID : actor.userID, elem, participants, group, now: this.#ctx.now(),
      check: (m) => {
        if (m.revoker) throw new ConfabError(ErrorCode.MSG_MODIFY_CONFLICT, 'the message was recalled');
        if (modifyVersion !== undefined && (m.modifyVersion ?? 0) !== modifyVersion) {
          throw new ConfabError(ErrorCode.MSG_MODIFY_CONFLICT,
            `the message is at version ${m.modifyVersion ?? 0}, this change was based on version ${modifyVersion}`);
        }
      },
    });
    if (!result) throw notFound();
    return this.#publish(actor, result, group, viewer);
  }

  /** Deletes messages of one conversation for the caller only (idempotent per message). */
  async remove(caller: Caller, conversationID: string, seqs: number[]): Promise<{ update?: UserUpdate }> {
    if (seqs.length === 0 || seqs.length > MAX_DELETE_MESSAGES) {
      throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `deleteMessages takes 1 to ${MAX_DELETE_MESSAGES} messages of one conversation`);
    }
    const target = parseConversationID(conversationID);
    const convKey = convKeyFor(caller.userID, target);
    const { seqs: done, change } = await this.#ctx.storage.mutations.deleteForUser(caller.app.sdkAppID, caller.userID, convKey, seqs, this.#ctx.now());
    if (!change) return {};
    if (convKey.startsWith('c2c:')) this.#ctx.onErased?.();
    const messages: DeletedMessageRef[] = done.map((seq) => ({ conversationID, msgID: `${convKey}/${seq}`, seq }));
    const updates = await publishChanges(this.#ctx, [change], () => [], { deletedMessages: { deviceID: caller.deviceID, messages } }, originOf(caller));
    const update = updates.get(`${caller.app.sdkAppID}|${caller.userID}`);
    return update ? { update } : {};
  }

  /** One page of `msg.changes`; deletions are listed only to devices that are told of deletions. */
  async changes(caller: Caller, conversationID: string, afterChangeSeq: number, afterDeleteSeq: number, count = 100): Promise<{
    changed: WireMessage[]; deleted: DeletedMessageRef[]; changeSeq: number; deleteSeq: number; isFinished: boolean;
  }> {
    const target = parseConversationID(conversationID);
    const convKey = convKeyFor(caller.userID, target);
    const row = await this.#ctx.storage.conversations.get(caller.app.sdkAppID, caller.userID, convKey);
    if (!row || row.deleted) return { changed: [], deleted: [], changeSeq: afterChangeSeq, deleteSeq: afterDeleteSeq, isFinished: true };
    const page = await this.#ctx.storage.mutations.changesPage(caller.app.sdkAppID, row, afterChangeSeq, afterDeleteSeq, Math.min(Math.max(count, 1), 100));
    const app = this.#ctx.apps?.peek(caller.app.sdkAppID) ?? caller.app;
    const told = receivesDeletionSync(app, caller.capabilities);
    return {
      changed: page.changed.map((m) => toWireMessage(caller.userID, m)),
      deleted: told ? page.deleted.map((seq) => ({ conversationID, msgID: `${convKey}/${seq}`, seq })) : [],
      changeSeq: page.changeSeq,
      deleteSeq: page.deleteSeq,
      isFinished: page.isFinished,
    };
  }

  async #locate(actor: Actor, conversationID: string, seq: number): Promise<{
    convKey: string; viewer: string; participants: string[]; group: boolean; role?: number;
  }> {
    const target = parseConversationID(conversationID);
    const app = actor.app.sdkAppID;
    const convKey = convKeyFor(actor.userID, target);
    if (target.type === 2) {
      const group = await this.#ctx.storage.groups.get(app, target.groupID);
      if (!group || group.dismissedAt !== null) throw new ConfabError(ErrorCode.GROUP_NOT_FOUND, `group ${target.groupID} does not exist or was dismissed`);
      if (isAdmin(actor)) return { convKey, viewer: actor.userID, participants: [], group: true };
      const member = await this.#ctx.storage.groups.member(app, target.groupID, actor.userID);
      if (!member) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, `you are not a member of group ${target.groupID}`);
      await this.#visible(actor, convKey, seq);
      return { convKey, viewer: actor.userID, participants: [actor.userID], group: true, role: member.role };
    }
    if (!isAdmin(actor)) await this.#visible(actor, convKey, seq);
    return { convKey, viewer: actor.userID, participants: [actor.userID, target.userID], group: false };
  }

  /** The caller sees the message: within their history and not deleted by them. */
  async #visible(caller: Caller, convKey: string, seq: number): Promise<void> {
    const row = await this.#ctx.storage.conversations.get(caller.app.sdkAppID, caller.userID, convKey);
    if (!rowSees(row, seq) || row.deleted) throw notFound();
    if (row.deleteSeq && (await this.#ctx.storage.mutations.deletedIn(caller.app.sdkAppID, caller.userID, convKey, seq, seq)).size) throw notFound();
  }

  async #publish(actor: Actor, { message, changes, delivered }: MessageChangeResult, group: boolean, viewer: string): Promise<{ message: WireMessage; update?: UserUpdate }> {
    const origins = isAdmin(actor) ? new Map<string, string | undefined>() : originOf(actor);
    const updates = await publishChanges(this.#ctx, changes, () => [], {}, origins, undefined, (_app, userID) => delivered.get(userID));
    if (group) this.#ctx.onFanout?.();
    const reply: { message: WireMessage; update?: UserUpdate } = { message: toWireMessage(viewer, message) };
    const update = updates.get(`${actor.app.sdkAppID}|${actor.userID}`);
    if (update && !isAdmin(actor)) reply.update = update;
    return reply;
  }
}

function notFound(): ConfabError {
  return new ConfabError(ErrorCode.MSG_NOT_FOUND, 'no such message in this conversation, or you cannot see it');
}
