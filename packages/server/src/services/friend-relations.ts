import {
  assertUserID, ConfabError, ErrorCode, FriendAcceptType, FriendAllowType, FriendApplicationType, FriendRelationType, FriendType, MAX_BATCH,
  type FriendApplication, type FriendCheckResult, type FriendInfo, type OperationResult, type Pushes, type UserProfile,
} from '@confab/protocol';
import { userTopic } from '../bus/types.js';
import { LimitReachedError } from '../storage/types.js';
import type { FriendApplicationRecord, FriendLink } from '../storage/relation-types.js';
import { toProfile, type AccountService } from './accounts.js';
import { readAll, settingsOf } from './bounded.js';
import type { Caller, ServiceContext } from './context.js';

const REMARK_BYTES = 96;
const WORDING_BYTES = 120;
const CUSTOM_VALUE_BYTES = 256;

/**
 * Friendship as the reference has it: directed links (A may have B in A's list without
 * B having A), added at once or through an application as the peer's allowType says,
 * ended one way or both, and a blocklist that refuses the blocked user's one-to-one
 * messages (20007) and friend requests (30525). Nothing here touches conversation rows:
 * devices learn of every change through `friend.event` pushes to all the user's
 * sessions, and a device that was offline re-reads the lists (docs/friends-and-groups.md).
 */
export class FriendRelationService {
  readonly #ctx: ServiceContext;
  readonly #accounts: AccountService;

  constructor(ctx: ServiceContext, accounts: AccountService) {
    this.#ctx = ctx;
    this.#accounts = accounts;
  }

