import { c2cConversationID, ConfabError, ErrorCode, groupConversationID, MessageStatus, type ParsedConversationID, type UserUpdate, type WireConversation, type WireMessage } from '@confab/protocol';
import type { ConversationRow, StoredMessage, UserChange } from '../storage/types.js';

/**
 * The server's own conversation key. Both sides of a C2C chat share one key (and one
 * seq counter): `c2c:alice|bob` for alice↔bob whoever asks.
 */
export function convKeyFor(viewer: string, parsed: ParsedConversationID): string {
  if (parsed.type === 2) return `group:${parsed.groupID}`;
  return viewer < parsed.userID ? `c2c:${viewer}|${parsed.userID}` : `c2c:${parsed.userID}|${viewer}`;
}

/** The conversation ID a given user sees for a conversation key. */
export function conversationIDFor(viewer: string, convKey: string): string {
  if (convKey.startsWith('group:')) return groupConversationID(convKey.slice(6));
  const [a, b] = convKey.slice(4).split('|') as [string, string];
  return c2cConversationID(a === viewer ? b : a);
}

export function toWireMessage(viewer: string, message: StoredMessage): WireMessage {
  const wire: WireMessage = {
    msgID: `${message.convKey}/${message.seq}`,
    conversationID: conversationIDFor(viewer, message.convKey),
    seq: message.seq,
    sender: message.sender,
    clientMsgID: message.clientMsgID,
    timestamp: message.createdAt,
    elem: message.elem,
  };
  const extra = message.extra;
  if (extra) {
    if (extra.nickName !== undefined) wire.nickName = extra.nickName;
    if (extra.faceUrl !== undefined) wire.faceUrl = extra.faceUrl;
    if (extra.cloudCustomData !== undefined) wire.cloudCustomData = extra.cloudCustomData;
    if (extra.priority !== undefined) wire.priority = extra.priority;
    if (extra.offlinePushInfo !== undefined) wire.offlinePushInfo = extra.offlinePushInfo;
  }
  if (message.revoker) {
    wire.status = MessageStatus.LOCAL_REVOKED;
    wire.revoker = message.revoker;
    if (message.revokeReason) wire.revokeReason = message.revokeReason;
  }
  if (message.modifyVersion) wire.modifyVersion = message.modifyVersion;
  if (message.changeSeq) wire.changeSeq = message.changeSeq;
  if (message.convKey.startsWith('group:')) {
    wire.groupID = message.convKey.slice(6);
  } else {
    const [a, b] = message.convKey.slice(4).split('|') as [string, string];
    wire.receiver = a === message.sender ? b : a;
  }
  return wire;
}

export function toWireConversation(row: ConversationRow, lastMessage: StoredMessage | undefined): WireConversation {
  const isGroup = row.convKey.startsWith('group:');
  const visible = lastMessage && lastMessage.seq >= row.visibleFromSeq && lastMessage.seq <= row.lastSeq && !row.deleted;
  const wire: WireConversation = {
    conversationID: row.conversationID,
    type: isGroup ? 2 : 1,
    lastSeq: row.lastSeq,
    lastMessage: visible ? toWireMessage(row.userID, lastMessage) : null,
    unreadCount: row.unreadCount,
    readSeq: row.readSeq,
    visibleFromSeq: row.visibleFromSeq,
    orderKey: row.orderKey,
    isPinned: row.isPinned,
    draftText: row.draftText,
    draftTimestamp: row.draftTimestamp,
    customData: row.customData,
    markList: row.marks,
    deleted: row.deleted,
    version: row.version,
  };
  if (row.changeSeq) wire.changeSeq = row.changeSeq;
  if (row.deleteSeq) wire.deleteSeq = row.deleteSeq;
  if (isGroup) wire.groupID = row.convKey.slice(6);
  else wire.userID = row.conversationID.slice(4);
  return wire;
}

/** Looks up the last message of each row; `known` saves a read for messages already in hand. */
export async function toWireUpdate(
  change: UserChange,
  lookup: (convKey: string, seq: number, row: ConversationRow) => Promise<StoredMessage | undefined>,
  messages: StoredMessage[] = [],
  /** False: leave `messages` empty (the caller sends them pre-encoded). */
  withMessages = true,
): Promise<UserUpdate> {
  const known = new Map(messages.map((m) => [`${m.convKey}/${m.seq}`, m]));
  const conversations: WireConversation[] = [];
  for (const row of change.rows) {
    const last = row.lastSeq >= row.visibleFromSeq && !row.deleted
      ? known.get(`${row.convKey}/${row.lastSeq}`) ?? await lookup(row.convKey, row.lastSeq, row)
      : undefined;
    conversations.push(toWireConversation(row, last));
  }
  return {
    prevVersion: change.prevVersion,
    version: change.version,
    conversations,
    messages: withMessages ? messages.map((m) => toWireMessage(change.userID, m)) : [],
  };
}

export function invalid(desc: string, code: number = ErrorCode.INVALID_PARAMETERS): ConfabError {
  return new ConfabError(code, desc);
}
