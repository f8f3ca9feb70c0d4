/**
 * A persistent store in one SQLite file (Node only, better-sqlite3). Import it from the
 * subpath `@confab/sdk/sqlite-store`; the main entry never imports this file, so a browser
 * bundle does not pull in native code.
 *
 * ```ts
 * import { SqliteStore } from '@confab/sdk/sqlite-store';
 * V2TIMManager.getInstance().initSDK(appID, { serverUrl, store: new SqliteStore('./confab.db') });
 * ```
 *
 * Every row carries a `scope` column ("<sdkAppID>:<userID>"), so several users — or the
 * same user ID in two apps — can share one file without seeing each other's data. Rows are
 * stored as JSON next to the few columns the queries need: the wire shapes grow new
 * optional fields over time and the file should not need a migration for each. The
 * layout's version is the file's `user_version`; `migrate` upgrades older files on open.
 *
 * Deleted means gone from the disk: the file runs with `secure_delete` on (freed content
 * is overwritten with zeros), and after a batch that removed conversations or messages
 * the WAL is checkpointed with TRUNCATE, so the old pages are in neither the database
 * file nor the WAL (as the server does after a purge, docs/deletion.md).
 */
import Database from 'better-sqlite3';
import { ConfabError, ErrorCode, isConfabError } from '@confab/protocol';
import { keepLocalFields, withLocalCustom } from './local-custom.js';
import { validateBatch, validateScope, notOpen } from './validate.js';
import { touchedConversations, unreadDelta } from './order.js';
import type {
  ConversationPosition, LocalStore, MessageQuery, StoreChangeBatch, StoredConversation, StoredMessage, StoreScope,
} from './types.js';
import { MetaKey } from './types.js';

