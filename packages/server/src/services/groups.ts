import { randomBytes } from 'node:crypto';
import {
  assertGroupID, ConfabError, ErrorCode, GENERATED_GROUP_ID_PREFIX, GroupAddOpt, GroupMemberRole, GroupType, MAX_BATCH,
  type GroupInfo, type GroupMember, type OperationResult, type Pushes, type UserUpdate,
} from '@confab/protocol';
import { userTopic } from '../bus/types.js';
import { LimitReachedError, type GroupRecord } from '../storage/types.js';
import type { AccountService } from './accounts.js';
import { forEachMemberBatch, membershipCaps, readAll, settingsOf } from './bounded.js';
import { originOf, publishChanges, type Caller, type ServiceContext } from './context.js';
import { effectiveAddOpt, toWireMember, type GroupAdminService } from './group-admin.js';

const GROUP_TYPES = new Set<string>(Object.values(GroupType));

/** The reference's codes for a cap the storage found reached; anything else passes through. */
function capError(err: unknown, creating: boolean): unknown {
  if (!(err instanceof LimitReachedError)) return err;
  if (err.limit === 'joinedGroups') return new ConfabError(ErrorCode.GROUP_JOIN_LIMIT, `user ${err.userID} is a member of as many groups as allowed`);
  return creating
    ? new ConfabError(ErrorCode.GROUP_MEMBER_LIMIT, 'the group would hold more members than allowed')
    : new ConfabError(ErrorCode.GROUP_FULL, 'the group is full');
}

export function toGroupInfo(g: GroupRecord): GroupInfo {
  return {
    groupID: g.groupID, groupType: g.groupType, groupName: g.groupName, faceUrl: g.faceUrl, introduction: g.introduction,
    notification: g.notification, owner: g.owner, createTime: g.createdAt, memberCount: g.memberCount, dismissed: g.dismissedAt !== null,
    groupAddOpt: effectiveAddOpt(g), isAllMuted: g.allMuted ?? false,
  };
}

/**
 * Groups of the reference's kinds. Work groups are invite-only and any member may
 * invite; Public and Meeting groups are joined freely and only the owner or an admin
 * invites. Leaving, being kicked or a dismissal ends the membership but leaves every
 * member's conversation and history in place.
 */
export class GroupService {
  readonly #ctx: ServiceContext;
  readonly #accounts: AccountService;
  readonly #admin: GroupAdminService | undefined;

  constructor(ctx: ServiceContext, accounts: AccountService, admin?: GroupAdminService) {
    this.#ctx = ctx;
    this.#accounts = accounts;
    this.#admin = admin;
  }

