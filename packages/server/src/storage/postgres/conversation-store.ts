import type pg from 'pg';
import type { ConversationPatch, ConversationRow, ConversationStore, UserChange } from '../types.js';
import { ROW_COLUMNS, toConversationRow, UserChangeSet, type RawConversationRow } from './rows.js';
import { applyPatch, patchActivates, rowForPatch } from '../row-rules.js';
import { withTransaction } from './tx.js';

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

  async changedSince(app: number, userID: string, sinceVersion: number, limit: number): Promise<ConversationRow[]> {
    // One snapshot for both reads, so the extension agrees with the page.
    return withTransaction(this.#pool, async (client) => {
      const read = async (since: number, max: number) => (await client.query<RawConversationRow>(`SELECT ${ROW_COLUMNS}
        FROM user_conversations WHERE app_id = $1 AND user_id = $2 AND version > $3
        ORDER BY version ASC, conv_key ASC LIMIT $4`, [app, userID, since, max])).rows.map(toConversationRow);
      const rows = await read(sinceVersion, limit + 1);
      if (rows.length <= limit) return rows;
      // Never end a page inside one version step: a device that stores the page's version
      // must hold every row of it. Extend the page to the end of its last version.
      const lastVersion = rows[limit - 1]!.version;
      const page = rows.slice(0, limit);
      if (rows[limit]!.version === lastVersion) {
        const rest = (await read(lastVersion - 1, 1_000_000)).filter((r) => r.version === lastVersion);
        const have = new Set(page.map((r) => r.convKey));
        for (const row of rest) if (!have.has(row.convKey)) page.push(row);
      }
      return page;
    }, { readOnly: true });
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
