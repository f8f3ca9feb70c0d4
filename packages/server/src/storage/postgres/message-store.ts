import type pg from 'pg';
import type { MessageElem } from '@confab/protocol';
import { encodeExtra, parseExtra, type AppendBatchResult, type AppendRequest, type AppendResult, type MessageStore, type StoredMessage, type UserChange } from '../types.js';
import { newConversationRow, UserChangeSet } from './rows.js';
import { withTransaction } from './tx.js';
import { applyToSender, passedOverRange } from '../fanout-rules.js';
import { MUTATION_COLUMNS, withMutations, type RawMutationColumns } from '../message-mutations.js';

interface RawMessage extends RawMutationColumns {
  app_id: number;
  conv_key: string;
  seq: number;
  sender: string;
  client_msg_id: string;
  created_at: number;
  elem: string;
  extra: string | null;
}

const MESSAGE_COLUMNS = `app_id, conv_key, seq, sender, client_msg_id, created_at, elem, extra, ${MUTATION_COLUMNS}`;

export function toStoredMessage(raw: RawMessage): StoredMessage {
  const message: StoredMessage = {
    convKey: raw.conv_key, seq: raw.seq, sender: raw.sender, clientMsgID: raw.client_msg_id,
    createdAt: raw.created_at, elem: JSON.parse(raw.elem) as MessageElem,
  };
  const extra = parseExtra(raw.extra);
  if (extra) message.extra = extra;
  return withMutations(message, raw);
}

const convID = (app: number, convKey: string) => `${app}\u0000${convKey}`;
const clientID = (app: number, convKey: string, sender: string, clientMsgID: string) =>
  `${app}\u0000${convKey}\u0000${sender}\u0000${clientMsgID}`;

/**
 * Messages. Unlike the SQLite store there is no seq cache: several nodes write, so the
 * conversation row is the only truth. A batch locks every conversation it writes to
 * (in key order) before it looks for duplicates and takes seqs, which makes both final
 * under concurrent appends from other nodes; the unique index on
 * (app, conv_key, sender, client_msg_id) stays as the last line of defence, and a
 * unique_violation retries the whole batch, which then finds the stored message.
 */
export class PgMessageStore implements MessageStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async appendBatch(batch: AppendRequest[]): Promise<AppendBatchResult> {
    if (batch.length === 0) return { results: [], changes: [] };
    return withTransaction(this.#pool, (client) => this.#append(client, batch), { retryUniqueViolation: true });
  }

  async #append(client: pg.PoolClient, batch: AppendRequest[]): Promise<AppendBatchResult> {
    // 1. Lock the conversations (creating missing ones) in key order and read their last seq.
    const lastSeqs = await lockConversations(client, batch);
    // 2. Messages already stored under these client IDs: final, since we hold the locks.
    const stored = await findByClientIDs(client, batch);

    // 3. Seqs in request order; duplicates (stored or earlier in the batch) take none.
    const inBatch = new Map<string, StoredMessage>();
    const results: AppendResult[] = [];
    const fresh: { req: AppendRequest; message: StoredMessage; result: AppendResult }[] = [];
    for (const req of batch) {
      const idKey = clientID(req.app, req.convKey, req.sender, req.clientMsgID);
      const earlier = inBatch.get(idKey) ?? stored.get(idKey);
      if (earlier) {
        results.push({ message: earlier, duplicate: true });
        continue;
      }
      const seqKey = convID(req.app, req.convKey);
      const seq = (lastSeqs.get(seqKey) ?? 0) + 1;
      lastSeqs.set(seqKey, seq);
      const message: StoredMessage = { convKey: req.convKey, seq, sender: req.sender, clientMsgID: req.clientMsgID, createdAt: req.now, elem: req.elem };
      if (encodeExtra(req.extra) !== null) message.extra = req.extra;
      inBatch.set(idKey, message);
      const result: AppendResult = { message, duplicate: false };
      results.push(result);
      fresh.push({ req, message, result });
    }
    if (fresh.length === 0) return { results, changes: [] };

    // 4. Lock the recipients (apps in order, users in order), then read their rows.
    const changeSets = new Map<number, UserChangeSet>();
    for (const { req } of fresh) if (!changeSets.has(req.app)) changeSets.set(req.app, new UserChangeSet(client, req.app));
    for (const app of [...changeSets.keys()].sort((a, b) => a - b)) {
      const set = changeSets.get(app)!;
      const mine = fresh.filter(({ req }) => req.app === app);
      await set.lock(mine.flatMap(({ req }) => req.recipients.map((r) => r.userID)));
      await set.load(mine.flatMap(({ req }) => req.recipients.map((r) => ({ userID: r.userID, convKey: req.convKey }))));
    }

