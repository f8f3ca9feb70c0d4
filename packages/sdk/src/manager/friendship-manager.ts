/** `V2TIMFriendshipManager`: friendship is mutual and immediate on Confab (no applications). */
import { ConfabError, ErrorCode, MAX_BATCH, assertUserID } from '@confab/protocol';
import { withCallback, type CallbackResult, type V2TIMValueCallback } from '../callback.js';
import { toV2Friend } from '../convert.js';
import type {
  V2TIMFriendAddApplication, V2TIMFriendInfo, V2TIMFriendOperationResult, V2TIMFriendshipListener,
} from '../types.js';
import type { SdkCore } from './core.js';

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

  addFriend<C extends V2TIMValueCallback<V2TIMFriendOperationResult> | undefined>(
    application: V2TIMFriendAddApplication, cb?: C,
  ): CallbackResult<V2TIMFriendOperationResult, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertUserID(application?.userID);
      const res = await s.connection.request('friend.add', {
        userID: application.userID,
        ...(application.friendRemark ? { remark: application.friendRemark } : {}),
      });
      s.names.profiles.set(res.friend.userID, res.friend.profile);
      s.names.friendRemarks.set(res.friend.userID, res.friend.friendRemark);
      return { userID: res.friend.userID, resultCode: 0, resultInfo: '' };
    });
  }

  /** `deleteType` (single/both) is accepted for compatibility; friendship is always mutual. */
  deleteFromFriendList<C extends V2TIMValueCallback<V2TIMFriendOperationResult[]> | undefined>(
    userIDs: string[], deleteType?: number, cb?: C,
  ): CallbackResult<V2TIMFriendOperationResult[], C> {
    void deleteType;
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      if (!Array.isArray(userIDs) || userIDs.length === 0 || userIDs.length > MAX_BATCH) {
        throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `userIDs must hold 1..${MAX_BATCH} IDs`);
      }
      userIDs.forEach((id) => assertUserID(id));
      const res = await s.connection.request('friend.delete', { userIDs: [...userIDs] });
      for (const r of res.results) if (r.resultCode === 0) s.names.friendRemarks.delete(r.id);
      return res.results.map((r) => ({ userID: r.id, resultCode: r.resultCode, resultInfo: r.resultInfo }));
    });
  }

  getFriendList<C extends V2TIMValueCallback<V2TIMFriendInfo[]> | undefined>(cb?: C): CallbackResult<V2TIMFriendInfo[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      const res = await s.connection.request('friend.list', {});
      s.names.friendRemarks.clear();
      for (const f of res.friends) {
        s.names.profiles.set(f.userID, f.profile);
        s.names.friendRemarks.set(f.userID, f.friendRemark);
      }
      return res.friends.map(toV2Friend);
    });
  }
}
