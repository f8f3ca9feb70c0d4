import {
  c2cConversationID, ErrorCode, groupConversationID, isValidGroupID, isValidUserID, MAX_BATCH,
} from '@confab/protocol';
import type { ConversationRow } from '../../storage/types.js';
import { callerFor, restError, type RestCommand, type RestContext } from './envelope.js';
import { Fields, isObject } from './fields.js';

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

async function requireAccount(ctx: RestContext, f: Fields): Promise<string> {
  const userID = f.string('From_Account');
  if (!isValidUserID(userID) || !(await ctx.domain.accounts.exists(ctx.app.sdkAppID, userID))) {
    throw restError(ErrorCode.CONV_ACCOUNT_NOT_FOUND, `From_Account ${JSON.stringify(userID)} does not exist; import it first`);
  }
  return userID;
}

// ---- get_list ------------------------------------------------------------------------

/**
 * A position in a list sorted by `orderKey` descending, then conversation ID
 * ascending: everything with an orderKey above `ts` was returned, plus the first
 * `index` of those with orderKey `ts`. `(0, 0)` is the start. `index` is never 0
 * otherwise, so the start is unambiguous even though orderKey can be 0.
 */
interface Cursor {
  ts: number;
  index: number;
}

function byActivity(a: ConversationRow, b: ConversationRow): number {
  return b.orderKey - a.orderKey || (a.conversationID < b.conversationID ? -1 : a.conversationID > b.conversationID ? 1 : 0);
}

function after(list: ConversationRow[], cursor: Cursor): ConversationRow[] {
  if (cursor.ts === 0 && cursor.index === 0) return list;
  let i = list.findIndex((r) => r.orderKey <= cursor.ts);
  if (i < 0) return [];
  for (let skipped = 0; i < list.length && list[i]!.orderKey === cursor.ts && skipped < cursor.index; skipped++) i++;
  return list.slice(i);
}

function advance(cursor: Cursor, page: ConversationRow[]): Cursor {
  const last = page[page.length - 1];
  if (!last) return cursor;
  const inPage = page.filter((r) => r.orderKey === last.orderKey).length;
  return { ts: last.orderKey, index: inPage + (cursor.ts === last.orderKey ? cursor.index : 0) };
}

/** Every live conversation row of the user: all rows by version, the newest copy of each. */
async function liveRows(ctx: RestContext, userID: string): Promise<ConversationRow[]> {
  const app = ctx.app.sdkAppID;
  const byKey = new Map<string, ConversationRow>();
  let since = 0;
  for (;;) {
    const rows = await ctx.domain.storage.conversations.changedSince(app, userID, since, 500);
    for (const row of rows) byKey.set(row.convKey, row);
    if (rows.length < 500) break;
    since = rows[rows.length - 1]!.version;
  }
  return [...byKey.values()].filter((r) => !r.deleted);
}

/** A conversation with no message the user can see (history cleared, or only pinned / drafted / joined). */
function isEmpty(row: ConversationRow): boolean {
  return row.lastSeq < Math.max(1, row.visibleFromSeq);
}

/**
 * `{ From_Account, TimeStamp, StartIndex, TopTimeStamp, TopStartIndex, AssistFlags, PageSize? }`
 * → `{ CompleteFlag, TimeStamp, StartIndex, TopTimeStamp, TopStartIndex, SessionItem[] }`.
 *
 * The cursors are opaque to the caller (pass back what the last page returned, all 0
 * for the first page). Here `TimeStamp`/`TopTimeStamp` is the conversation's
 * `orderKey` (its activation order, not a time) and `StartIndex`/`TopStartIndex` how
 * many conversations with exactly that orderKey were already returned.
 */