    // 5. Write the messages (a sender's passed-over range below reads them), then the
    //    same row rules as the SQLite store.
    await insertMessages(client, fresh.map((f) => ({ app: f.req.app, message: f.message })));
    for (const { req, message, result } of fresh) {
      const changes = changeSets.get(req.app)!;
      if (req.fanout) {
        // The sender's row only; the members are the fan-out worker's (fanout_queue).
        const conversationID = req.recipients.find((r) => r.userID === req.sender)?.conversationID ?? `group_${req.convKey.slice(6)}`;
        const row = (await changes.row(req.sender, req.convKey)) ?? newConversationRow(req.sender, req.convKey, conversationID, 1);
        const gap = passedOverRange(row, message.seq);
        if (gap) result.passedOver = await rangeOf(client, req.app, req.convKey, gap[0], gap[1]);
        applyToSender(row, message.seq);
        changes.put(row);
        continue;
      }
      for (const { userID, conversationID } of req.recipients) {
        const row = (await changes.row(userID, req.convKey)) ?? newConversationRow(userID, req.convKey, conversationID, 1);
        // A tombstone comes back to life with the new message; its watermark stays, so
        // only messages after the deletion point are visible (the resurrection rule).
        row.deleted = false;
        row.lastSeq = message.seq;
        // Replying means having read everything before it: the sender's unread resets.
        if (userID === req.sender) {
          row.readSeq = Math.max(row.readSeq, message.seq);
          row.unreadCount = 0;
        } else {
          row.unreadCount += 1;
        }
        changes.put(row);
      }
    }