  async create(caller: Caller, req: { groupID?: string; groupType: string; groupName: string; memberUserIDs?: string[];
    faceUrl?: string; introduction?: string; notification?: string }): Promise<{ group: GroupInfo; update?: UserUpdate }> {
    const app = caller.app.sdkAppID;
    if (!GROUP_TYPES.has(req.groupType)) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, `groupType must be one of ${[...GROUP_TYPES].join(', ')}`);
    if (req.groupName.length === 0 || Buffer.byteLength(req.groupName) > 30) {
      throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, 'groupName must be 1 to 30 bytes');
    }
    let groupID = req.groupID;
    if (groupID) {
      assertGroupID(groupID);
      if (groupID.startsWith(GENERATED_GROUP_ID_PREFIX)) {
        throw new ConfabError(ErrorCode.INVALID_GROUP_ID, `custom group IDs may not start with ${GENERATED_GROUP_ID_PREFIX}`);
      }
      if (await this.#ctx.storage.groups.get(app, groupID)) throw new ConfabError(ErrorCode.GROUP_ID_IN_USE, `group ID ${groupID} is in use`);
    } else {
      groupID = `${GENERATED_GROUP_ID_PREFIX}${randomBytes(9).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x')}`;
    }
    const members = [...new Set(req.memberUserIDs ?? [])].filter((id) => id !== caller.userID);
    const caps = membershipCaps(settingsOf(this.#ctx, caller));
    if (members.length + 1 > caps.maxMembers) throw new ConfabError(ErrorCode.GROUP_MEMBER_LIMIT, `a group holds at most ${caps.maxMembers} members`);
    for (const id of members) {
      if (!(await this.#accounts.exists(app, id))) throw new ConfabError(ErrorCode.ACCOUNT_NOT_FOUND, `user ${id} does not exist`);
    }
    const now = this.#ctx.now();
    const change = await this.#ctx.storage.groups.create(app, {
      groupID, groupType: req.groupType as GroupType, groupName: req.groupName, faceUrl: req.faceUrl ?? '',
      introduction: req.introduction ?? '', notification: req.notification ?? '', owner: caller.userID, createdAt: now,
    }, members, now, caps).catch((err: unknown) => { throw capError(err, true); });
    const updates = await publishChanges(this.#ctx, change.updates, undefined, {}, originOf(caller));
    this.#event(app, members, { groupID, event: 'joined', userIDs: members });
    const group = await this.#require(app, groupID);
    const out: { group: GroupInfo; update?: UserUpdate } = { group: toGroupInfo(group) };
    const update = updates.get(`${app}|${caller.userID}`);
    if (update) out.update = update;
    return out;
  }

  /**
   * Joins a group that lets anyone in (groupAddOpt ANY); on one that needs approval
   * (AUTH) the join becomes an application to its owner and admins and the answer says
   * `pending` (the group's info shown is what a non-member may see).
   */
  async join(caller: Caller, groupID: string, message = ''): Promise<{ group: GroupInfo; pending?: boolean; update?: UserUpdate }> {
    const app = caller.app.sdkAppID;
    const group = await this.#require(app, groupID);
    if (group.groupType === GroupType.WORK) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, 'Work groups are joined by invitation only');
    if (await this.#ctx.storage.groups.member(app, groupID, caller.userID)) {
      throw new ConfabError(ErrorCode.GROUP_ALREADY_MEMBER, `you are already a member of ${groupID}`);
    }
    const addOpt = effectiveAddOpt(group);
    if (addOpt === GroupAddOpt.FORBID) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, `group ${groupID} accepts no join requests`);
    if (addOpt === GroupAddOpt.AUTH && this.#admin) {
      await this.#admin.apply(caller, group, message);
      return { group: { ...toGroupInfo(group), notification: '' }, pending: true };
    }
    return this.#admit(caller, group);
  }

  /** Accepts a pending join application: the applicant joins as if they had joined freely. */
  async acceptApplication(caller: Caller, groupID: string, userID: string, reason = ''): Promise<void> {
    if (!this.#admin) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, 'join applications are not available');
    const group = await this.#admin.takeApplication(caller, groupID, userID);
    if (!(await this.#ctx.storage.groups.member(caller.app.sdkAppID, groupID, userID))) {
      const { sessionID: _approverSession, ...approver } = caller;
      await this.#admit({ ...approver, userID }, group);
    }
    this.#admin.processed(caller, groupID, userID, true, reason);
  }

  async refuseApplication(caller: Caller, groupID: string, userID: string, reason = ''): Promise<void> {
    if (!this.#admin) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, 'join applications are not available');
    await this.#admin.takeApplication(caller, groupID, userID);
    this.#admin.processed(caller, groupID, userID, false, reason);
  }

  async #admit(caller: Caller, group: GroupRecord): Promise<{ group: GroupInfo; update?: UserUpdate }> {
    const app = caller.app.sdkAppID;
    const groupID = group.groupID;
    const caps = membershipCaps(settingsOf(this.#ctx, caller));
    if (group.memberCount >= caps.maxMembers) throw new ConfabError(ErrorCode.GROUP_FULL, `group ${groupID} is full`);
    const change = await this.#ctx.storage.groups.addMembers(app, groupID, [caller.userID], this.#ctx.now(), caps)
      .catch((err: unknown) => { throw capError(err, false); });
    if (change.refused?.includes(caller.userID)) {
      throw new ConfabError(ErrorCode.GROUP_JOIN_LIMIT, 'you are a member of as many groups as allowed');
    }
    const updates = await publishChanges(this.#ctx, change.updates, undefined, {}, originOf(caller));
    this.#event(app, [caller.userID], { groupID, event: 'joined', userIDs: [caller.userID] });
    await this.#eventToMembers(app, groupID, { groupID, event: 'memberJoined', userIDs: [caller.userID] }, change.added);
    const out: { group: GroupInfo; update?: UserUpdate } = { group: toGroupInfo(await this.#require(app, groupID)) };
    const update = updates.get(`${app}|${caller.userID}`);
    if (update) out.update = update;
    return out;
  }

  async invite(caller: Caller, groupID: string, userIDs: string[]): Promise<OperationResult[]> {
    const app = caller.app.sdkAppID;
    this.#checkBatch(userIDs);
    const group = await this.#require(app, groupID);
    const me = await this.#requireMember(app, groupID, caller.userID);
    if (group.groupType !== GroupType.WORK && me.role === GroupMemberRole.MEMBER) {
      throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, `only the owner or an admin may invite to a ${group.groupType} group`);
    }
    const results = new Map<string, OperationResult>();
    const candidates: string[] = [];
    for (const id of new Set(userIDs)) {
      if (!(await this.#accounts.exists(app, id))) results.set(id, { id, resultCode: ErrorCode.ACCOUNT_NOT_FOUND, resultInfo: 'user does not exist' });
      else if (await this.#ctx.storage.groups.member(app, groupID, id)) results.set(id, { id, resultCode: ErrorCode.GROUP_ALREADY_MEMBER, resultInfo: 'already a member' });
      else candidates.push(id);
    }
    // The group-size check is the storage's alone: it counts only those it adds, not
    // invitees it refuses for being in too many groups already.
    const caps = membershipCaps(settingsOf(this.#ctx, caller));
    const change = await this.#ctx.storage.groups.addMembers(app, groupID, candidates, this.#ctx.now(), caps)
      .catch((err: unknown) => { throw capError(err, false); });
    for (const id of change.refused ?? []) {
      results.set(id, { id, resultCode: ErrorCode.GROUP_JOIN_LIMIT, resultInfo: 'the user is a member of as many groups as allowed' });
    }
    await publishChanges(this.#ctx, change.updates);
    if (change.added.length) {
      this.#event(app, change.added, { groupID, event: 'joined', userIDs: change.added });
      await this.#eventToMembers(app, groupID, { groupID, event: 'memberJoined', userIDs: change.added }, change.added);
    }
    return userIDs.filter((id, i) => userIDs.indexOf(id) === i).map((id) => results.get(id) ?? { id, resultCode: 0, resultInfo: '' });
  }

  async leave(caller: Caller, groupID: string): Promise<void> {
    const app = caller.app.sdkAppID;
    const group = await this.#require(app, groupID);
    await this.#requireMember(app, groupID, caller.userID);
    if (group.owner === caller.userID) throw new ConfabError(ErrorCode.GROUP_OWNER_CANNOT_QUIT, 'the owner cannot leave the group; dismiss it instead');
    await this.#ctx.storage.groups.removeMember(app, groupID, caller.userID, this.#ctx.now());
    this.#event(app, [caller.userID], { groupID, event: 'left', userIDs: [caller.userID] });
    await this.#eventToMembers(app, groupID, { groupID, event: 'memberLeft', userIDs: [caller.userID] });
  }

  async kick(caller: Caller, groupID: string, userIDs: string[]): Promise<OperationResult[]> {
    const app = caller.app.sdkAppID;
    this.#checkBatch(userIDs);
    const group = await this.#require(app, groupID);
    const me = await this.#requireMember(app, groupID, caller.userID);
    if (me.role === GroupMemberRole.MEMBER) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, 'only the owner or an admin may remove members');
    const results: OperationResult[] = [];
    const kicked: string[] = [];
    for (const id of userIDs.filter((x, i) => userIDs.indexOf(x) === i)) {
      const target = await this.#ctx.storage.groups.member(app, groupID, id);
      if (!target) results.push({ id, resultCode: ErrorCode.GROUP_PERMISSION_DENIED, resultInfo: 'not a member' });
      else if (id === group.owner || (target.role >= me.role)) results.push({ id, resultCode: ErrorCode.GROUP_PERMISSION_DENIED, resultInfo: 'cannot remove a member of equal or higher role' });
      else {
        await this.#ctx.storage.groups.removeMember(app, groupID, id, this.#ctx.now());
        kicked.push(id);
        results.push({ id, resultCode: 0, resultInfo: '' });
      }
    }
    if (kicked.length) {
      this.#event(app, kicked, { groupID, event: 'kicked', userIDs: kicked, opUser: caller.userID });
      await this.#eventToMembers(app, groupID, { groupID, event: 'kicked', userIDs: kicked, opUser: caller.userID });
    }
    return results;
  }

  async dismiss(caller: Caller, groupID: string): Promise<void> {
    const app = caller.app.sdkAppID;
    const group = await this.#require(app, groupID);
    if (group.owner !== caller.userID) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, 'only the owner may dismiss the group');
    const members = await this.#ctx.storage.groups.dismiss(app, groupID, this.#ctx.now());
    this.#event(app, members, { groupID, event: 'dismissed', userIDs: [], opUser: caller.userID });
  }

  /**
   * A page of members after the cursor `nextSeq` (a member's seq; 0 starts), read by
   * index whatever the group's size. The answer's `nextSeq` is the last member's seq,
   * or 0 at the end as in the reference.
   */
  async members(caller: Caller, groupID: string, nextSeq = 0, count = 100): Promise<{ members: GroupMember[]; nextSeq: number; nextOffset: number; isFinished: boolean }> {
    const app = caller.app.sdkAppID;
    await this.#require(app, groupID);
    await this.#requireMember(app, groupID, caller.userID);
    const limit = Math.min(Math.max(count, 1), 500);
    const records = await this.#ctx.storage.groups.memberPage(app, groupID, nextSeq, limit + 1);
    const page = records.slice(0, limit);
    const isFinished = records.length <= limit;
    const accounts = new Map((await this.#ctx.storage.accounts.get(app, page.map((m) => m.userID))).map((a) => [a.userID, a]));
    const next = isFinished ? 0 : page[page.length - 1]!.seq;
    return {
      members: page.map((m) => toWireMember(m, accounts.get(m.userID))),
      nextSeq: next, nextOffset: next, isFinished,
    };
  }

  /** Every group the caller is in (at most the app's maxJoinedGroups), read in batches. */
  async joined(caller: Caller): Promise<GroupInfo[]> {
    const app = caller.app.sdkAppID;
    const groups = await readAll((after, limit) => this.#ctx.storage.groups.joinedGroups(app, caller.userID, limit, after), (g) => g.groupID);
    return groups.map(toGroupInfo);
  }

  /**
   * Members see everything. Non-members see what the reference shows them: nothing of a
   * Work group (its ID comes back in `denied`, 10007 to the app), and a Public or
   * Meeting group without its notification, which is for members only.
   */
  async info(caller: Caller, groupIDs: string[]): Promise<{ groups: GroupInfo[]; denied?: string[] }> {
    if (groupIDs.length > MAX_BATCH) throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, `at most ${MAX_BATCH} groups per call`);
    const app = caller.app.sdkAppID;
    const groups: GroupInfo[] = [];
    const denied: string[] = [];
    for (const g of await this.#ctx.storage.groups.getMany(app, [...new Set(groupIDs)])) {
      // A former member keeps seeing a dismissed group's info: their conversation with
      // it stays, and a row for it is what says they were in it.
      const member = g.dismissedAt === null
        ? await this.#ctx.storage.groups.member(app, g.groupID, caller.userID)
        : await this.#ctx.storage.conversations.get(app, caller.userID, `group:${g.groupID}`);
      if (member) groups.push(toGroupInfo(g));
      else if (g.groupType === GroupType.WORK) denied.push(g.groupID);
      else groups.push({ ...toGroupInfo(g), notification: '' });
    }
    return denied.length ? { groups, denied } : { groups };
  }

  async #require(app: number, groupID: string): Promise<GroupRecord> {
    assertGroupID(groupID);
    const group = await this.#ctx.storage.groups.get(app, groupID);
    if (!group || group.dismissedAt !== null) throw new ConfabError(ErrorCode.GROUP_NOT_FOUND, `group ${groupID} does not exist or was dismissed`);
    return group;
  }

  async #requireMember(app: number, groupID: string, userID: string) {
    const member = await this.#ctx.storage.groups.member(app, groupID, userID);
    if (!member) throw new ConfabError(ErrorCode.GROUP_PERMISSION_DENIED, `you are not a member of ${groupID}`);
    return member;
  }

  /** Tells the group's current members, but `except`, of a change: a batch of members at a time. */
  async #eventToMembers(app: number, groupID: string, body: Pushes['group.event'], except: string[] = []): Promise<void> {
    const skip = new Set(except);
    await forEachMemberBatch(this.#ctx.storage, app, groupID, (batch) => {
      this.#event(app, batch.map((m) => m.userID).filter((id) => !skip.has(id)), body);
    });
  }

  #checkBatch(userIDs: string[]): void {
    if (userIDs.length === 0 || userIDs.length > MAX_BATCH) {
      throw new ConfabError(ErrorCode.GROUP_INVALID_PARAMETERS, `userIDs must hold 1 to ${MAX_BATCH} users`);
    }
  }

  #event(app: number, users: string[], body: Pushes['group.event']): void {
    for (const who of users) this.#ctx.bus.publish(userTopic(app, who), { kind: 'push', push: 'group.event', body });
  }
}
