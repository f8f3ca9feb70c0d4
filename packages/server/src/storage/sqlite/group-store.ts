import type Database from 'better-sqlite3';
import { GroupMemberRole, groupConversationID } from '@confab/protocol';
import { toGroup, type RawGroup } from '../raw-records.js';
import type { GroupMemberRecord, GroupRecord, GroupStore, MembershipChange } from '../types.js';
import { newConversationRow, prepareRowStatements, UserChangeSet, type RowStatements } from './rows.js';

const GROUP_COLUMNS = `g.*, (SELECT count(*) FROM group_members m
  WHERE m.app_id = g.app_id AND m.group_id = g.group_id AND m.left_at IS NULL) AS member_count`;

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
      get: db.prepare(`SELECT ${GROUP_COLUMNS} FROM groups g WHERE g.app_id = ? AND g.group_id = ?`),
      member: db.prepare('SELECT user_id, role, joined_at FROM group_members WHERE app_id = ? AND group_id = ? AND user_id = ? AND left_at IS NULL'),
      members: db.prepare(`SELECT user_id, role, joined_at FROM group_members WHERE app_id = ? AND group_id = ? AND left_at IS NULL
        ORDER BY role DESC, joined_at ASC, user_id ASC LIMIT ? OFFSET ?`),
      allMembers: db.prepare('SELECT user_id FROM group_members WHERE app_id = ? AND group_id = ? AND left_at IS NULL'),
      upsertMember: db.prepare(`INSERT INTO group_members (app_id, group_id, user_id, role, joined_at, left_at) VALUES (?, ?, ?, ?, ?, NULL)
        ON CONFLICT (app_id, group_id, user_id) DO UPDATE SET role = excluded.role, joined_at = excluded.joined_at, left_at = NULL, left_seq = NULL`),
      // left_seq: the group's last message when the membership ended. The fan-out still
      // delivers everything up to it (committed while the user was a member), nothing after.
      leave: db.prepare(`UPDATE group_members SET left_at = ?, left_seq = ${LAST_SEQ} WHERE app_id = ? AND group_id = ? AND user_id = ? AND left_at IS NULL`),
      leaveAll: db.prepare(`UPDATE group_members SET left_at = ?, left_seq = ${LAST_SEQ} WHERE app_id = ? AND group_id = ? AND left_at IS NULL`),
      dismiss: db.prepare('UPDATE groups SET dismissed_at = ? WHERE app_id = ? AND group_id = ? AND dismissed_at IS NULL'),
      joined: db.prepare(`SELECT ${GROUP_COLUMNS} FROM groups g JOIN group_members jm ON jm.app_id = g.app_id AND jm.group_id = g.group_id
        WHERE jm.app_id = ? AND jm.user_id = ? AND jm.left_at IS NULL ORDER BY g.created_at, g.group_id`),
      lastSeq: db.prepare('SELECT last_seq FROM conversations WHERE app_id = ? AND conv_key = ?'),
      voidUndo: db.prepare('UPDATE deletions SET undo_snapshot = NULL WHERE app_id = ? AND user_id = ? AND conv_key = ? AND undo_snapshot IS NOT NULL'),
    };
  }

  async create(app: number, group: Omit<GroupRecord, 'memberCount' | 'dismissedAt'>, memberIDs: string[], now: number): Promise<MembershipChange> {
    return this.#db.transaction(() => {
      this.#s.insertGroup.run(app, group.groupID, group.groupType, group.groupName, group.faceUrl, group.introduction,
        group.notification, group.owner, group.createdAt);
      this.#s.upsertMember.run(app, group.groupID, group.owner, GroupMemberRole.OWNER, now);
      const others = [...new Set(memberIDs)].filter((id) => id !== group.owner);
      for (const userID of others) this.#s.upsertMember.run(app, group.groupID, userID, GroupMemberRole.MEMBER, now);
      return { added: others, updates: this.#openConversations(app, group.groupID, [group.owner, ...others]) };
    })();
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
      changes.put(newConversationRow(userID, convKey, groupConversationID(groupID), lastSeq + 1));
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
    return (this.#s.members.all(app, groupID, limit, offset) as { user_id: string; role: number; joined_at: number }[])
      .map((r) => ({ userID: r.user_id, role: r.role as GroupMemberRole, joinedAt: r.joined_at }));
  }

  async member(app: number, groupID: string, userID: string): Promise<GroupMemberRecord | undefined> {
    const r = this.#s.member.get(app, groupID, userID) as { user_id: string; role: number; joined_at: number } | undefined;
    return r ? { userID: r.user_id, role: r.role as GroupMemberRole, joinedAt: r.joined_at } : undefined;
  }

  async addMembers(app: number, groupID: string, userIDs: string[], now: number): Promise<MembershipChange> {
    return this.#db.transaction(() => {
      const added = [...new Set(userIDs)].filter((id) => !this.#s.member.get(app, groupID, id));
      for (const userID of added) {
        this.#s.upsertMember.run(app, groupID, userID, GroupMemberRole.MEMBER, now);
        // A former member starts again from the rejoin; undoing a deletion made in the
        // earlier membership would reach into what was said while they were away.
        this.#s.voidUndo.run(app, userID, `group:${groupID}`);
      }
      return { added, updates: added.length ? this.#openConversations(app, groupID, added) : [] };
    })();
  }

  async removeMember(app: number, groupID: string, userID: string, now: number): Promise<boolean> {
    return this.#s.leave.run(now, app, groupID, userID).changes > 0;
  }

  async dismiss(app: number, groupID: string, now: number): Promise<string[]> {
    return this.#db.transaction(() => {
      const members = (this.#s.allMembers.all(app, groupID) as { user_id: string }[]).map((r) => r.user_id);
      this.#s.dismiss.run(now, app, groupID);
      this.#s.leaveAll.run(now, app, groupID);
      return members;
    })();
  }

  async joinedGroups(app: number, userID: string): Promise<GroupRecord[]> {
    return (this.#s.joined.all(app, userID) as RawGroup[]).map(toGroup);
  }
}
