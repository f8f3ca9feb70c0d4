import {
  assertGroupID, assertUserID, ConfabError, ErrorCode, GroupAddOpt, GroupInfoChangeType, GroupMemberRole, GroupType, MAX_BATCH,
  type GroupApplication, type GroupChangeInfo, type GroupMember, type Pushes,
} from '@confab/protocol';
import { userTopic } from '../bus/types.js';
import type { GroupMemberRecord, GroupRecord } from '../storage/types.js';
import { forEachMemberBatch } from './bounded.js';
import type { Caller, ServiceContext } from './context.js';

const INFO_BYTES = { groupName: 30, notification: 400, introduction: 400, faceUrl: 500 } as const;
const NAME_CARD_BYTES = 50;
const CUSTOM_VALUE_BYTES = 512;
/** Owners and admins told of a join application: the owner plus the first admins. */
const MAX_APPLICATION_RECIPIENTS = 100;
/** Pending join applications listed at once. */
const MAX_APPLICATIONS = 500;
/** The longest mute: the reference's limit, 2^32 - 1 seconds. */
const MAX_MUTE_SECONDS = 4_294_967_295;

/** The add option a group has when none was set: Work groups are invite-only, the others open. */
export function effectiveAddOpt(group: GroupRecord): number {
  if (group.groupType === GroupType.WORK) return GroupAddOpt.FORBID;
  return group.addOpt ?? GroupAddOpt.ANY;
}

/** Whether `member` may send now: a timed mute, or a group-wide mute (which spares owner and admins). */
export function assertMaySpeak(group: GroupRecord, member: GroupMemberRecord, now: number): void {
  if ((member.muteUntil ?? 0) > now) {
    throw new ConfabError(ErrorCode.GROUP_MEMBER_MUTED, `you are muted in ${group.groupID} until ${new Date(member.muteUntil!).toISOString()}`);
  }
  if (group.allMuted && member.role === GroupMemberRole.MEMBER) throw new ConfabError(ErrorCode.GROUP_MEMBER_MUTED, `group ${group.groupID} is muted`);
}

export function toWireMember(m: GroupMemberRecord, profile: { nickName: string; faceUrl: string } | undefined): GroupMember {
  return {
    userID: m.userID, role: m.role, joinTime: m.joinedAt, nickName: profile?.nickName ?? '', faceUrl: profile?.faceUrl ?? '',
    nameCard: m.nameCard ?? '', muteUntil: m.muteUntil ? Math.ceil(m.muteUntil / 1000) : 0, customInfo: m.custom ?? {},
  };
}

/**
 * The reference's group administration: profile changes, roles, ownership, mutes,
 * member fields and join applications. Each change is announced to the members as a
 * `group.event` naming who made it (`opUser`), read a batch of members at a time as
 * every group event is.
 */
