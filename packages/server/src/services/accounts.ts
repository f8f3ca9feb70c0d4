import { ConfabError, ErrorCode, type UserProfile } from '@confab/protocol';
import type { AccountRecord } from '../storage/types.js';
import type { Caller, ServiceContext } from './context.js';

export function toProfile(account: AccountRecord): UserProfile {
  return { userID: account.userID, nickName: account.nickName, faceUrl: account.faceUrl, selfSignature: account.selfSignature };
}

const LIMITS = { nickName: 128, faceUrl: 500, selfSignature: 500 } as const;

export class AccountService {
  readonly #ctx: ServiceContext;
  /**
   * Accounts are never deleted, so "this user exists" can be remembered for good; it
   * saves a read per one-to-one message on the hot path.
   */
  readonly #known = new Set<string>();

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
  }

  async ensure(app: number, userID: string): Promise<AccountRecord> {
    const account = await this.#ctx.storage.accounts.ensure(app, userID, this.#ctx.now());
    this.#known.add(`${app}|${userID}`);
    return account;
  }

  async exists(app: number, userID: string): Promise<boolean> {
    const key = `${app}|${userID}`;
    if (this.#known.has(key)) return true;
    const [found] = await this.#ctx.storage.accounts.get(app, [userID]);
    if (found) this.#known.add(key);
    return found !== undefined;
  }

  async profiles(caller: Caller, userIDs: string[]): Promise<UserProfile[]> {
    const accounts = await this.#ctx.storage.accounts.get(caller.app.sdkAppID, [...new Set(userIDs)]);
    return accounts.map(toProfile);
  }

  async setProfile(caller: Caller, patch: { nickName?: string; faceUrl?: string; selfSignature?: string }): Promise<UserProfile> {
    for (const key of Object.keys(LIMITS) as (keyof typeof LIMITS)[]) {
      const value = patch[key];
      if (value !== undefined && Buffer.byteLength(value) > LIMITS[key]) {
        throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `${key} is longer than ${LIMITS[key]} bytes`);
      }
    }
    return toProfile(await this.#ctx.storage.accounts.updateProfile(caller.app.sdkAppID, caller.userID, patch));
  }
}
