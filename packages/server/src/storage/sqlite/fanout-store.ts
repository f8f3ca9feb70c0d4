import type Database from 'better-sqlite3';
import type { FanoutJob, FanoutStepResult, FanoutStore, StoredMessage } from '../types.js';
import { applyToMember, memberRange, memberRow } from '../fanout-rules.js';
import { prepareRowStatements, UserChangeSet } from './rows.js';
import { toStoredMessage } from './message-store.js';

interface RawJob { app_id: number; conv_key: string; from_seq: number; to_seq: number; pass_to: number; cursor: string }

/**
 * The fan-out queue on the embedded database. Each step is one short transaction over
 * at most `maxMembers` members, so a message commit waits for one chunk at most, never
 * for a whole 6,000-member group.
 */
export class SqliteFanoutStore implements FanoutStore {
  readonly #rows;
  readonly #s;
  readonly #stepTx: (app: number, convKey: string, maxMembers: number, maxMessages: number) => FanoutStepResult;

  constructor(db: Database.Database) {
    this.#rows = prepareRowStatements(db);
    this.#s = {
      pending: db.prepare('SELECT app_id, conv_key, from_seq, to_seq FROM fanout_queue ORDER BY queued_at, app_id, conv_key LIMIT ?'),
      job: db.prepare('SELECT * FROM fanout_queue WHERE app_id = ? AND conv_key = ?'),
      // Members ordered by user ID: the cursor of a pass. Former members stay in the pass
      // while a message of it was committed before they left.
      members: db.prepare(`SELECT user_id, left_seq FROM group_members WHERE app_id = ? AND group_id = ? AND user_id > ?
        AND (left_at IS NULL OR left_seq >= ?) ORDER BY user_id LIMIT ?`),
      messages: db.prepare('SELECT * FROM messages WHERE app_id = ? AND conv_key = ? AND seq >= ? AND seq <= ? ORDER BY seq'),
      advance: db.prepare('UPDATE fanout_queue SET pass_to = ?, cursor = ? WHERE app_id = ? AND conv_key = ?'),
      nextPass: db.prepare(`UPDATE fanout_queue SET from_seq = ?, pass_to = 0, cursor = '' WHERE app_id = ? AND conv_key = ?`),
      finish: db.prepare('DELETE FROM fanout_queue WHERE app_id = ? AND conv_key = ? AND to_seq < ?'),
    };
    this.#stepTx = db.transaction((app: number, convKey: string, maxMembers: number, maxMessages: number) => this.#step(app, convKey, maxMembers, maxMessages));
  }

  async pending(limit: number): Promise<FanoutJob[]> {
    return (this.#s.pending.all(limit) as RawJob[]).map((r) => ({ app: r.app_id, convKey: r.conv_key, fromSeq: r.from_seq, toSeq: r.to_seq }));
  }

  async step(app: number, convKey: string, maxMembers: number, maxMessages: number): Promise<FanoutStepResult> {
    return this.#stepTx(app, convKey, maxMembers, maxMessages);
  }

  #step(app: number, convKey: string, maxMembers: number, maxMessages: number): FanoutStepResult {
    const delivered = new Map<string, StoredMessage[]>();
    const job = this.#s.job.get(app, convKey) as RawJob | undefined;
    if (!job) return { changes: [], delivered, done: true };
    // A pass covers a bounded range of messages, fixed when it starts: messages that
    // arrive meanwhile wait for the next pass, which covers them all at once.
    const passTo = job.pass_to || Math.min(job.to_seq, job.from_seq + maxMessages - 1);
    const members = this.#s.members.all(app, convKey.slice(6), job.cursor, job.from_seq, maxMembers) as { user_id: string; left_seq: number | null }[];
    const messages = (this.#s.messages.all(app, convKey, job.from_seq, passTo) as Parameters<typeof toStoredMessage>[0][]).map(toStoredMessage);
    const set = new UserChangeSet(app, this.#rows);
    for (const m of members) {
      const row = memberRow(set.row(m.user_id, convKey), m.user_id, convKey);
      const range = memberRange(row, job.from_seq, passTo, m.left_seq);
      if (!range) continue;
      delivered.set(m.user_id, applyToMember(row, messages, range[0], range[1]));
      set.put(row);
    }
    const changes = set.commit(() => true);
    if (members.length === maxMembers) {
      this.#s.advance.run(passTo, members[members.length - 1]!.user_id, app, convKey);
      return { changes, delivered, done: false };
    }
    // The pass reached the last member: the next one starts after passTo, unless nothing
    // is left (then the job leaves the queue; an append racing this keeps it, to_seq moved).
    this.#s.nextPass.run(passTo + 1, app, convKey);
    const done = this.#s.finish.run(app, convKey, passTo + 1).changes > 0;
    return { changes, delivered, done };
  }
}