export class GroupAdminService {
  readonly #ctx: ServiceContext;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
  }

  async setInfo(caller: Caller, req: { groupID: string; groupName?: string; notification?: string; introduction?: string;
    faceUrl?: string; groupAddOpt?: number; isAllMuted?: boolean }): Promise<void> {
    const app = caller.app.sdkAppID;
    const group = await this.#require(app, req.groupID);
    const me = await this.#requireMember(app, req.groupID, caller.userID);
    for (const key of Object.keys(INFO_BYTES) as (keyof typeof INFO_BYTES)[]) {
      const value = req[key];
      if (value !== undefined && Buffer.byteLength(value) > INFO_BYTES[key]) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, `${key} is longer than ${INFO_BYTES[key]} bytes`);
    }
    if (req.groupName !== undefined && req.groupName === '') throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, 'groupName must not be empty');
    if (req.groupAddOpt !== undefined && !Object.values(GroupAddOpt).includes(req.groupAddOpt as GroupAddOpt)) {
      throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, 'groupAddOpt must be 0 (forbid), 1 (auth) or 2 (any)');
    }
    if (req.groupAddOpt !== undefined && group.groupType === GroupType.WORK && req.groupAddOpt !== GroupAddOpt.FORBID) {
      throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, 'Work groups are joined by invitation only');
    }
    // The profile fields of a Work group are any member's to change; everything else is the owner's and admins'.
    const profileOnly = req.groupAddOpt === undefined && req.isAllMuted === undefined;
    if (me.role === GroupMemberRole.MEMBER && !(profileOnly && group.groupType === GroupType.WORK)) {
      throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, 'only the owner or an admin may change this group\'s info');
    }
    const changes: GroupChangeInfo[] = [];
    const text = (value: string | undefined, current: string, type: number) => {
      if (value !== undefined && value !== current) changes.push({ type, value });
    };
    text(req.groupName, group.groupName, GroupInfoChangeType.NAME);
    text(req.introduction, group.introduction, GroupInfoChangeType.INTRODUCTION);
    text(req.notification, group.notification, GroupInfoChangeType.NOTIFICATION);
    text(req.faceUrl, group.faceUrl, GroupInfoChangeType.FACE_URL);
    if (req.groupAddOpt !== undefined && req.groupAddOpt !== effectiveAddOpt(group)) changes.push({ type: GroupInfoChangeType.GROUP_ADD_OPT, intValue: req.groupAddOpt });
    if (req.isAllMuted !== undefined && req.isAllMuted !== (group.allMuted ?? false)) changes.push({ type: GroupInfoChangeType.SHUT_UP_ALL, boolValue: req.isAllMuted });
    if (changes.length === 0) return;
    const patch: Parameters<ServiceContext['storage']['groupAdmin']['updateInfo']>[2] = {};
    if (req.groupName !== undefined) patch.groupName = req.groupName;
    if (req.notification !== undefined) patch.notification = req.notification;
    if (req.introduction !== undefined) patch.introduction = req.introduction;
    if (req.faceUrl !== undefined) patch.faceUrl = req.faceUrl;
    if (req.groupAddOpt !== undefined) patch.addOpt = req.groupAddOpt;
    if (req.isAllMuted !== undefined) patch.allMuted = req.isAllMuted;
    if (!(await this.#ctx.storage.groupAdmin.updateInfo(app, req.groupID, patch))) throw new ConfabError(ErrorCode.GROUP_NOT_FOUND, `group ${req.groupID} does not exist or was dismissed`);
    await this.#toMembers(app, req.groupID, { groupID: req.groupID, event: 'infoChanged', userIDs: [], opUser: caller.userID, changes });
  }

  async setMemberRole(caller: Caller, groupID: string, userID: string, role: number): Promise<void> {
    const app = caller.app.sdkAppID;
    assertUserID(userID);
    const group = await this.#require(app, groupID);
    if (role !== GroupMemberRole.ADMIN && role !== GroupMemberRole.MEMBER) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, 'role must be 300 (admin) or 200 (member)');
    if (group.owner !== caller.userID) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, 'only the owner may set member roles');
    if (userID === caller.userID) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, 'the owner cannot change their own role; transfer the group instead');
    const target = await this.#ctx.storage.groups.member(app, groupID, userID);
    if (!target) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, `${userID} is not a member of ${groupID}`);
    if (target.role === role) return;
    if (!(await this.#ctx.storage.groupAdmin.setRole(app, groupID, userID, role))) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, `${userID} is not a member of ${groupID}`);
    await this.#toMembers(app, groupID, {
      groupID, event: role === GroupMemberRole.ADMIN ? 'grantAdministrator' : 'revokeAdministrator', userIDs: [userID], opUser: caller.userID,
    });
  }

  async transferOwner(caller: Caller, groupID: string, userID: string): Promise<void> {
    const app = caller.app.sdkAppID;
    assertUserID(userID);
    const group = await this.#require(app, groupID);
    if (group.owner !== caller.userID) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, 'only the owner may transfer the group');
    if (userID === caller.userID) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, 'you own the group already');
    if (!(await this.#ctx.storage.groupAdmin.transferOwner(app, groupID, caller.userID, userID))) {
      throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, `${userID} is not a member of ${groupID}`);
    }
    await this.#toMembers(app, groupID, {
      groupID, event: 'infoChanged', userIDs: [], opUser: caller.userID, changes: [{ type: GroupInfoChangeType.OWNER, value: userID }],
    });
  }

  async muteMember(caller: Caller, groupID: string, userID: string, seconds: number): Promise<void> {
    const app = caller.app.sdkAppID;
    assertUserID(userID);
    if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_MUTE_SECONDS) {
      throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, `seconds must be an integer from 0 to ${MAX_MUTE_SECONDS}`);
    }
    await this.#require(app, groupID);
    const me = await this.#requireMember(app, groupID, caller.userID);
    if (me.role === GroupMemberRole.MEMBER) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, 'only the owner or an admin may mute members');
    if (userID === caller.userID) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, 'you cannot mute yourself');
    const target = await this.#ctx.storage.groups.member(app, groupID, userID);
    if (!target) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, `${userID} is not a member of ${groupID}`);
    if (target.role >= me.role) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, 'cannot mute a member of equal or higher role');
    const until = seconds === 0 ? 0 : this.#ctx.now() + seconds * 1000;
    await this.#ctx.storage.groupAdmin.mute(app, groupID, userID, until);
    await this.#toMembers(app, groupID, { groupID, event: 'memberInfoChanged', userIDs: [userID], opUser: caller.userID, muteTime: seconds });
  }

  async membersInfo(caller: Caller, groupID: string, userIDs: string[]): Promise<GroupMember[]> {
    const app = caller.app.sdkAppID;
    if (userIDs.length === 0 || userIDs.length > MAX_BATCH) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, `userIDs must hold 1 to ${MAX_BATCH} users`);
    await this.#require(app, groupID);
    await this.#requireMember(app, groupID, caller.userID);
    const members = await this.#ctx.storage.groupAdmin.memberInfos(app, groupID, userIDs);
    const accounts = new Map((await this.#ctx.storage.accounts.get(app, members.map((m) => m.userID))).map((a) => [a.userID, a]));
    return members.map((m) => toWireMember(m, accounts.get(m.userID)));
  }

  async setMemberInfo(caller: Caller, req: { groupID: string; userID: string; nameCard?: string; customInfo?: Record<string, string> }): Promise<void> {
    const app = caller.app.sdkAppID;
    assertUserID(req.userID);
    await this.#require(app, req.groupID);
    const me = await this.#requireMember(app, req.groupID, caller.userID);
    if (req.nameCard !== undefined && Buffer.byteLength(req.nameCard) > NAME_CARD_BYTES) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, `nameCard is longer than ${NAME_CARD_BYTES} bytes`);
    for (const [key, value] of Object.entries(req.customInfo ?? {})) {
      if (!/^[A-Za-z0-9_]{1,16}$/.test(key)) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, `custom key ${key}: 1-16 characters of [A-Za-z0-9_]`);
      if (Buffer.byteLength(value) > CUSTOM_VALUE_BYTES) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, `custom field ${key} is longer than ${CUSTOM_VALUE_BYTES} bytes`);
    }
    if (req.userID !== caller.userID) {
      const target = await this.#ctx.storage.groups.member(app, req.groupID, req.userID);
      if (!target) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, `${req.userID} is not a member of ${req.groupID}`);
      if (me.role === GroupMemberRole.MEMBER || target.role >= me.role) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, 'only the owner or an admin may change another member\'s info');
    }
    const patch: { nameCard?: string; custom?: Record<string, string> } = {};
    if (req.nameCard !== undefined) patch.nameCard = req.nameCard;
    if (req.customInfo) patch.custom = req.customInfo;
    if (!(await this.#ctx.storage.groupAdmin.setMemberInfo(app, req.groupID, req.userID, patch))) {
      throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, `${req.userID} is not a member of ${req.groupID}`);
    }
  }

  /** Records a join request to a group that needs approval and tells its owner and admins. */
  async apply(caller: Caller, group: GroupRecord, message: string): Promise<void> {
    const app = caller.app.sdkAppID;
    if (Buffer.byteLength(message) > 300) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, 'the join message is longer than 300 bytes');
    await this.#ctx.storage.groupAdmin.putApplication(app, { groupID: group.groupID, fromID: caller.userID, message, addTime: this.#ctx.now() });
    const admins = await this.#ctx.storage.groupAdmin.admins(app, group.groupID, MAX_APPLICATION_RECIPIENTS);
    this.#event(app, admins, { groupID: group.groupID, event: 'joinApplication', userIDs: [caller.userID], reason: message });
  }

  async applications(caller: Caller): Promise<{ applications: GroupApplication[]; unreadCount: number }> {
    const app = caller.app.sdkAppID;
    const records = await this.#ctx.storage.groupAdmin.applicationsFor(app, caller.userID, MAX_APPLICATIONS);
    const accounts = new Map((await this.#ctx.storage.accounts.get(app, [...new Set(records.map((r) => r.fromID))])).map((a) => [a.userID, a]));
    const applications = records.map((r) => ({
      groupID: r.groupID, fromUser: r.fromID, fromUserNickName: accounts.get(r.fromID)?.nickName ?? '', fromUserFaceUrl: accounts.get(r.fromID)?.faceUrl ?? '',
      toUser: '', addTime: Math.floor(r.addTime / 1000), requestMsg: r.message, handledMsg: '', type: 0, handleStatus: 0, handleResult: 0,
    }));
    return { applications, unreadCount: applications.length };
  }

  /** Checks the caller may handle the group's applications and takes the application out; the caller then admits or refuses. */
  async takeApplication(caller: Caller, groupID: string, userID: string): Promise<GroupRecord> {
    const app = caller.app.sdkAppID;
    assertUserID(userID);
    const group = await this.#require(app, groupID);
    const me = await this.#requireMember(app, groupID, caller.userID);
    if (me.role === GroupMemberRole.MEMBER) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, 'only the owner or an admin may handle join applications');
    if (!(await this.#ctx.storage.groupAdmin.deleteApplication(app, groupID, userID))) {
      throw new ConfabError(ErrorCode.GROUP_REQUEST_HANDLED, `no pending application from ${userID} to ${groupID}`);
    }
    return group;
  }

  processed(caller: Caller, groupID: string, userID: string, agreed: boolean, reason: string): void {
    this.#event(caller.app.sdkAppID, [userID], { groupID, event: 'applicationProcessed', userIDs: [userID], opUser: caller.userID, agreed, reason });
  }

  async #require(app: number, groupID: string): Promise<GroupRecord> {
    assertGroupID(groupID);
    const group = await this.#ctx.storage.groups.get(app, groupID);
    if (!group || group.dismissedAt !== null) throw new ConfabError(ErrorCode.GROUP_NOT_FOUND, `group ${groupID} does not exist or was dismissed`);
    return group;
  }

  async #requireMember(app: number, groupID: string, userID: string): Promise<GroupMemberRecord> {
    const member = await this.#ctx.storage.groups.member(app, groupID, userID);
    if (!member) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, `you are not a member of ${groupID}`);
    return member;
  }

  async #toMembers(app: number, groupID: string, body: Pushes['group.event']): Promise<void> {
    await forEachMemberBatch(this.#ctx.storage, app, groupID, (batch) => this.#event(app, batch.map((m) => m.userID), body));
  }

  #event(app: number, users: string[], body: Pushes['group.event']): void {
    for (const who of users) this.#ctx.bus.publish(userTopic(app, who), { kind: 'push', push: 'group.event', body });
  }
}
