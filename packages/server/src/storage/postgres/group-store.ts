import type pg from 'pg';
import { GroupMemberRole, groupConversationID } from '@confab/protocol';
import { toGroup, type RawGroup } from '../raw-records.js';
import {
  LimitReachedError, type GroupMemberRecord, type GroupRecord, type GroupStore, type MembershipCaps, type MembershipChange, type UserChange,
} from '../types.js';
import { newConversationRow, UserChangeSet } from './rows.js';
import { withTransaction } from './tx.js';

const GROUP_COLUMNS = `g.group_id, g.group_type, g.group_name, g.face_url, g.introduction, g.notification, g.owner,
  g.created_at, g.dismissed_at, g.member_count, g.add_opt, g.all_muted`;

type RawMember = { user_id: string; role: number; joined_at: number; seq: number; mute_until?: number; name_card?: string; custom?: string };
const toMember = (r: RawMember): GroupMemberRecord => ({
  userID: r.user_id, role: r.role as GroupMemberRole, joinedAt: r.joined_at, seq: r.seq,
  ...(r.mute_until ? { muteUntil: Number(r.mute_until) } : {}), ...(r.name_card ? { nameCard: r.name_card } : {}),
  ...(r.custom && r.custom !== '{}' ? { custom: JSON.parse(r.custom) as Record<string, string> } : {}),
});

/**
 * The group's last seq, for a membership that ends now (the fan-out delivers up to it).
 * FOR SHARE waits for a message append in progress on the group and keeps new ones out
 * until this commits: a message committed before the removal reaches the member, one
 * committed after does not.
 */
async function groupLastSeq(client: pg.PoolClient, app: number, groupID: string): Promise<number> {
  const { rows } = await client.query<{ last_seq: number }>('SELECT last_seq FROM conversations WHERE app_id = $1 AND conv_key = $2 FOR SHARE',
    [app, `group:${groupID}`]);
  return rows[0]?.last_seq ?? 0;
}

/**
 * Adds members (the caller holds the group's row lock), each new one with the next seq
 * of the group; a rejoining member keeps the seq of their first join (see
 * GroupMemberRecord.seq). Keeps the group's member count and last seq in step.
 */
async function upsertMembers(client: pg.PoolClient, app: number, groupID: string, role: GroupMemberRole, now: number, userIDs: string[]): Promise<void> {
  await client.query(`INSERT INTO group_members (app_id, group_id, user_id, role, joined_at, left_at, seq)
    SELECT $1::bigint, $2::text, user_id, $3::integer, $4::bigint, NULL,
      (SELECT last_member_seq FROM groups WHERE app_id = $1 AND group_id = $2) + ord
    FROM unnest($5::text[]) WITH ORDINALITY AS t(user_id, ord)
    ON CONFLICT (app_id, group_id, user_id) DO UPDATE SET role = excluded.role, joined_at = excluded.joined_at, left_at = NULL, left_seq = NULL`,
  [app, groupID, role, now, userIDs]);
  await client.query(`UPDATE groups SET member_count = member_count + $3, last_member_seq = last_member_seq + $3
    WHERE app_id = $1 AND group_id = $2`, [app, groupID, userIDs.length]);
}

/** Those of `userIDs` who are members of `max` groups or more (read under their account locks). */
async function atJoinLimit(client: pg.PoolClient, app: number, userIDs: string[], max: number): Promise<Set<string>> {
  const { rows } = await client.query<{ user_id: string }>(`SELECT user_id FROM group_members
    WHERE app_id = $1 AND user_id = ANY($2::text[]) AND left_at IS NULL GROUP BY user_id HAVING count(*) >= $3`, [app, userIDs, max]);
  return new Set(rows.map((r) => r.user_id));
}

/**
 * Groups. Membership changes of one group take its row lock first, so two nodes adding
 * the same user at once cannot both open a conversation for it.
 */
