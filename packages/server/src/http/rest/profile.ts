import { ErrorCode, isValidUserID, MAX_BATCH, type UserProfile } from '@confab/protocol';
import { callerFor, restError, type RestCommand } from './envelope.js';
import { parseBody, str, z } from './schema.js';

/** The reference's standard profile tags Confab stores. */
const TAGS: Record<string, keyof Omit<UserProfile, 'userID'>> = {
  Tag_Profile_IM_Nick: 'nickName',
  Tag_Profile_IM_Image: 'faceUrl',
  Tag_Profile_IM_SelfSignature: 'selfSignature',
};

const getSchema = z.object({ To_Account: z.array(str).min(1).max(MAX_BATCH), TagList: z.array(z.unknown()).optional() });

/**
 * `profile/portrait_get`: `{ To_Account: [UserID, …] (1 to 100), TagList?: [Tag, …] }`
 * → `{ UserProfileItem: [{ To_Account, ProfileItem: [{ Tag, Value }], ResultCode, ResultInfo }] }`.
 * Without `TagList` every supported tag is returned; tags Confab does not store are
 * left out. An unknown account gets ResultCode 70107 in its item.
 */
export const portraitGet: RestCommand = async (ctx, body) => {
  const b = parseBody(getSchema, body, ErrorCode.INVALID_PARAMETERS);
  const accounts = b.To_Account;
  const tagList = b.TagList ?? Object.keys(TAGS);
  const tags = tagList.filter((t): t is string => typeof t === 'string' && t in TAGS);
  const caller = callerFor(ctx.app, ctx.app.adminUserID);
  const profiles = new Map((await ctx.domain.accounts.profiles(caller, accounts)).map((p) => [p.userID, p]));
  return {
    UserProfileItem: accounts.map((userID) => {
      const profile = profiles.get(userID);
      if (!profile) return { To_Account: userID, ProfileItem: [], ResultCode: ErrorCode.ACCOUNT_NOT_FOUND, ResultInfo: 'account does not exist' };
      return { To_Account: userID, ProfileItem: tags.map((Tag) => ({ Tag, Value: profile[TAGS[Tag]!] })), ResultCode: 0, ResultInfo: '' };
    }),
  };
};

const setSchema = z.object({
  From_Account: str,
  ProfileItem: z.array(z.object({ Tag: str, Value: z.unknown() })).min(1).max(MAX_BATCH),
});

/**
 * `profile/portrait_set`: `{ From_Account, ProfileItem: [{ Tag, Value }] }` → `{}`.
 * The supported tags are written together, under the same length rules as a user's own
 * `setSelfInfo`; a tag Confab does not store fails the call (40009 would be the
 * reference's "unknown tag"; Confab answers 6017 and names the tag) so nothing is half
 * applied. Unknown `From_Account`: 70107.
 */
export const portraitSet: RestCommand = async (ctx, body) => {
  const b = parseBody(setSchema, body, ErrorCode.INVALID_PARAMETERS);
  if (!isValidUserID(b.From_Account) || !(await ctx.domain.accounts.exists(ctx.app.sdkAppID, b.From_Account))) {
    throw restError(ErrorCode.ACCOUNT_NOT_FOUND, `From_Account ${JSON.stringify(b.From_Account)} does not exist; import it first`);
  }
  const patch: Partial<Record<keyof Omit<UserProfile, 'userID'>, string>> = {};
  for (const { Tag, Value } of b.ProfileItem) {
    const key = TAGS[Tag];
    if (!key) throw restError(ErrorCode.INVALID_PARAMETERS, `profile tag ${Tag} is not supported; use ${Object.keys(TAGS).join(', ')}`);
    if (typeof Value !== 'string') throw restError(ErrorCode.INVALID_PARAMETERS, `the Value of ${Tag} must be a string`);
    patch[key] = Value;
  }
  await ctx.domain.accounts.setProfile(callerFor(ctx.app, b.From_Account), patch);
  return {};
};