export const getList: RestCommand = async (ctx, body) => {
  const f = new Fields(body, ErrorCode.CONV_INVALID_PARAMETERS);
  const userID = await requireAccount(ctx, f);
  const normalCursor: Cursor = { ts: f.int('TimeStamp', 0, SAFE_MAX, 0), index: f.int('StartIndex', 0, SAFE_MAX, 0) };
  const topCursor: Cursor = { ts: f.int('TopTimeStamp', 0, SAFE_MAX, 0), index: f.int('TopStartIndex', 0, SAFE_MAX, 0) };
  const flags = f.int('AssistFlags', 0, 0xffff_ffff, 0);
  const pageSize = f.int('PageSize', 1, DEFAULT_PAGE_SIZE, DEFAULT_PAGE_SIZE);
  const supportPinned = (flags & ASSIST_SUPPORT_PINNED) !== 0;
  const pagePinned = supportPinned && (flags & ASSIST_PAGE_PINNED) !== 0;
  const includeEmpty = (flags & ASSIST_EMPTY_CONVERSATIONS) !== 0;

  const rows = (await liveRows(ctx, userID)).filter((r) => includeEmpty || !isEmpty(r)).sort(byActivity);
  const pinned = supportPinned ? rows.filter((r) => r.isPinned) : [];
  const others = supportPinned ? rows.filter((r) => !r.isPinned) : rows;

  let topPage: ConversationRow[] = [];
  let topLeft = 0;
  let room = pageSize;
  if (pagePinned) {
    // Pinned conversations first, paged by the Top cursor; the others start once they are done.
    const rest = after(pinned, topCursor);
    topPage = rest.slice(0, pageSize);
    topLeft = rest.length - topPage.length;
    room -= topPage.length;
  } else if (supportPinned && normalCursor.ts === 0 && normalCursor.index === 0) {
    // Pinned conversations not paged: all of them with the first page, on top of PageSize.
    topPage = pinned;
  }
  const rest = topLeft > 0 ? [] : after(others, normalCursor);
  const page = rest.slice(0, Math.max(room, 0));
  const nextNormal = advance(normalCursor, page);
  const nextTop = pagePinned ? advance(topCursor, topPage) : topCursor;

  const items = [];
  for (const row of [...topPage, ...page]) {
    const last = isEmpty(row) ? undefined : await ctx.domain.storage.messages.get(ctx.app.sdkAppID, row.convKey, row.lastSeq);
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
    CompleteFlag: topLeft === 0 && rest.length <= page.length ? 1 : 0,
    TimeStamp: nextNormal.ts,
    StartIndex: nextNormal.index,
    TopTimeStamp: nextTop.ts,
    TopStartIndex: nextTop.index,
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
function modeOf(f: Fields): 'delete' | 'deleteKeepHistory' {
  return f.oneOf('ClearRamble', [0, 1] as const, 0) === 1 ? 'delete' : 'deleteKeepHistory';
}

/**
 * `{ From_Account, Type, To_Account | ToGroupid, ClearRamble? }` → `{}`. The same
 * O(1) watermark deletion as the SDK's `deleteConversation`, for this user only;
 * deleting a conversation the user does not have succeeds.
 */
export const deleteContact: RestCommand = async (ctx, body) => {
  const f = new Fields(body, ErrorCode.CONV_INVALID_PARAMETERS);
  const userID = await requireAccount(ctx, f);
  const id = conversationIDOf(body);
  if (typeof id !== 'string') throw f.bad(id.error);
  const mode = modeOf(f);
  const { results } = await ctx.domain.conversations.remove(callerFor(ctx.app, userID), [id], mode);
  const result = results[0];
  if (result && result.resultCode !== 0) throw f.bad(result.resultInfo);
  return {};
};

/**
 * Confab extension: `{ From_Account, ClearRamble?, ContactItem: [{ Type, To_Account | ToGroupid }] }`
 * (1 to 100 items) → `{ ResultItem: [{ Type, To_Account | ToGroupid, ResultCode, ResultInfo }] }`,
 * one result per item in order. All valid items are deleted in one transaction.
 */
export const batchDeleteContacts: RestCommand = async (ctx, body) => {
  const f = new Fields(body, ErrorCode.CONV_INVALID_PARAMETERS);
  const userID = await requireAccount(ctx, f);
  const items = f.array('ContactItem');
  if (items.length === 0) throw f.bad('ContactItem is empty');
  if (items.length > MAX_BATCH) {
    throw restError(ErrorCode.TOO_MANY_CONVERSATIONS, `at most ${MAX_BATCH} ContactItem per call, got ${items.length}`);
  }
  const mode = modeOf(f);
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
