import {
  ErrorCode, GroupMemberRole, GroupType, groupConversationID, isConfabError, isValidGroupID, isValidUserID, MAX_BATCH,
  type GroupInfo,
} from '@confab/protocol';
import { describeIssue, requestSchemas } from '../../gateway/schemas.js';
import { callerFor, restError, type RestCommand, type RestContext } from './envelope.js';
import { toGroupInfo } from '../../services/groups.js';
import { freshRandom, messageFields, messageOptions, toElem } from './msgbody.js';
import { parseBody, str, uint, z } from './schema.js';

/**
 * `group_open_http_svc`: groups managed by the app back end, over the same GroupService
 * as the SDK. The admin acts as the group's owner (Confab groups always have one: a group
 * created without `Owner_Account` is owned by the admin account). Bad fields answer
 * 10004, an unknown or dismissed group 10010, as in the reference.
 */
const BAD = ErrorCode.GROUP_INVALID_PARAMETERS;

/** The reference's REST group types → Confab's (`Private` is the old name of `Work`, `ChatRoom` of `Meeting`). */
const TYPES: Record<string, GroupType> = {
  Public: GroupType.PUBLIC, Private: GroupType.WORK, Work: GroupType.WORK, ChatRoom: GroupType.MEETING, Meeting: GroupType.MEETING,
};
const TYPE_NAMES: Record<GroupType, string> = { [GroupType.PUBLIC]: 'Public', [GroupType.WORK]: 'Private', [GroupType.MEETING]: 'ChatRoom' };
const ROLE_NAMES: Record<number, string> = { [GroupMemberRole.OWNER]: 'Owner', [GroupMemberRole.ADMIN]: 'Admin', [GroupMemberRole.MEMBER]: 'Member' };

async function requireUser(ctx: RestContext, userID: string, field: string): Promise<string> {
  if (!isValidUserID(userID) || !(await ctx.domain.accounts.exists(ctx.app.sdkAppID, userID))) {
    throw restError(ErrorCode.ACCOUNT_NOT_FOUND, `${field} ${JSON.stringify(userID)} does not exist; import it first`);
  }
  return userID;
}

/** The live group, or 10010. */
async function requireGroup(ctx: RestContext, groupID: string) {
  if (!isValidGroupID(groupID)) throw restError(ErrorCode.GROUP_NOT_FOUND, `GroupId ${JSON.stringify(groupID)} is not a valid group ID`);
  const group = await ctx.domain.storage.groups.get(ctx.app.sdkAppID, groupID);
  if (!group || group.dismissedAt !== null) throw restError(ErrorCode.GROUP_NOT_FOUND, `group ${groupID} does not exist or was dismissed`);
  return group;
}

const asOwner = async (ctx: RestContext, groupID: string) => callerFor(ctx.app, (await requireGroup(ctx, groupID)).owner);

const createSchema = z.object({
  Owner_Account: str.optional(), Type: str, GroupId: str.optional(), Name: str,
  Introduction: str.optional(), Notification: str.optional(), FaceUrl: str.optional(),
  MemberList: z.array(z.object({ Member_Account: str })).max(MAX_BATCH).optional(),
});

/** `create_group` → `{ GroupId }` */
export const createGroup: RestCommand = async (ctx, body) => {
  const b = parseBody(createSchema, body, BAD);
  const groupType = TYPES[b.Type];
  if (!groupType) throw restError(BAD, `Type ${JSON.stringify(b.Type)} is not supported; use Public, Private (Work) or ChatRoom (Meeting)`);
  let owner = ctx.app.adminUserID;
  if (b.Owner_Account !== undefined) owner = await requireUser(ctx, b.Owner_Account, 'Owner_Account');
  else await ctx.domain.accounts.ensure(ctx.app.sdkAppID, owner);
  const req: Parameters<RestContext['domain']['groups']['create']>[1] = {
    groupType, groupName: b.Name, memberUserIDs: (b.MemberList ?? []).map((m) => m.Member_Account),
  };
  if (b.GroupId !== undefined) req.groupID = b.GroupId;
  if (b.Introduction !== undefined) req.introduction = b.Introduction;
  if (b.Notification !== undefined) req.notification = b.Notification;
  if (b.FaceUrl !== undefined) req.faceUrl = b.FaceUrl;
  const { group } = await ctx.domain.groups.create(callerFor(ctx.app, owner), req);
  return { GroupId: group.groupID };
};

