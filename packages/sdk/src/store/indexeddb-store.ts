/**
 * A persistent store for browsers, on IndexedDB (the raw API, no wrapper library).
 *
 * ```ts
 * import { V2TIMManager, IndexedDbStore } from '@confab/sdk';
 * V2TIMManager.getInstance().initSDK(appID, { serverUrl, store: new IndexedDbStore() });
 * ```
 *
 * Layout: one database per `dbName` (default `confab`) with three object stores. Every
 * record carries `s`, the scope "<sdkAppID>:<userID>", as the first part of its key, so
 * several users — or one user ID in two apps — share a database without seeing each
 * other's data (the sdkAppID is numeric, so the first ':' always ends it).
 *
 * - `meta`          key [s, key]              → { s, k, v: string }
 * - `conversations` key [s, conversationID]   → { s, c, p, o, u, v: StoredConversation },
 *                   index `inOrder` on [s, p, o, c] — p 0 = pinned, o = -orderKey — so
 *                   ascending index order is list order and a page is one bounded
 *                   `getAll` on an IDBKeyRange that starts just after the last row shown
 * - `totals`        key s                     → { s, u: total unread of the scope }
 * - `messages`      key [s, conversationID, seq] → { s, c, q, id, v: StoredMessage },
 *                   unique index `byID` on [s, msgID]
 *
 * The messages key makes one conversation's messages a contiguous, seq-ordered key range:
 * paging is a bounded `getAll` (oldest first) or a reverse cursor (newest first), and
 * wiping a conversation is a single range delete. Rows are kept as structured clones, so
 * wire shapes can grow new optional fields without a schema upgrade.
 *
 * Version history (`DB_VERSION`): 1 had no list index and no totals; the upgrade to 2
 * adds both and rewrites the version-1 rows in the upgrade transaction (a row without
 * `p`/`o` would be missing from the index), counting each scope's total as it goes.
 *
 * `apply()` validates the batch first, then runs ONE readwrite transaction over all the
 * stores; IndexedDB transactions are atomic, so a failure in the middle (a quota error,
 * an uncloneable value) aborts the whole batch and nothing of it is visible afterwards.
 *
 * Importing this module has no side effects: it touches `indexedDB` only in `open()`,
 * which rejects with 6019 where there is none (Node, or a browser with storage disabled).
 * Pass `options.indexedDB` / `options.IDBKeyRange` to use a polyfill.
 */
import { ConfabError, ErrorCode, isConfabError } from '@confab/protocol';
import { keepLocalFields, withLocalCustom } from './local-custom.js';
import { validateBatch, validateScope, notOpen } from './validate.js';
import { touchedConversations, unreadDelta } from './order.js';
import type {
  ConversationPosition, LocalStore, MessageQuery, StoreChangeBatch, StoredConversation, StoredMessage, StoreScope,
} from './types.js';
import { MetaKey } from './types.js';
import type { IdbCursorWithValue, IdbDatabase, IdbFactory, IdbKey, IdbKeyRangeLike, IdbKeyRangeStatic, IdbRequest, IdbTransaction } from './idb-types.js';

export interface IndexedDbStoreOptions {
  /** The IndexedDB database name. Default `confab`. */
  dbName?: string;
  /** An IndexedDB factory to use instead of `globalThis.indexedDB` (e.g. a polyfill). */
  indexedDB?: IdbFactory;
  /** The matching `IDBKeyRange`; defaults to `globalThis.IDBKeyRange`. */
  IDBKeyRange?: IdbKeyRangeStatic;
}

const DB_VERSION = 2;
const META = 'meta';
const CONVERSATIONS = 'conversations';
const MESSAGES = 'messages';
const TOTALS = 'totals';
const BY_ID = 'byID';
const IN_ORDER = 'inOrder';
const ALL_STORES = [META, CONVERSATIONS, MESSAGES, TOTALS];
/** IDBObjectStore.getAll's count is an unsigned long. */
const MAX_COUNT = 2 ** 32 - 1;