    // 6. Seqs and the fan-out queue, then one version step per touched user.
    const touched = new Map<string, { app: number; convKey: string; seq: number }>();
    for (const { req, message } of fresh) touched.set(convID(req.app, req.convKey), { app: req.app, convKey: req.convKey, seq: message.seq });
    const conversations = [...touched.values()];
    await client.query(`UPDATE conversations c SET last_seq = t.last_seq
      FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS t(app_id, conv_key, last_seq)
      WHERE c.app_id = t.app_id AND c.conv_key = t.conv_key`,
    [conversations.map((c) => c.app), conversations.map((c) => c.convKey), conversations.map((c) => c.seq)]);
    await enqueueFanout(client, fresh);
    const changes: UserChange[] = [];
    for (const set of changeSets.values()) changes.push(...(await set.commit(() => true)));
    return { results, changes };
  }

  async range(app: number, convKey: string, fromSeq: number, toSeq: number, limit: number, order: 'asc' | 'desc'): Promise<StoredMessage[]> {
    if (toSeq < fromSeq || limit <= 0) return [];
    const { rows } = await this.#pool.query<RawMessage>(`SELECT ${MESSAGE_COLUMNS} FROM messages
      WHERE app_id = $1 AND conv_key = $2 AND seq >= $3 AND seq <= $4
      ORDER BY seq ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT $5`, [app, convKey, fromSeq, toSeq, limit]);
    return rows.map(toStoredMessage);
  }

  async seqAtTime(app: number, convKey: string, time: number, edge: 'first' | 'last'): Promise<number | undefined> {
    const { rows } = await this.#pool.query<{ seq: number }>(edge === 'first'
      ? 'SELECT seq FROM messages WHERE app_id = $1 AND conv_key = $2 AND created_at >= $3 ORDER BY created_at ASC, seq ASC LIMIT 1'
      : 'SELECT seq FROM messages WHERE app_id = $1 AND conv_key = $2 AND created_at <= $3 ORDER BY created_at DESC, seq DESC LIMIT 1', [app, convKey, time]);
    return rows[0]?.seq;
  }

  async get(app: number, convKey: string, seq: number): Promise<StoredMessage | undefined> {
    const { rows } = await this.#pool.query<RawMessage>(`SELECT ${MESSAGE_COLUMNS} FROM messages
      WHERE app_id = $1 AND conv_key = $2 AND seq = $3`, [app, convKey, seq]);
    return rows[0] ? toStoredMessage(rows[0]) : undefined;
  }
}

/**
 * Locks every conversation of the batch until the transaction ends, in (app, key)
 * order so that two batches over the same conversations never deadlock, and returns
 * each one's last seq. A conversation seen for the first time gets its row here.
 */
async function lockConversations(client: pg.PoolClient, batch: AppendRequest[]): Promise<Map<string, number>> {
  const unique = new Map<string, { app: number; convKey: string }>();
  for (const req of batch) unique.set(convID(req.app, req.convKey), { app: req.app, convKey: req.convKey });
  const convs = [...unique.values()];
  const { rows } = await client.query<{ app_id: number; conv_key: string; last_seq: number }>(`
    INSERT INTO conversations (app_id, conv_key, last_seq)
    SELECT app_id, conv_key, 0 FROM unnest($1::bigint[], $2::text[]) AS t(app_id, conv_key)
    ORDER BY app_id, conv_key COLLATE "C"
    ON CONFLICT (app_id, conv_key) DO UPDATE SET last_seq = conversations.last_seq
    RETURNING app_id, conv_key, last_seq`, [convs.map((c) => c.app), convs.map((c) => c.convKey)]);
  return new Map(rows.map((r) => [convID(r.app_id, r.conv_key), r.last_seq]));
}

/**
 * Records fan-out messages in the queue: a new job from the batch's first seq, or an
 * existing one extended to its last. The conversation lock taken first serialises this
 * with other appends; the fan-out worker's final DELETE re-checks `to_seq`, so a job
 * extended here is never dropped.
 */
async function enqueueFanout(client: pg.PoolClient, fresh: { req: AppendRequest; message: StoredMessage }[]): Promise<void> {
  const jobs = new Map<string, { app: number; convKey: string; from: number; to: number; now: number }>();
  for (const { req, message } of fresh) {
    if (!req.fanout) continue;
    const key = convID(req.app, req.convKey);
    const job = jobs.get(key);
    if (job) job.to = message.seq;
    else jobs.set(key, { app: req.app, convKey: req.convKey, from: message.seq, to: message.seq, now: req.now });
  }
  if (jobs.size === 0) return;
  const list = [...jobs.values()].sort((a, b) => a.app - b.app || (a.convKey < b.convKey ? -1 : 1));
  await client.query(`INSERT INTO fanout_queue (app_id, conv_key, from_seq, to_seq, queued_at)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
    ON CONFLICT (app_id, conv_key) DO UPDATE SET to_seq = excluded.to_seq`,
  [list.map((j) => j.app), list.map((j) => j.convKey), list.map((j) => j.from), list.map((j) => j.to), list.map((j) => j.now)]);
}

export async function rangeOf(client: pg.PoolClient | pg.Pool, app: number, convKey: string, fromSeq: number, toSeq: number): Promise<StoredMessage[]> {
  const { rows } = await client.query<RawMessage>(`SELECT ${MESSAGE_COLUMNS} FROM messages
    WHERE app_id = $1 AND conv_key = $2 AND seq >= $3 AND seq <= $4 ORDER BY seq`, [app, convKey, fromSeq, toSeq]);
  return rows.map(toStoredMessage);
}

async function findByClientIDs(client: pg.PoolClient, batch: AppendRequest[]): Promise<Map<string, StoredMessage>> {
  const { rows } = await client.query<RawMessage>(`SELECT m.app_id, m.conv_key, m.seq, m.sender, m.client_msg_id, m.created_at, m.elem, m.extra, m.change_seq, m.modify_version, m.revoker, m.revoke_reason FROM messages m
    JOIN unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS t(app_id, conv_key, sender, client_msg_id)
      ON m.app_id = t.app_id AND m.conv_key = t.conv_key AND m.sender = t.sender
        AND confab_msg_key(m.client_msg_id) = confab_msg_key(t.client_msg_id) AND m.client_msg_id = t.client_msg_id`,
  [batch.map((r) => r.app), batch.map((r) => r.convKey), batch.map((r) => r.sender), batch.map((r) => r.clientMsgID)]);
  const found = new Map<string, StoredMessage>();
  for (const raw of rows) found.set(clientID(raw.app_id, raw.conv_key, raw.sender, raw.client_msg_id), toStoredMessage(raw));
  return found;
}

async function insertMessages(client: pg.PoolClient, messages: { app: number; message: StoredMessage }[]): Promise<void> {
  await client.query(`INSERT INTO messages (app_id, conv_key, seq, sender, client_msg_id, created_at, elem, extra)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[])`, [
    messages.map((m) => m.app), messages.map((m) => m.message.convKey), messages.map((m) => m.message.seq),
    messages.map((m) => m.message.sender), messages.map((m) => m.message.clientMsgID), messages.map((m) => m.message.createdAt),
    messages.map((m) => JSON.stringify(m.message.elem)), messages.map((m) => encodeExtra(m.message.extra)),
  ]);
}
