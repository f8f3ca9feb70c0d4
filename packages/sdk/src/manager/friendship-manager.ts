/**
 * `V2TIMFriendshipManager`: friends (one-way or both), friend applications as the peer's
 * allowType asks, friend info, and the blocklist. Listener events come from the
 * server's `friend.event` pushes, to every device of the user.
 */
import { ConfabError, ErrorCode, MAX_BATCH, assertUserID, type FriendInfo } from '@confab/protocol';
import { withCallback, type CallbackResult, type V2TIMCallback, type V2TIMValueCallback } from '../callback.js';
import { toV2Friend } from '../convert.js';
import type {
  V2TIMFriendAddApplication, V2TIMFriendApplication, V2TIMFriendApplicationResult, V2TIMFriendCheckResult, V2TIMFriendInfo,
  V2TIMFriendInfoResult, V2TIMFriendOperationResult, V2TIMFriendshipListener,
} from '../types.js';
import type { SdkCore } from './core.js';

function checkUserIDs(userIDs: unknown): asserts userIDs is string[] {
  if (!Array.isArray(userIDs) || userIDs.length === 0 || userIDs.length > MAX_BATCH) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `userIDs must hold 1..${MAX_BATCH} IDs`);
  }
  userIDs.forEach((id) => assertUserID(id));
}

function checkApplication(application: unknown): asserts application is V2TIMFriendApplication {
  if (typeof application !== 'object' || application === null) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'application must be a V2TIMFriendApplication');
  assertUserID((application as V2TIMFriendApplication).userID);
}

export class V2TIMFriendshipManager {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  addFriendListener(listener: V2TIMFriendshipListener): void {
    this.#core.friendListeners.add(listener);
  }

  removeFriendListener(listener: V2TIMFriendshipListener): void {
    this.#core.friendListeners.delete(listener);
  }