interface MetaRow { s: string; k: string; v: string }
interface ConversationRow { s: string; c: string; p: number; o: number; u: number; v: StoredConversation }
interface TotalsRow { s: string; u: number }

function conversationRow(s: string, c: StoredConversation): ConversationRow {
  // `|| 0`: -0 would be a distinct-looking key for orderKey 0 in debug tools; keep it plain.
  return { s, c: c.conversationID, p: c.isPinned ? 0 : 1, o: -c.orderKey || 0, u: c.unreadCount, v: c };
}
interface MessageRow { s: string; c: string; q: number; id: string; v: StoredMessage }

/** Turns an IndexedDB error (a DOMException) into the catalogue's 6019, keeping it as `cause`. */
function storeError(err: unknown): ConfabError {
  if (isConfabError(err)) return err as ConfabError;
  const e = err as { name?: string; message?: string } | null | undefined;
  const what = e?.name && e.message ? `${e.name}: ${e.message}` : (e?.message ?? e?.name ?? String(err));
  return new ConfabError(ErrorCode.LOCAL_STORE_FAILED, `local store failed: ${what}`, { cause: err });
}

function request<T>(req: IdbRequest<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Walks a cursor, collecting up to `limit` values. */
function collect(req: IdbRequest<IdbCursorWithValue | null>, limit: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const out: unknown[] = [];
    req.onsuccess = () => {
      const cursor = req.result;
      if (!cursor) return resolve(out);
      out.push(cursor.value);
      if (out.length >= limit) resolve(out);
      else cursor.continue();
    };
    req.onerror = () => reject(req.error);
  });
}

/** Walks a cursor to its end, calling `each` with every value. */
function forEachRow(req: IdbRequest<IdbCursorWithValue | null>, each: (value: unknown) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => {
      const cursor = req.result;
      if (!cursor) return resolve();
      each(cursor.value);
      cursor.continue();
    };
    req.onerror = () => reject(req.error);
  });
}

type Mode = 'readonly' | 'readwrite';

/**
 * Creates what is missing for DB_VERSION, in the upgrade transaction. From version 1
 * (or a database created by this function at an earlier version), the conversation rows
 * are rewritten with their sort key and unread count, and each scope's total is counted.
 */
function upgrade(db: IdbDatabase, tx: IdbTransaction, oldVersion: number): void {
  const has = (name: string) => db.objectStoreNames.contains(name);
  if (!has(META)) db.createObjectStore(META, { keyPath: ['s', 'k'] });
  if (!has(CONVERSATIONS)) db.createObjectStore(CONVERSATIONS, { keyPath: ['s', 'c'] });
  if (!has(MESSAGES)) {
    db.createObjectStore(MESSAGES, { keyPath: ['s', 'c', 'q'] }).createIndex(BY_ID, ['s', 'id'], { unique: true });
  }
  if (oldVersion >= 2) return;
  const conversations = tx.objectStore(CONVERSATIONS);
  conversations.createIndex(IN_ORDER, ['s', 'p', 'o', 'c']);
  const totals = has(TOTALS) ? tx.objectStore(TOTALS) : db.createObjectStore(TOTALS, { keyPath: 's' });
  if (oldVersion === 0) return; // a new database: nothing to rewrite
  const sums = new Map<string, number>();
  const walk = conversations.openCursor();
  walk.onsuccess = () => {
    const cursor = walk.result;
    if (!cursor) {
      for (const [s, u] of sums) totals.put({ s, u } satisfies TotalsRow);
      return;
    }
    const old = cursor.value as { s: string; v: StoredConversation };
    const row = conversationRow(old.s, old.v);
    sums.set(row.s, (sums.get(row.s) ?? 0) + row.u);
    cursor.update(row);
    cursor.continue();
  };
}

export class IndexedDbStore implements LocalStore {
  readonly dbName: string;
  readonly #factory: IdbFactory | undefined;
  readonly #keyRange: IdbKeyRangeStatic | undefined;
  #db: Promise<IdbDatabase> | undefined;
  #scope: string | undefined;

