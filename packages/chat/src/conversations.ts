/**
 * Conversation methods in the Web SDK's shapes, over the core's conversation manager.
 * They act on conversations in the face's list (conversation-list.ts); an ID not in it
 * is 2500 CONV_NOT_FOUND, as in the reference (delete, clear, draft, pin).
 */
import { MAX_BATCH } from '@confab/protocol';
import type { V2TIMConversation } from '@confab/sdk';
import { ERROR_CODE, TYPES } from './constants.js';
import type { FaceContext } from './context.js';
import type { WebConversation } from './convert.js';
import { ChatError, invalidParams, ok, type ChatResponse } from './errors.js';
import { parseWebConversationID, requireWebConversationID, toWebConversationID, type ParsedWebID } from './ids.js';


function known(ctx: FaceContext, conversationID: unknown): ParsedWebID & { conv: V2TIMConversation } {
  const p = requireWebConversationID(conversationID);
  const conv = ctx.list.get(p.coreID);
  if (!conv) throw new ChatError(ERROR_CODE.CONV_NOT_FOUND, `conversation ${String(conversationID)} not found`);
  return { ...p, conv };
}

interface ListFilter {
  type?: string;
  markType?: number;
  hasUnreadCount?: boolean;
  hasGroupAtInfo?: boolean;
  groupName?: string;
}

/**
 * No argument: the whole list. An array: those conversations (the known ones, in list
 * order). An object: a filter — `type`, `markType`, `hasUnreadCount`; `hasGroupAtInfo`
 * matches nothing (no @ info yet) and `groupName` nothing (no conversation groups yet).
 */
export function getConversationList(ctx: FaceContext, options?: unknown): ChatResponse<{ conversationList: WebConversation[]; isSyncCompleted: boolean }> {
  let rows = ctx.list.sorted();
  if (Array.isArray(options)) {
    const wanted = new Set(options.map((id) => parseWebConversationID(id)?.coreID).filter((id): id is string => !!id));
    rows = rows.filter((c) => wanted.has(c.conversationID));
  } else if (options !== undefined && options !== null) {
    if (typeof options !== 'object') throw invalidParams('options must be an array of IDs or a filter object');
    const f = options as ListFilter;
    if (f.type !== undefined) rows = rows.filter((c) => (c.type === 2 ? TYPES.CONV_GROUP : TYPES.CONV_C2C) === f.type);
    if (typeof f.markType === 'number') rows = rows.filter((c) => c.markList.includes(f.markType!));
    if (f.hasUnreadCount === true) rows = rows.filter((c) => c.unreadCount > 0);
    if (f.hasGroupAtInfo === true) rows = [];
    if (typeof f.groupName === 'string') rows = [];
  }
  return ok({ conversationList: rows.map((c) => ctx.webConversation(c)), isSyncCompleted: true });
}

/**
 * One conversation. An ID not in the list but naming an existing user or group is added
 * to the list (after the pinned ones) and announced, as the reference does, so a chat can
 * open before its first message; an unknown user or group is 2501.
 */
export async function getConversationProfile(ctx: FaceContext, conversationID: unknown): Promise<ChatResponse<{ conversation: WebConversation }>> {
  const p = requireWebConversationID(conversationID);
  const existing = ctx.list.get(p.coreID);
  if (existing) return ok({ conversation: ctx.webConversation(existing) });
  let exists: boolean;
  if (p.type === TYPES.CONV_C2C) {
    exists = (await ctx.im.getUsersInfo([p.id]).catch(() => [])).some((u) => u.userID === p.id);
  } else {
    const [r] = await ctx.im.getGroupManager().getGroupsInfo([p.id]);
    exists = !!r?.info;
  }
  ctx.namesChanged(false);
  if (!exists) throw new ChatError(ERROR_CODE.USER_OR_GRP_NOT_FOUND, `no such ${p.type === TYPES.CONV_C2C ? 'user' : 'group'}: ${p.id}`);
  if (!ctx.list.has(p.coreID)) {
    ctx.list.addLocal({
      conversationID: p.coreID, type: p.type === TYPES.CONV_C2C ? 1 : 2,
      userID: p.type === TYPES.CONV_C2C ? p.id : '', groupID: p.type === TYPES.CONV_GROUP ? p.id : '',
      showName: p.id, faceUrl: '', unreadCount: 0, lastMessage: null, draftText: '', draftTimestamp: 0,
      // Above every unpinned conversation until the server's row replaces it.
      isPinned: false, orderKey: Number.MAX_SAFE_INTEGER, customData: '', markList: [],
    });
    ctx.scheduleFlush();
  }
  return ok({ conversation: ctx.webConversation(ctx.list.get(p.coreID)!) });
}

