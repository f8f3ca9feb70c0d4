import { ErrorCode, isConfabError, isValidUserID, MAX_BATCH } from '@confab/protocol';
import { userTopic } from '../../bus/types.js';
import { callerFor, restError, type RestCommand, type RestContext } from './envelope.js';
import { parseBody, str, z } from './schema.js';

/**
 * `im_open_login_svc`: importing accounts, so a back end can create users (and send
 * to them) before they ever log in. Importing an existing account succeeds and only
 * updates the profile fields given.
 */

const BAD = ErrorCode.INVALID_PARAMETERS;

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

/** `UserID` or, from the reference's older server SDKs, `Identifier`. */
const importSchema = z.object({ UserID: str.optional(), Identifier: str.optional(), Nick: str.optional(), FaceUrl: str.optional() })
  .refine((b) => b.UserID !== undefined || b.Identifier !== undefined, { message: 'UserID is required', path: ['UserID'] });

/** `{ UserID | Identifier, Nick?, FaceUrl? }` → `{}` */
export const accountImport: RestCommand = async (ctx, body) => {
  const b = parseBody(importSchema, body, BAD);
  const profile: { nickName?: string; faceUrl?: string } = {};
  if (b.Nick !== undefined) profile.nickName = b.Nick;
  if (b.FaceUrl !== undefined) profile.faceUrl = b.FaceUrl;
  await importOne(ctx, (b.UserID ?? b.Identifier)!, profile);
  return {};
};

const accountsSchema = z.object({ Accounts: z.array(z.unknown()).min(1).max(MAX_BATCH) });

/** `{ Accounts: [UserID, …] }` (at most 100) → `{ FailAccounts: [UserID, …] }` */
export const multiAccountImport: RestCommand = async (ctx, body) => {
  const { Accounts: accounts } = parseBody(accountsSchema, body, BAD);
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

const checkSchema = z.object({ CheckItem: z.array(z.object({ UserID: str })).min(1).max(MAX_BATCH) });

/**
 * `account_check`: `{ CheckItem: [{ UserID }] }` → `{ ResultItem: [{ UserID, ResultCode, ResultInfo, AccountStatus }] }`
 * with `AccountStatus` `Imported` or `NotImported`, as in the reference.
 */
export const accountCheck: RestCommand = async (ctx, body) => {
  const items = parseBody(checkSchema, body, BAD).CheckItem;
  const ids = items.map((i) => i.UserID).filter(isValidUserID);
  const found = new Set((await ctx.domain.accounts.profiles(callerFor(ctx.app, ctx.app.adminUserID), ids)).map((p) => p.userID));
  return {
    ResultItem: items.map(({ UserID }) => ({
      UserID, ResultCode: 0, ResultInfo: '', AccountStatus: found.has(UserID) ? 'Imported' : 'NotImported',
    })),
  };
};

/**
 * `kick`: `{ UserID }` (or `Identifier`) → `{}`. Every session of the user, on every
 * node, gets a `kicked` push and is closed; the devices must log in again. A user with
 * no session online is no error.
 */
export const kick: RestCommand = async (ctx, body) => {
  const b = parseBody(importSchema, body, BAD);
  const userID = (b.UserID ?? b.Identifier)!;
  if (!isValidUserID(userID)) throw restError(ErrorCode.INVALID_IDENTIFIER, `UserID ${JSON.stringify(userID)} is not a valid UserID`);
  const sessions = await ctx.domain.storage.presence.online(ctx.app.sdkAppID, userID, Date.now());
  const desc = 'signed out by the app back end (REST kick)';
  for (const deviceID of new Set(sessions.map((s) => s.deviceID))) {
    ctx.domain.bus.publish(userTopic(ctx.app.sdkAppID, userID), { kind: 'kick', deviceID, keep: '', code: ErrorCode.KICKED_OFF_BY_OTHER, desc });
  }
  return {};
};

const onlineSchema = z.object({ To_Account: z.array(str).min(1).max(500), IsNeedDetail: z.number().optional() });

/**
 * `openim/query_online_status`: `{ To_Account: [UserID] (1 to 500), IsNeedDetail? }` →
 * `{ QueryResult: [{ To_Account, Status: 'Online' | 'Offline', Detail? }], ErrorList: [] }`.
 * Read from the cluster-wide presence table, so a session on any node counts.
 * Confab has no background state (a disconnected mobile device with push is
 * `Offline`, not `PushOnline`).
 */
export const queryOnlineStatus: RestCommand = async (ctx, body) => {
  const b = parseBody(onlineSchema, body, BAD);
  const valid = [...new Set(b.To_Account.filter(isValidUserID))];
  const now = Date.now();
  const online = valid.length ? await ctx.domain.storage.presence.onlineAmong(ctx.app.sdkAppID, valid, now) : new Set<string>();
  const QueryResult = [];
  for (const userID of b.To_Account) {
    const status = online.has(userID) ? 'Online' : 'Offline';
    const item: Record<string, unknown> = { To_Account: userID, Status: status };
    if (b.IsNeedDetail === 1) {
      const sessions = online.has(userID) ? await ctx.domain.storage.presence.online(ctx.app.sdkAppID, userID, now) : [];
      item.Detail = sessions.map((s) => ({ Platform: 'Web', Status: 'Online', DeviceID: s.deviceID }));
    }
    QueryResult.push(item);
  }
  return { QueryResult, ErrorList: [] };
};
