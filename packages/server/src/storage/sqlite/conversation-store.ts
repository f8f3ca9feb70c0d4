import type Database from 'better-sqlite3';
import type { ConversationPatch, ConversationRow, ConversationStore, UserChange } from '../types.js';
import { prepareRowStatements, toConversationRow, UserChangeSet, type RawConversationRow, type RowStatements } from './rows.js';
import { applyPatch, patchActivates, rowForPatch } from '../row-rules.js';

export class SqliteConversationStore implements ConversationStore {
  readonly #rowStatements: RowStatements;
  readonly #changedSince: Database.Statement;
  readonly #patchTx: (app: number, userID: string, targets: { convKey: string; conversationID: string; create: boolean }[], patch: ConversationPatch) =>
    { change: UserChange | null; missing: string[] };

  constructor(db: Database.Database) {
    this.#rowStatements = prepareRowStatements(db);
    this.#changedSince = db.prepare(`SELECT * FROM user_conversations WHERE app_id = ? AND user_id = ? AND version > ?
      ORDER BY version ASC, conv_key ASC LIMIT ?`);
    this.#patchTx = db.transaction((app, userID, targets, patch) => this.#patch(app, userID, targets, patch));
  }

  async get(app: number, userID: string, convKey: string): Promise<ConversationRow | undefined> {
    const raw = this.#rowStatements.getRow.get(app, userID, convKey) as RawConversationRow | undefined;
    return raw ? toConversationRow(raw) : undefined;
  }

  async changedSince(app: number, userID: string, sinceVersion: number, limit: number): Promise<ConversationRow[]> {
    const rows = (this.#changedSince.all(app, userID, sinceVersion, limit + 1) as RawConversationRow[]).map(toConversationRow);
    if (rows.length <= limit) return rows;
    // Never end a page inside one version step: a device that stores the page's version
    // must hold every row of it. Extend the page to the end of its last version.
    const lastVersion = rows[limit - 1]!.version;
    const page = rows.slice(0, limit);
    if (rows[limit]!.version === lastVersion) {
      const rest = (this.#changedSince.all(app, userID, lastVersion - 1, 1_000_000) as RawConversationRow[])
        .map(toConversationRow).filter((r) => r.version === lastVersion);
      const have = new Set(page.map((r) => r.convKey));
      for (const row of rest) if (!have.has(row.convKey)) page.push(row);
    }
    return page;
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
