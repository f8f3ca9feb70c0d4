import { assertUserID, ConfabError, ErrorCode, MAX_BATCH, type FriendInfo, type OperationResult } from '@confab/protocol';
import { userTopic } from '../bus/types.js';
import { LimitReachedError, type FriendRecord } from '../storage/types.js';
import { toProfile, type AccountService } from './accounts.js';
import { readAll, settingsOf } from './bounded.js';
import type { Caller, ServiceContext } from './context.js';

/**
 * Friendship is mutual and immediate (the reference's "allow anyone" add type). Ending
 * a friendship never touches the conversation: the app deletes it if it wants to.
 */
export class FriendService {
  readonly #ctx: ServiceContext;
  readonly #accounts: AccountService;

  constructor(ctx: ServiceContext, accounts: AccountService) {
    this.#ctx = ctx;
    this.#accounts = accounts;
  }

  async add(caller: Caller, userID: string, remark = ''): Promise<FriendInfo> {
    assertUserID(userID);
    const app = caller.app.sdkAppID;
    if (userID === caller.userID) throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, 'cannot add yourself as a friend');
    if (Buffer.byteLength(remark) > 96) throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, 'remark is longer than 96 bytes');
    if (!(await this.#accounts.exists(app, userID))) throw new ConfabError(ErrorCode.FRIEND_ACCOUNT_NOT_FOUND, `user ${userID} does not exist`);
    const maxFriends = settingsOf(this.#ctx, caller).maxFriends;
    const record = await this.#ctx.storage.friends.add(app, caller.userID, userID, remark, this.#ctx.now(), maxFriends).catch((err: unknown) => {
      if (!(err instanceof LimitReachedError)) throw err;
      throw err.limit === 'peerFriends'
        ? new ConfabError(ErrorCode.PEER_FRIEND_LIMIT, `user ${userID} has as many friends as allowed (${maxFriends})`)
        : new ConfabError(ErrorCode.FRIEND_LIMIT, `you have as many friends as allowed (${maxFriends})`);
    });
    this.#notify(app, [caller.userID, userID], (who) => ({ event: 'added', userIDs: [who === caller.userID ? userID : caller.userID] }));
    return (await this.#toInfo(app, [record]))[0]!;
  }

  async remove(caller: Caller, userIDs: string[]): Promise<OperationResult[]> {
    if (userIDs.length === 0 || userIDs.length > MAX_BATCH) {
      throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, `userIDs must hold 1 to ${MAX_BATCH} users`);
    }
    const app = caller.app.sdkAppID;
    const results: OperationResult[] = [];
    for (const userID of userIDs) {
      const removed = await this.#ctx.storage.friends.remove(app, caller.userID, userID);
      results.push(removed ? { id: userID, resultCode: 0, resultInfo: '' } : { id: userID, resultCode: ErrorCode.NOT_FRIENDS, resultInfo: 'not friends' });
      if (removed) this.#notify(app, [caller.userID, userID], (who) => ({ event: 'deleted', userIDs: [who === caller.userID ? userID : caller.userID] }));
    }
    return results;
  }

  /** Every friend (at most the app's maxFriends) in friend ID order, read in batches. */
  async list(caller: Caller): Promise<FriendInfo[]> {
    const app = caller.app.sdkAppID;
    const records = await readAll((after, limit) => this.#ctx.storage.friends.page(app, caller.userID, limit, after), (r) => r.friendID);
    return this.#toInfo(app, records);
  }

  async #toInfo(app: number, records: FriendRecord[]): Promise<FriendInfo[]> {
    const accounts = new Map((await this.#ctx.storage.accounts.get(app, records.map((r) => r.friendID))).map((a) => [a.userID, a]));
    return records.map((r) => {
      const account = accounts.get(r.friendID);
      return {
        userID: r.friendID, friendRemark: r.remark, addTime: r.addedAt,
        profile: account ? toProfile(account) : { userID: r.friendID, nickName: '', faceUrl: '', selfSignature: '' },
      };
    });
  }

  #notify(app: number, users: string[], body: (who: string) => { event: 'added' | 'deleted'; userIDs: string[] }): void {
    for (const who of users) this.#ctx.bus.publish(userTopic(app, who), { kind: 'push', push: 'friend.event', body: body(who) });
  }
}
