/** `V2TIMGroupManager`: groups, members, and the group listener (fed by `group.event`). */
import { ConfabError, ErrorCode, MAX_BATCH, assertGroupID, assertUserID, type OperationResult } from '@confab/protocol';
import { withCallback, type CallbackResult, type V2TIMCallback, type V2TIMValueCallback } from '../callback.js';
import { toV2Group, toV2Member } from '../convert.js';
import type {
  V2TIMCreateGroupInfo, V2TIMGroupApplication, V2TIMGroupApplicationResult, V2TIMGroupInfo, V2TIMGroupInfoResult, V2TIMGroupListener, V2TIMGroupMemberFullInfo,
  V2TIMGroupMemberInfoResult, V2TIMGroupMemberOperationResult,
} from '../types.js';
import type { SdkCore } from './core.js';

/** Members per `getGroupMemberList` page. */
const MEMBER_PAGE = 100;

function checkUserIDs(userIDs: unknown): asserts userIDs is string[] {
  if (!Array.isArray(userIDs) || userIDs.length === 0 || userIDs.length > MAX_BATCH) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `userIDs must hold 1..${MAX_BATCH} IDs`);
  }
  userIDs.forEach((id) => assertUserID(id));
}

function memberResults(results: OperationResult[]): V2TIMGroupMemberOperationResult[] {
  return results.map((r) => ({ memberID: r.id, result: r.resultCode === 0 ? 1 : 0, resultCode: r.resultCode, resultInfo: r.resultInfo }));
}

export class V2TIMGroupManager {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  addGroupListener(listener: V2TIMGroupListener): void {
    this.#core.groupListeners.add(listener);
  }

  removeGroupListener(listener: V2TIMGroupListener): void {
    this.#core.groupListeners.delete(listener);
  }

