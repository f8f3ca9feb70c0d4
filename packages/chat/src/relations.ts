/**
 * Profiles, groups and friends in the Web SDK's shapes, over the core's managers.
 * Confab's friendship is mutual and immediate, so there are never friend applications,
 * friend groups or blocklist entries: those lists are truthfully empty (the reference's
 * UIKits read them at login and need them to resolve), and the calls that would create
 * such entries reject with 3122 (unsupported.ts).
 */
import { ErrorCode } from '@confab/protocol';
import { ERROR_CODE, EVENT, TYPES } from './constants.js';
import type { FaceContext } from './context.js';
import { CORE_GROUP_TYPE, webFriend, webGroup, webMember, webProfile, type WebGroup, type WebProfile } from './convert.js';
import { ChatError, invalidParams, ok, type ChatResponse } from './errors.js';

function stringList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidParams(`${what} must be an array of strings`);
  return v as string[];
}

function groupIDOf(v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new ChatError(ERROR_CODE.ILLEGAL_GRP_ID, 'groupID must be a non-empty string');
  return v;
}

export async function getUserProfile(ctx: FaceContext, options: unknown): Promise<ChatResponse<WebProfile[]>> {
  const ids = stringList((options as { userIDList?: unknown } | undefined)?.userIDList, 'userIDList');
  if (ids.length === 0) return ok([]);
  const users = await ctx.im.getUsersInfo(ids);
  ctx.namesChanged(false);
  return ok(users.map((u) => webProfile(u.userID, u)));
}

export async function getMyProfile(ctx: FaceContext): Promise<ChatResponse<WebProfile>> {
  const me = ctx.userID();
  const [u] = await ctx.im.getUsersInfo([me]);
  return ok(webProfile(me, u));
}

/**
 * `nick`, `avatar` and `selfSignature` are stored; Confab has no gender, birthday,
 * location, allowType or custom profile fields yet — those keys are ignored. A call with
 * none of the three fails with 2722 UPDATE_PROFILE_NO_KEY instead of pretending to save.
 */
export async function updateMyProfile(ctx: FaceContext, options: unknown): Promise<ChatResponse<WebProfile>> {
  const o = options as { nick?: unknown; avatar?: unknown; selfSignature?: unknown } | undefined;
  if (!o || typeof o !== 'object') throw invalidParams('options must be an object');
  const patch: { nickName?: string; faceUrl?: string; selfSignature?: string } = {};
  for (const [web, core] of [['nick', 'nickName'], ['avatar', 'faceUrl'], ['selfSignature', 'selfSignature']] as const) {
    const v = o[web];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new ChatError(ERROR_CODE.UPDATE_PROFILE_INVALID_PARAM, `${web} must be a string`);
    patch[core] = v;
  }
  if (Object.keys(patch).length === 0) throw new ChatError(ERROR_CODE.UPDATE_PROFILE_NO_KEY, 'nothing to update: give nick, avatar or selfSignature');
  await ctx.im.setSelfInfo(patch);
  const me = ctx.userID();
  const profile = webProfile(me, ctx.names.profile(me));
  ctx.emit(EVENT.PROFILE_UPDATED, [profile]);
  // The user's own C2C rows do not show their name, but group last messages do.
  ctx.namesChanged();
  return ok(profile);
}

export async function getGroupList(ctx: FaceContext): Promise<ChatResponse<{ groupList: WebGroup[] }>> {
  const groups = await ctx.im.getGroupManager().getJoinedGroupList();
  ctx.namesChanged(false);
  return ok({ groupList: groups.map((g) => webGroup(g, g.groupID)) });
}

export async function getGroupProfile(ctx: FaceContext, options: unknown): Promise<ChatResponse<{ group: WebGroup }>> {
  const groupID = groupIDOf((options as { groupID?: unknown } | undefined)?.groupID);
  const [r] = await ctx.im.getGroupManager().getGroupsInfo([groupID]);
  if (!r?.info) throw new ChatError(r?.resultCode ?? ErrorCode.GROUP_NOT_FOUND, r?.resultMessage || 'group not found');
  ctx.namesChanged(false);
  return ok({ group: webGroup(r.info, groupID) });
}

