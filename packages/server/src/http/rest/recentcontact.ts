import {
  c2cConversationID, ErrorCode, groupConversationID, isValidGroupID, isValidUserID, MAX_BATCH,
} from '@confab/protocol';
import type { ListedConversation, ListPosition } from '../../storage/types.js';
import { lastMessagesOf } from '../../services/last-messages.js';
import { callerFor, restError, type RestCommand, type RestContext } from './envelope.js';
import { isObject } from './fields.js';
import { parseBody, str, uint, z } from './schema.js';

/**
 * `recentcontact`: the user's conversation list as the admin sees it, and deleting
 * conversations for a user. Bad fields answer 50002 and an account that was never
 * imported (nor logged in) 50001, as in the reference.
 */

const SAFE_MAX = Number.MAX_SAFE_INTEGER;
/** Conversations per `get_list` page unless `PageSize` (a Confab extension) asks for fewer. */
const DEFAULT_PAGE_SIZE = 100;
const ASSIST_SUPPORT_PINNED = 1;
const ASSIST_EMPTY_CONVERSATIONS = 2;
const ASSIST_PAGE_PINNED = 4;

const BAD = ErrorCode.CONV_INVALID_PARAMETERS;

async function requireAccount(ctx: RestContext, userID: string): Promise<string> {
  if (!isValidUserID(userID) || !(await ctx.domain.accounts.exists(ctx.app.sdkAppID, userID))) {
    throw restError(ErrorCode.CONV_ACCOUNT_NOT_FOUND, `From_Account ${JSON.stringify(userID)} does not exist; import it first`);
  }
  return userID;
}

// ---- get_list ------------------------------------------------------------------------

/**
 * The list order is pinned first (with AssistFlags bit 0), then by `orderKey`
 * descending, then by the row's order tie descending (`storage/list-order.ts`). A cursor
 * is the position of the last row returned: `TimeStamp`/`TopTimeStamp` its orderKey,
 * `StartIndex`/`TopStartIndex` its tie (never 0, so `(0, 0)` is the start). Each page is
 * an index seek to the cursor plus PageSize entries — a user with 100k conversations
 * costs the same per page as one with 100 — and a row that does not change between pages
 * keeps its position, so paging returns every untouched conversation exactly once.
 */
type Cursor = ListPosition | undefined;

/** Pinned conversations returned with the first page when they are not paged (no bit 2). */
const MAX_UNPAGED_PINNED = 1000;

function cursorOf(ts: number, index: number): Cursor {
  return ts === 0 && index === 0 ? undefined : { orderKey: ts, tie: index };
}

function compareListed(a: ListedConversation, b: ListedConversation): number {
  return b.position.orderKey - a.position.orderKey || b.position.tie - a.position.tie;
}

/** One part of the list after `after`: `page` (at most `limit` rows) and whether more follow. */
async function readPart(ctx: RestContext, userID: string, pinned: boolean, nonEmptyOnly: boolean, after: Cursor, limit: number) {
  if (limit <= 0) return { page: [] as ListedConversation[], more: true };
  const rows = await ctx.domain.storage.conversations.listLive(ctx.app.sdkAppID, userID,
    { pinned, nonEmptyOnly, limit: limit + 1, ...(after ? { after } : {}) });
  return { page: rows.slice(0, limit), more: rows.length > limit };
}

/**
 * `{ From_Account, TimeStamp, StartIndex, TopTimeStamp, TopStartIndex, AssistFlags, PageSize? }`
 * → `{ CompleteFlag, TimeStamp, StartIndex, TopTimeStamp, TopStartIndex, SessionItem[] }`.
 * The cursors are opaque to the caller: all 0 for the first page, then what the last page returned.
 */
const getListSchema = z.object({
  From_Account: str,
  TimeStamp: uint(SAFE_MAX).nullish(), StartIndex: uint(SAFE_MAX).nullish(),
  TopTimeStamp: uint(SAFE_MAX).nullish(), TopStartIndex: uint(SAFE_MAX).nullish(),
  AssistFlags: uint(0xffff_ffff).nullish(),
  PageSize: z.number().int().min(1).max(DEFAULT_PAGE_SIZE).nullish(),
});

