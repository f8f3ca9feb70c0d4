import { ErrorCode, isConfabError, isValidUserID, MAX_BATCH } from '@confab/protocol';
import { callerFor, restError, type RestCommand, type RestContext } from './envelope.js';
import { Fields } from './fields.js';

/**
 * `im_open_login_svc`: importing accounts, so a back end can create users (and send
 * to them) before they ever log in. Importing an existing account succeeds and only
 * updates the profile fields given.
 */

async function importOne(ctx: RestContext, userID: string, profile: { nickName?: string; faceUrl?: string }): Promise<void> {
  if (!isValidUserID(userID)) {
    throw restError(ErrorCode.INVALID_IDENTIFIER, `UserID must be 1-32 characters of A-Z a-z 0-9 _ . @ -, got ${JSON.stringify(userID)}`);
  }
  await ctx.domain.accounts.ensure(ctx.app.sdkAppID, userID);
  if (profile.nickName !== undefined || profile.faceUrl !== undefined) {
    // The profile service's rules (lengths) apply as for a user setting their own profile.
    await ctx.domain.accounts.setProfile(callerFor(ctx.app, userID), profile);
  }
}

/** `{ UserID, Nick?, FaceUrl? }` → `{}` */
export const accountImport: RestCommand = async (ctx, body) => {
  const f = new Fields(body, ErrorCode.INVALID_PARAMETERS);
  const userID = f.string('UserID');
  const profile: { nickName?: string; faceUrl?: string } = {};
  const nick = f.optionalString('Nick');
  const face = f.optionalString('FaceUrl');
  if (nick !== undefined) profile.nickName = nick;
  if (face !== undefined) profile.faceUrl = face;
  await importOne(ctx, userID, profile);
  return {};
};

/** `{ Accounts: [UserID, …] }` (at most 100) → `{ FailAccounts: [UserID, …] }` */
export const multiAccountImport: RestCommand = async (ctx, body) => {
  const f = new Fields(body, ErrorCode.INVALID_PARAMETERS);
  const accounts = f.array('Accounts');
  if (accounts.length === 0) throw f.bad('Accounts is empty');
  if (accounts.length > MAX_BATCH) throw f.bad(`at most ${MAX_BATCH} Accounts per call, got ${accounts.length}`);
  const failed: unknown[] = [];
  for (const userID of new Set(accounts)) {
    if (typeof userID !== 'string' || !isValidUserID(userID)) {
      failed.push(userID);
      continue;
    }
    try {
      await importOne(ctx, userID, {});
    } catch (err) {
      if (!isConfabError(err)) throw err;
      failed.push(userID);
    }
  }
  return { FailAccounts: failed };
};
