import type Database from 'better-sqlite3';
import { GroupMemberRole, groupConversationID } from '@confab/protocol';
import { toGroup, type RawGroup } from '../raw-records.js';
import { LimitReachedError, type GroupMemberRecord, type GroupRecord, type GroupStore, type MembershipCaps, type MembershipChange } from '../types.js';
import { newConversationRow, prepareRowStatements, UserChangeSet, type RowStatements } from './rows.js';

type RawMember = { user_id: string; role: number; joined_at: number; seq: number; mute_until?: number; name_card?: string; custom?: string };
const toMember = (r: RawMember): GroupMemberRecord => ({
  userID: r.user_id, role: r.role as GroupMemberRole, joinedAt: r.joined_at, seq: r.seq,
  ...(r.mute_until ? { muteUntil: Number(r.mute_until) } : {}), ...(r.name_card ? { nameCard: r.name_card } : {}),
  ...(r.custom && r.custom !== '{}' ? { custom: JSON.parse(r.custom) as Record<string, string> } : {}),
});

const LAST_SEQ = `COALESCE((SELECT c.last_seq FROM conversations c
  WHERE c.app_id = group_members.app_id AND c.conv_key = 'group:' || group_members.group_id), 0)`;

export class SqliteGroupStore implements GroupStore {
  readonly #db: Database.Database;
  readonly #rows: RowStatements;
  readonly #s;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#rows = prepareRowStatements(db);
    this.#s = {
      insertGroup: db.prepare(`INSERT INTO groups (app_id, group_id, group_type, group_name, face_url, introduction, notification, owner, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      get: db.prepare(`SELECT g.* FROM groups g WHERE g.app_id = ? AND g.group_id = ?`),
      member: db.prepare('SELECT user_id, role, joined_at, seq, mute_until, name_card, custom FROM group_members WHERE app_id = ? AND group_id = ? AND user_id = ? AND left_at IS NULL'),
      members: db.prepare(`SELECT user_id, role, joined_at, seq, mute_until, name_card, custom FROM group_members WHERE app_id = ? AND group_id = ? AND left_at IS NULL
        ORDER BY role DESC, joined_at ASC, user_id ASC LIMIT ? OFFSET ?`),
      memberPage: db.prepare(`SELECT user_id, role, joined_at, seq, mute_until, name_card, custom FROM group_members WHERE app_id = ? AND group_id = ? AND left_at IS NULL
        AND seq > ? ORDER BY seq LIMIT ?`),
      allMembers: db.prepare('SELECT user_id FROM group_members WHERE app_id = ? AND group_id = ? AND left_at IS NULL'),
      // A rejoining member keeps the seq of their first join (see GroupMemberRecord.seq).
      upsertMember: db.prepare(`INSERT INTO group_members (app_id, group_id, user_id, role, joined_at, left_at, seq) VALUES (?, ?, ?, ?, ?, NULL,
        (SELECT last_member_seq + 1 FROM groups WHERE app_id = ? AND group_id = ?))
        ON CONFLICT (app_id, group_id, user_id) DO UPDATE SET role = excluded.role, joined_at = excluded.joined_at, left_at = NULL, left_seq = NULL`),
      countJoin: db.prepare('UPDATE groups SET member_count = member_count + 1, last_member_seq = last_member_seq + 1 WHERE app_id = ? AND group_id = ?'),
      countLeave: db.prepare('UPDATE groups SET member_count = member_count - 1 WHERE app_id = ? AND group_id = ?'),
      // INDEXED BY: without ANALYZE statistics SQLite would scan the app's whole
      // membership by primary key for these two; the index makes them O(the user's groups).
      joinedCount: db.prepare(`SELECT count(*) AS n FROM group_members INDEXED BY group_members_by_user
        WHERE app_id = ? AND user_id = ? AND left_at IS NULL`),
      // left_seq: the group's last message when the membership ended. The fan-out still
      // delivers everything up to it (committed while the user was a member), nothing after.
      leave: db.prepare(`UPDATE group_members SET left_at = ?, left_seq = ${LAST_SEQ} WHERE app_id = ? AND group_id = ? AND user_id = ? AND left_at IS NULL`),
      leaveAll: db.prepare(`UPDATE group_members SET left_at = ?, left_seq = ${LAST_SEQ} WHERE app_id = ? AND group_id = ? AND left_at IS NULL`),
      dismiss: db.prepare('UPDATE groups SET dismissed_at = ?, member_count = 0 WHERE app_id = ? AND group_id = ? AND dismissed_at IS NULL'),
      joined: db.prepare(`SELECT g.* FROM group_members jm INDEXED BY group_members_by_user JOIN groups g ON g.app_id = jm.app_id AND g.group_id = jm.group_id
        WHERE jm.app_id = ? AND jm.user_id = ? AND jm.left_at IS NULL AND jm.group_id > ? ORDER BY jm.group_id LIMIT ?`),
      lastSeq: db.prepare('SELECT last_seq FROM conversations WHERE app_id = ? AND conv_key = ?'),
      voidUndo: db.prepare('UPDATE deletions SET undo_snapshot = NULL WHERE app_id = ? AND user_id = ? AND conv_key = ? AND undo_snapshot IS NOT NULL'),
    };
  }

  async create(app: number, group: Omit<GroupRecord, 'memberCount' | 'dismissedAt'>, memberIDs: string[], now: number, caps?: MembershipCaps): Promise<MembershipChange> {
    return this.#db.transaction(() => {
      const others = [...new Set(memberIDs)].filter((id) => id !== group.owner);
      if (caps) {
        if (others.length + 1 > caps.maxMembers) throw new LimitReachedError('groupMembers');
        const full = [group.owner, ...others].find((id) => this.#joinedCount(app, id) >= caps.maxJoinedGroups);
        if (full !== undefined) throw new LimitReachedError('joinedGroups', full);
      }
      this.#s.insertGroup.run(app, group.groupID, group.groupType, group.groupName, group.faceUrl, group.introduction,
        group.notification, group.owner, group.createdAt);
      this.#join(app, group.groupID, group.owner, GroupMemberRole.OWNER, now);
      for (const userID of others) this.#join(app, group.groupID, userID, GroupMemberRole.MEMBER, now);
      return { added: others, updates: this.#openConversations(app, group.groupID, [group.owner, ...others]) };
    })();
  }

  #join(app: number, groupID: string, userID: string, role: GroupMemberRole, now: number): void {
    this.#s.upsertMember.run(app, groupID, userID, role, now, app, groupID);
    this.#s.countJoin.run(app, groupID);
  }

  #joinedCount(app: number, userID: string): number {
    return (this.#s.joinedCount.get(app, userID) as { n: number }).n;
  }

  /**
   * Gives each new member a live conversation row that starts after the group's current
   * last message: new members read from their join onwards.
   */
  #openConversations(app: number, groupID: string, userIDs: string[]) {
    const convKey = `group:${groupID}`;
    const lastSeq = (this.#s.lastSeq.get(app, convKey) as { last_seq: number } | undefined)?.last_seq ?? 0;
    const changes = new UserChangeSet(app, this.#rows);
    for (const userID of userIDs) {
      const row = newConversationRow(userID, convKey, groupConversationID(groupID), lastSeq + 1);
      // A rejoining member keeps their receive option (the user's choice about the group).
      row.recvOpt = changes.row(userID, convKey)?.recvOpt ?? 0;
      changes.put(row);
    }
    return changes.commit(() => true);
  }

  async get(app: number, groupID: string): Promise<GroupRecord | undefined> {
    const raw = this.#s.get.get(app, groupID) as RawGroup | undefined;
    return raw ? toGroup(raw) : undefined;
  }

  async getMany(app: number, groupIDs: string[]): Promise<GroupRecord[]> {
    const out: GroupRecord[] = [];
    for (const id of groupIDs) {
      const raw = this.#s.get.get(app, id) as RawGroup | undefined;
      if (raw) out.push(toGroup(raw));
    }
    return out;
  }

  async members(app: number, groupID: string, offset: number, limit: number): Promise<GroupMemberRecord[]> {
    return (this.#s.members.all(app, groupID, limit, offset) as RawMember[]).map(toMember);
  }

  async memberPage(app: number, groupID: string, afterSeq: number, limit: number): Promise<GroupMemberRecord[]> {
    return (this.#s.memberPage.all(app, groupID, afterSeq, limit) as RawMember[]).map(toMember);
  }

  async member(app: number, groupID: string, userID: string): Promise<GroupMemberRecord | undefined> {
    const r = this.#s.member.get(app, groupID, userID) as RawMember | undefined;
    return r ? toMember(r) : undefined;
  }

  async addMembers(app: number, groupID: string, userIDs: string[], now: number, caps?: MembershipCaps): Promise<MembershipChange> {
    return this.#db.transaction(() => {
      const wanted = [...new Set(userIDs)].filter((id) => !this.#s.member.get(app, groupID, id));
      const refused = caps ? wanted.filter((id) => this.#joinedCount(app, id) >= caps.maxJoinedGroups) : [];
      const added = wanted.filter((id) => !refused.includes(id));
      if (caps && added.length > 0) {
        const count = (this.#s.get.get(app, groupID) as RawGroup | undefined)?.member_count ?? 0;
        if (count + added.length > caps.maxMembers) throw new LimitReachedError('groupMembers');
      }
      for (const userID of added) {
        this.#join(app, groupID, userID, GroupMemberRole.MEMBER, now);
        // A former member starts again from the rejoin; undoing a deletion made in the
        // earlier membership would reach into what was said while they were away.
        this.#s.voidUndo.run(app, userID, `group:${groupID}`);
      }
      return { added, ...(refused.length ? { refused } : {}), updates: added.length ? this.#openConversations(app, groupID, added) : [] };
    })();
  }

  async removeMember(app: number, groupID: string, userID: string, now: number): Promise<boolean> {
    return this.#db.transaction(() => {
      if (this.#s.leave.run(now, app, groupID, userID).changes === 0) return false;
      this.#s.countLeave.run(app, groupID);
      return true;
    })();
  }

  async dismiss(app: number, groupID: string, now: number): Promise<string[]> {
    return this.#db.transaction(() => {
      const members = (this.#s.allMembers.all(app, groupID) as { user_id: string }[]).map((r) => r.user_id);
      this.#s.dismiss.run(now, app, groupID);
      this.#s.leaveAll.run(now, app, groupID);
      return members;
    })();
  }

  async joinedGroups(app: number, userID: string, limit: number, afterGroupID = ''): Promise<GroupRecord[]> {
    return (this.#s.joined.all(app, userID, afterGroupID, limit) as RawGroup[]).map(toGroup);
  }
}