export const getList: RestCommand = async (ctx, body) => {
  const b = parseBody(getListSchema, body, BAD);
  const userID = await requireAccount(ctx, b.From_Account);
  const normalCursor = cursorOf(b.TimeStamp ?? 0, b.StartIndex ?? 0);
  const topCursor = cursorOf(b.TopTimeStamp ?? 0, b.TopStartIndex ?? 0);
  const flags = b.AssistFlags ?? 0;
  const pageSize = b.PageSize ?? DEFAULT_PAGE_SIZE;
  const supportPinned = (flags & ASSIST_SUPPORT_PINNED) !== 0;
  const pagePinned = supportPinned && (flags & ASSIST_PAGE_PINNED) !== 0;
  const nonEmptyOnly = (flags & ASSIST_EMPTY_CONVERSATIONS) === 0;

  let top = { page: [] as ListedConversation[], more: false };
  let normal: { page: ListedConversation[]; more: boolean };
  if (pagePinned) {
    // Pinned conversations first, paged by the Top cursor; the others start once they are done.
    top = await readPart(ctx, userID, true, nonEmptyOnly, topCursor, pageSize);
    normal = top.more ? { page: [], more: true } : await readPart(ctx, userID, false, nonEmptyOnly, normalCursor, pageSize - top.page.length);
  } else if (supportPinned) {
    // Pinned conversations not paged: they come with the first page, on top of PageSize
    // (and, past MAX_UNPAGED_PINNED, on the following pages by the Top cursor).
    if (normalCursor === undefined || topCursor !== undefined) {
      top = await readPart(ctx, userID, true, nonEmptyOnly, topCursor, MAX_UNPAGED_PINNED);
    }
    normal = await readPart(ctx, userID, false, nonEmptyOnly, normalCursor, pageSize);
  } else {
    // Pinned conversations not set apart: merge the two index ranges, each read after the cursor.
    const [pinned, others] = await Promise.all([
      readPart(ctx, userID, true, nonEmptyOnly, normalCursor, pageSize),
      readPart(ctx, userID, false, nonEmptyOnly, normalCursor, pageSize),
    ]);
    const merged = [...pinned.page, ...others.page].sort(compareListed);
    normal = { page: merged.slice(0, pageSize), more: merged.length > pageSize || pinned.more || others.more };
  }
  const nextNormal = normal.page.at(-1)?.position ?? normalCursor;
  const nextTop = top.page.at(-1)?.position ?? topCursor;

  const listed = [...top.page, ...normal.page].map((l) => l.row);
  const lastOf = await lastMessagesOf(ctx.domain.storage, ctx.app.sdkAppID, listed);
  const items = [];
  for (const row of listed) {
    const last = lastOf(row);
    const isGroup = row.convKey.startsWith('group:');
    items.push({
      Type: isGroup ? 2 : 1,
      ...(isGroup ? { GroupId: row.convKey.slice(6) } : { To_Account: row.conversationID.slice(4) }),
      MsgTime: last ? Math.floor(last.createdAt / 1000) : 0,
      TopFlag: row.isPinned ? 1 : 0,
      StandardMark: '',
      CustomMark: row.customData,
      ContactGroupId: [],
    });
  }
  return {
    CompleteFlag: top.more || normal.more ? 0 : 1,
    TimeStamp: nextNormal?.orderKey ?? 0,
    StartIndex: nextNormal?.tie ?? 0,
    TopTimeStamp: nextTop?.orderKey ?? 0,
    TopStartIndex: nextTop?.tie ?? 0,
    SessionItem: items,
  };
};

// ---- delete / batch_delete -----------------------------------------------------------

