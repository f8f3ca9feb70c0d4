import type Database from 'better-sqlite3';
import { GroupMemberRole } from '@confab/protocol';
import type { GroupMemberRecord } from '../types.js';
import type { GroupAdminStore, GroupApplicationRecord } from '../relation-types.js';
import { mergeCustom } from './relation-store.js';

type RawMember = { user_id: string; role: number; joined_at: number; seq: number; mute_until: number; name_card: string; custom: string };
const toMember = (r: RawMember): GroupMemberRecord => ({
  userID: r.user_id, role: r.role as GroupMemberRole, joinedAt: r.joined_at, seq: r.seq,
  muteUntil: r.mute_until, nameCard: r.name_card, custom: JSON.parse(r.custom || '{}') as Record<string, string>,
});
type RawApplication = { group_id: string; from_id: string; message: string; add_time: number };
const toApplication = (r: RawApplication): GroupApplicationRecord => ({ groupID: r.group_id, fromID: r.from_id, message: r.message, addTime: r.add_time });

const INFO_COLUMNS = { groupName: 'group_name', notification: 'notification', introduction: 'introduction', faceUrl: 'face_url', addOpt: 'add_opt', allMuted: 'all_muted' } as const;

export class SqliteGroupAdminStore implements GroupAdminStore {
  readonly #db: Database.Database;
  readonly #s;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#s = {
      live: db.prepare('SELECT 1 FROM groups WHERE app_id = ? AND group_id = ? AND dismissed_at IS NULL'),
      member: db.prepare(`SELECT user_id, role, joined_at, seq, mute_until, name_card, custom FROM group_members
        WHERE app_id = ? AND group_id = ? AND user_id = ? AND left_at IS NULL`),
      setRole: db.prepare('UPDATE group_members SET role = ? WHERE app_id = ? AND group_id = ? AND user_id = ? AND left_at IS NULL'),
      setOwner: db.prepare('UPDATE groups SET owner = ? WHERE app_id = ? AND group_id = ?'),
      mute: db.prepare('UPDATE group_members SET mute_until = ? WHERE app_id = ? AND group_id = ? AND user_id = ? AND left_at IS NULL'),
      setMemberInfo: db.prepare('UPDATE group_members SET name_card = ?, custom = ? WHERE app_id = ? AND group_id = ? AND user_id = ? AND left_at IS NULL'),
      admins: db.prepare(`SELECT user_id FROM group_members INDEXED BY group_members_by_role
        WHERE app_id = ? AND group_id = ? AND role >= ${GroupMemberRole.ADMIN} AND left_at IS NULL ORDER BY role DESC, user_id LIMIT ?`),
      putApplication: db.prepare(`INSERT INTO group_applications (app_id, group_id, from_id, message, add_time) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (app_id, group_id, from_id) DO UPDATE SET message = excluded.message, add_time = excluded.add_time`),
      application: db.prepare('SELECT * FROM group_applications WHERE app_id = ? AND group_id = ? AND from_id = ?'),
      deleteApplication: db.prepare('DELETE FROM group_applications WHERE app_id = ? AND group_id = ? AND from_id = ?'),
      applicationsFor: db.prepare(`SELECT a.* FROM group_members m INDEXED BY group_members_by_user
        JOIN group_applications a ON a.app_id = m.app_id AND a.group_id = m.group_id
        WHERE m.app_id = ? AND m.user_id = ? AND m.left_at IS NULL AND m.role >= ${GroupMemberRole.ADMIN}
        ORDER BY a.add_time, a.group_id, a.from_id LIMIT ?`),
    };
  }

  async updateInfo(app: number, groupID: string, patch: Parameters<GroupAdminStore['updateInfo']>[2]): Promise<boolean> {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [key, column] of Object.entries(INFO_COLUMNS)) {
      const value = patch[key as keyof typeof patch];
      if (value === undefined) continue;
      sets.push(`${column} = ?`);
      values.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
    }
    return this.#db.transaction(() => {
      if (!this.#s.live.get(app, groupID)) return false;
      if (sets.length) this.#db.prepare(`UPDATE groups SET ${sets.join(', ')} WHERE app_id = ? AND group_id = ?`).run(...values, app, groupID);
      return true;
    })();
  }

  async setRole(app: number, groupID: string, userID: string, role: number): Promise<boolean> {
    return this.#s.setRole.run(role, app, groupID, userID).changes > 0;
  }

  async transferOwner(app: number, groupID: string, fromID: string, toID: string): Promise<boolean> {
    return this.#db.transaction(() => {
      if (this.#s.setRole.run(GroupMemberRole.OWNER, app, groupID, toID).changes === 0) return false;
      this.#s.setRole.run(GroupMemberRole.MEMBER, app, groupID, fromID);
      this.#s.setOwner.run(toID, app, groupID);
      return true;
    })();
  }

  async mute(app: number, groupID: string, userID: string, until: number): Promise<boolean> {
    return this.#s.mute.run(until, app, groupID, userID).changes > 0;
  }

  async memberInfos(app: number, groupID: string, userIDs: string[]): Promise<GroupMemberRecord[]> {
    return [...new Set(userIDs)].flatMap((id) => {
      const row = this.#s.member.get(app, groupID, id) as RawMember | undefined;
      return row ? [toMember(row)] : [];
    });
  }

  async setMemberInfo(app: number, groupID: string, userID: string, patch: { nameCard?: string; custom?: Record<string, string> }): Promise<boolean> {
    return this.#db.transaction(() => {
      const row = this.#s.member.get(app, groupID, userID) as RawMember | undefined;
      if (!row) return false;
      const m = toMember(row);
      this.#s.setMemberInfo.run(patch.nameCard ?? m.nameCard ?? '', JSON.stringify(mergeCustom(m.custom ?? {}, patch.custom ?? {})), app, groupID, userID);
      return true;
    })();
  }

  async admins(app: number, groupID: string, limit: number): Promise<string[]> {
    return (this.#s.admins.all(app, groupID, limit) as { user_id: string }[]).map((r) => r.user_id);
  }

  async putApplication(app: number, a: GroupApplicationRecord): Promise<void> {
    this.#s.putApplication.run(app, a.groupID, a.fromID, a.message, a.addTime);
  }

  async application(app: number, groupID: string, fromID: string): Promise<GroupApplicationRecord | undefined> {
    const row = this.#s.application.get(app, groupID, fromID) as RawApplication | undefined;
    return row ? toApplication(row) : undefined;
  }

  async deleteApplication(app: number, groupID: string, fromID: string): Promise<boolean> {
    return this.#s.deleteApplication.run(app, groupID, fromID).changes > 0;
  }

  async applicationsFor(app: number, userID: string, limit: number): Promise<GroupApplicationRecord[]> {
    return (this.#s.applicationsFor.all(app, userID, limit) as RawApplication[]).map(toApplication);
  }
}
