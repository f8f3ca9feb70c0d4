/**
 * `revokeMessage`, `modifyMessage`, `deleteMessages` and `deleteMessageFromLocalStorage`
 * of `V2TIMMessageManager`. The server's answers carry the update that applies the change
 * on this device (sync/message-changes.ts); the other devices get it as a push or at their
 * next sync.
 */
import { ConfabError, ErrorCode, MessageStatus, type DeletedMessageRef, type MessageElem, type WireMessage } from '@confab/protocol';
import { toV2Message } from '../convert.js';
import { addChangesToBatch } from '../sync/message-changes.js';
import type { StoreChangeBatch } from '../store/types.js';
import { V2TIMMessageStatus, type V2TIMMessage } from '../types.js';
import type { Session } from './core.js';

/** Messages one `deleteMessages` call takes at most (the reference's newer limit). */
export const MAX_DELETE_MESSAGES = 50;

function sentMessage(message: V2TIMMessage): { conversationID: string; seq: number } {
  if (!message || typeof message.conversationID !== 'string' || !Number.isSafeInteger(message.seq) || message.seq <= 0) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'the message must be one that was sent (it has no seq yet)');
  }
  return { conversationID: message.conversationID, seq: message.seq };
}

export async function revokeMessage(s: Session, message: V2TIMMessage): Promise<void> {
  const { conversationID, seq } = sentMessage(message);
  const res = await s.connection.request('msg.revoke', { conversationID, seq });
  await s.engine.handleUpdate(res.update);
  Object.assign(message, toV2Message(res.message, s.userID));
}

/**
 * Modifies a sent message. On a conflict (22000: changed since this copy was read) the
 * failure carries the current message, read from the server.
 */
export async function modifyMessage(s: Session, message: V2TIMMessage, elem: MessageElem): Promise<V2TIMMessage> {
  const { conversationID, seq } = sentMessage(message);
  try {
    const res = await s.connection.request('msg.modify', { conversationID, seq, elem, modifyVersion: message.modifyVersion ?? 0 });
    await s.engine.handleUpdate(res.update);
    return Object.assign(message, toV2Message(res.message, s.userID));
  } catch (error) {
    if ((error as ConfabError).code !== ErrorCode.MSG_MODIFY_CONFLICT) throw error;
    const current = await s.connection.request('msg.history', { conversationID, afterSeq: seq - 1, count: 1 }).catch(() => undefined);
    const found = current?.messages.find((m) => m.seq === seq);
    throw { error, value: found ? toV2Message(found, s.userID) : message };
  }
}

/** Deletes messages of one conversation for this user, on the server and here. */
export async function deleteMessages(s: Session, messages: V2TIMMessage[]): Promise<void> {
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_DELETE_MESSAGES) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `deleteMessages takes 1 to ${MAX_DELETE_MESSAGES} messages`);
  }
  const conversationID = messages[0]?.conversationID;
  if (messages.some((m) => m?.conversationID !== conversationID)) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'deleteMessages takes messages of one conversation');
  }
  const seqs = messages.filter((m) => Number.isSafeInteger(m.seq) && m.seq > 0).map((m) => m.seq);
  if (seqs.length) {
    const res = await s.connection.request('msg.delete', { conversationID: conversationID!, seqs });
    await s.engine.handleUpdate(res.update);
  }
  // Also when the server had nothing left to delete (deleted before, maybe on another device).
  await deleteLocally(s, messages);
}

/** Removes messages from this device only; the server and the other devices keep them. */
export async function deleteLocally(s: Session, messages: V2TIMMessage[]): Promise<void> {
  const refs: DeletedMessageRef[] = messages.filter((m) => m?.msgID).map((m) => ({ conversationID: m.conversationID, msgID: m.msgID, seq: m.seq }));
  await s.engine.exclusive(async () => {
    const batch: StoreChangeBatch = {};
    await addChangesToBatch(s.store, batch, { changed: [], deleted: refs });
    if (batch.putMessages?.length || batch.upsertConversations?.length) await s.store.apply(batch);
  });
  for (const m of messages) if (m) m.status = V2TIMMessageStatus.HAS_DELETED;
}

/** History as the app sees it: messages deleted on this device are left out. */
export function visible(messages: WireMessage[]): WireMessage[] {
  return messages.filter((m) => m.status !== MessageStatus.HAS_DELETED);
}
