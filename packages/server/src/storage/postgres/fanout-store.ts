import type pg from 'pg';
import type { FanoutJob, FanoutStepResult, FanoutStore, StoredMessage } from '../types.js';
import { applyToMember, memberRange, memberRow } from '../fanout-rules.js';
import { UserChangeSet } from './rows.js';
import { rangeOf } from './message-store.js';
import { withTransaction } from './tx.js';

interface RawJob { app_id: number; conv_key: string; from_seq: number; to_seq: number; pass_to: number; cursor: string }

/**
 * The fan-out queue on PostgreSQL. One node works the queue (the `fanout` lease); a
 * step locks its members' accounts (sorted, as every writer of their rows does) and
 * touches the queue row only at its end, so an append to the same group waits for the
 * step's last statement at most, never for its whole chunk.
 */
export class PgFanoutStore implements FanoutStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async pending(limit: number): Promise<FanoutJob[]> {
    const { rows } = await this.#pool.query<RawJob>(`SELECT app_id, conv_key, from_seq, to_seq FROM fanout_queue
      ORDER BY queued_at, app_id, conv_key LIMIT $1`, [limit]);
    return rows.map((r) => ({ app: r.app_id, convKey: r.conv_key, fromSeq: r.from_seq, toSeq: r.to_seq }));
  }

  async step(app: number, convKey: string, maxMembers: number, maxMessages: number): Promise<FanoutStepResult> {
    return withTransaction(this.#pool, async (client) => {
      const delivered = new Map<string, StoredMessage[]>();
      const { rows: jobs } = await client.query<RawJob>('SELECT * FROM fanout_queue WHERE app_id = $1 AND conv_key = $2', [app, convKey]);
      const job = jobs[0];
      if (!job) return { changes: [], delivered, done: true };
      // A pass covers a bounded range of messages, fixed when it starts: messages that
      // arrive meanwhile wait for the next pass, which covers them all at once.
      const passTo = job.pass_to || Math.min(job.to_seq, job.from_seq + maxMessages - 1);
      const { rows: members } = await client.query<{ user_id: string; left_seq: number | null }>(`SELECT user_id, left_seq FROM group_members
        WHERE app_id = $1 AND group_id = $2 AND user_id > $3 AND (left_at IS NULL OR left_seq >= $4) ORDER BY user_id LIMIT $5`,
      [app, convKey.slice(6), job.cursor, job.from_seq, maxMembers]);
      const messages = await rangeOf(client, app, convKey, job.from_seq, passTo);
      const set = new UserChangeSet(client, app);
      const ids = members.map((m) => m.user_id);
      await set.lock(ids);
      await set.load(ids.map((userID) => ({ userID, convKey })));
      for (const m of members) {
        const row = memberRow(await set.row(m.user_id, convKey), m.user_id, convKey);
        const range = memberRange(row, job.from_seq, passTo, m.left_seq);
        if (!range) continue;
        delivered.set(m.user_id, applyToMember(row, messages, range[0], range[1]));
        set.put(row);
      }
      const changes = await set.commit(() => true);
      if (members.length === maxMembers) {
        await client.query('UPDATE fanout_queue SET pass_to = $1, cursor = $2 WHERE app_id = $3 AND conv_key = $4',
          [passTo, members[members.length - 1]!.user_id, app, convKey]);
        return { changes, delivered, done: false };
      }
      // The pass reached the last member. The DELETE re-checks to_seq on the current row
      // (it waits for an append holding it): a job an append just extended stays queued.
      await client.query(`UPDATE fanout_queue SET from_seq = $1, pass_to = 0, cursor = '' WHERE app_id = $2 AND conv_key = $3`,
        [passTo + 1, app, convKey]);
      const { rowCount } = await client.query('DELETE FROM fanout_queue WHERE app_id = $1 AND conv_key = $2 AND to_seq < $3',
        [app, convKey, passTo + 1]);
      return { changes, delivered, done: (rowCount ?? 0) > 0 };
    });
  }
}
