import type Database from 'better-sqlite3';
import { LimitReachedError } from '../types.js';
import type { BlockRecord, FriendApplicationRecord, FriendLink, RelationStore } from '../relation-types.js';

type RawLink = { user_id: string; friend_id: string; remark: string; added_at: number; custom: string };
const toLink = (r: RawLink): FriendLink => ({ userID: r.user_id, friendID: r.friend_id, remark: r.remark, addedAt: r.added_at, custom: JSON.parse(r.custom || '{}') as Record<string, string> });
type RawApplication = { to_id: string; from_id: string; add_wording: string; add_source: string; remark: string; add_type: number; add_time: number; is_read: number };
const toApplication = (r: RawApplication): FriendApplicationRecord => ({
  toID: r.to_id, fromID: r.from_id, addWording: r.add_wording, addSource: r.add_source, remark: r.remark,
  addType: r.add_type, addTime: r.add_time, isRead: r.is_read !== 0,
});

/** Merges custom fields: an empty value deletes its key. */
export function mergeCustom(current: Record<string, string>, patch: Record<string, string>): Record<string, string> {
  const out = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === '') delete out[k];
    else out[k] = v;
  }
  return out;
}

export class SqliteRelationStore implements RelationStore {
  readonly #db: Database.Database;
  readonly #s;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#s = {
      allowType: db.prepare('SELECT allow_type FROM friend_settings WHERE app_id = ? AND user_id = ?'),
      setAllowType: db.prepare(`INSERT INTO friend_settings (app_id, user_id, allow_type) VALUES (?, ?, ?)
        ON CONFLICT (app_id, user_id) DO UPDATE SET allow_type = excluded.allow_type`),
      link: db.prepare('SELECT user_id, friend_id, remark, added_at, custom FROM friends WHERE app_id = ? AND user_id = ? AND friend_id = ?'),
      count: db.prepare('SELECT count(*) AS n FROM friends WHERE app_id = ? AND user_id = ?'),
      upsertLink: db.prepare(`INSERT INTO friends (app_id, user_id, friend_id, remark, added_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (app_id, user_id, friend_id) DO UPDATE SET remark = excluded.remark`),
      removeLink: db.prepare('DELETE FROM friends WHERE app_id = ? AND user_id = ? AND friend_id = ?'),
      updateLink: db.prepare('UPDATE friends SET remark = ?, custom = ? WHERE app_id = ? AND user_id = ? AND friend_id = ?'),
      putApplication: db.prepare(`INSERT INTO friend_applications (app_id, to_id, from_id, add_wording, add_source, remark, add_type, add_time, is_read)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_id, to_id, from_id) DO UPDATE SET add_wording = excluded.add_wording,
        add_source = excluded.add_source, remark = excluded.remark, add_type = excluded.add_type, add_time = excluded.add_time, is_read = excluded.is_read`),
      application: db.prepare('SELECT * FROM friend_applications WHERE app_id = ? AND to_id = ? AND from_id = ?'),
      deleteApplication: db.prepare('DELETE FROM friend_applications WHERE app_id = ? AND to_id = ? AND from_id = ?'),
      applicationsTo: db.prepare('SELECT * FROM friend_applications WHERE app_id = ? AND to_id = ? AND from_id > ? ORDER BY from_id LIMIT ?'),
      applicationsFrom: db.prepare(`SELECT * FROM friend_applications INDEXED BY friend_applications_by_sender
        WHERE app_id = ? AND from_id = ? AND to_id > ? ORDER BY to_id LIMIT ?`),
      markRead: db.prepare('UPDATE friend_applications SET is_read = 1 WHERE app_id = ? AND to_id = ? AND is_read = 0'),
      block: db.prepare('INSERT INTO blocklist (app_id, user_id, blocked_id, added_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      unblock: db.prepare('DELETE FROM blocklist WHERE app_id = ? AND user_id = ? AND blocked_id = ?'),
      isBlocked: db.prepare('SELECT 1 FROM blocklist WHERE app_id = ? AND user_id = ? AND blocked_id = ?'),
      blockPage: db.prepare('SELECT user_id, blocked_id, added_at FROM blocklist WHERE app_id = ? AND user_id = ? AND blocked_id > ? ORDER BY blocked_id LIMIT ?'),
    };
  }

  async allowTypes(app: number, userIDs: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const id of new Set(userIDs)) {
      const row = this.#s.allowType.get(app, id) as { allow_type: number } | undefined;
      if (row) out.set(id, row.allow_type);
    }
    return out;
  }

  async setAllowType(app: number, userID: string, allowType: number): Promise<void> {
    this.#s.setAllowType.run(app, userID, allowType);
  }

  async links(app: number, userID: string, otherIDs: string[]): Promise<FriendLink[]> {
    const out: FriendLink[] = [];
    for (const other of new Set(otherIDs)) {
      for (const [a, b] of [[userID, other], [other, userID]] as const) {
        const row = this.#s.link.get(app, a, b) as RawLink | undefined;
        if (row) out.push(toLink(row));
      }
    }
    return out;
  }

  async addLinks(app: number, links: { userID: string; friendID: string; remark: string }[], now: number,
    maxFriends?: number, consume?: { toID: string; fromID: string }): Promise<FriendLink[]> {
    return this.#db.transaction(() => {
      const out: FriendLink[] = [];
      for (const l of links) {
        if (maxFriends !== undefined && !this.#s.link.get(app, l.userID, l.friendID)
          && (this.#s.count.get(app, l.userID) as { n: number }).n >= maxFriends) {
          throw new LimitReachedError('friends', l.userID);
        }
        this.#s.upsertLink.run(app, l.userID, l.friendID, l.remark, now);
        out.push(toLink(this.#s.link.get(app, l.userID, l.friendID) as RawLink));
      }
      if (consume) this.#s.deleteApplication.run(app, consume.toID, consume.fromID);
      return out;
    })();
  }

  async removeLinks(app: number, links: { userID: string; friendID: string }[]): Promise<{ userID: string; friendID: string }[]> {
    return this.#db.transaction(() => links.filter((l) => this.#s.removeLink.run(app, l.userID, l.friendID).changes > 0))();
  }

  async updateLink(app: number, userID: string, friendID: string, patch: { remark?: string; custom?: Record<string, string> }): Promise<boolean> {
    return this.#db.transaction(() => {
      const row = this.#s.link.get(app, userID, friendID) as RawLink | undefined;
      if (!row) return false;
      const link = toLink(row);
      this.#s.updateLink.run(patch.remark ?? link.remark, JSON.stringify(mergeCustom(link.custom, patch.custom ?? {})), app, userID, friendID);
      return true;
    })();
  }

  async putApplication(app: number, a: FriendApplicationRecord): Promise<void> {
    this.#s.putApplication.run(app, a.toID, a.fromID, a.addWording, a.addSource, a.remark, a.addType, a.addTime, a.isRead ? 1 : 0);
  }

  async application(app: number, toID: string, fromID: string): Promise<FriendApplicationRecord | undefined> {
    const row = this.#s.application.get(app, toID, fromID) as RawApplication | undefined;
    return row ? toApplication(row) : undefined;
  }

  async deleteApplication(app: number, toID: string, fromID: string): Promise<boolean> {
    return this.#s.deleteApplication.run(app, toID, fromID).changes > 0;
  }

  async applicationPage(app: number, userID: string, direction: 'to' | 'from', limit: number, after = ''): Promise<FriendApplicationRecord[]> {
    const stmt = direction === 'to' ? this.#s.applicationsTo : this.#s.applicationsFrom;
    return (stmt.all(app, userID, after, limit) as RawApplication[]).map(toApplication);
  }

  async markApplicationsRead(app: number, userID: string): Promise<void> {
    this.#s.markRead.run(app, userID);
  }

  async block(app: number, userID: string, blockedIDs: string[], now: number) {
    return this.#db.transaction(() => {
      const added: string[] = [];
      const unlinked: { userID: string; friendID: string }[] = [];
      for (const id of new Set(blockedIDs)) {
        if (this.#s.block.run(app, userID, id, now).changes > 0) added.push(id);
        for (const [a, b] of [[userID, id], [id, userID]] as const) {
          if (this.#s.removeLink.run(app, a, b).changes > 0) unlinked.push({ userID: a, friendID: b });
          this.#s.deleteApplication.run(app, a, b);
        }
      }
      return { added, unlinked };
    })();
  }

  async unblock(app: number, userID: string, blockedIDs: string[]): Promise<string[]> {
    return this.#db.transaction(() => [...new Set(blockedIDs)].filter((id) => this.#s.unblock.run(app, userID, id).changes > 0))();
  }

  async isBlocked(app: number, ownerID: string, targetID: string): Promise<boolean> {
    return this.#s.isBlocked.get(app, ownerID, targetID) !== undefined;
  }

  async blockPage(app: number, userID: string, limit: number, after = ''): Promise<BlockRecord[]> {
    return (this.#s.blockPage.all(app, userID, after, limit) as { user_id: string; blocked_id: string; added_at: number }[])
      .map((r) => ({ userID: r.user_id, blockedID: r.blocked_id, addedAt: r.added_at }));
  }
}
