import type pg from 'pg';
import { GroupMemberRole } from '@confab/protocol';
import type { GroupMemberRecord } from '../types.js';
import type { GroupAdminStore, GroupApplicationRecord } from '../relation-types.js';
import { mergeCustom } from '../sqlite/relation-store.js';
import { withTransaction } from './tx.js';

type RawMember = { user_id: string; role: number; joined_at: number; seq: number; mute_until: number; name_card: string; custom: string };
const toMember = (r: RawMember): GroupMemberRecord => ({
  userID: r.user_id, role: r.role as GroupMemberRole, joinedAt: Number(r.joined_at), seq: Number(r.seq),
  muteUntil: Number(r.mute_until), nameCard: r.name_card, custom: JSON.parse(r.custom || '{}') as Record<string, string>,
});
type RawApplication = { group_id: string; from_id: string; message: string; add_time: number };
const toApplication = (r: RawApplication): GroupApplicationRecord => ({ groupID: r.group_id, fromID: r.from_id, message: r.message, addTime: Number(r.add_time) });
const MEMBER_COLUMNS = 'user_id, role, joined_at, seq, mute_until, name_card, custom';
const INFO_COLUMNS = { groupName: 'group_name', notification: 'notification', introduction: 'introduction', faceUrl: 'face_url', addOpt: 'add_opt', allMuted: 'all_muted' } as const;

export class PgGroupAdminStore implements GroupAdminStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async updateInfo(app: number, groupID: string, patch: Parameters<GroupAdminStore['updateInfo']>[2]): Promise<boolean> {
    const sets: string[] = [];
    const values: unknown[] = [app, groupID];
    for (const [key, column] of Object.entries(INFO_COLUMNS)) {
      const value = patch[key as keyof typeof patch];
      if (value === undefined) continue;
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    }
    const { rowCount } = await this.#pool.query(`UPDATE groups SET ${sets.length ? sets.join(', ') : 'group_id = group_id'}
      WHERE app_id = $1 AND group_id = $2 AND dismissed_at IS NULL`, values);
    return (rowCount ?? 0) > 0;
  }

  async setRole(app: number, groupID: string, userID: string, role: number): Promise<boolean> {
    const { rowCount } = await this.#pool.query('UPDATE group_members SET role = $4 WHERE app_id = $1 AND group_id = $2 AND user_id = $3 AND left_at IS NULL',
      [app, groupID, userID, role]);
    return (rowCount ?? 0) > 0;
  }

  async transferOwner(app: number, groupID: string, fromID: string, toID: string): Promise<boolean> {
    return withTransaction(this.#pool, async (client) => {
      // The group's row first, as every membership change of the group takes it.
      await client.query('SELECT 1 FROM groups WHERE app_id = $1 AND group_id = $2 FOR NO KEY UPDATE', [app, groupID]);
      const set = 'UPDATE group_members SET role = $4 WHERE app_id = $1 AND group_id = $2 AND user_id = $3 AND left_at IS NULL';
      const { rowCount } = await client.query(set, [app, groupID, toID, GroupMemberRole.OWNER]);
      if ((rowCount ?? 0) === 0) return false;
      await client.query(set, [app, groupID, fromID, GroupMemberRole.MEMBER]);
      await client.query('UPDATE groups SET owner = $3 WHERE app_id = $1 AND group_id = $2', [app, groupID, toID]);
      return true;
    });
  }

  async mute(app: number, groupID: string, userID: string, until: number): Promise<boolean> {
    const { rowCount } = await this.#pool.query('UPDATE group_members SET mute_until = $4 WHERE app_id = $1 AND group_id = $2 AND user_id = $3 AND left_at IS NULL',
      [app, groupID, userID, until]);
    return (rowCount ?? 0) > 0;
  }

  async memberInfos(app: number, groupID: string, userIDs: string[]): Promise<GroupMemberRecord[]> {
    const ids = [...new Set(userIDs)];
    const { rows } = await this.#pool.query<RawMember>(`SELECT ${MEMBER_COLUMNS} FROM group_members
      WHERE app_id = $1 AND group_id = $2 AND user_id = ANY($3::text[]) AND left_at IS NULL`, [app, groupID, ids]);
    const byID = new Map(rows.map((r) => [r.user_id, toMember(r)]));
    return ids.flatMap((id) => byID.get(id) ?? []);
  }

  async setMemberInfo(app: number, groupID: string, userID: string, patch: { nameCard?: string; custom?: Record<string, string> }): Promise<boolean> {
    return withTransaction(this.#pool, async (client) => {
      const { rows } = await client.query<RawMember>(`SELECT ${MEMBER_COLUMNS} FROM group_members
        WHERE app_id = $1 AND group_id = $2 AND user_id = $3 AND left_at IS NULL FOR UPDATE`, [app, groupID, userID]);
      if (!rows[0]) return false;
      const m = toMember(rows[0]);
      await client.query('UPDATE group_members SET name_card = $4, custom = $5 WHERE app_id = $1 AND group_id = $2 AND user_id = $3',
        [app, groupID, userID, patch.nameCard ?? m.nameCard ?? '', JSON.stringify(mergeCustom(m.custom ?? {}, patch.custom ?? {}))]);
      return true;
    });
  }

  async admins(app: number, groupID: string, limit: number): Promise<string[]> {
    const { rows } = await this.#pool.query<{ user_id: string }>(`SELECT user_id FROM group_members
      WHERE app_id = $1 AND group_id = $2 AND role >= ${GroupMemberRole.ADMIN} AND left_at IS NULL ORDER BY role DESC, user_id LIMIT $3`, [app, groupID, limit]);
    return rows.map((r) => r.user_id);
  }

  async putApplication(app: number, a: GroupApplicationRecord): Promise<void> {
    await this.#pool.query(`INSERT INTO group_applications (app_id, group_id, from_id, message, add_time) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (app_id, group_id, from_id) DO UPDATE SET message = excluded.message, add_time = excluded.add_time`,
    [app, a.groupID, a.fromID, a.message, a.addTime]);
  }

  async application(app: number, groupID: string, fromID: string): Promise<GroupApplicationRecord | undefined> {
    const { rows } = await this.#pool.query<RawApplication>('SELECT * FROM group_applications WHERE app_id = $1 AND group_id = $2 AND from_id = $3', [app, groupID, fromID]);
    return rows[0] ? toApplication(rows[0]) : undefined;
  }

  async deleteApplication(app: number, groupID: string, fromID: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query('DELETE FROM group_applications WHERE app_id = $1 AND group_id = $2 AND from_id = $3', [app, groupID, fromID]);
    return (rowCount ?? 0) > 0;
  }

  async applicationsFor(app: number, userID: string, limit: number): Promise<GroupApplicationRecord[]> {
    const { rows } = await this.#pool.query<RawApplication>(`SELECT a.* FROM group_members m
      JOIN group_applications a ON a.app_id = m.app_id AND a.group_id = m.group_id
      WHERE m.app_id = $1 AND m.user_id = $2 AND m.left_at IS NULL AND m.role >= ${GroupMemberRole.ADMIN}
      ORDER BY a.add_time, a.group_id, a.from_id LIMIT $3`, [app, userID, limit]);
    return rows.map(toApplication);
  }
}