  /** Creates a group with initial members; resolves with its ID (server-made `@TGS#…` when none given). */
  createGroup<C extends V2TIMValueCallback<string> | undefined>(
    info: V2TIMCreateGroupInfo, memberList: { userID: string }[] | null, cb?: C,
  ): CallbackResult<string, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      if (!info || typeof info.groupName !== 'string' || info.groupName === '') {
        throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, 'groupName is required');
      }
      if (info.groupID) assertGroupID(info.groupID);
      const members = (memberList ?? []).map((m) => m.userID);
      members.forEach((id) => assertUserID(id));
      const res = await s.connection.request('group.create', {
        groupType: info.groupType, groupName: info.groupName,
        ...(info.groupID ? { groupID: info.groupID } : {}),
        ...(members.length ? { memberUserIDs: members } : {}),
        ...(info.faceUrl !== undefined ? { faceUrl: info.faceUrl } : {}),
        ...(info.introduction !== undefined ? { introduction: info.introduction } : {}),
        ...(info.notification !== undefined ? { notification: info.notification } : {}),
      });
      s.names.groups.set(res.group.groupID, res.group);
      await s.engine.handleUpdate(res.update);
      return res.group.groupID;
    });
  }

  inviteUserToGroup<C extends V2TIMValueCallback<V2TIMGroupMemberOperationResult[]> | undefined>(
    groupID: string, userIDs: string[], cb?: C,
  ): CallbackResult<V2TIMGroupMemberOperationResult[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      checkUserIDs(userIDs);
      const res = await s.connection.request('group.invite', { groupID, userIDs: [...userIDs] });
      return memberResults(res.results);
    });
  }

  /** `reason` is accepted for compatibility; the protocol does not carry it. */
  kickGroupMember<C extends V2TIMValueCallback<V2TIMGroupMemberOperationResult[]> | undefined>(
    groupID: string, userIDs: string[], reason?: string, cb?: C,
  ): CallbackResult<V2TIMGroupMemberOperationResult[], C> {
    void reason;
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      checkUserIDs(userIDs);
      const res = await s.connection.request('group.kick', { groupID, userIDs: [...userIDs] });
      return memberResults(res.results);
    });
  }

  /**
   * Pages of members in join order; `nextSeq` 0 starts, and a returned `nextSeq` of 0
   * means the end. A member present throughout is listed once even when others join or
   * leave between pages. `filter` is not applied yet.
   */
  getGroupMemberList<C extends V2TIMValueCallback<V2TIMGroupMemberInfoResult> | undefined>(
    groupID: string, filter: number, nextSeq: number, cb?: C,
  ): CallbackResult<V2TIMGroupMemberInfoResult, C> {
    void filter;
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      const res = await s.connection.request('group.members', { groupID, nextSeq: nextSeq || 0, count: MEMBER_PAGE });
      for (const m of res.members) {
        const known = s.names.profiles.get(m.userID);
        s.names.profiles.set(m.userID, { userID: m.userID, nickName: m.nickName, faceUrl: m.faceUrl, selfSignature: known?.selfSignature ?? '' });
      }
      return { nextSeq: res.isFinished ? 0 : res.nextSeq, memberInfoList: res.members.map(toV2Member) };
    });
  }

  getJoinedGroupList<C extends V2TIMValueCallback<V2TIMGroupInfo[]> | undefined>(cb?: C): CallbackResult<V2TIMGroupInfo[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      const res = await s.connection.request('group.joinedList', {});
      for (const g of res.groups) s.names.groups.set(g.groupID, g);
      return res.groups.map(toV2Group);
    });
  }

  /** One result per ID asked; an unknown group is resultCode 10010 with `info: null`. */
  getGroupsInfo<C extends V2TIMValueCallback<V2TIMGroupInfoResult[]> | undefined>(
    groupIDs: string[], cb?: C,
  ): CallbackResult<V2TIMGroupInfoResult[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      if (!Array.isArray(groupIDs) || groupIDs.length === 0 || groupIDs.length > MAX_BATCH) {
        throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `groupIDs must hold 1..${MAX_BATCH} IDs`);
      }
      groupIDs.forEach((id) => assertGroupID(id));
      const res = await s.connection.request('group.info', { groupIDs: [...groupIDs] });
      const found = new Map(res.groups.map((g) => [g.groupID, g]));
      const denied = new Set(res.denied ?? []);
      return groupIDs.map((id) => {
        if (denied.has(id)) return { resultCode: ErrorCode.GROUP_PERMISSION_DENIED, resultMessage: 'only members see this group', info: null };
        const g = found.get(id);
        if (g) s.names.groups.set(id, g);
        return g
          ? { resultCode: 0, resultMessage: '', info: toV2Group(g) }
          : { resultCode: ErrorCode.GROUP_NOT_FOUND, resultMessage: 'group not found', info: null };
      });
    });
  }

  /**
   * Changes the fields given (groupName, notification, introduction, faceUrl,
   * groupAddOpt, isAllMuted); every member hears onGroupInfoChanged. In a Work group any
   * member may change the profile fields; the rest needs the owner or an admin.
   */
  setGroupInfo<C extends V2TIMCallback | undefined>(info: Partial<V2TIMGroupInfo> & { groupID: string }, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(info?.groupID);
      const body: { groupID: string; groupName?: string; notification?: string; introduction?: string; faceUrl?: string; groupAddOpt?: number; isAllMuted?: boolean } = { groupID: info.groupID };
      for (const key of ['groupName', 'notification', 'introduction', 'faceUrl'] as const) {
        const v = info[key];
        if (v === undefined) continue;
        if (typeof v !== 'string') throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `${key} must be a string`);
        body[key] = v;
      }
      if (info.groupAddOpt !== undefined) body.groupAddOpt = info.groupAddOpt;
      if (info.isAllMuted !== undefined) body.isAllMuted = info.isAllMuted;
      await s.connection.request('group.setInfo', body);
    });
  }

  /** Owner only: `role` V2TIM_GROUP_MEMBER_ROLE_ADMIN (300) or _MEMBER (200); members hear onGrant/RevokeAdministrator. */
  setGroupMemberRole<C extends V2TIMCallback | undefined>(groupID: string, userID: string, role: number, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      assertUserID(userID);
      await s.connection.request('group.setMemberRole', { groupID, userID, role });
    });
  }

  /** Owner only: the member becomes owner and the caller a plain member; members hear onGroupInfoChanged (OWNER). */
  transferGroupOwner<C extends V2TIMCallback | undefined>(groupID: string, userID: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      assertUserID(userID);
      await s.connection.request('group.transferOwner', { groupID, userID });
    });
  }

  /** Mutes a member for `seconds` (0 lifts it); their sends are refused with 10017 until then. */
  muteGroupMember<C extends V2TIMCallback | undefined>(groupID: string, userID: string, seconds: number, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      assertUserID(userID);
      if (!Number.isSafeInteger(seconds) || seconds < 0) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'seconds must be a non-negative integer');
      await s.connection.request('group.muteMember', { groupID, userID, seconds });
    });
  }

  getGroupMembersInfo<C extends V2TIMValueCallback<V2TIMGroupMemberFullInfo[]> | undefined>(groupID: string, memberList: string[], cb?: C): CallbackResult<V2TIMGroupMemberFullInfo[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      checkUserIDs(memberList);
      const res = await s.connection.request('group.membersInfo', { groupID, userIDs: [...memberList] });
      return res.members.map(toV2Member);
    });
  }

  /** Sets `nameCard` and/or `customInfo` of a member: one's own, or (owner, admin) of a lower role. */
  setGroupMemberInfo<C extends V2TIMCallback | undefined>(groupID: string, info: { userID: string; nameCard?: string; customInfo?: Record<string, string> }, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      assertUserID(info?.userID);
      await s.connection.request('group.setMemberInfo', {
        groupID, userID: info.userID,
        ...(info.nameCard !== undefined ? { nameCard: info.nameCard } : {}), ...(info.customInfo ? { customInfo: { ...info.customInfo } } : {}),
      });
    });
  }

  /** Pending join applications of the groups the caller owns or administers. */
  getGroupApplicationList<C extends V2TIMValueCallback<V2TIMGroupApplicationResult> | undefined>(cb?: C): CallbackResult<V2TIMGroupApplicationResult, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      const res = await s.connection.request('group.applications', {});
      return { unreadCount: res.unreadCount, groupApplicationList: res.applications.map((a) => ({ ...a })) };
    });
  }

  acceptGroupApplication<C extends V2TIMCallback | undefined>(application: V2TIMGroupApplication, reason: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(application?.groupID);
      assertUserID(application.fromUser);
      await s.connection.request('group.acceptApplication', { groupID: application.groupID, userID: application.fromUser, ...(reason ? { reason } : {}) });
    });
  }

  refuseGroupApplication<C extends V2TIMCallback | undefined>(application: V2TIMGroupApplication, reason: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(application?.groupID);
      assertUserID(application.fromUser);
      await s.connection.request('group.refuseApplication', { groupID: application.groupID, userID: application.fromUser, ...(reason ? { reason } : {}) });
    });
  }

  /** Accepted for the reference's API; Confab keeps no read state for join applications (handled ones leave the list). */
  setGroupApplicationRead<C extends V2TIMCallback | undefined>(cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      this.#core.requireSession();
    });
  }
}
