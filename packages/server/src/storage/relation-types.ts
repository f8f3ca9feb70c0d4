import type { GroupMemberRecord } from './types.js';

/**
 * The storage seam for friendship beyond the plain list, and for group administration.
 * Each method is one transaction, as everywhere in `types.ts`. None of these touch
 * conversation rows, so none steps a sync version: devices learn of them through pushes
 * and list reads (docs/friends-and-groups.md).
 */

/** A directed friendship: `friendID` is in `userID`'s friend list. */
export interface FriendLink {
  userID: string;
  friendID: string;
  remark: string;
  addedAt: number;
  custom: Record<string, string>;
}

export interface FriendApplicationRecord {
  /** Who is asked. */
  toID: string;
  /** Who asks. */
  fromID: string;
  addWording: string;
  addSource: string;
  /** The remark the applicant gives the peer once accepted. */
  remark: string;
  /** V2TIMFriendType the applicant asked for (1 one-way, 2 both). */
  addType: number;
  addTime: number;
  isRead: boolean;
}

export interface BlockRecord {
  userID: string;
  blockedID: string;
  addedAt: number;
}

export interface RelationStore {
  /** Each user's allowType; users who never set one are left out (ALLOW_ANY). */
  allowTypes(app: number, userIDs: string[]): Promise<Map<string, number>>;
  setAllowType(app: number, userID: string, allowType: number): Promise<void>;
  /**
   * The links between `userID` and each of `otherIDs`, both directions: read by the
   * primary key and the reverse index, O(otherIDs).
   */
  links(app: number, userID: string, otherIDs: string[]): Promise<FriendLink[]>;
  /**
   * Adds directed links (an existing link keeps its add time and takes the new remark),
   * and deletes the application `consume` names, in one transaction. With `maxFriends`,
   * a new link that would give its user more friends than that throws
   * `LimitReachedError('friends', thatUser)` and nothing is written.
   */
  addLinks(app: number, links: { userID: string; friendID: string; remark: string }[], now: number,
    maxFriends?: number, consume?: { toID: string; fromID: string }): Promise<FriendLink[]>;
  /** Removes directed links; returns those that existed. */
  removeLinks(app: number, links: { userID: string; friendID: string }[]): Promise<{ userID: string; friendID: string }[]>;
  /** Changes a link's remark and/or custom fields (merged; an empty value deletes a key); false if there is no link. */
  updateLink(app: number, userID: string, friendID: string, patch: { remark?: string; custom?: Record<string, string> }): Promise<boolean>;

  /** Adds or replaces the application from `fromID` to `toID`. */
  putApplication(app: number, application: FriendApplicationRecord): Promise<void>;
  application(app: number, toID: string, fromID: string): Promise<FriendApplicationRecord | undefined>;
  deleteApplication(app: number, toID: string, fromID: string): Promise<boolean>;
  /** At most `limit` applications to the user (`to`) or from them (`from`), by the other user's ID after `after`. */
  applicationPage(app: number, userID: string, direction: 'to' | 'from', limit: number, after?: string): Promise<FriendApplicationRecord[]>;
  /** Marks every application to the user read. */
  markApplicationsRead(app: number, userID: string): Promise<void>;

  /**
   * Adds users to `userID`'s blocklist and, as the reference does, ends the friendship
   * between them both ways and drops applications between them. Returns who was added
   * (not already there) and the links removed.
   */
  block(app: number, userID: string, blockedIDs: string[], now: number): Promise<{ added: string[]; unlinked: { userID: string; friendID: string }[] }>;
  /** Removes users from the blocklist; returns who was there. */
  unblock(app: number, userID: string, blockedIDs: string[]): Promise<string[]>;
  /** Whether `ownerID` has `targetID` in their blocklist (a primary-key read). */
  isBlocked(app: number, ownerID: string, targetID: string): Promise<boolean>;
  /** At most `limit` of the user's blocklist in blocked-ID order after `after`. */
  blockPage(app: number, userID: string, limit: number, after?: string): Promise<BlockRecord[]>;
}

export interface GroupApplicationRecord {
  groupID: string;
  fromID: string;
  message: string;
  addTime: number;
}

export interface GroupAdminStore {
  /** Changes the group's fields given; false when the group does not exist or was dismissed. */
  updateInfo(app: number, groupID: string, patch: {
    groupName?: string; notification?: string; introduction?: string; faceUrl?: string; addOpt?: number; allMuted?: boolean;
  }): Promise<boolean>;
  /** Sets a current member's role (never the owner's); false when not a member. */
  setRole(app: number, groupID: string, userID: string, role: number): Promise<boolean>;
  /** Makes `toID` (a current member) the owner and `fromID` a plain member; false if `toID` is not a member. */
  transferOwner(app: number, groupID: string, fromID: string, toID: string): Promise<boolean>;
  /** Sets a member's mute end (ms; 0 unmutes); false when not a member. */
  mute(app: number, groupID: string, userID: string, until: number): Promise<boolean>;
  /** The current members among `userIDs`, with name card, mute and custom fields. */
  memberInfos(app: number, groupID: string, userIDs: string[]): Promise<GroupMemberRecord[]>;
  /** Changes a member's name card and/or custom fields (merged; an empty value deletes a key); false when not a member. */
  setMemberInfo(app: number, groupID: string, userID: string, patch: { nameCard?: string; custom?: Record<string, string> }): Promise<boolean>;
  /** At most `limit` current owners and admins (role >= 300), read by the role index. */
  admins(app: number, groupID: string, limit: number): Promise<string[]>;
  putApplication(app: number, application: GroupApplicationRecord): Promise<void>;
  application(app: number, groupID: string, fromID: string): Promise<GroupApplicationRecord | undefined>;
  deleteApplication(app: number, groupID: string, fromID: string): Promise<boolean>;
  /**
   * At most `limit` pending applications to groups where `userID` is owner or admin,
   * read through the user's memberships (bounded by the joined-groups cap).
   */
  applicationsFor(app: number, userID: string, limit: number): Promise<GroupApplicationRecord[]>;
}
