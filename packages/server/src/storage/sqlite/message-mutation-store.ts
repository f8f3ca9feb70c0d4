import type Database from 'better-sqlite3';
import { encodeExtra, type ConversationRow, type StoredMessage, type UserChange } from '../types.js';
import {
  MAX_CHANGES_IN_UPDATE, REVOKED_ELEM, revokedExtra, rowSees, type ChangeJob, type ChangesPage, type ChangeStepResult,
  type MessageChangeRequest, type MessageChangeResult, type MessageDeleteResult, type MessageMutationStore,
} from '../message-mutations.js';
import { prepareRowStatements, UserChangeSet } from './rows.js';
import { toStoredMessage } from './message-store.js';

type RawMessage = Parameters<typeof toStoredMessage>[0];

/** Recalls, modifications and per-user deletions on the embedded database (see ../message-mutations.ts). */
export class SqliteMessageMutationStore implements MessageMutationStore {
  readonly #db: Database.Database;
  readonly #rows;
  readonly #s;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#rows = prepareRowStatements(db);
    this.#s = {
      message: db.prepare('SELECT * FROM messages WHERE app_id = ? AND conv_key = ? AND seq = ?'),
      stepChange: db.prepare('UPDATE conversations SET change_seq = change_seq + 1 WHERE app_id = ? AND conv_key = ? RETURNING change_seq'),
      write: db.prepare(`UPDATE messages SET elem = ?, extra = ?, change_seq = ?, modify_version = ?, revoker = ?, revoke_reason = ?
        WHERE app_id = ? AND conv_key = ? AND seq = ?`),
      enqueue: db.prepare(`INSERT INTO change_queue (app_id, conv_key, change_to, cursor, queued_at) VALUES (?, ?, ?, '', ?)
        ON CONFLICT (app_id, conv_key) DO UPDATE SET change_to = excluded.change_to, cursor = ''`),
      isDeleted: db.prepare('SELECT 1 FROM deleted_messages WHERE app_id = ? AND user_id = ? AND conv_key = ? AND seq = ?'),
      insertDeleted: db.prepare(`INSERT INTO deleted_messages (app_id, user_id, conv_key, seq, delete_seq, deleted_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT DO NOTHING`),
      erase: db.prepare(`UPDATE messages SET elem = ?, extra = NULL WHERE app_id = ? AND conv_key = ? AND seq = ?`),
      lastVisible: db.prepare(`SELECT * FROM messages m WHERE m.app_id = ? AND m.conv_key = ? AND m.seq >= ? AND m.seq <= ?
        AND NOT EXISTS (SELECT 1 FROM deleted_messages d WHERE d.app_id = m.app_id AND d.user_id = ? AND d.conv_key = m.conv_key AND d.seq = m.seq)
        ORDER BY m.seq DESC LIMIT 1`),
      deletedIn: db.prepare('SELECT seq FROM deleted_messages WHERE app_id = ? AND user_id = ? AND conv_key = ? AND seq >= ? AND seq <= ?'),
      changedAfter: db.prepare(`SELECT * FROM messages WHERE app_id = ? AND conv_key = ? AND change_seq > ? AND change_seq <= ?
        AND seq >= ? AND seq <= ? ORDER BY change_seq LIMIT ?`),
      deletedAfter: db.prepare(`SELECT seq, delete_seq FROM deleted_messages WHERE app_id = ? AND user_id = ? AND conv_key = ? AND delete_seq > ?
        ORDER BY delete_seq LIMIT ?`),
      queue: db.prepare('SELECT app_id, conv_key, change_to FROM change_queue ORDER BY queued_at, app_id, conv_key LIMIT ?'),
      job: db.prepare('SELECT * FROM change_queue WHERE app_id = ? AND conv_key = ?'),
      members: db.prepare('SELECT user_id FROM group_members WHERE app_id = ? AND group_id = ? AND user_id > ? ORDER BY user_id LIMIT ?'),
      advance: db.prepare('UPDATE change_queue SET cursor = ? WHERE app_id = ? AND conv_key = ?'),
      finish: db.prepare('DELETE FROM change_queue WHERE app_id = ? AND conv_key = ? AND change_to = ?'),
      restart: db.prepare(`UPDATE change_queue SET cursor = '' WHERE app_id = ? AND conv_key = ?`),
    };
  }

  async change(req: MessageChangeRequest): Promise<MessageChangeResult | undefined> {
    return this.#db.transaction(() => {
      const raw = this.#s.message.get(req.app, req.convKey, req.seq) as RawMessage | undefined;
      if (!raw) return undefined;
      const current = toStoredMessage(raw);
      req.check(current);
      const changeSeq = (this.#s.stepChange.get(req.app, req.convKey) as { change_seq: number }).change_seq;
      const next: StoredMessage = { ...current, changeSeq, modifyVersion: (current.modifyVersion ?? 0) + 1 };
      if (req.kind === 'revoke') {
        next.elem = REVOKED_ELEM;
        const extra = revokedExtra(current.extra);
        if (extra) next.extra = extra;
        else delete next.extra;
        next.revoker = req.actor;
        if (req.reason) next.revokeReason = req.reason;
      } else {
        next.elem = req.elem!;
      }
      this.#s.write.run(JSON.stringify(next.elem), encodeExtra(next.extra), changeSeq, next.modifyVersion, next.revoker ?? null, next.revokeReason ?? null,
        req.app, req.convKey, req.seq);
      const set = new UserChangeSet(req.app, this.#rows);
      const delivered = new Map<string, StoredMessage[]>();
      for (const userID of req.participants) {
        const row = set.row(userID, req.convKey);
        if (!rowSees(row, req.seq) || row.deleted) continue;
        const passed = (this.#s.changedAfter.all(req.app, req.convKey, row.changeSeq ?? 0, changeSeq, row.visibleFromSeq, row.lastSeq,
          MAX_CHANGES_IN_UPDATE + 1) as RawMessage[]).map(toStoredMessage);
        if (passed.length <= MAX_CHANGES_IN_UPDATE) delivered.set(userID, passed);
        row.changeSeq = changeSeq;
        set.put(row);
      }
      if (req.group) this.#s.enqueue.run(req.app, req.convKey, changeSeq, req.now);
      return { message: next, changes: set.commit(() => false), delivered };
    })();
  }

  async deleteForUser(app: number, userID: string, convKey: string, seqs: number[], now: number): Promise<MessageDeleteResult> {
    return this.#db.transaction(() => {
      const set = new UserChangeSet(app, this.#rows);
      const row = set.row(userID, convKey);
      if (!row || row.deleted) return { seqs: [], change: null };
      const done: number[] = [];
      for (const seq of [...new Set(seqs)].sort((a, b) => a - b)) {
        if (!rowSees(row, seq) || this.#s.isDeleted.get(app, userID, convKey, seq)) continue;
        const raw = this.#s.message.get(app, convKey, seq) as RawMessage | undefined;
        if (!raw) continue;
        row.deleteSeq = (row.deleteSeq ?? 0) + 1;
        this.#s.insertDeleted.run(app, userID, convKey, seq, row.deleteSeq, now);
        if (raw.sender !== userID && seq > row.readSeq) row.unreadCount = Math.max(0, row.unreadCount - 1);
        done.push(seq);
        // A one-to-one message no participant can see any more loses its content now.
        if (convKey.startsWith('c2c:')) {
          const peer = peerOf(convKey, userID);
          const peerRow = set.row(peer, convKey);
          if (!rowSees(peerRow, seq) || this.#s.isDeleted.get(app, peer, convKey, seq)) {
            this.#s.erase.run(JSON.stringify(REVOKED_ELEM), app, convKey, seq);
          }
        }
      }
      if (done.length === 0) return { seqs: [], change: null };
      set.put(row);
      return { seqs: done, change: set.commit(() => false)[0] ?? null };
    })();
  }

  async deletedIn(app: number, userID: string, convKey: string, fromSeq: number, toSeq: number): Promise<Set<number>> {
    return new Set((this.#s.deletedIn.all(app, userID, convKey, fromSeq, toSeq) as { seq: number }[]).map((r) => r.seq));
  }

  async lastVisible(app: number, userID: string, convKey: string, fromSeq: number, toSeq: number): Promise<StoredMessage | undefined> {
    const raw = this.#s.lastVisible.get(app, convKey, fromSeq, toSeq, userID) as RawMessage | undefined;
    return raw ? toStoredMessage(raw) : undefined;
  }

  async changesPage(app: number, row: ConversationRow, afterChangeSeq: number, afterDeleteSeq: number, count: number): Promise<ChangesPage> {
    return this.#db.transaction(() => {
      const changed = (this.#s.changedAfter.all(app, row.convKey, afterChangeSeq, row.changeSeq ?? 0, row.visibleFromSeq, row.lastSeq, count) as RawMessage[])
        .map(toStoredMessage);
      const deletedRows = this.#s.deletedAfter.all(app, row.userID, row.convKey, afterDeleteSeq, count) as { seq: number; delete_seq: number }[];
      const hidden = new Set(deletedRows.map((d) => d.seq));
      const changesDone = changed.length < count;
      const deletesDone = deletedRows.length < count;
      return {
        changed: changed.filter((m) => !hidden.has(m.seq)),
        deleted: deletedRows.map((d) => d.seq),
        changeSeq: changesDone ? Math.max(afterChangeSeq, row.changeSeq ?? 0) : changed[changed.length - 1]!.changeSeq!,
        deleteSeq: deletesDone ? Math.max(afterDeleteSeq, row.deleteSeq ?? 0) : deletedRows[deletedRows.length - 1]!.delete_seq,
        isFinished: changesDone && deletesDone,
      };
    })();
  }

  async changeQueue(limit: number): Promise<ChangeJob[]> {
    return (this.#s.queue.all(limit) as { app_id: number; conv_key: string; change_to: number }[])
      .map((r) => ({ app: r.app_id, convKey: r.conv_key, changeTo: r.change_to }));
  }

  async changeStep(app: number, convKey: string, maxMembers: number): Promise<ChangeStepResult> {
    return this.#db.transaction(() => {
      const delivered = new Map<string, StoredMessage[]>();
      const job = this.#s.job.get(app, convKey) as { change_to: number; cursor: string } | undefined;
      if (!job) return { changes: [], delivered, done: true };
      // Former members keep their rows and history: they see changes within it too.
      const members = this.#s.members.all(app, convKey.slice(6), job.cursor, maxMembers) as { user_id: string }[];
      const set = new UserChangeSet(app, this.#rows);
      for (const m of members) {
        const row = set.row(m.user_id, convKey);
        if (!row || row.deleted || (row.changeSeq ?? 0) >= job.change_to) continue;
        const changed = (this.#s.changedAfter.all(app, convKey, row.changeSeq ?? 0, job.change_to, row.visibleFromSeq, row.lastSeq,
          MAX_CHANGES_IN_UPDATE + 1) as RawMessage[]).map(toStoredMessage);
        row.changeSeq = job.change_to;
        set.put(row);
        if (changed.length <= MAX_CHANGES_IN_UPDATE) delivered.set(m.user_id, changed);
      }
      const changes: UserChange[] = set.commit(() => false);
      if (members.length === maxMembers) {
        this.#s.advance.run(members[members.length - 1]!.user_id, app, convKey);
        return { changes, delivered, done: false };
      }
      // A change queued meanwhile moved change_to and reset the cursor: the job stays.
      const done = this.#s.finish.run(app, convKey, job.change_to).changes > 0;
      if (!done) this.#s.restart.run(app, convKey);
      return { changes, delivered, done };
    })();
  }
}

export function peerOf(convKey: string, userID: string): string {
  const [a, b] = convKey.slice(4).split('|') as [string, string];
  return a === userID ? b : a;
}