  /**
   * Adds a friend as the peer's allowType says: at once (resultCode 0), or as an
   * application the peer must accept (resultCode 30539, which is not a failure). Refusals
   * (30515, 30516, 30525) come back in the result, as the reference's.
   */
  addFriend<C extends V2TIMValueCallback<V2TIMFriendOperationResult> | undefined>(
    application: V2TIMFriendAddApplication, cb?: C,
  ): CallbackResult<V2TIMFriendOperationResult, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertUserID(application?.userID);
      const body: { userID: string; remark?: string; addType?: number; addWording?: string; addSource?: string } = { userID: application.userID };
      if (application.friendRemark) body.remark = application.friendRemark;
      if (application.addType !== undefined) body.addType = application.addType;
      if (application.addWording) body.addWording = application.addWording;
      if (application.addSource) body.addSource = application.addSource;
      try {
        const res = await s.connection.request('friend.add', body);
        if (res.friend) this.#remember(res.friend);
        return { userID: application.userID, resultCode: res.resultCode ?? 0, resultInfo: res.resultInfo ?? '' };
      } catch (err) {
        // The reference answers a refused add in the result, not as a failed call.
        if (err instanceof ConfabError && [ErrorCode.FRIEND_PEER_IN_MY_BLOCKLIST, ErrorCode.FRIEND_PEER_DENIES_ALL, ErrorCode.FRIEND_IN_PEER_BLOCKLIST].includes(err.code as never)) {
          return { userID: application.userID, resultCode: err.code, resultInfo: err.desc };
        }
        throw err;
      }
    });
  }

  /** `deleteType`: V2TIMFriendType SINGLE (1, from the caller's list only) or BOTH (2, the default). */
  deleteFromFriendList<C extends V2TIMValueCallback<V2TIMFriendOperationResult[]> | undefined>(
    userIDs: string[], deleteType?: number, cb?: C,
  ): CallbackResult<V2TIMFriendOperationResult[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      checkUserIDs(userIDs);
      const res = await s.connection.request('friend.delete', { userIDs: [...userIDs], ...(deleteType !== undefined ? { deleteType } : {}) });
      for (const r of res.results) if (r.resultCode === 0) s.names.friendRemarks.delete(r.id);
      return res.results.map((r) => ({ userID: r.id, resultCode: r.resultCode, resultInfo: r.resultInfo }));
    });
  }

  getFriendList<C extends V2TIMValueCallback<V2TIMFriendInfo[]> | undefined>(cb?: C): CallbackResult<V2TIMFriendInfo[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      const res = await s.connection.request('friend.list', {});
      s.names.friendRemarks.clear();
      for (const f of res.friends) this.#remember(f);
      return res.friends.map(toV2Friend);
    });
  }

  /** `checkType`: SINGLE (1) asks only whether each user is in the caller's list; BOTH (2, default) both directions. */
  checkFriend<C extends V2TIMValueCallback<V2TIMFriendCheckResult[]> | undefined>(
    userIDs: string[], checkType?: number, cb?: C,
  ): CallbackResult<V2TIMFriendCheckResult[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      checkUserIDs(userIDs);
      const res = await s.connection.request('friend.check', { userIDs: [...userIDs], ...(checkType !== undefined ? { checkType } : {}) });
      return res.results.map((r) => ({ ...r }));
    });
  }

  getFriendsInfo<C extends V2TIMValueCallback<V2TIMFriendInfoResult[]> | undefined>(
    userIDs: string[], cb?: C,
  ): CallbackResult<V2TIMFriendInfoResult[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      checkUserIDs(userIDs);
      const res = await s.connection.request('friend.getInfo', { userIDs: [...userIDs] });
      return res.results.map((r) => ({
        resultCode: r.resultCode, resultInfo: r.resultInfo, relation: r.relation,
        friendInfo: r.friend ? toV2Friend(r.friend) : { userID: r.userID, friendRemark: '', userProfile: { userID: r.userID, nickName: '', faceUrl: '', selfSignature: '' }, friendCustomInfo: {} },
      }));
    });
  }

  /** Changes a friend's remark and/or custom fields (`friendCustomInfo`; an empty value deletes a field). */
  setFriendInfo<C extends V2TIMCallback | undefined>(info: { userID: string; friendRemark?: string; friendCustomInfo?: Record<string, string> }, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertUserID(info?.userID);
      await s.connection.request('friend.setInfo', {
        userID: info.userID,
        ...(info.friendRemark !== undefined ? { friendRemark: info.friendRemark } : {}),
        ...(info.friendCustomInfo ? { friendCustomInfo: { ...info.friendCustomInfo } } : {}),
      });
      if (info.friendRemark !== undefined) s.names.friendRemarks.set(info.userID, info.friendRemark);
    });
  }

  getFriendApplicationList<C extends V2TIMValueCallback<V2TIMFriendApplicationResult> | undefined>(cb?: C): CallbackResult<V2TIMFriendApplicationResult, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      const res = await s.connection.request('friend.applications', {});
      return { unreadCount: res.unreadCount, friendApplicationList: res.applications.map((a) => ({ ...a })) };
    });
  }

  /** `responseType`: V2TIM_FRIEND_ACCEPT_AGREE (0, one-way: the applicant gets the caller) or AGREE_AND_ADD (1, both ways). */
  acceptFriendApplication<C extends V2TIMValueCallback<V2TIMFriendOperationResult> | undefined>(
    application: V2TIMFriendApplication, responseType: number, cb?: C,
  ): CallbackResult<V2TIMFriendOperationResult, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      checkApplication(application);
      const res = await s.connection.request('friend.acceptApplication', { userID: application.userID, responseType });
      if (res.friend) this.#remember(res.friend);
      return { userID: application.userID, resultCode: 0, resultInfo: '' };
    });
  }

  refuseFriendApplication<C extends V2TIMValueCallback<V2TIMFriendOperationResult> | undefined>(
    application: V2TIMFriendApplication, cb?: C,
  ): CallbackResult<V2TIMFriendOperationResult, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      checkApplication(application);
      await s.connection.request('friend.refuseApplication', { userID: application.userID });
      return { userID: application.userID, resultCode: 0, resultInfo: '' };
    });
  }

  deleteFriendApplication<C extends V2TIMCallback | undefined>(application: V2TIMFriendApplication, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      checkApplication(application);
      await s.connection.request('friend.deleteApplication', { userID: application.userID, type: application.type });
    });
  }

  setFriendApplicationRead<C extends V2TIMCallback | undefined>(cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      await s.connection.request('friend.setApplicationRead', {});
    });
  }

  /** Blocks users: their one-to-one messages to the caller are refused (20007) and any friendship between them ends. */
  addToBlackList<C extends V2TIMValueCallback<V2TIMFriendOperationResult[]> | undefined>(userIDs: string[], cb?: C): CallbackResult<V2TIMFriendOperationResult[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      checkUserIDs(userIDs);
      if (userIDs.includes(s.userID)) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'cannot add yourself to the blocklist');
      const res = await s.connection.request('black.add', { userIDs: [...userIDs] });
      return res.results.map((r) => ({ userID: r.id, resultCode: r.resultCode, resultInfo: r.resultInfo }));
    });
  }

  deleteFromBlackList<C extends V2TIMValueCallback<V2TIMFriendOperationResult[]> | undefined>(userIDs: string[], cb?: C): CallbackResult<V2TIMFriendOperationResult[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      checkUserIDs(userIDs);
      const res = await s.connection.request('black.delete', { userIDs: [...userIDs] });
      return res.results.map((r) => ({ userID: r.id, resultCode: r.resultCode, resultInfo: r.resultInfo }));
    });
  }

  getBlackList<C extends V2TIMValueCallback<V2TIMFriendInfo[]> | undefined>(cb?: C): CallbackResult<V2TIMFriendInfo[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      const res = await s.connection.request('black.list', {});
      return res.users.map(toV2Friend);
    });
  }

  #remember(f: FriendInfo): void {
    const s = this.#core.requireSession();
    s.names.profiles.set(f.userID, f.profile);
    s.names.friendRemarks.set(f.userID, f.friendRemark);
  }
}