  async setAllowType(caller: Caller, allowType: number): Promise<void> {
    if (!Object.values(FriendAllowType).includes(allowType as FriendAllowType)) {
      throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'allowType must be 0 (allow any), 1 (need confirm) or 2 (deny any)');
    }
    await this.#ctx.storage.relations.setAllowType(caller.app.sdkAppID, caller.userID, allowType);
  }

  /** The profiles with each user's allowType filled in (ALLOW_ANY for users who never set one). */
  async withAllowTypes(caller: Caller, profiles: UserProfile[]): Promise<UserProfile[]> {
    const types = await this.#ctx.storage.relations.allowTypes(caller.app.sdkAppID, profiles.map((p) => p.userID));
    return profiles.map((p) => ({ ...p, allowType: types.get(p.userID) ?? FriendAllowType.ALLOW_ANY }));
  }

  async add(caller: Caller, req: { userID: string; remark?: string; addType?: number; addWording?: string; addSource?: string }):
    Promise<{ friend?: FriendInfo; resultCode?: number; resultInfo?: string }> {
    const app = caller.app.sdkAppID;
    const peer = req.userID;
    assertUserID(peer);
    const remark = req.remark ?? '';
    const addType = req.addType ?? FriendType.BOTH;
    if (peer === caller.userID) throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, 'cannot add yourself as a friend');
    if (Buffer.byteLength(remark) > REMARK_BYTES) throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, `remark is longer than ${REMARK_BYTES} bytes`);
    if (Buffer.byteLength(req.addWording ?? '') > WORDING_BYTES) throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, `addWording is longer than ${WORDING_BYTES} bytes`);
    if (addType !== FriendType.SINGLE && addType !== FriendType.BOTH) throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, 'addType must be 1 (single) or 2 (both)');
    if (!(await this.#accounts.exists(app, peer))) throw new ConfabError(ErrorCode.FRIEND_ACCOUNT_NOT_FOUND, `user ${peer} does not exist`);
    const relations = this.#ctx.storage.relations;
    if (await relations.isBlocked(app, caller.userID, peer)) throw new ConfabError(ErrorCode.FRIEND_PEER_IN_MY_BLOCKLIST, `${peer} is in your blocklist`);
    if (await relations.isBlocked(app, peer, caller.userID)) throw new ConfabError(ErrorCode.FRIEND_IN_PEER_BLOCKLIST, `${peer} has you in their blocklist`);
    const links = await relations.links(app, caller.userID, [peer]);
    const theyHaveMe = links.some((l) => l.userID === peer);
    const allowType = (await relations.allowTypes(app, [peer])).get(peer) ?? FriendAllowType.ALLOW_ANY;
    // A peer who already has the caller in their list asked for this friendship already:
    // no confirmation is needed for the caller's half.
    if (!theyHaveMe && allowType === FriendAllowType.DENY_ANY) throw new ConfabError(ErrorCode.FRIEND_PEER_DENIES_ALL, `${peer} accepts no friend requests`);
    if (!theyHaveMe && allowType === FriendAllowType.NEED_CONFIRM) {
      const application: FriendApplicationRecord = {
        toID: peer, fromID: caller.userID, addWording: req.addWording ?? '', addSource: req.addSource ?? '', remark, addType,
        addTime: this.#ctx.now(), isRead: false,
      };
      await relations.putApplication(app, application);
      const [come] = await this.#applications(app, [application], peer);
      this.#push(app, peer, { event: 'applicationAdded', userIDs: [caller.userID], applications: [come!] });
      const [mine] = await this.#applications(app, [application], caller.userID);
      this.#push(app, caller.userID, { event: 'applicationAdded', userIDs: [peer], applications: [mine!] });
      return { resultCode: ErrorCode.FRIEND_APPLICATION_PENDING, resultInfo: 'waiting for the peer to accept' };
    }
    const wanted = [{ userID: caller.userID, friendID: peer, remark }];
    if (addType === FriendType.BOTH && !theyHaveMe) wanted.push({ userID: peer, friendID: caller.userID, remark: '' });
    const added = await this.#addLinks(caller, wanted);
    await this.#announceAdded(app, added);
    return { friend: (await this.#toInfo(app, added.filter((l) => l.userID === caller.userID)))[0]! };
  }

  async accept(caller: Caller, applicantID: string, responseType: number): Promise<{ friend?: FriendInfo }> {
    const app = caller.app.sdkAppID;
    assertUserID(applicantID);
    if (responseType !== FriendAcceptType.AGREE && responseType !== FriendAcceptType.AGREE_AND_ADD) {
      throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, 'responseType must be 0 (agree) or 1 (agree and add)');
    }
    const application = await this.#ctx.storage.relations.application(app, caller.userID, applicantID);
    if (!application) throw new ConfabError(ErrorCode.FRIEND_APPLICATION_NOT_FOUND, `no friend application from ${applicantID}`);
    // AGREE: the applicant gets the caller in their list (what they asked for); AGREE_AND_ADD:
    // the caller gets the applicant in theirs too.
    const wanted = [{ userID: applicantID, friendID: caller.userID, remark: application.remark }];
    if (responseType === FriendAcceptType.AGREE_AND_ADD) wanted.push({ userID: caller.userID, friendID: applicantID, remark: '' });
    const added = await this.#addLinks(caller, wanted, { toID: caller.userID, fromID: applicantID });
    this.#push(app, caller.userID, { event: 'applicationDeleted', userIDs: [applicantID] });
    this.#push(app, applicantID, { event: 'applicationDeleted', userIDs: [caller.userID] });
    await this.#announceAdded(app, added);
    const mine = added.filter((l) => l.userID === caller.userID);
    return mine.length ? { friend: (await this.#toInfo(app, mine))[0]! } : {};
  }

  async refuse(caller: Caller, applicantID: string): Promise<void> {
    const app = caller.app.sdkAppID;
    assertUserID(applicantID);
    if (!(await this.#ctx.storage.relations.deleteApplication(app, caller.userID, applicantID))) {
      throw new ConfabError(ErrorCode.FRIEND_APPLICATION_NOT_FOUND, `no friend application from ${applicantID}`);
    }
    this.#push(app, caller.userID, { event: 'applicationDeleted', userIDs: [applicantID] });
    this.#push(app, applicantID, { event: 'applicationDeleted', userIDs: [caller.userID] });
  }

  /** `type` COME_IN (1) deletes an application the caller received from userID, SEND_OUT (2) one the caller sent. */
  async deleteApplication(caller: Caller, userID: string, type: number): Promise<void> {
    const app = caller.app.sdkAppID;
    assertUserID(userID);
    if (type !== FriendApplicationType.COME_IN && type !== FriendApplicationType.SEND_OUT) {
      throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, 'type must be 1 (come in) or 2 (send out)');
    }
    const [to, from] = type === FriendApplicationType.COME_IN ? [caller.userID, userID] : [userID, caller.userID];
    if (!(await this.#ctx.storage.relations.deleteApplication(app, to, from))) {
      throw new ConfabError(ErrorCode.FRIEND_APPLICATION_NOT_FOUND, `no such friend application with ${userID}`);
    }
    this.#push(app, caller.userID, { event: 'applicationDeleted', userIDs: [userID] });
    if (type === FriendApplicationType.SEND_OUT) this.#push(app, userID, { event: 'applicationDeleted', userIDs: [caller.userID] });
  }

  async setApplicationsRead(caller: Caller): Promise<void> {
    await this.#ctx.storage.relations.markApplicationsRead(caller.app.sdkAppID, caller.userID);
    this.#push(caller.app.sdkAppID, caller.userID, { event: 'applicationRead', userIDs: [] });
  }

  /** Applications received (COME_IN) then sent (SEND_OUT), each read by key in batches. */
  async applications(caller: Caller): Promise<{ applications: FriendApplication[]; unreadCount: number }> {
    const app = caller.app.sdkAppID;
    const relations = this.#ctx.storage.relations;
    const to = await readAll((after, limit) => relations.applicationPage(app, caller.userID, 'to', limit, after), (a) => a.fromID);
    const from = await readAll((after, limit) => relations.applicationPage(app, caller.userID, 'from', limit, after), (a) => a.toID);
    return { applications: await this.#applications(app, [...to, ...from], caller.userID), unreadCount: to.filter((a) => !a.isRead).length };
  }

  async remove(caller: Caller, userIDs: string[], deleteType = FriendType.BOTH as number): Promise<OperationResult[]> {
    this.#checkBatch(userIDs);
    if (deleteType !== FriendType.SINGLE && deleteType !== FriendType.BOTH) throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, 'deleteType must be 1 (single) or 2 (both)');
    const app = caller.app.sdkAppID;
    const ids = [...new Set(userIDs)];
    const links = ids.flatMap((id) => deleteType === FriendType.BOTH
      ? [{ userID: caller.userID, friendID: id }, { userID: id, friendID: caller.userID }]
      : [{ userID: caller.userID, friendID: id }]);
    const removed = await this.#ctx.storage.relations.removeLinks(app, links);
    const mine = removed.filter((l) => l.userID === caller.userID).map((l) => l.friendID);
    if (mine.length) this.#push(app, caller.userID, { event: 'deleted', userIDs: mine });
    for (const l of removed) if (l.userID !== caller.userID) this.#push(app, l.userID, { event: 'deleted', userIDs: [caller.userID] });
    const touched = new Set(removed.flatMap((l) => [l.userID, l.friendID]));
    return userIDs.map((id) => touched.has(id) ? { id, resultCode: 0, resultInfo: '' } : { id, resultCode: ErrorCode.NOT_FRIENDS, resultInfo: 'not friends' });
  }

  async check(caller: Caller, userIDs: string[], checkType = FriendType.BOTH as number): Promise<FriendCheckResult[]> {
    this.#checkBatch(userIDs);
    const links = await this.#ctx.storage.relations.links(caller.app.sdkAppID, caller.userID, userIDs);
    return userIDs.map((id) => ({ userID: id, resultCode: 0, resultInfo: '', resultType: relationOf(caller.userID, id, links, checkType) }));
  }

  async getInfo(caller: Caller, userIDs: string[]) {
    this.#checkBatch(userIDs);
    const app = caller.app.sdkAppID;
    const links = await this.#ctx.storage.relations.links(app, caller.userID, userIDs);
    const accounts = new Map((await this.#ctx.storage.accounts.get(app, [...new Set(userIDs)])).map((a) => [a.userID, a]));
    return userIDs.map((id) => {
      const account = accounts.get(id);
      if (!account) return { userID: id, resultCode: ErrorCode.FRIEND_ACCOUNT_NOT_FOUND, resultInfo: 'user does not exist', relation: 0 };
      const mine = links.find((l) => l.userID === caller.userID && l.friendID === id);
      const friend: FriendInfo = {
        userID: id, friendRemark: mine?.remark ?? '', addTime: mine?.addedAt ?? 0, profile: toProfile(account),
        ...(mine && Object.keys(mine.custom).length ? { friendCustomInfo: mine.custom } : {}),
      };
      return { userID: id, resultCode: 0, resultInfo: '', relation: relationOf(caller.userID, id, links, FriendType.BOTH), friend };
    });
  }

  async setInfo(caller: Caller, req: { userID: string; friendRemark?: string; friendCustomInfo?: Record<string, string> }): Promise<void> {
    const app = caller.app.sdkAppID;
    assertUserID(req.userID);
    if (req.friendRemark !== undefined && Buffer.byteLength(req.friendRemark) > REMARK_BYTES) {
      throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, `friendRemark is longer than ${REMARK_BYTES} bytes`);
    }
    for (const [key, value] of Object.entries(req.friendCustomInfo ?? {})) {
      if (!/^Tag_SNS_Custom_[A-Za-z0-9_]{1,8}$/.test(key) && !/^[A-Za-z0-9_]{1,8}$/.test(key)) {
        throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, `custom field ${key}: keys are 1-8 characters of [A-Za-z0-9_], optionally prefixed Tag_SNS_Custom_`);
      }
      if (Buffer.byteLength(value) > CUSTOM_VALUE_BYTES) throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, `custom field ${key} is longer than ${CUSTOM_VALUE_BYTES} bytes`);
    }
    const patch: { remark?: string; custom?: Record<string, string> } = {};
    if (req.friendRemark !== undefined) patch.remark = req.friendRemark;
    if (req.friendCustomInfo) patch.custom = req.friendCustomInfo;
    if (!(await this.#ctx.storage.relations.updateLink(app, caller.userID, req.userID, patch))) {
      throw new ConfabError(ErrorCode.NOT_FRIENDS, `${req.userID} is not in your friend list`);
    }
    const [link] = (await this.#ctx.storage.relations.links(app, caller.userID, [req.userID])).filter((l) => l.userID === caller.userID);
    if (link) this.#push(app, caller.userID, { event: 'infoChanged', userIDs: [req.userID], friends: await this.#toInfo(app, [link]) });
  }

  async block(caller: Caller, userIDs: string[]): Promise<OperationResult[]> {
    this.#checkBatch(userIDs);
    const app = caller.app.sdkAppID;
    const results = new Map<string, OperationResult>();
    const wanted: string[] = [];
    for (const id of new Set(userIDs)) {
      if (id === caller.userID) results.set(id, { id, resultCode: ErrorCode.FRIEND_INVALID_PARAMETERS, resultInfo: 'cannot block yourself' });
      else if (!(await this.#accounts.exists(app, id))) results.set(id, { id, resultCode: ErrorCode.FRIEND_ACCOUNT_NOT_FOUND, resultInfo: 'user does not exist' });
      else wanted.push(id);
    }
    const { added, unlinked } = await this.#ctx.storage.relations.block(app, caller.userID, wanted, this.#ctx.now());
    const mine = unlinked.filter((l) => l.userID === caller.userID).map((l) => l.friendID);
    if (mine.length) this.#push(app, caller.userID, { event: 'deleted', userIDs: mine });
    for (const l of unlinked) if (l.userID !== caller.userID) this.#push(app, l.userID, { event: 'deleted', userIDs: [caller.userID] });
    if (added.length) this.#push(app, caller.userID, { event: 'blackAdded', userIDs: added, friends: await this.#blockInfos(app, added, this.#ctx.now()) });
    return userIDs.map((id) => results.get(id) ?? { id, resultCode: 0, resultInfo: '' });
  }

  async unblock(caller: Caller, userIDs: string[]): Promise<OperationResult[]> {
    this.#checkBatch(userIDs);
    const app = caller.app.sdkAppID;
    const removed = await this.#ctx.storage.relations.unblock(app, caller.userID, userIDs);
    if (removed.length) this.#push(app, caller.userID, { event: 'blackDeleted', userIDs: removed });
    return userIDs.map((id) => ({ id, resultCode: 0, resultInfo: '' }));
  }

  async blockList(caller: Caller): Promise<FriendInfo[]> {
    const app = caller.app.sdkAppID;
    const rows = await readAll((after, limit) => this.#ctx.storage.relations.blockPage(app, caller.userID, limit, after), (r) => r.blockedID);
    const accounts = new Map((await this.#ctx.storage.accounts.get(app, rows.map((r) => r.blockedID))).map((a) => [a.userID, a]));
    return rows.map((r) => ({
      userID: r.blockedID, friendRemark: '', addTime: r.addedAt,
      profile: accounts.get(r.blockedID) ? toProfile(accounts.get(r.blockedID)!) : { userID: r.blockedID, nickName: '', faceUrl: '', selfSignature: '' },
    }));
  }

  async #blockInfos(app: number, ids: string[], at: number): Promise<FriendInfo[]> {
    const accounts = new Map((await this.#ctx.storage.accounts.get(app, ids)).map((a) => [a.userID, a]));
    return ids.map((id) => ({
      userID: id, friendRemark: '', addTime: at,
      profile: accounts.get(id) ? toProfile(accounts.get(id)!) : { userID: id, nickName: '', faceUrl: '', selfSignature: '' },
    }));
  }

  async #addLinks(caller: Caller, links: { userID: string; friendID: string; remark: string }[], consume?: { toID: string; fromID: string }): Promise<FriendLink[]> {
    const maxFriends = settingsOf(this.#ctx, caller).maxFriends;
    return this.#ctx.storage.relations.addLinks(caller.app.sdkAppID, links, this.#ctx.now(), maxFriends, consume).catch((err: unknown) => {
      if (!(err instanceof LimitReachedError)) throw err;
      throw err.userID === caller.userID
        ? new ConfabError(ErrorCode.FRIEND_LIMIT, `you have as many friends as allowed (${maxFriends})`)
        : new ConfabError(ErrorCode.PEER_FRIEND_LIMIT, `user ${err.userID} has as many friends as allowed (${maxFriends})`);
    });
  }

  /** Tells each link's owner (all their devices) of the friend added to their list. */
  async #announceAdded(app: number, links: FriendLink[]): Promise<void> {
    for (const link of links) {
      this.#push(app, link.userID, { event: 'added', userIDs: [link.friendID], friends: await this.#toInfo(app, [link]) });
    }
  }

  async #toInfo(app: number, links: FriendLink[]): Promise<FriendInfo[]> {
    const accounts = new Map((await this.#ctx.storage.accounts.get(app, links.map((l) => l.friendID))).map((a) => [a.userID, a]));
    return links.map((l) => ({
      userID: l.friendID, friendRemark: l.remark, addTime: l.addedAt,
      profile: accounts.get(l.friendID) ? toProfile(accounts.get(l.friendID)!) : { userID: l.friendID, nickName: '', faceUrl: '', selfSignature: '' },
      ...(Object.keys(l.custom).length ? { friendCustomInfo: l.custom } : {}),
    }));
  }

  /** Applications as `viewer` sees them: received ones are COME_IN, sent ones SEND_OUT. */
  async #applications(app: number, records: FriendApplicationRecord[], viewer: string): Promise<FriendApplication[]> {
    const others = records.map((r) => (r.toID === viewer ? r.fromID : r.toID));
    const accounts = new Map((await this.#ctx.storage.accounts.get(app, [...new Set(others)])).map((a) => [a.userID, a]));
    return records.map((r, i) => ({
      userID: others[i]!, nickName: accounts.get(others[i]!)?.nickName ?? '', faceUrl: accounts.get(others[i]!)?.faceUrl ?? '',
      addTime: Math.floor(r.addTime / 1000), addSource: r.addSource, addWording: r.addWording,
      type: r.toID === viewer ? FriendApplicationType.COME_IN : FriendApplicationType.SEND_OUT,
    }));
  }

  #checkBatch(userIDs: string[]): void {
    if (userIDs.length === 0 || userIDs.length > MAX_BATCH) throw new ConfabError(ErrorCode.FRIEND_INVALID_PARAMETERS, `userIDs must hold 1 to ${MAX_BATCH} users`);
    userIDs.forEach((id) => assertUserID(id));
  }

  #push(app: number, userID: string, body: Pushes['friend.event']): void {
    this.#ctx.bus.publish(userTopic(app, userID), { kind: 'push', push: 'friend.event', body });
  }
}

function relationOf(me: string, other: string, links: FriendLink[], checkType: number): number {
  const mine = links.some((l) => l.userID === me && l.friendID === other);
  if (checkType === FriendType.SINGLE) return mine ? FriendRelationType.IN_MY_FRIEND_LIST : FriendRelationType.NONE;
  const theirs = links.some((l) => l.userID === other && l.friendID === me);
  if (mine && theirs) return FriendRelationType.BOTH_WAY;
  if (mine) return FriendRelationType.IN_MY_FRIEND_LIST;
  return theirs ? FriendRelationType.IN_OTHER_FRIEND_LIST : FriendRelationType.NONE;
}
