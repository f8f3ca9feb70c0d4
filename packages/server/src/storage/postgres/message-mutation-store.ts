import type pg from 'pg';
import { encodeExtra, type ConversationRow, type StoredMessage, type UserChange } from '../types.js';
import {
  MAX_CHANGES_IN_UPDATE, MUTATION_COLUMNS, REVOKED_ELEM, revokedExtra, rowSees, type ChangeJob, type ChangesPage, type ChangeStepResult,
  type MessageChangeRequest, type MessageChangeResult, type MessageDeleteResult, type MessageMutationStore,
} from '../message-mutations.js';
import { UserChangeSet } from './rows.js';
import { toStoredMessage } from './message-store.js';
import { withTransaction } from './tx.js';

type RawMessage = Parameters<typeof toStoredMessage>[0];
const COLUMNS = `app_id, conv_key, seq, sender, client_msg_id, created_at, elem, extra, ${MUTATION_COLUMNS}`;

/**
 * Recalls, modifications and per-user deletions on PostgreSQL (see ../message-mutations.ts).
 * Lock order, as the other writers: the conversation row (then its message), then the
 * change queue row, then accounts (sorted).
 */
export class PgMessageMutationStore implements MessageMutationStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async change(req: MessageChangeRequest): Promise<MessageChangeResult | undefined> {
    return withTransaction(this.#pool, async (client) => {
      const { rows: conv } = await client.query<{ change_seq: number }>(
        'SELECT change_seq FROM conversations WHERE app_id = $1 AND conv_key = $2 FOR UPDATE', [req.app, req.convKey]);
      if (!conv[0]) return undefined;
      const changeSeq = conv[0].change_seq + 1;
      const { rows } = await client.query<RawMessage>(`SELECT ${COLUMNS} FROM messages WHERE app_id = $1 AND conv_key = $2 AND seq = $3 FOR UPDATE`,
        [req.app, req.convKey, req.seq]);
      if (!rows[0]) return undefined;
      const current = toStoredMessage(rows[0]);
      req.check(current);
      if (req.group) {
        await client.query(`INSERT INTO change_queue (app_id, conv_key, change_to, cursor, queued_at) VALUES ($1, $2, $3, '', $4)
          ON CONFLICT (app_id, conv_key) DO UPDATE SET change_to = excluded.change_to, cursor = ''`, [req.app, req.convKey, changeSeq, req.now]);
      }
      const set = new UserChangeSet(client, req.app);
      await set.lock(req.participants);
      await client.query('UPDATE conversations SET change_seq = $3 WHERE app_id = $1 AND conv_key = $2', [req.app, req.convKey, changeSeq]);
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
      await client.query(`UPDATE messages SET elem = $1, change_seq = $2, modify_version = $3, revoker = $4, revoke_reason = $5,
        extra = $9 WHERE app_id = $6 AND conv_key = $7 AND seq = $8`,
      [JSON.stringify(next.elem), changeSeq, next.modifyVersion, next.revoker ?? null, next.revokeReason ?? null, req.app, req.convKey, req.seq, encodeExtra(next.extra)]);
      await set.load(req.participants.map((userID) => ({ userID, convKey: req.convKey })));
      const delivered = new Map<string, StoredMessage[]>();
      for (const userID of req.participants) {
        const row = await set.row(userID, req.convKey);
        if (!rowSees(row, req.seq) || row.deleted) continue;
        const { rows: passed } = await client.query<RawMessage>(`SELECT ${COLUMNS} FROM messages
          WHERE app_id = $1 AND conv_key = $2 AND change_seq > $3 AND change_seq <= $4 AND seq >= $5 AND seq <= $6
          ORDER BY change_seq LIMIT $7`, [req.app, req.convKey, row.changeSeq ?? 0, changeSeq, row.visibleFromSeq, row.lastSeq, MAX_CHANGES_IN_UPDATE + 1]);
        if (passed.length <= MAX_CHANGES_IN_UPDATE) delivered.set(userID, passed.map(toStoredMessage));
        row.changeSeq = changeSeq;
        set.put(row);
      }
      return { message: next, changes: await set.commit(() => false), delivered };
    });
  }

  async deleteForUser(app: number, userID: string, convKey: string, seqs: number[], now: number): Promise<MessageDeleteResult> {
    return withTransaction(this.#pool, async (client) => {
      const peer = convKey.startsWith('c2c:') ? peerOf(convKey, userID) : undefined;
      const set = new UserChangeSet(client, app);
      // Both sides are locked: two users deleting the same message at once must see each other's deletion.
      await set.lock(peer ? [userID, peer] : [userID]);
      const row = await set.row(userID, convKey);
      if (!row || row.deleted) return { seqs: [], change: null };
      const peerRow = peer ? await set.row(peer, convKey) : undefined;
      const wanted = [...new Set(seqs)].sort((a, b) => a - b).filter((seq) => rowSees(row, seq));
      const { rows: found } = await client.query<{ seq: number; sender: string }>(`SELECT m.seq, m.sender FROM messages m
        WHERE m.app_id = $1 AND m.conv_key = $2 AND m.seq = ANY($3::bigint[])
        AND NOT EXISTS (SELECT 1 FROM deleted_messages d WHERE d.app_id = $1 AND d.user_id = $4 AND d.conv_key = $2 AND d.seq = m.seq)
        ORDER BY m.seq`, [app, convKey, wanted, userID]);
      if (found.length === 0) return { seqs: [], change: null };
      const deleteSeqs: number[] = [];
      for (const m of found) {
        row.deleteSeq = (row.deleteSeq ?? 0) + 1;
        deleteSeqs.push(row.deleteSeq);
        if (m.sender !== userID && m.seq > row.readSeq) row.unreadCount = Math.max(0, row.unreadCount - 1);
      }
      const done = found.map((m) => m.seq);
      await client.query(`INSERT INTO deleted_messages (app_id, user_id, conv_key, seq, delete_seq, deleted_at)
        SELECT $1, $2, $3, s, d, $6 FROM unnest($4::bigint[], $5::bigint[]) AS t(s, d)`, [app, userID, convKey, done, deleteSeqs, now]);
      if (peer) {
        // A one-to-one message no participant can see any more loses its content now.
        const { rows: peerDeleted } = await client.query<{ seq: number }>(`SELECT seq FROM deleted_messages
          WHERE app_id = $1 AND user_id = $2 AND conv_key = $3 AND seq = ANY($4::bigint[])`, [app, peer, convKey, done]);
        const peerGone = new Set(peerDeleted.map((r) => r.seq));
        const erase = done.filter((seq) => peerGone.has(seq) || !rowSees(peerRow, seq));
        if (erase.length) {
          await client.query('UPDATE messages SET elem = $4, extra = NULL WHERE app_id = $1 AND conv_key = $2 AND seq = ANY($3::bigint[])',
            [app, convKey, erase, JSON.stringify(REVOKED_ELEM)]);
        }
      }
      set.put(row);
      return { seqs: done, change: (await set.commit(() => false))[0] ?? null };
    });
  }

  async deletedIn(app: number, userID: string, convKey: string, fromSeq: number, toSeq: number): Promise<Set<number>> {
    const { rows } = await this.#pool.query<{ seq: number }>(`SELECT seq FROM deleted_messages
      WHERE app_id = $1 AND user_id = $2 AND conv_key = $3 AND seq >= $4 AND seq <= $5`, [app, userID, convKey, fromSeq, toSeq]);
    return new Set(rows.map((r) => r.seq));
  }

  async lastVisible(app: number, userID: string, convKey: string, fromSeq: number, toSeq: number): Promise<StoredMessage | undefined> {
    const { rows } = await this.#pool.query<RawMessage>(`SELECT ${COLUMNS} FROM messages m
      WHERE m.app_id = $1 AND m.conv_key = $2 AND m.seq >= $3 AND m.seq <= $4
      AND NOT EXISTS (SELECT 1 FROM deleted_messages d WHERE d.app_id = m.app_id AND d.user_id = $5 AND d.conv_key = m.conv_key AND d.seq = m.seq)
      ORDER BY m.seq DESC LIMIT 1`, [app, convKey, fromSeq, toSeq, userID]);
    return rows[0] ? toStoredMessage(rows[0]) : undefined;
  }

  async changesPage(app: number, row: ConversationRow, afterChangeSeq: number, afterDeleteSeq: number, count: number): Promise<ChangesPage> {
    return withTransaction(this.#pool, async (client) => {
      const { rows: changedRaw } = await client.query<RawMessage>(`SELECT ${COLUMNS} FROM messages
        WHERE app_id = $1 AND conv_key = $2 AND change_seq > $3 AND change_seq <= $4 AND seq >= $5 AND seq <= $6
        ORDER BY change_seq LIMIT $7`, [app, row.convKey, afterChangeSeq, row.changeSeq ?? 0, row.visibleFromSeq, row.lastSeq, count]);
      const changed = changedRaw.map(toStoredMessage);
      const { rows: deletedRows } = await client.query<{ seq: number; delete_seq: number }>(`SELECT seq, delete_seq FROM deleted_messages
        WHERE app_id = $1 AND user_id = $2 AND conv_key = $3 AND delete_seq > $4 ORDER BY delete_seq LIMIT $5`,
      [app, row.userID, row.convKey, afterDeleteSeq, count]);
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
    }, { readOnly: true });
  }

  async changeQueue(limit: number): Promise<ChangeJob[]> {
    const { rows } = await this.#pool.query<{ app_id: number; conv_key: string; change_to: number }>(
      'SELECT app_id, conv_key, change_to FROM change_queue ORDER BY queued_at, app_id, conv_key LIMIT $1', [limit]);
    return rows.map((r) => ({ app: r.app_id, convKey: r.conv_key, changeTo: r.change_to }));
  }

  async changeStep(app: number, convKey: string, maxMembers: number): Promise<ChangeStepResult> {
    return withTransaction(this.#pool, async (client) => {
      const delivered = new Map<string, StoredMessage[]>();
      // Locked for the step: a change queued meanwhile waits, then resets the cursor for a new pass.
      const { rows: jobs } = await client.query<{ change_to: number; cursor: string }>(
        'SELECT change_to, cursor FROM change_queue WHERE app_id = $1 AND conv_key = $2 FOR UPDATE', [app, convKey]);
      const job = jobs[0];
      if (!job) return { changes: [], delivered, done: true };
      const { rows: members } = await client.query<{ user_id: string }>(`SELECT user_id FROM group_members
        WHERE app_id = $1 AND group_id = $2 AND user_id > $3 ORDER BY user_id LIMIT $4`, [app, convKey.slice(6), job.cursor, maxMembers]);
      const ids = members.map((m) => m.user_id);
      const set = new UserChangeSet(client, app);
      await set.lock(ids);
      await set.load(ids.map((userID) => ({ userID, convKey })));
      for (const userID of ids) {
        const row = await set.row(userID, convKey);
        if (!row || row.deleted || (row.changeSeq ?? 0) >= job.change_to) continue;
        const { rows: raw } = await client.query<RawMessage>(`SELECT ${COLUMNS} FROM messages
          WHERE app_id = $1 AND conv_key = $2 AND change_seq > $3 AND change_seq <= $4 AND seq >= $5 AND seq <= $6
          ORDER BY change_seq LIMIT $7`, [app, convKey, row.changeSeq ?? 0, job.change_to, row.visibleFromSeq, row.lastSeq, MAX_CHANGES_IN_UPDATE + 1]);
        row.changeSeq = job.change_to;
        set.put(row);
        if (raw.length <= MAX_CHANGES_IN_UPDATE) delivered.set(userID, raw.map(toStoredMessage));
      }
      const changes: UserChange[] = await set.commit(() => false);
      if (members.length === maxMembers) {
        await client.query('UPDATE change_queue SET cursor = $1 WHERE app_id = $2 AND conv_key = $3', [ids[ids.length - 1], app, convKey]);
        return { changes, delivered, done: false };
      }
      await client.query('DELETE FROM change_queue WHERE app_id = $1 AND conv_key = $2', [app, convKey]);
      return { changes, delivered, done: true };
    });
  }
}

function peerOf(convKey: string, userID: string): string {
  const [a, b] = convKey.slice(4).split('|') as [string, string];
  return a === userID ? b : a;
}