/** A contact item (`Type` + `To_Account` | `ToGroupid`) → a conversation ID, or why not. */
function conversationIDOf(item: Record<string, unknown>): string | { error: string } {
  if (item.Type === 1) {
    return isValidUserID(item.To_Account) ? c2cConversationID(item.To_Account) : { error: 'To_Account is missing or not a valid UserID' };
  }
  if (item.Type === 2) {
    return isValidGroupID(item.ToGroupid) ? groupConversationID(item.ToGroupid) : { error: 'ToGroupid is missing or not a valid group ID' };
  }
  return { error: `Type must be 1 (C2C) or 2 (group), got ${JSON.stringify(item.Type)}` };
}

/** `ClearRamble`: 1 also erases the user's history of the conversation; 0 (the default) keeps it. */
function modeOf(clearRamble: 0 | 1 | null | undefined): 'delete' | 'deleteKeepHistory' {
  return clearRamble === 1 ? 'delete' : 'deleteKeepHistory';
}

const clearRamble = z.union([z.literal(0), z.literal(1)]).nullish();
const deleteSchema = z.object({ From_Account: str, ClearRamble: clearRamble });
const batchDeleteSchema = z.object({ From_Account: str, ClearRamble: clearRamble, ContactItem: z.array(z.unknown()).min(1) });

/**
 * `{ From_Account, Type, To_Account | ToGroupid, ClearRamble? }` → `{}`. The same
 * O(1) watermark deletion as the SDK's `deleteConversation`, for this user only;
 * deleting a conversation the user does not have succeeds.
 */
export const deleteContact: RestCommand = async (ctx, body) => {
  const b = parseBody(deleteSchema, body, BAD);
  const userID = await requireAccount(ctx, b.From_Account);
  const id = conversationIDOf(body);
  if (typeof id !== 'string') throw restError(BAD, id.error);
  const mode = modeOf(b.ClearRamble);
  const { results } = await ctx.domain.conversations.remove(callerFor(ctx.app, userID), [id], mode);
  const result = results[0];
  if (result && result.resultCode !== 0) throw restError(BAD, result.resultInfo);
  return {};
};

/**
 * Confab extension: `{ From_Account, ClearRamble?, ContactItem: [{ Type, To_Account | ToGroupid }] }`
 * (1 to 100 items) → `{ ResultItem: [{ Type, To_Account | ToGroupid, ResultCode, ResultInfo }] }`,
 * one result per item in order. All valid items are deleted in one transaction.
 */
export const batchDeleteContacts: RestCommand = async (ctx, body) => {
  const b = parseBody(batchDeleteSchema, body, BAD);
  const userID = await requireAccount(ctx, b.From_Account);
  const items = b.ContactItem;
  if (items.length > MAX_BATCH) {
    throw restError(ErrorCode.TOO_MANY_CONVERSATIONS, `at most ${MAX_BATCH} ContactItem per call, got ${items.length}`);
  }
  const mode = modeOf(b.ClearRamble);
  const resolved = items.map((item) => (isObject(item) ? conversationIDOf(item) : { error: 'ContactItem entries must be objects' }));
  const ids = [...new Set(resolved.filter((r): r is string => typeof r === 'string'))];
  const byID = new Map<string, { resultCode: number; resultInfo: string }>();
  if (ids.length) {
    const { results } = await ctx.domain.conversations.remove(callerFor(ctx.app, userID), ids, mode);
    for (const r of results) byID.set(r.id, r);
  }
  const ResultItem = items.map((item, i) => {
    const echo: Record<string, unknown> = {};
    if (isObject(item)) {
      echo.Type = item.Type;
      if (item.Type === 2) echo.ToGroupid = item.ToGroupid;
      else echo.To_Account = item.To_Account;
    }
    const r = resolved[i]!;
    if (typeof r !== 'string') return { ...echo, ResultCode: ErrorCode.CONV_INVALID_PARAMETERS, ResultInfo: r.error };
    const result = byID.get(r);
    if (result && result.resultCode !== 0) return { ...echo, ResultCode: ErrorCode.CONV_INVALID_PARAMETERS, ResultInfo: result.resultInfo };
    return { ...echo, ResultCode: 0, ResultInfo: '' };
  });
  return { ResultItem };
};