/**
 * `deleteConversation('C2Cbob')` deletes the conversation and its history;
 * `deleteConversation({ conversationIDList, clearHistoryMessage })` deletes up to 100
 * (the rest are dropped, as the reference does), keeping the history on the server when
 * `clearHistoryMessage` is false. Only conversations in the list are deleted; none →
 * 2500. The result lists what was deleted.
 */
export async function deleteConversation(ctx: FaceContext, options: unknown): Promise<ChatResponse<{ conversationID: string } | { conversationIDList: string[] }>> {
  const cm = ctx.im.getConversationManager();
  if (typeof options === 'string') {
    const p = known(ctx, options);
    await cm.deleteConversation(p.coreID);
    ctx.list.remove([p.coreID]);
    ctx.scheduleFlush();
    return ok({ conversationID: options });
  }
  const o = options as { conversationIDList?: unknown; clearHistoryMessage?: unknown } | undefined;
  if (!o || typeof o !== 'object' || !Array.isArray(o.conversationIDList)) {
    throw invalidParams('give a conversationID or { conversationIDList, clearHistoryMessage }');
  }
  if (o.clearHistoryMessage !== undefined && typeof o.clearHistoryMessage !== 'boolean') throw invalidParams('clearHistoryMessage must be a boolean');
  const ids = o.conversationIDList.slice(0, MAX_BATCH)
    .map((id) => parseWebConversationID(id))
    .filter((p): p is ParsedWebID => !!p && ctx.list.has(p.coreID));
  if (ids.length === 0) throw new ChatError(ERROR_CODE.CONV_NOT_FOUND, 'none of these conversations is in the list');
  const results = await cm.deleteConversationList(ids.map((p) => p.coreID), o.clearHistoryMessage !== false);
  const deleted = results.filter((r) => r.resultCode === 0).map((r) => r.conversationID);
  ctx.list.remove(deleted);
  ctx.scheduleFlush();
  if (deleted.length === 0) throw new ChatError(ERROR_CODE.CONV_NOT_FOUND, results[0]?.resultInfo || 'no conversation was deleted');
  return ok({ conversationIDList: deleted.map(toWebConversationID) });
}

/** Erases the history here and on the server and keeps the conversation (unread 0, no last message). */
export async function clearHistoryMessage(ctx: FaceContext, conversationID: unknown): Promise<ChatResponse<Record<string, never>>> {
  const p = known(ctx, conversationID);
  const mm = ctx.im.getMessageManager();
  if (p.type === TYPES.CONV_C2C) await mm.clearC2CHistoryMessage(p.id);
  else await mm.clearGroupHistoryMessage(p.id);
  return ok({});
}

export async function pinConversation(ctx: FaceContext, options: unknown): Promise<ChatResponse<{ conversationID: string }>> {
  const o = options as { conversationID?: unknown; isPinned?: unknown } | undefined;
  if (typeof o?.isPinned !== 'boolean') throw invalidParams('isPinned must be a boolean');
  const p = known(ctx, o.conversationID);
  // Already in that state: the reference answers at once, without a request.
  if (p.conv.isPinned !== o.isPinned) await ctx.im.getConversationManager().pinConversation(p.coreID, o.isPinned);
  return ok({ conversationID: o.conversationID as string });
}

/**
 * Confab keeps drafts on the server and on every device of the user (the reference's
 * Web SDK keeps them in memory). Setting the text a conversation already has sends
 * nothing: the reference's UIKits set an empty draft each time a chat is opened.
 */
