import { withMutations, type RawMutationColumns } from '../message-mutations.js';
import type pg from 'pg';
import { parseExtra, type ConversationPatch, type ConversationRow, type ConversationStore, type ListedConversation, type ListQuery, type StoredMessage, type UserChange } from '../types.js';
import type { MessageElem } from '@confab/protocol';
import { ROW_COLUMNS, toConversationRow, UserChangeSet, type RawConversationRow } from './rows.js';
import { applyPatch, patchActivates, rowForPatch } from '../row-rules.js';
import { withTransaction } from './tx.js';

interface RawMessageRow extends RawMutationColumns { conv_key: string; seq: number; sender: string; client_msg_id: string; created_at: number; elem: string; extra: string | null }

type Target = { convKey: string; conversationID: string; create: boolean };

export class PgConversationStore implements ConversationStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async get(app: number, userID: string, convKey: string): Promise<ConversationRow | undefined> {
    const { rows } = await this.#pool.query<RawConversationRow>(`SELECT ${ROW_COLUMNS} FROM user_conversations
      WHERE app_id = $1 AND user_id = $2 AND conv_key = $3`, [app, userID, convKey]);
    return rows[0] ? toConversationRow(rows[0]) : undefined;
  }

  async changedSince(app: number, userID: string, sinceVersion: number, limit: number, afterConvKey?: string): Promise<ConversationRow[]> {
    // Both forms walk the index (app_id, user_id, version, conv_key) from the position.
    const { rows } = afterConvKey === undefined
      ? await this.#pool.query<RawConversationRow>(`SELECT ${ROW_COLUMNS} FROM user_conversations
          WHERE app_id = $1 AND user_id = $2 AND version > $3 ORDER BY version ASC, conv_key ASC LIMIT $4`,
        [app, userID, sinceVersion, limit])
      : await this.#pool.query<RawConversationRow>(`SELECT ${ROW_COLUMNS} FROM user_conversations
          WHERE app_id = $1 AND user_id = $2 AND (version, conv_key) > ($3, $4) ORDER BY version ASC, conv_key ASC LIMIT $5`,
        [app, userID, sinceVersion, afterConvKey, limit]);
    return rows.map(toConversationRow);
  }

  async listLive(app: number, userID: string, query: ListQuery): Promise<ListedConversation[]> {
    const params: unknown[] = [app, userID, query.pinned];
    if (query.after) params.push(query.after.orderKey, query.after.tie);
    params.push(query.limit);
    // The WHERE terms match the partial indexes' conditions, so the planner can use them.
    const { rows } = await this.#pool.query<RawConversationRow & { order_tie: number }>(`SELECT ${ROW_COLUMNS}, order_tie
      FROM user_conversations WHERE app_id = $1 AND user_id = $2 AND NOT deleted
        ${query.nonEmptyOnly ? 'AND last_seq >= GREATEST(1, visible_from_seq)' : ''}
        AND is_pinned = $3 ${query.after ? 'AND (order_key, order_tie) < ($4, $5)' : ''}
      ORDER BY order_key DESC, order_tie DESC LIMIT $${params.length}`, params);
    return rows.map((raw) => ({ row: toConversationRow(raw), position: { orderKey: raw.order_key, tie: raw.order_tie } }));
  }

  async lastMessages(app: number, refs: { convKey: string; seq: number }[]): Promise<StoredMessage[]> {
    if (refs.length === 0) return [];
    // One query for the page: primary-key lookups joined from the list of positions.
    const { rows } = await this.#pool.query<RawMessageRow>(`SELECT m.conv_key, m.seq, m.sender, m.client_msg_id, m.created_at, m.elem, m.extra, m.change_seq, m.modify_version, m.revoker, m.revoke_reason
      FROM unnest($2::text[], $3::bigint[]) AS r(conv_key, seq)
      JOIN messages m ON m.app_id = $1 AND m.conv_key = r.conv_key AND m.seq = r.seq`,
    [app, refs.map((r) => r.convKey), refs.map((r) => r.seq)]);
    return rows.map((raw) => {
      const message: StoredMessage = {
        convKey: raw.conv_key, seq: raw.seq, sender: raw.sender, clientMsgID: raw.client_msg_id, createdAt: raw.created_at, elem: JSON.parse(raw.elem) as MessageElem,
      };
      const extra = parseExtra(raw.extra);
      if (extra) message.extra = extra;
      return withMutations(message, raw);
    });
  }

  async patch(app: number, userID: string, targets: Target[], patch: ConversationPatch): Promise<{ change: UserChange | null; missing: string[] }> {
    return withTransaction(this.#pool, async (client) => {
      const changes = new UserChangeSet(client, app);
      await changes.lock([userID]);
      await changes.load(targets.map((t) => ({ userID, convKey: t.convKey })));
      const missing: string[] = [];
      for (const target of targets) {
        const row = rowForPatch(await changes.row(userID, target.convKey), target, userID);
        if (!row) {
          missing.push(target.conversationID);
          continue;
        }
        const before = JSON.stringify(row);
        applyPatch(row, patch);
        // A patch that changes nothing (pinning a pinned conversation) takes no version step.
        if (JSON.stringify(row) !== before) changes.put(row);
      }
      const activates = patchActivates(patch);
      const [change] = await changes.commit(() => activates);
      return { change: change ?? null, missing };
    });
  }
}
