import { ErrorCode, isConfabError, isValidUserID, MAX_BATCH } from '@confab/protocol';
import { callerFor, restError, type RestCommand, type RestContext } from './envelope.js';
import { parseBody, str, z } from './schema.js';

/**
 * `sns`: friends, over the same FriendService as the SDK. Confab's friendship is mutual
 * and immediate (the reference's `AllowType` "allow anyone"), so `friend_add` makes
 * both users friends whatever `AddType` says. Bad fields answer 30001, an unknown
 * `From_Account` 30003, as in the reference.
 */
const BAD = ErrorCode.FRIEND_INVALID_PARAMETERS;

async function requireAccount(ctx: RestContext, userID: string): Promise<string> {
  if (!isValidUserID(userID) || !(await ctx.domain.accounts.exists(ctx.app.sdkAppID, userID))) {
    throw restError(ErrorCode.FRIEND_ACCOUNT_NOT_FOUND, `From_Account ${JSON.stringify(userID)} does not exist; import it first`);
  }
  return userID;
}

const addSchema = z.object({
  From_Account: str,
  AddFriendItem: z.array(z.object({ To_Account: str, Remark: str.optional(), GroupName: str.optional(), AddSource: str.optional() })).min(1).max(MAX_BATCH),
  AddType: str.optional(),
  ForceAddFlags: z.number().optional(),
});

/** `friend_add` → `{ ResultItem: [{ To_Account, ResultCode, ResultInfo }], Fail_Account: [] }` */
export const friendAdd: RestCommand = async (ctx, body) => {
  const b = parseBody(addSchema, body, BAD);
  const caller = callerFor(ctx.app, await requireAccount(ctx, b.From_Account));
  const ResultItem = [];
  const Fail_Account: string[] = [];
  for (const item of b.AddFriendItem) {
    try {
      await ctx.domain.friends.add(caller, item.To_Account, item.Remark ?? '');
      ResultItem.push({ To_Account: item.To_Account, ResultCode: 0, ResultInfo: '' });
    } catch (err) {
      if (!isConfabError(err)) throw err;
      ResultItem.push({ To_Account: item.To_Account, ResultCode: err.code, ResultInfo: err.desc });
      Fail_Account.push(item.To_Account);
    }
  }
  return { ResultItem, Fail_Account };
};

const deleteSchema = z.object({ From_Account: str, To_Account: z.array(str).min(1).max(MAX_BATCH), DeleteType: str.optional() });

/**
 * `friend_delete`: `{ From_Account, To_Account: [UserID], DeleteType? }` →
 * `{ ResultItem: [{ To_Account, ResultCode, ResultInfo }] }`. Friendship being mutual,
 * both deletion types end it for both users; not friends: 31704 in the item.
 */
export const friendDelete: RestCommand = async (ctx, body) => {
  const b = parseBody(deleteSchema, body, BAD);
  const caller = callerFor(ctx.app, await requireAccount(ctx, b.From_Account));
  const results = await ctx.domain.friends.remove(caller, [...new Set(b.To_Account)]);
  const byID = new Map(results.map((r) => [r.id, r]));
  return {
    ResultItem: b.To_Account.map((id) => {
      const r = byID.get(id)!;
      return { To_Account: id, ResultCode: r.resultCode, ResultInfo: r.resultInfo };
    }),
  };
};

const getSchema = z.object({ From_Account: str, StartIndex: z.number().int().min(0).optional(), StandardSequence: z.number().optional(), CustomSequence: z.number().optional() });
const PAGE = 100;

/**
 * `friend_get`: `{ From_Account, StartIndex }` → `{ UserDataItem: [{ To_Account, ValueItem: [{ Tag, Value }] }],
 * StandardSequence, CustomSequence, FriendNum, CompleteFlag, NextStartIndex }`; 100 friends a page.
 * Tags: `Tag_SNS_IM_Remark`, `Tag_SNS_IM_AddTime` (Unix seconds).
 */
export const friendGet: RestCommand = async (ctx, body) => {
  const b = parseBody(getSchema, body, BAD);
  const caller = callerFor(ctx.app, await requireAccount(ctx, b.From_Account));
  const all = await ctx.domain.friends.list(caller);
  const start = b.StartIndex ?? 0;
  const page = all.slice(start, start + PAGE);
  const next = start + page.length;
  return {
    UserDataItem: page.map((f) => ({
      To_Account: f.userID,
      ValueItem: [{ Tag: 'Tag_SNS_IM_Remark', Value: f.friendRemark }, { Tag: 'Tag_SNS_IM_AddTime', Value: Math.floor(f.addTime / 1000) }],
    })),
    StandardSequence: 0,
    CustomSequence: 0,
    FriendNum: all.length,
    CompleteFlag: next >= all.length ? 1 : 0,
    NextStartIndex: next >= all.length ? 0 : next,
  };
};

const checkSchema = z.object({ From_Account: str, To_Account: z.array(str).min(1).max(1000), CheckType: str.optional() });

/**
 * `friend_check`: `{ From_Account, To_Account: [UserID], CheckType }` →
 * `{ InfoItem: [{ To_Account, Relation, ResultCode, ResultInfo }], Fail_Account: [] }`. Friendship is mutual in
 * Confab, so `Relation` is `CheckResult_Type_BothWay` or `CheckResult_Type_NoRelation`
 * for both check types.
 */
export const friendCheck: RestCommand = async (ctx, body) => {
  const b = parseBody(checkSchema, body, BAD);
  const caller = callerFor(ctx.app, await requireAccount(ctx, b.From_Account));
  const friends = new Set((await ctx.domain.friends.list(caller)).map((f) => f.userID));
  return {
    InfoItem: b.To_Account.map((id) => ({
      To_Account: id, Relation: friends.has(id) ? 'CheckResult_Type_BothWay' : 'CheckResult_Type_NoRelation', ResultCode: 0, ResultInfo: '',
    })),
    Fail_Account: [],
  };
};
