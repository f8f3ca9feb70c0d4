import { MUTATION_COLUMNS, withMutations, type RawMutationColumns } from '../message-mutations.js';
import type Database from 'better-sqlite3';
import { parseExtra, type ConversationPatch, type ConversationRow, type ConversationStore, type ListedConversation, type ListQuery, type StoredMessage, type UserChange } from '../types.js';
import type { MessageElem } from '@confab/protocol';
import { prepareRowStatements, toConversationRow, UserChangeSet, type RawConversationRow, type RowStatements } from './rows.js';
import { applyPatch, patchActivates, rowForPatch } from '../row-rules.js';

interface RawMessageRow extends RawMutationColumns { conv_key: string; seq: number; sender: string; client_msg_id: string; created_at: number; elem: string; extra: string | null }

function toStoredMessage(raw: RawMessageRow): StoredMessage {
  const message: StoredMessage = { convKey: raw.conv_key, seq: raw.seq, sender: raw.sender, clientMsgID: raw.client_msg_id, createdAt: raw.created_at, elem: JSON.parse(raw.elem) as MessageElem };
  const extra = parseExtra(raw.extra);
  if (extra) message.extra = extra;
  return withMutations(message, raw);
}

export class SqliteConversationStore implements ConversationStore {
  readonly #rowStatements: RowStatements;
  readonly #changedSince: Database.Statement;
  readonly #changedAfter: Database.Statement;
  readonly #message: Database.Statement;
  /** `listLive` statements by `${nonEmptyOnly}/${hasAfter}`. */
  readonly #list = new Map<string, Database.Statement>();
  readonly #patchTx: (app: number, userID: string, targets: { convKey: string; conversationID: string; create: boolean }[], patch: ConversationPatch) =>
    { change: UserChange | null; missing: string[] };

  constructor(db: Database.Database) {
    this.#rowStatements = prepareRowStatements(db);
    this.#changedSince = db.prepare(`SELECT * FROM user_conversations WHERE app_id = ? AND user_id = ? AND version > ?
      ORDER BY version ASC, conv_key ASC LIMIT ?`);
    // Row-value comparison on the index (app_id, user_id, version, conv_key): a seek to
    // the position, then `limit` entries — not the rest of the version step.
    this.#changedAfter = db.prepare(`SELECT * FROM user_conversations WHERE app_id = ? AND user_id = ? AND (version, conv_key) > (?, ?)
      ORDER BY version ASC, conv_key ASC LIMIT ?`);
    this.#message = db.prepare(`SELECT conv_key, seq, sender, client_msg_id, created_at, elem, extra, ${MUTATION_COLUMNS} FROM messages WHERE app_id = ? AND conv_key = ? AND seq = ?`);
    for (const nonEmpty of [false, true]) {
      for (const hasAfter of [false, true]) {
        // The WHERE terms match the partial indexes' conditions exactly, so SQLite picks them.
        this.#list.set(`${nonEmpty}/${hasAfter}`, db.prepare(`SELECT * FROM user_conversations
          WHERE app_id = ? AND user_id = ? AND deleted = 0${nonEmpty ? ' AND last_seq >= max(1, visible_from_seq)' : ''}
            AND is_pinned = ?${hasAfter ? ' AND (order_key, order_tie) < (?, ?)' : ''}
          ORDER BY order_key DESC, order_tie DESC LIMIT ?`));
      }
    }
    this.#patchTx = db.transaction((app, userID, targets, patch) => this.#patch(app, userID, targets, patch));
  }

  async get(app: number, userID: string, convKey: string): Promise<ConversationRow | undefined> {
    const raw = this.#rowStatements.getRow.get(app, userID, convKey) as RawConversationRow | undefined;
    return raw ? toConversationRow(raw) : undefined;
  }

  async changedSince(app: number, userID: string, sinceVersion: number, limit: number, afterConvKey?: string): Promise<ConversationRow[]> {
    const raws = afterConvKey === undefined
      ? this.#changedSince.all(app, userID, sinceVersion, limit)
      : this.#changedAfter.all(app, userID, sinceVersion, afterConvKey, limit);
    return (raws as RawConversationRow[]).map(toConversationRow);
  }

  async listLive(app: number, userID: string, query: ListQuery): Promise<ListedConversation[]> {
    const statement = this.#list.get(`${query.nonEmptyOnly}/${query.after !== undefined}`)!;
    const params: unknown[] = [app, userID, query.pinned ? 1 : 0];
    if (query.after) params.push(query.after.orderKey, query.after.tie);
    params.push(query.limit);
    return (statement.all(...params) as (RawConversationRow & { order_tie: number })[])
      .map((raw) => ({ row: toConversationRow(raw), position: { orderKey: raw.order_key, tie: raw.order_tie } }));
  }

  async lastMessages(app: number, refs: { convKey: string; seq: number }[]): Promise<StoredMessage[]> {
    // In-process primary-key reads in one synchronous call: no round trip per row to save.
    const out: StoredMessage[] = [];
    for (const ref of refs) {
      const raw = this.#message.get(app, ref.convKey, ref.seq) as RawMessageRow | undefined;
      if (raw) out.push(toStoredMessage(raw));
    }
    return out;
  }

  async patch(app: number, userID: string, targets: { convKey: string; conversationID: string; create: boolean }[], patch: ConversationPatch) {
    return this.#patchTx(app, userID, targets, patch);
  }

  #patch(app: number, userID: string, targets: { convKey: string; conversationID: string; create: boolean }[], patch: ConversationPatch) {
    const changes = new UserChangeSet(app, this.#rowStatements);
    const missing: string[] = [];
    for (const target of targets) {
      const row = rowForPatch(changes.row(userID, target.convKey), target, userID);
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
    const [change] = changes.commit(() => activates);
    return { change: change ?? null, missing };
  }
}
