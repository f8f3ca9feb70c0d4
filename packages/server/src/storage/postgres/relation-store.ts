import type pg from 'pg';
import { LimitReachedError } from '../types.js';
import type { BlockRecord, FriendApplicationRecord, FriendLink, RelationStore } from '../relation-types.js';
import { mergeCustom } from '../sqlite/relation-store.js';
import { withTransaction } from './tx.js';

type RawLink = { user_id: string; friend_id: string; remark: string; added_at: number; custom: string };
const toLink = (r: RawLink): FriendLink => ({
  userID: r.user_id, friendID: r.friend_id, remark: r.remark, addedAt: Number(r.added_at), custom: JSON.parse(r.custom || '{}') as Record<string, string>,
});
type RawApplication = { to_id: string; from_id: string; add_wording: string; add_source: string; remark: string; add_type: number; add_time: number; is_read: boolean };
const toApplication = (r: RawApplication): FriendApplicationRecord => ({
  toID: r.to_id, fromID: r.from_id, addWording: r.add_wording, addSource: r.add_source, remark: r.remark,
  addType: r.add_type, addTime: Number(r.add_time), isRead: r.is_read,
});
const LINK_COLUMNS = 'user_id, friend_id, remark, added_at, custom';

export class PgRelationStore implements RelationStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async allowTypes(app: number, userIDs: string[]): Promise<Map<string, number>> {
    const { rows } = await this.#pool.query<{ user_id: string; allow_type: number }>(
      'SELECT user_id, allow_type FROM friend_settings WHERE app_id = $1 AND user_id = ANY($2::text[])', [app, [...new Set(userIDs)]]);
    return new Map(rows.map((r) => [r.user_id, r.allow_type]));
  }

  async setAllowType(app: number, userID: string, allowType: number): Promise<void> {
    await this.#pool.query(`INSERT INTO friend_settings (app_id, user_id, allow_type) VALUES ($1, $2, $3)
      ON CONFLICT (app_id, user_id) DO UPDATE SET allow_type = excluded.allow_type`, [app, userID, allowType]);
  }

  async links(app: number, userID: string, otherIDs: string[]): Promise<FriendLink[]> {
    const { rows } = await this.#pool.query<RawLink>(`SELECT ${LINK_COLUMNS} FROM friends WHERE app_id = $1
      AND ((user_id = $2 AND friend_id = ANY($3::text[])) OR (friend_id = $2 AND user_id = ANY($3::text[])))`, [app, userID, [...new Set(otherIDs)]]);
    return rows.map(toLink);
  }

  async addLinks(app: number, links: { userID: string; friendID: string; remark: string }[], now: number,
    maxFriends?: number, consume?: { toID: string; fromID: string }): Promise<FriendLink[]> {
    return withTransaction(this.#pool, async (client) => {
      if (maxFriends !== undefined) {
        // The account rows of both ends, in user order as every friend writer takes them:
        // two adds racing for a user's last free place are counted one after the other.
        const users = [...new Set(links.flatMap((l) => [l.userID, l.friendID]))];
        await client.query('SELECT 1 FROM accounts WHERE app_id = $1 AND user_id = ANY($2::text[]) ORDER BY user_id FOR UPDATE', [app, users]);
      }
      const out: FriendLink[] = [];
      for (const l of links) {
        if (maxFriends !== undefined) {
          const existing = await client.query('SELECT 1 FROM friends WHERE app_id = $1 AND user_id = $2 AND friend_id = $3', [app, l.userID, l.friendID]);
          if (existing.rowCount === 0) {
            const { rows } = await client.query<{ n: number }>('SELECT count(*)::bigint AS n FROM friends WHERE app_id = $1 AND user_id = $2', [app, l.userID]);
            if (Number(rows[0]!.n) >= maxFriends) throw new LimitReachedError('friends', l.userID);
          }
        }
        const { rows } = await client.query<RawLink>(`INSERT INTO friends (app_id, user_id, friend_id, remark, added_at) VALUES ($1, $2, $3, $4, $5)
          ON CONFLICT (app_id, user_id, friend_id) DO UPDATE SET remark = excluded.remark RETURNING ${LINK_COLUMNS}`,
        [app, l.userID, l.friendID, l.remark, now]);
        out.push(toLink(rows[0]!));
      }
      if (consume) await client.query('DELETE FROM friend_applications WHERE app_id = $1 AND to_id = $2 AND from_id = $3', [app, consume.toID, consume.fromID]);
      return out;
    });
  }

  async removeLinks(app: number, links: { userID: string; friendID: string }[]): Promise<{ userID: string; friendID: string }[]> {
    return withTransaction(this.#pool, async (client) => {
      const out: { userID: string; friendID: string }[] = [];
      for (const l of links) {
        const { rowCount } = await client.query('DELETE FROM friends WHERE app_id = $1 AND user_id = $2 AND friend_id = $3', [app, l.userID, l.friendID]);
        if ((rowCount ?? 0) > 0) out.push(l);
      }
      return out;
    });
  }

  async updateLink(app: number, userID: string, friendID: string, patch: { remark?: string; custom?: Record<string, string> }): Promise<boolean> {
    return withTransaction(this.#pool, async (client) => {
      const { rows } = await client.query<RawLink>(`SELECT ${LINK_COLUMNS} FROM friends WHERE app_id = $1 AND user_id = $2 AND friend_id = $3 FOR UPDATE`,
        [app, userID, friendID]);
      if (!rows[0]) return false;
      const link = toLink(rows[0]);
      await client.query('UPDATE friends SET remark = $4, custom = $5 WHERE app_id = $1 AND user_id = $2 AND friend_id = $3',
        [app, userID, friendID, patch.remark ?? link.remark, JSON.stringify(mergeCustom(link.custom, patch.custom ?? {}))]);
      return true;
    });
  }

  async putApplication(app: number, a: FriendApplicationRecord): Promise<void> {
    await this.#pool.query(`INSERT INTO friend_applications (app_id, to_id, from_id, add_wording, add_source, remark, add_type, add_time, is_read)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (app_id, to_id, from_id) DO UPDATE SET add_wording = excluded.add_wording,
      add_source = excluded.add_source, remark = excluded.remark, add_type = excluded.add_type, add_time = excluded.add_time, is_read = excluded.is_read`,
    [app, a.toID, a.fromID, a.addWording, a.addSource, a.remark, a.addType, a.addTime, a.isRead]);
  }

  async application(app: number, toID: string, fromID: string): Promise<FriendApplicationRecord | undefined> {
    const { rows } = await this.#pool.query<RawApplication>('SELECT * FROM friend_applications WHERE app_id = $1 AND to_id = $2 AND from_id = $3', [app, toID, fromID]);
    return rows[0] ? toApplication(rows[0]) : undefined;
  }

  async deleteApplication(app: number, toID: string, fromID: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query('DELETE FROM friend_applications WHERE app_id = $1 AND to_id = $2 AND from_id = $3', [app, toID, fromID]);
    return (rowCount ?? 0) > 0;
  }

  async applicationPage(app: number, userID: string, direction: 'to' | 'from', limit: number, after = ''): Promise<FriendApplicationRecord[]> {
    const sql = direction === 'to'
      ? 'SELECT * FROM friend_applications WHERE app_id = $1 AND to_id = $2 AND from_id > $3 ORDER BY from_id LIMIT $4'
      : 'SELECT * FROM friend_applications WHERE app_id = $1 AND from_id = $2 AND to_id > $3 ORDER BY to_id LIMIT $4';
    const { rows } = await this.#pool.query<RawApplication>(sql, [app, userID, after, limit]);
    return rows.map(toApplication);
  }

  async markApplicationsRead(app: number, userID: string): Promise<void> {
    await this.#pool.query('UPDATE friend_applications SET is_read = true WHERE app_id = $1 AND to_id = $2 AND NOT is_read', [app, userID]);
  }

  async block(app: number, userID: string, blockedIDs: string[], now: number) {
    return withTransaction(this.#pool, async (client) => {
      const added: string[] = [];
      const unlinked: { userID: string; friendID: string }[] = [];
      for (const id of new Set(blockedIDs)) {
        const inserted = await client.query('INSERT INTO blocklist (app_id, user_id, blocked_id, added_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
          [app, userID, id, now]);
        if ((inserted.rowCount ?? 0) > 0) added.push(id);
        for (const [a, b] of [[userID, id], [id, userID]] as const) {
          const { rowCount } = await client.query('DELETE FROM friends WHERE app_id = $1 AND user_id = $2 AND friend_id = $3', [app, a, b]);
          if ((rowCount ?? 0) > 0) unlinked.push({ userID: a, friendID: b });
          await client.query('DELETE FROM friend_applications WHERE app_id = $1 AND to_id = $2 AND from_id = $3', [app, a, b]);
        }
      }
      return { added, unlinked };
    });
  }

  async unblock(app: number, userID: string, blockedIDs: string[]): Promise<string[]> {
    const { rows } = await this.#pool.query<{ blocked_id: string }>(
      'DELETE FROM blocklist WHERE app_id = $1 AND user_id = $2 AND blocked_id = ANY($3::text[]) RETURNING blocked_id', [app, userID, [...new Set(blockedIDs)]]);
    const removed = new Set(rows.map((r) => r.blocked_id));
    return [...new Set(blockedIDs)].filter((id) => removed.has(id));
  }

  async isBlocked(app: number, ownerID: string, targetID: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query('SELECT 1 FROM blocklist WHERE app_id = $1 AND user_id = $2 AND blocked_id = $3', [app, ownerID, targetID]);
    return (rowCount ?? 0) > 0;
  }

  async blockPage(app: number, userID: string, limit: number, after = ''): Promise<BlockRecord[]> {
    const { rows } = await this.#pool.query<{ user_id: string; blocked_id: string; added_at: number }>(
      'SELECT user_id, blocked_id, added_at FROM blocklist WHERE app_id = $1 AND user_id = $2 AND blocked_id > $3 ORDER BY blocked_id LIMIT $4',
      [app, userID, after, limit]);
    return rows.map((r) => ({ userID: r.user_id, blockedID: r.blocked_id, addedAt: Number(r.added_at) }));
  }
}