export async function createGroup(ctx: FaceContext, options: unknown): Promise<ChatResponse<{ group: WebGroup; overLimitUserIDList: string[] }>> {
  const o = options as { type?: unknown; name?: unknown; groupID?: unknown; memberList?: unknown; avatar?: unknown; introduction?: unknown; notification?: unknown } | undefined;
  if (!o || typeof o !== 'object') throw invalidParams('options must be an object');
  const type = o.type === undefined ? TYPES.GRP_WORK : o.type;
  const groupType = CORE_GROUP_TYPE[String(type)];
  if (!groupType) throw new ChatError(ERROR_CODE.ILLEGAL_GRP_TYPE, `group type ${String(type)} is not supported (Work 'Private', Public, Meeting 'ChatRoom')`);
  if (typeof o.name !== 'string' || o.name === '') throw invalidParams('name must be a non-empty string');
  const members = o.memberList === undefined ? [] : (o.memberList as { userID?: unknown }[]);
  if (!Array.isArray(members) || members.some((m) => typeof m?.userID !== 'string')) throw invalidParams('memberList must be [{ userID }]');
  const opt = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const groupID = await ctx.im.getGroupManager().createGroup({
    groupType, groupName: o.name, groupID: opt(o.groupID) ?? null,
    faceUrl: opt(o.avatar), introduction: opt(o.introduction), notification: opt(o.notification),
  }, members.map((m) => ({ userID: m.userID as string })));
  return ok({ group: webGroup(ctx.names.group(groupID), groupID, TYPES.GRP_MBR_ROLE_OWNER), overLimitUserIDList: [] });
}

export async function joinGroup(ctx: FaceContext, options: unknown): Promise<ChatResponse<{ status: string; group?: WebGroup }>> {
  const groupID = groupIDOf((options as { groupID?: unknown } | undefined)?.groupID);
  try {
    await ctx.im.joinGroup(groupID, '');
  } catch (err) {
    if ((err as { code?: number }).code === ErrorCode.GROUP_ALREADY_MEMBER) return ok({ status: TYPES.JOIN_STATUS_ALREADY_IN_GROUP });
    throw err;
  }
  return ok({ status: TYPES.JOIN_STATUS_SUCCESS, group: webGroup(ctx.names.group(groupID), groupID, TYPES.GRP_MBR_ROLE_MEMBER) });
}

export async function quitGroup(ctx: FaceContext, groupID: unknown): Promise<ChatResponse<{ groupID: string }>> {
  const id = groupIDOf(groupID);
  await ctx.im.quitGroup(id);
  return ok({ groupID: id });
}

export async function dismissGroup(ctx: FaceContext, groupID: unknown): Promise<ChatResponse<{ groupID: string }>> {
  const id = groupIDOf(groupID);
  await ctx.im.dismissGroup(id);
  return ok({ groupID: id });
}

/**
 * `offset` is the core's member cursor: 0 starts, and a returned 0 means the end. Pages
 * hold up to 100 members whatever `count` asks (the reference's maximum is 100 too).
 */
export async function getGroupMemberList(ctx: FaceContext, options: unknown): Promise<ChatResponse<{ memberList: ReturnType<typeof webMember>[]; offset: number }>> {
  const o = options as { groupID?: unknown; offset?: unknown } | undefined;
  const groupID = groupIDOf(o?.groupID);
  const offset = o?.offset === undefined ? 0 : Number(o.offset);
  if (!Number.isInteger(offset) || offset < 0) throw invalidParams('offset must be a non-negative integer');
  const page = await ctx.im.getGroupManager().getGroupMemberList(groupID, 0, offset);
  return ok({ memberList: page.memberInfoList.map(webMember), offset: page.nextSeq });
}

export async function getFriendList(ctx: FaceContext): Promise<ChatResponse<ReturnType<typeof webFriend>[]>> {
  const friends = await ctx.im.getFriendshipManager().getFriendList();
  ctx.namesChanged(false);
  return ok(friends.map(webFriend));
}

export async function addFriend(ctx: FaceContext, options: unknown): Promise<ChatResponse<{ userID: string; code: number; message: string }>> {
  const o = options as { to?: unknown; remark?: unknown } | undefined;
  if (typeof o?.to !== 'string' || o.to === '') throw invalidParams('to must be a non-empty string');
  const r = await ctx.im.getFriendshipManager().addFriend({ userID: o.to, ...(typeof o.remark === 'string' ? { friendRemark: o.remark } : {}) });
  ctx.emit(EVENT.FRIEND_LIST_UPDATED, (await getFriendList(ctx)).data);
  ctx.namesChanged();
  return ok({ userID: r.userID, code: r.resultCode, message: r.resultInfo });
}

type FriendResult = { userID: string; code: number; message: string };

export async function deleteFriend(ctx: FaceContext, options: unknown): Promise<ChatResponse<{ successUserIDList: FriendResult[]; failureUserIDList: FriendResult[] }>> {
  const ids = stringList((options as { userIDList?: unknown } | undefined)?.userIDList, 'userIDList');
  const results = await ctx.im.getFriendshipManager().deleteFromFriendList(ids);
  const all = results.map((r) => ({ userID: r.userID, code: r.resultCode, message: r.resultInfo }));
  ctx.emit(EVENT.FRIEND_LIST_UPDATED, (await getFriendList(ctx)).data);
  ctx.namesChanged();
  return ok({ successUserIDList: all.filter((r) => r.code === 0), failureUserIDList: all.filter((r) => r.code !== 0) });
}