function groupFields(g: GroupInfo) {
  return {
    GroupId: g.groupID, Type: TYPE_NAMES[g.groupType], Name: g.groupName, Introduction: g.introduction, Notification: g.notification,
    FaceUrl: g.faceUrl, Owner_Account: g.owner, CreateTime: Math.floor(g.createTime / 1000), MemberNum: g.memberCount,
  };
}

/**
 * Groups as the app admin sees them: every group, member or not (the members' view,
 * `GroupService.info`, hides a Work group from non-members, and the admin is not one).
 */
async function adminGroupInfo(ctx: RestContext, groupIDs: string[]): Promise<GroupInfo[]> {
  return (await ctx.domain.storage.groups.getMany(ctx.app.sdkAppID, [...new Set(groupIDs)])).map(toGroupInfo);
}

const infoSchema = z.object({ GroupIdList: z.array(str).min(1).max(50) });

/** `get_group_info`: `{ GroupIdList }` (1 to 50) → `{ GroupInfo: [{ GroupId, ErrorCode, ErrorInfo, Type, Name, … }] }` */
export const getGroupInfo: RestCommand = async (ctx, body) => {
  const b = parseBody(infoSchema, body, BAD);
  const valid = b.GroupIdList.filter(isValidGroupID);
  const found = new Map((await adminGroupInfo(ctx, valid)).map((g) => [g.groupID, g]));
  return {
    GroupInfo: b.GroupIdList.map((id) => {
      const g = found.get(id);
      if (!g || g.dismissed) return { GroupId: id, ErrorCode: ErrorCode.GROUP_NOT_FOUND, ErrorInfo: 'group does not exist or was dismissed' };
      return { ...groupFields(g), ErrorCode: 0, ErrorInfo: '' };
    }),
  };
};

const addSchema = z.object({ GroupId: str, MemberList: z.array(z.object({ Member_Account: str })).min(1).max(MAX_BATCH), Silence: z.number().optional() });

/**
 * `add_group_member` → `{ MemberList: [{ Member_Account, Result }] }`, `Result` as in the
 * reference: 0 failed, 1 added, 2 already a member.
 */
export const addGroupMember: RestCommand = async (ctx, body) => {
  const b = parseBody(addSchema, body, BAD);
  const ids = b.MemberList.map((m) => m.Member_Account);
  const results = await ctx.domain.groups.invite(await asOwner(ctx, b.GroupId), b.GroupId, ids);
  const byID = new Map(results.map((r) => [r.id, r.resultCode]));
  return {
    MemberList: ids.map((id) => {
      const code = byID.get(id);
      return { Member_Account: id, Result: code === 0 ? 1 : code === ErrorCode.GROUP_ALREADY_MEMBER ? 2 : 0 };
    }),
  };
};

const delSchema = z.object({ GroupId: str, MemberToDel_Account: z.array(str).min(1).max(MAX_BATCH), Silence: z.number().optional(), Reason: str.optional() });

/** `delete_group_member` → `{}`; members that cannot be removed (the owner, non-members) are left as they are. */
export const deleteGroupMember: RestCommand = async (ctx, body) => {
  const b = parseBody(delSchema, body, BAD);
  await ctx.domain.groups.kick(await asOwner(ctx, b.GroupId), b.GroupId, b.MemberToDel_Account);
  return {};
};

const groupIDSchema = z.object({ GroupId: str });

/** `destroy_group` → `{}`: the group is dismissed for every member. */
export const destroyGroup: RestCommand = async (ctx, body) => {
  const b = parseBody(groupIDSchema, body, BAD);
  await ctx.domain.groups.dismiss(await asOwner(ctx, b.GroupId), b.GroupId);
  return {};
};

const joinedSchema = z.object({ Member_Account: str, Limit: uint().optional(), Offset: uint().optional(), GroupType: str.optional() });

/**
 * `get_joined_group_list`: `{ Member_Account, Limit?, Offset?, GroupType? }` →
 * `{ TotalCount, GroupIdList: [{ GroupId, Name, Type, … }] }`. A user's groups are
 * bounded by the app's `maxJoinedGroups`.
 */