  constructor(options: IndexedDbStoreOptions = {}) {
    this.dbName = options.dbName ?? 'confab';
    this.#factory = options.indexedDB;
    this.#keyRange = options.IDBKeyRange;
  }

  async open(scope: StoreScope): Promise<void> {
    validateScope(scope);
    await this.#database();
    this.#scope = `${scope.sdkAppID}:${scope.userID}`;
  }

  async close(): Promise<void> {
    this.#scope = undefined;
    const pending = this.#db;
    this.#db = undefined;
    if (!pending) return;
    try {
      // Waits for nothing: IndexedDB finishes running transactions after close().
      (await pending).close();
    } catch {
      // The open itself failed; there is nothing to close.
    }
  }

  getMeta(key: string): Promise<string | undefined> {
    return this.#run(META, 'readonly', async (tx, s) => {
      const row = (await request(tx.objectStore(META).get([s, key]))) as MetaRow | undefined;
      return row?.v;
    });
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.#run(META, 'readwrite', (tx, s) => {
      const row: MetaRow = { s, k: key, v: String(value) };
      tx.objectStore(META).put(row);
    });
  }

  listConversations(): Promise<StoredConversation[]> {
    return this.#run(CONVERSATIONS, 'readonly', async (tx, s) => {
      // [s] sorts before every [s, id], and [s, []] after (arrays sort after strings).
      const rows = (await request(tx.objectStore(CONVERSATIONS).getAll(this.#range([s], [s, []])))) as ConversationRow[];
      return rows.map((r) => r.v);
    });
  }

  listConversationPage(after: ConversationPosition | undefined, count: number): Promise<StoredConversation[]> {
    return this.#run(CONVERSATIONS, 'readonly', async (tx, s) => {
      const limit = Math.min(Math.floor(count), MAX_COUNT);
      if (!(limit > 0)) return [];
      // [s, []] sorts after every [s, p, o, c] (arrays sort after numbers and strings).
      const range = after
        ? this.#range([s, after.isPinned ? 0 : 1, -after.orderKey || 0, after.conversationID], [s, []], true, false)
        : this.#range([s], [s, []]);
      const rows = (await request(tx.objectStore(CONVERSATIONS).index(IN_ORDER).getAll(range, limit))) as ConversationRow[];
      return rows.map((r) => r.v);
    });
  }

  getTotalUnread(): Promise<number> {
    return this.#run(TOTALS, 'readonly', async (tx, s) => {
      const row = (await request(tx.objectStore(TOTALS).get(s))) as TotalsRow | undefined;
      return row?.u ?? 0;
    });
  }

  getConversations(conversationIDs: string[]): Promise<StoredConversation[]> {
    return this.#run(CONVERSATIONS, 'readonly', async (tx, s) => {
      const store = tx.objectStore(CONVERSATIONS);
      const wanted = [...new Set(conversationIDs)].filter((id) => typeof id === 'string');
      const rows = (await Promise.all(wanted.map((id) => request(store.get([s, id]))))) as (ConversationRow | undefined)[];
      return rows.filter((r): r is ConversationRow => r !== undefined).map((r) => r.v);
    });
  }

  getConversation(conversationID: string): Promise<StoredConversation | undefined> {
    return this.#run(CONVERSATIONS, 'readonly', async (tx, s) => {
      if (typeof conversationID !== 'string') return undefined;
      const row = (await request(tx.objectStore(CONVERSATIONS).get([s, conversationID]))) as ConversationRow | undefined;
      return row?.v;
    });
  }

  getMessages(conversationID: string, query: MessageQuery): Promise<StoredMessage[]> {
    return this.#run(MESSAGES, 'readonly', async (tx, s) => {
      const limit = Math.min(Math.floor(query.limit), MAX_COUNT);
      if (!(limit > 0) || typeof conversationID !== 'string') return [];
      const store = tx.objectStore(MESSAGES);
      if (query.afterSeq !== undefined) {
        // NaN or +Infinity cannot bound a key range; like the other stores, they match nothing.
        if (!(query.afterSeq < Infinity)) return [];
        const range = this.#range([s, conversationID, query.afterSeq], [s, conversationID, Infinity], true, false);
        const rows = (await request(store.getAll(range, limit))) as MessageRow[];
        return rows.map((r) => r.v);
      }
      const before = query.beforeSeq ?? Infinity;
      if (!(before > -Infinity)) return [];
      const range = this.#range([s, conversationID, -Infinity], [s, conversationID, before], false, query.beforeSeq !== undefined);
      const rows = (await collect(store.openCursor(range, 'prev'), limit)) as MessageRow[];
      return rows.reverse().map((r) => r.v);
    });
  }

  getMessagesByID(msgIDs: string[]): Promise<StoredMessage[]> {
    return this.#run(MESSAGES, 'readonly', async (tx, s) => {
      const index = tx.objectStore(MESSAGES).index(BY_ID);
      const ids = [...new Set(msgIDs)].filter((id) => typeof id === 'string');
      const rows = (await Promise.all(ids.map((id) => request(index.get([s, id]))))) as (MessageRow | undefined)[];
      return rows.filter((r): r is MessageRow => r !== undefined).map((r) => r.v);
    });
  }

  async apply(batch: StoreChangeBatch): Promise<void> {
    if (this.#scope === undefined) notOpen();
    // Validate everything before the transaction opens: a bad batch never touches the database.
    validateBatch(batch);
    await this.#run(ALL_STORES, 'readwrite', async (tx, s) => {
      const meta = tx.objectStore(META);
      const conversations = tx.objectStore(CONVERSATIONS);
      const messages = tx.objectStore(MESSAGES);
      const totals = tx.objectStore(TOTALS);
      const byID = messages.index(BY_ID);
      const wholeConversation = (id: string) => this.#range([s, id, -Infinity], [s, id, Infinity]);

      // The unread total moves by the touched rows' difference: read them (and the
      // total) before any write is issued, all in this transaction.
      const touched = touchedConversations(batch);
      const [oldRows, total] = await Promise.all([
        Promise.all(touched.map((id) => request(conversations.get([s, id])) as Promise<ConversationRow | undefined>)),
        request(totals.get(s)) as Promise<TotalsRow | undefined>,
      ]);
      const before = new Map<string, number>();
      oldRows.forEach((row, i) => row && before.set(touched[i]!, row.u ?? row.v.unreadCount));
      const delta = unreadDelta(batch, before);
      if (delta !== 0) totals.put({ s, u: (total?.u ?? 0) + delta } satisfies TotalsRow);

      // Requests of one transaction run in the order they are issued, so issuing them in
      // the documented order is what applies the parts in that order.
      for (const id of batch.removeConversations ?? []) {
        conversations.delete([s, id]);
        messages.delete(wholeConversation(id));
      }
      for (const id of batch.clearMessages ?? []) messages.delete(wholeConversation(id));
      for (const c of batch.upsertConversations ?? []) conversations.put(conversationRow(s, c));
      for (const m of batch.putMessages ?? []) {
        // A message is identified by msgID and by (conversation, seq). put() replaces the
        // row at the same seq; an older copy with the same msgID at another seq must go
        // first, or the unique index would abort the transaction. One at a time, so a
        // msgID repeated inside the batch sees the earlier put.
        const oldRow = (await request(byID.get([s, m.msgID]))) as MessageRow | undefined;
        if (oldRow !== undefined) messages.delete([oldRow.s, oldRow.c, oldRow.q]);
        const row: MessageRow = { s, c: m.conversationID, q: m.seq, id: m.msgID, v: keepLocalFields({ ...m }, oldRow?.v) };
        messages.put(row);
      }
      for (const { conversationID, seq } of batch.dropMessagesBelow ?? []) {
        messages.delete(this.#range([s, conversationID, -Infinity], [s, conversationID, seq], false, true));
      }
      if (batch.syncVersion !== undefined) {
        const row: MetaRow = { s, k: MetaKey.SYNC_VERSION, v: String(batch.syncVersion) };
        meta.put(row);
      }
      for (const patch of batch.setLocalCustom ?? []) {
        const row = (await request(byID.get([s, patch.msgID]))) as MessageRow | undefined;
        if (row) messages.put({ ...row, v: withLocalCustom(row.v, patch) } satisfies MessageRow);
      }
    });
  }

  searchMessages(conversationID: string | undefined, match: (m: StoredMessage) => boolean): Promise<StoredMessage[]> {
    return this.#run(MESSAGES, 'readonly', async (tx, s) => {
      const range = conversationID === undefined
        // [s] sorts before every key of the scope and [s, []] after (arrays sort after strings).
        ? this.#range([s], [s, []])
        : this.#range([s, conversationID, -Infinity], [s, conversationID, Infinity]);
      const out: StoredMessage[] = [];
      await forEachRow(tx.objectStore(MESSAGES).openCursor(range), (row) => {
        const m = (row as MessageRow).v;
        if (match(m)) out.push(m);
      });
      return out;
    });
  }

  #range(lower: IdbKey, upper: IdbKey, lowerOpen = false, upperOpen = false): IdbKeyRangeLike {
    const KeyRange = this.#keyRange ?? (globalThis as { IDBKeyRange?: IdbKeyRangeStatic }).IDBKeyRange;
    if (!KeyRange) throw new ConfabError(ErrorCode.LOCAL_STORE_FAILED, 'IDBKeyRange is not available');
    return KeyRange.bound(lower, upper, lowerOpen, upperOpen);
  }

  #database(): Promise<IdbDatabase> {
    if (!this.#db) {
      const opening: Promise<IdbDatabase> = this.#openDatabase().then(
        (db) => {
          // Another tab upgrading or deleting the database, or the browser clearing site
          // data: let go of this connection; the next call reopens it.
          const drop = () => {
            db.close();
            if (this.#db === opening) this.#db = undefined;
          };
          db.onversionchange = drop;
          db.onclose = drop;
          return db;
        },
        (err) => {
          if (this.#db === opening) this.#db = undefined;
          throw storeError(err);
        },
      );
      this.#db = opening;
    }
    return this.#db;
  }

  #openDatabase(): Promise<IdbDatabase> {
    const factory = this.#factory ?? (globalThis as { indexedDB?: IdbFactory }).indexedDB;
    if (!factory) {
      return Promise.reject(new ConfabError(ErrorCode.LOCAL_STORE_FAILED,
        'IndexedDB is not available here: IndexedDbStore runs in browsers (on Node use @confab/sdk/sqlite-store, or pass options.indexedDB)'));
    }
    return new Promise((resolve, reject) => {
      let req;
      try {
        req = factory.open(this.dbName, DB_VERSION);
      } catch (err) {
        // e.g. SecurityError in an opaque origin.
        reject(err);
        return;
      }
      const openReq = req;
      openReq.onupgradeneeded = (ev) => upgrade(openReq.result, openReq.transaction!, ev.oldVersion);
      openReq.onsuccess = () => resolve(openReq.result);
      openReq.onerror = () => reject(openReq.error);
    });
  }

  /**
   * Runs `body` in one transaction and resolves with its result once the transaction has
   * committed. `body` may await only requests of `tx` (anything else lets the transaction
   * auto-commit underneath it). If `body` throws, the transaction is aborted.
   */
  async #run<T>(stores: string | string[], mode: Mode, body: (tx: IdbTransaction, scope: string) => Promise<T> | T): Promise<T> {
    const scope = this.#scope ?? notOpen();
    const db = await this.#database();
    let tx: IdbTransaction;
    try {
      tx = db.transaction(stores, mode);
    } catch (err) {
      throw storeError(err);
    }
    const committed = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
    });
    let result: T;
    try {
      result = await body(tx, scope);
    } catch (err) {
      committed.catch(() => {});
      try {
        tx.abort();
      } catch {
        // Already aborting because a request failed.
      }
      throw storeError(err);
    }
    try {
      await committed;
    } catch (err) {
      throw storeError(err);
    }
    return result;
  }
}