/** The layout every version starts from (version 0, before the list index). */
const BASE_SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS conversations (
  scope TEXT NOT NULL, conversation_id TEXT NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (scope, conversation_id)
);
CREATE TABLE IF NOT EXISTS messages (
  scope TEXT NOT NULL, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL,
  msg_id TEXT NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY (scope, conversation_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_id ON messages (scope, msg_id);
`;

/**
 * Version 1: the list's ordered index and the stored unread total. The sort key is
 * kept in columns that sort ascending in list order (`pin_rank` 0 = pinned, `neg_order`
 * = -orderKey), so one index serves `(pin_rank, neg_order, conversation_id) > (?, ?, ?)`
 * keyset pages. A file written by an older SDK gets the columns filled from its JSON
 * rows and its totals counted once, here.
 */
const MIGRATE_TO_1 = `
ALTER TABLE conversations ADD COLUMN pin_rank INTEGER NOT NULL DEFAULT 1;
ALTER TABLE conversations ADD COLUMN neg_order INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN unread INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET
  pin_rank = CASE WHEN json_extract(data, '$.isPinned') THEN 0 ELSE 1 END,
  neg_order = -coalesce(json_extract(data, '$.orderKey'), 0),
  unread = coalesce(json_extract(data, '$.unreadCount'), 0);
CREATE INDEX conversations_in_order ON conversations (scope, pin_rank, neg_order, conversation_id);
CREATE TABLE conversation_totals (scope TEXT NOT NULL PRIMARY KEY, unread INTEGER NOT NULL);
INSERT INTO conversation_totals (scope, unread) SELECT scope, sum(unread) FROM conversations GROUP BY scope;
`;

const SCHEMA_VERSION = 1;

/** Brings a file of any earlier layout to SCHEMA_VERSION, in one immediate transaction. */
function migrate(db: Database.Database): void {
  if ((db.pragma('user_version', { simple: true }) as number) >= SCHEMA_VERSION) return;
  db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version >= SCHEMA_VERSION) return;
    db.exec(BASE_SCHEMA);
    if (version < 1) db.exec(MIGRATE_TO_1);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** Turns a driver error into the catalogue's 6019, keeping the original as `cause`. */
function storeError(err: unknown): ConfabError {
  if (isConfabError(err)) return err as ConfabError;
  return new ConfabError(ErrorCode.LOCAL_STORE_FAILED, `local store failed: ${(err as Error)?.message ?? err}`, { cause: err });
}

function guard<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(storeError(err));
  }
}

type Statements = ReturnType<typeof prepare>;

function prepare(db: Database.Database) {
  return {
    getMeta: db.prepare<[string, string], { value: string }>('SELECT value FROM meta WHERE scope = ? AND key = ?'),
    setMeta: db.prepare('INSERT OR REPLACE INTO meta (scope, key, value) VALUES (?, ?, ?)'),
    listConversations: db.prepare<[string], { data: string }>('SELECT data FROM conversations WHERE scope = ?'),
    firstPage: db.prepare<[string, number], { data: string }>(
      'SELECT data FROM conversations WHERE scope = ? ORDER BY pin_rank, neg_order, conversation_id LIMIT ?'),
    pageAfter: db.prepare<[string, number, number, string, number], { data: string }>(
      `SELECT data FROM conversations WHERE scope = ? AND (pin_rank, neg_order, conversation_id) > (?, ?, ?)
       ORDER BY pin_rank, neg_order, conversation_id LIMIT ?`),
    getConversation: db.prepare<[string, string], { data: string }>('SELECT data FROM conversations WHERE scope = ? AND conversation_id = ?'),
    getUnread: db.prepare<[string, string], { unread: number }>('SELECT unread FROM conversations WHERE scope = ? AND conversation_id = ?'),
    upsertConversation: db.prepare(
      'INSERT OR REPLACE INTO conversations (scope, conversation_id, data, pin_rank, neg_order, unread) VALUES (?, ?, ?, ?, ?, ?)'),
    getTotal: db.prepare<[string], { unread: number }>('SELECT unread FROM conversation_totals WHERE scope = ?'),
    addTotal: db.prepare(`INSERT INTO conversation_totals (scope, unread) VALUES (?, ?)
      ON CONFLICT (scope) DO UPDATE SET unread = unread + excluded.unread`),
    removeConversation: db.prepare('DELETE FROM conversations WHERE scope = ? AND conversation_id = ?'),
    clearMessages: db.prepare('DELETE FROM messages WHERE scope = ? AND conversation_id = ?'),
    // INSERT OR REPLACE deletes every row that clashes on either the primary key
    // (conversation, seq) or the unique msg_id, which is exactly the dedupe rule.
    putMessage: db.prepare('INSERT OR REPLACE INTO messages (scope, conversation_id, seq, msg_id, data) VALUES (?, ?, ?, ?, ?)'),
    dropBelow: db.prepare('DELETE FROM messages WHERE scope = ? AND conversation_id = ? AND seq < ?'),
    newest: db.prepare<[string, string, number, number], { data: string }>(
      'SELECT data FROM messages WHERE scope = ? AND conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
    after: db.prepare<[string, string, number, number], { data: string }>(
      'SELECT data FROM messages WHERE scope = ? AND conversation_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?'),
    byID: db.prepare<[string, string], { data: string }>('SELECT data FROM messages WHERE scope = ? AND msg_id = ?'),
    setData: db.prepare('UPDATE messages SET data = ? WHERE scope = ? AND msg_id = ?'),
    allMessages: db.prepare<[string], { data: string }>('SELECT data FROM messages WHERE scope = ?'),
    conversationMessages: db.prepare<[string, string], { data: string }>('SELECT data FROM messages WHERE scope = ? AND conversation_id = ?'),
  };
}

export class SqliteStore implements LocalStore {
  readonly path: string;
  #db: Database.Database | undefined;
  #stmts: Statements | undefined;
  #scope: string | undefined;

  /** `path` is a file path, or ':memory:' for a throwaway database. */
  constructor(path: string) {
    this.path = path;
  }

  open(scope: StoreScope): Promise<void> {
    return guard(() => {
      validateScope(scope);
      if (!this.#db) {
        const db = new Database(this.path);
        db.pragma('journal_mode = WAL');
        db.pragma('secure_delete = ON');
        migrate(db);
        this.#db = db;
        this.#stmts = prepare(db);
      }
      this.#scope = `${scope.sdkAppID}:${scope.userID}`;
    });
  }

  close(): Promise<void> {
    return guard(() => {
      this.#scope = undefined;
      this.#stmts = undefined;
      this.#db?.close();
      this.#db = undefined;
    });
  }

  #open(): { s: Statements; scope: string; db: Database.Database } {
    if (!this.#db || !this.#stmts || this.#scope === undefined) notOpen();
    return { s: this.#stmts, scope: this.#scope, db: this.#db };
  }

  getMeta(key: string): Promise<string | undefined> {
    return guard(() => {
      const { s, scope } = this.#open();
      return s.getMeta.get(scope, key)?.value;
    });
  }

  setMeta(key: string, value: string): Promise<void> {
    return guard(() => {
      const { s, scope } = this.#open();
      s.setMeta.run(scope, key, String(value));
    });
  }

  listConversations(): Promise<StoredConversation[]> {
    return guard(() => {
      const { s, scope } = this.#open();
      return s.listConversations.all(scope).map((r) => JSON.parse(r.data) as StoredConversation);
    });
  }

  listConversationPage(after: ConversationPosition | undefined, count: number): Promise<StoredConversation[]> {
    return guard(() => {
      const { s, scope } = this.#open();
      if (!(count > 0)) return [];
      const limit = Math.min(Math.floor(count), Number.MAX_SAFE_INTEGER);
      const rows = after
        ? s.pageAfter.all(scope, after.isPinned ? 0 : 1, -after.orderKey || 0, after.conversationID, limit)
        : s.firstPage.all(scope, limit);
      return rows.map((r) => JSON.parse(r.data) as StoredConversation);
    });
  }

  getTotalUnread(): Promise<number> {
    return guard(() => {
      const { s, scope } = this.#open();
      return s.getTotal.get(scope)?.unread ?? 0;
    });
  }

  getConversations(conversationIDs: string[]): Promise<StoredConversation[]> {
    return guard(() => {
      const { s, scope } = this.#open();
      const out: StoredConversation[] = [];
      for (const id of new Set(conversationIDs)) {
        const row = s.getConversation.get(scope, id);
        if (row) out.push(JSON.parse(row.data) as StoredConversation);
      }
      return out;
    });
  }

  getConversation(conversationID: string): Promise<StoredConversation | undefined> {
    return guard(() => {
      const { s, scope } = this.#open();
      const row = s.getConversation.get(scope, conversationID);
      return row ? (JSON.parse(row.data) as StoredConversation) : undefined;
    });
  }

  getMessages(conversationID: string, query: MessageQuery): Promise<StoredMessage[]> {
    return guard(() => {
      const { s, scope } = this.#open();
      if (query.limit <= 0) return [];
      const parse = (r: { data: string }) => JSON.parse(r.data) as StoredMessage;
      if (query.afterSeq !== undefined) return s.after.all(scope, conversationID, query.afterSeq, query.limit).map(parse);
      const before = query.beforeSeq ?? Number.MAX_SAFE_INTEGER;
      return s.newest.all(scope, conversationID, before, query.limit).map(parse).reverse();
    });
  }

  getMessagesByID(msgIDs: string[]): Promise<StoredMessage[]> {
    return guard(() => {
      const { s, scope } = this.#open();
      const out: StoredMessage[] = [];
      for (const id of new Set(msgIDs)) {
        const row = s.byID.get(scope, id);
        if (row) out.push(JSON.parse(row.data) as StoredMessage);
      }
      return out;
    });
  }

  searchMessages(conversationID: string | undefined, match: (m: StoredMessage) => boolean): Promise<StoredMessage[]> {
    return guard(() => {
      const { s, scope } = this.#open();
      const out: StoredMessage[] = [];
      // Iterated row by row: a large cache is never held in memory as a whole.
      const rows = conversationID === undefined ? s.allMessages.iterate(scope) : s.conversationMessages.iterate(scope, conversationID);
      for (const row of rows) {
        const m = JSON.parse(row.data) as StoredMessage;
        if (match(m)) out.push(m);
      }
      return out;
    });
  }

  apply(batch: StoreChangeBatch): Promise<void> {
    return guard(() => {
      const { s, scope, db } = this.#open();
      validateBatch(batch);
      // One transaction: better-sqlite3 rolls it back if anything inside throws.
      db.transaction(() => {
        const before = new Map<string, number>();
        for (const id of touchedConversations(batch)) {
          const row = s.getUnread.get(scope, id);
          if (row) before.set(id, row.unread);
        }
        const delta = unreadDelta(batch, before);
        if (delta !== 0) s.addTotal.run(scope, delta);
        for (const id of batch.removeConversations ?? []) {
          s.removeConversation.run(scope, id);
          s.clearMessages.run(scope, id);
        }
        for (const id of batch.clearMessages ?? []) s.clearMessages.run(scope, id);
        for (const c of batch.upsertConversations ?? []) {
          s.upsertConversation.run(scope, c.conversationID, JSON.stringify(c), c.isPinned ? 0 : 1, -c.orderKey || 0, c.unreadCount);
        }
        for (const m of batch.putMessages ?? []) {
          const old = s.byID.get(scope, m.msgID);
          const next = old ? keepLocalFields({ ...m }, JSON.parse(old.data) as StoredMessage) : m;
          s.putMessage.run(scope, m.conversationID, m.seq, m.msgID, JSON.stringify(next));
        }
        for (const d of batch.dropMessagesBelow ?? []) s.dropBelow.run(scope, d.conversationID, d.seq);
        if (batch.syncVersion !== undefined) s.setMeta.run(scope, MetaKey.SYNC_VERSION, String(batch.syncVersion));
        for (const patch of batch.setLocalCustom ?? []) {
          const row = s.byID.get(scope, patch.msgID);
          if (row) s.setData.run(JSON.stringify(withLocalCustom(JSON.parse(row.data) as StoredMessage, patch)), scope, patch.msgID);
        }
      })();
      // After the commit (a checkpoint cannot run inside a transaction): move the zeroed
      // pages into the database file and truncate the WAL, which still holds the old ones.
      // The batch is committed either way: a checkpoint that cannot complete now (another
      // connection reading the file) must not fail it; the next one gets there.
      if (batch.removeConversations?.length || batch.clearMessages?.length || batch.dropMessagesBelow?.length) {
        try {
          db.pragma('wal_checkpoint(TRUNCATE)');
        } catch {
          /* best effort, see above */
        }
      }
    });
  }
}