export const getJoinedGroupList: RestCommand = async (ctx, body) => {
  const b = parseBody(joinedSchema, body, BAD);
  const userID = await requireUser(ctx, b.Member_Account, 'Member_Account');
  let groups = (await ctx.domain.groups.joined(callerFor(ctx.app, userID))).filter((g) => !g.dismissed);
  if (b.GroupType !== undefined) {
    const type = TYPES[b.GroupType];
    groups = groups.filter((g) => g.groupType === type);
  }
  const offset = b.Offset ?? 0;
  const page = b.Limit !== undefined ? groups.slice(offset, offset + b.Limit) : groups.slice(offset);
  return { TotalCount: groups.length, GroupIdList: page.map(groupFields) };
};

const membersSchema = z.object({ GroupId: str, Limit: z.number().int().min(1).max(500).optional(), Offset: uint().optional(), Next: str.optional() });

/**
 * `get_group_member_info`: `{ GroupId, Limit?, Offset? | Next? }` →
 * `{ MemberNum, MemberList: [{ Member_Account, Role, JoinTime, … }], Next }`. `Next` is
 * the cursor of the following page (`""` at the end); `Offset` is accepted too, read
 * through in pages.
 */
export const getGroupMemberInfo: RestCommand = async (ctx, body) => {
  const b = parseBody(membersSchema, body, BAD);
  const group = await requireGroup(ctx, b.GroupId);
  const caller = callerFor(ctx.app, group.owner);
  const limit = b.Limit ?? 100;
  let cursor = b.Next ? Number(b.Next) : 0;
  if (!Number.isSafeInteger(cursor) || cursor < 0) throw restError(BAD, 'Next must be a cursor from a previous answer');
  let skip = b.Next ? 0 : (b.Offset ?? 0);
  while (skip > 0) {
    const page = await ctx.domain.groups.members(caller, b.GroupId, cursor, Math.min(skip, 500));
    skip -= page.members.length;
    cursor = page.nextSeq;
    if (page.isFinished) return { MemberNum: (await adminGroupInfo(ctx, [b.GroupId]))[0]?.memberCount ?? 0, MemberList: [], Next: '' };
  }
  const page = await ctx.domain.groups.members(caller, b.GroupId, cursor, limit);
  const [info] = await adminGroupInfo(ctx, [b.GroupId]);
  return {
    MemberNum: info?.memberCount ?? 0,
    MemberList: page.members.map((m) => ({
      Member_Account: m.userID, Role: ROLE_NAMES[m.role] ?? 'Member', JoinTime: Math.floor(m.joinTime / 1000), NameCard: '',
    })),
    Next: page.isFinished ? '' : String(page.nextSeq),
  };
};

const sendSchema = z.object({ GroupId: str, From_Account: str.optional(), Random: uint().optional(), ...messageFields });

/**
 * `send_group_msg`: `{ GroupId, From_Account, Random, MsgBody, … }` → `{ MsgTime, MsgSeq }`.
 * The sender must be a member (10007 otherwise). `From_Account` is required: a Confab
 * group message always has a member as its sender. `Random` is the idempotency key, as
 * `MsgRandom` for `sendmsg`.
 */
export const sendGroupMsg: RestCommand = async (ctx, body) => {
  const b = parseBody(sendSchema, body, BAD);
  await requireGroup(ctx, b.GroupId);
  if (b.From_Account === undefined) throw restError(BAD, 'From_Account is required: the sender must be a member of the group');
  const from = await requireUser(ctx, b.From_Account, 'From_Account');
  const elem = toElem(b.MsgBody[0]!);
  const options = messageOptions(b);
  const request = { conversationID: groupConversationID(b.GroupId), clientMsgID: `rest-${from}-${b.Random ?? freshRandom()}`, elem, ...options };
  const checked = requestSchemas['msg.send'].safeParse(request);
  if (!checked.success) throw restError(BAD, describeIssue(checked.error).replace(/^body\./, ''));
  try {
    const { message } = await ctx.domain.messages.send(callerFor(ctx.app, from), request.conversationID, request.clientMsgID, elem, options);
    return { MsgTime: Math.floor(message.timestamp / 1000), MsgSeq: message.seq, MsgKey: message.msgID };
  } catch (err) {
    if (isConfabError(err) && err.code === ErrorCode.INVALID_PARAMETERS) throw restError(BAD, err.desc);
    throw err;
  }
};