export class PgGroupStore implements GroupStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async create(app: number, group: Omit<GroupRecord, 'memberCount' | 'dismissedAt'>, memberIDs: string[], now: number, caps?: MembershipCaps): Promise<MembershipChange> {
    return withTransaction(this.#pool, async (client) => {
      const others = [...new Set(memberIDs)].filter((id) => id !== group.owner);
      if (caps && others.length + 1 > caps.maxMembers) throw new LimitReachedError('groupMembers');
      await client.query(`INSERT INTO groups (app_id, group_id, group_type, group_name, face_url, introduction, notification, owner, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [app, group.groupID, group.groupType, group.groupName, group.faceUrl,
        group.introduction, group.notification, group.owner, group.createdAt]);
      return openConversations(client, app, group.groupID, [group.owner, ...others], async () => {
        if (caps) {
          const full = await atJoinLimit(client, app, [group.owner, ...others], caps.maxJoinedGroups);
          const first = [group.owner, ...others].find((id) => full.has(id));
          if (first !== undefined) throw new LimitReachedError('joinedGroups', first);
        }
        await upsertMembers(client, app, group.groupID, GroupMemberRole.OWNER, now, [group.owner]);
        if (others.length) await upsertMembers(client, app, group.groupID, GroupMemberRole.MEMBER, now, others);
        return { added: others, users: [group.owner, ...others] };
      });
    });
  }

  async get(app: number, groupID: string): Promise<GroupRecord | undefined> {
    const { rows } = await this.#pool.query<RawGroup>(`SELECT ${GROUP_COLUMNS} FROM groups g WHERE g.app_id = $1 AND g.group_id = $2`, [app, groupID]);
    return rows[0] ? toGroup(rows[0]) : undefined;
  }

  async getMany(app: number, groupIDs: string[]): Promise<GroupRecord[]> {
    if (groupIDs.length === 0) return [];
    const { rows } = await this.#pool.query<RawGroup>(`SELECT ${GROUP_COLUMNS} FROM groups g
      WHERE g.app_id = $1 AND g.group_id = ANY($2::text[])`, [app, groupIDs]);
    const byID = new Map(rows.map((r) => [r.group_id, toGroup(r)]));
    // In the order asked, as the SQLite store returns them.
    return groupIDs.flatMap((id) => byID.get(id) ?? []);
  }

  async memberPage(app: number, groupID: string, afterSeq: number, limit: number): Promise<GroupMemberRecord[]> {
    const { rows } = await this.#pool.query<RawMember>(`SELECT user_id, role, joined_at, seq, mute_until, name_card, custom FROM group_members
      WHERE app_id = $1 AND group_id = $2 AND left_at IS NULL AND seq > $3 ORDER BY seq LIMIT $4`, [app, groupID, afterSeq, limit]);
    return rows.map(toMember);
  }

  async members(app: number, groupID: string, offset: number, limit: number): Promise<GroupMemberRecord[]> {
    const { rows } = await this.#pool.query<RawMember>(`SELECT user_id, role, joined_at, seq, mute_until, name_card, custom FROM group_members
      WHERE app_id = $1 AND group_id = $2 AND left_at IS NULL
      ORDER BY role DESC, joined_at ASC, user_id ASC LIMIT $3 OFFSET $4`, [app, groupID, limit, offset]);
    return rows.map(toMember);
  }

  async member(app: number, groupID: string, userID: string): Promise<GroupMemberRecord | undefined> {
    const { rows } = await this.#pool.query<RawMember>(`SELECT user_id, role, joined_at, seq, mute_until, name_card, custom FROM group_members
      WHERE app_id = $1 AND group_id = $2 AND user_id = $3 AND left_at IS NULL`, [app, groupID, userID]);
    return rows[0] ? toMember(rows[0]) : undefined;
  }

  async addMembers(app: number, groupID: string, userIDs: string[], now: number, caps?: MembershipCaps): Promise<MembershipChange> {
    return withTransaction(this.#pool, async (client) => {
      const memberCount = await lockGroup(client, app, groupID);
      const wanted = [...new Set(userIDs)];
      const { rows } = await client.query<{ user_id: string }>(`SELECT user_id FROM group_members
        WHERE app_id = $1 AND group_id = $2 AND user_id = ANY($3::text[]) AND left_at IS NULL`, [app, groupID, wanted]);
      const current = new Set(rows.map((r) => r.user_id));
      const candidates = wanted.filter((id) => !current.has(id));
      if (candidates.length === 0) return { added: candidates, updates: [] };
      let refused: string[] = [];
      const change = await openConversations(client, app, groupID, candidates, async () => {
        // Counted under the candidates' account locks: a user joining two groups at once
        // is counted by one transaction after the other has committed.
        const full = caps ? await atJoinLimit(client, app, candidates, caps.maxJoinedGroups) : new Set<string>();
        refused = candidates.filter((id) => full.has(id));
        const added = candidates.filter((id) => !full.has(id));
        if (caps && added.length > 0 && memberCount + added.length > caps.maxMembers) throw new LimitReachedError('groupMembers');
        if (added.length === 0) return { added, users: [] };
        await upsertMembers(client, app, groupID, GroupMemberRole.MEMBER, now, added);
        // A former member starts again from the rejoin; undoing a deletion made in the
        // earlier membership would reach into what was said while they were away.
        await client.query(`UPDATE deletions SET undo_snapshot = NULL WHERE app_id = $1 AND user_id = ANY($2::text[])
          AND conv_key = $3 AND undo_snapshot IS NOT NULL`, [app, added, `group:${groupID}`]);
        return { added, users: added };
      });
      return refused.length ? { ...change, refused } : change;
    });
  }

  async removeMember(app: number, groupID: string, userID: string, now: number): Promise<boolean> {
    return withTransaction(this.#pool, async (client) => {
      await lockGroup(client, app, groupID);
      const lastSeq = await groupLastSeq(client, app, groupID);
      const { rowCount } = await client.query(`UPDATE group_members SET left_at = $1, left_seq = $5
        WHERE app_id = $2 AND group_id = $3 AND user_id = $4 AND left_at IS NULL`, [now, app, groupID, userID, lastSeq]);
      if ((rowCount ?? 0) === 0) return false;
      await client.query('UPDATE groups SET member_count = member_count - 1 WHERE app_id = $1 AND group_id = $2', [app, groupID]);
      return true;
    });
  }

  async dismiss(app: number, groupID: string, now: number): Promise<string[]> {
    return withTransaction(this.#pool, async (client) => {
      await lockGroup(client, app, groupID);
      await client.query('UPDATE groups SET dismissed_at = $1, member_count = 0 WHERE app_id = $2 AND group_id = $3 AND dismissed_at IS NULL', [now, app, groupID]);
      const lastSeq = await groupLastSeq(client, app, groupID);
      const { rows } = await client.query<{ user_id: string }>(`UPDATE group_members SET left_at = $1, left_seq = $4
        WHERE app_id = $2 AND group_id = $3 AND left_at IS NULL RETURNING user_id`, [now, app, groupID, lastSeq]);
      return rows.map((r) => r.user_id);
    });
  }

  async joinedGroups(app: number, userID: string, limit: number, afterGroupID = ''): Promise<GroupRecord[]> {
    const { rows } = await this.#pool.query<RawGroup>(`SELECT ${GROUP_COLUMNS} FROM group_members jm
      JOIN groups g ON g.app_id = jm.app_id AND g.group_id = jm.group_id
      WHERE jm.app_id = $1 AND jm.user_id = $2 AND jm.left_at IS NULL AND jm.group_id > $3
      ORDER BY jm.group_id LIMIT $4`, [app, userID, afterGroupID, limit]);
    return rows.map(toGroup);
  }
}

/** Locks the group row; returns its member count (0 for a missing group). */
async function lockGroup(client: pg.PoolClient, app: number, groupID: string): Promise<number> {
  const { rows } = await client.query<{ member_count: number }>(
    'SELECT member_count FROM groups WHERE app_id = $1 AND group_id = $2 FOR NO KEY UPDATE', [app, groupID]);
  return rows[0]?.member_count ?? 0;
}

/**
 * Gives each new member a live conversation row that starts after the group's current
 * last message: new members read from their join onwards. The conversation row is
 * locked (created if missing) so no message slips between reading its last seq and
 * committing the rows. `write` runs once the accounts of `candidates` are locked (the
 * lock order every writer keeps: group, conversation, accounts): it checks the caps,
 * writes the memberships and names the users who get a row.
 */
async function openConversations(client: pg.PoolClient, app: number, groupID: string, candidates: string[],
  write: () => Promise<{ added: string[]; users: string[] }>): Promise<MembershipChange> {
  const convKey = `group:${groupID}`;
  const { rows } = await client.query<{ last_seq: number }>(`INSERT INTO conversations (app_id, conv_key, last_seq) VALUES ($1, $2, 0)
    ON CONFLICT (app_id, conv_key) DO UPDATE SET last_seq = conversations.last_seq RETURNING last_seq`, [app, convKey]);
  const lastSeq = rows[0]!.last_seq;
  const changes = new UserChangeSet(client, app);
  await changes.lock(candidates);
  const { added, users } = await write();
  // A rejoining member keeps their receive option (the user's choice about the group).
  await changes.load(users.map((userID) => ({ userID, convKey })));
  for (const userID of users) {
    const row = newConversationRow(userID, convKey, groupConversationID(groupID), lastSeq + 1);
    row.recvOpt = (await changes.row(userID, convKey))?.recvOpt ?? 0;
    changes.put(row);
  }
  const updates: UserChange[] = users.length ? await changes.commit(() => true) : [];
  return { added, updates };
}