export async function setConversationDraft(ctx: FaceContext, options: unknown): Promise<ChatResponse<{ conversation: WebConversation }>> {
  const o = options as { conversationID?: unknown; draftText?: unknown } | undefined;
  const draftText = o?.draftText ?? '';
  if (typeof draftText !== 'string') throw invalidParams('draftText must be a string');
  const p = known(ctx, o?.conversationID);
  if (p.conv.draftText !== draftText) await ctx.im.getConversationManager().setConversationDraft(p.coreID, draftText);
  return ok({ conversation: ctx.webConversation(ctx.list.get(p.coreID) ?? p.conv) });
}

/** Reads the conversation up to its last message. Nothing is sent when it has no unread message. */
export async function setMessageRead(ctx: FaceContext, options: unknown): Promise<ChatResponse<Record<string, never>>> {
  const p = requireWebConversationID((options as { conversationID?: unknown } | undefined)?.conversationID);
  const conv = ctx.list.get(p.coreID);
  if (!conv || conv.unreadCount > 0) await ctx.im.getConversationManager().cleanConversationUnreadMessageCount(p.coreID, 0, 0);
  return ok({});
}

const SCOPE: Record<string, string> = { [TYPES.READ_ALL_C2C_MSG]: 'c2c', [TYPES.READ_ALL_GROUP_MSG]: 'group', [TYPES.READ_ALL_MSG]: '' };

export async function setAllMessageRead(ctx: FaceContext, options: unknown): Promise<ChatResponse<Record<string, never>>> {
  const scope = (options as { scope?: unknown } | undefined)?.scope ?? TYPES.READ_ALL_MSG;
  const target = SCOPE[String(scope)];
  if (target === undefined) throw invalidParams(`scope must be ${Object.keys(SCOPE).join(', ')}`);
  await ctx.im.getConversationManager().cleanConversationUnreadMessageCount(target, 0, 0);
  return ok({});
}

type BatchResult = ChatResponse<{ successConversationIDList: string[]; failureConversationIDList: { conversationID: string; code: number; message: string }[] }>;

function batchIDs(v: unknown): ParsedWebID[] {
  if (!Array.isArray(v) || v.length === 0) throw invalidParams('conversationIDList must be a non-empty array');
  return v.map((id) => requireWebConversationID(id));
}

function batchResult(results: { conversationID: string; resultCode: number; resultInfo: string }[]): BatchResult {
  return ok({
    successConversationIDList: results.filter((r) => r.resultCode === 0).map((r) => toWebConversationID(r.conversationID)),
    failureConversationIDList: results.filter((r) => r.resultCode !== 0)
      .map((r) => ({ conversationID: toWebConversationID(r.conversationID), code: r.resultCode, message: r.resultInfo })),
  });
}

/** Up to 100 conversations, at most 256 bytes; stored on the server and synced to every device. */
export async function setConversationCustomData(ctx: FaceContext, options: unknown): Promise<BatchResult> {
  const o = options as { conversationIDList?: unknown; customData?: unknown } | undefined;
  const ids = batchIDs(o?.conversationIDList);
  if (typeof o?.customData !== 'string') throw invalidParams('customData must be a string');
  return batchResult(await ctx.im.getConversationManager().setConversationCustomData(ids.map((p) => p.coreID), o.customData));
}

/** Sets or clears one mark (TYPES.CONV_MARK_TYPE_* or a custom power of two) on up to 100 conversations. */
export async function markConversation(ctx: FaceContext, options: unknown): Promise<BatchResult> {
  const o = options as { conversationIDList?: unknown; markType?: unknown; enableMark?: unknown } | undefined;
  const ids = batchIDs(o?.conversationIDList);
  if (typeof o?.markType !== 'number' || typeof o.enableMark !== 'boolean') throw invalidParams('markType must be a number and enableMark a boolean');
  return batchResult(await ctx.im.getConversationManager().markConversation(ids.map((p) => p.coreID), o.markType, o.enableMark));
}
