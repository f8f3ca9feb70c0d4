import { ErrorCode, MAX_BATCH, type UserProfile } from '@confab/protocol';
import { callerFor, type RestCommand } from './envelope.js';
import { Fields } from './fields.js';

/** The reference's standard profile tags Confab stores. */
const TAGS: Record<string, keyof Omit<UserProfile, 'userID'>> = {
  Tag_Profile_IM_Nick: 'nickName',
  Tag_Profile_IM_Image: 'faceUrl',
  Tag_Profile_IM_SelfSignature: 'selfSignature',
};

/**
 * `profile/portrait_get`: `{ To_Account: [UserID, …] (1 to 100), TagList?: [Tag, …] }`
 * → `{ UserProfileItem: [{ To_Account, ProfileItem: [{ Tag, Value }], ResultCode, ResultInfo }] }`.
 * Without `TagList` every supported tag is returned; tags Confab does not store are
 * left out. An unknown account gets ResultCode 70107 in its item.
 */
export const portraitGet: RestCommand = async (ctx, body) => {
  const f = new Fields(body, ErrorCode.INVALID_PARAMETERS);
  const accounts = f.array('To_Account');
  if (accounts.length === 0 || accounts.length > MAX_BATCH) throw f.bad(`To_Account must hold 1 to ${MAX_BATCH} UserIDs`);
  if (!accounts.every((a): a is string => typeof a === 'string')) throw f.bad('To_Account must hold strings');
  const tagList = f.has('TagList') ? f.array('TagList') : Object.keys(TAGS);
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
