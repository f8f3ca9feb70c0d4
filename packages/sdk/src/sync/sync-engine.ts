/**
 * Keeps the local store in step with the server, and turns what changed into listener
 * calls. Everything that writes the store runs through one queue, so an `update` push, the
 * reply to `msg.send` carrying the same update, and a `conv.sync` page never interleave.
 *
 * Version rule (docs/protocol.md "State and sync"), with the stored version `v`:
 *   update.version <= v        → already have it, drop (the reply beat the push, or vice versa)
 *   update.prevVersion == v    → apply it
 *   otherwise                  → we missed something: `conv.sync` from v
 *
 * After applying rows, any conversation whose `lastSeq` is above its `deliveredSeq` is
 * caught up with `msg.history { afterSeq }` (at most CATCH_UP_LIMIT per conversation per
 * pass, CATCH_UP_CONCURRENCY at a time), and the messages not yet in the store are
 * announced. Example: the phone was offline while Bob sent 3 messages; on reconnect
 * `conv.sync` returns the row `c2c_bob` with lastSeq 12 while the phone delivered up to
 * 9, so it pulls afterSeq 9 and announces seq 10, 11, 12 — once, because the next pass
 * sees deliveredSeq 12. Only rows a batch brought are candidates (plus, once after
 * `load`, rows a previous run left behind): a sync never rescans the whole list.
 *
 * A device's FIRST sync (stored version 0, every page of it) takes what the server has
 * as history: nothing is announced and nothing is pulled, so a fresh install of a user
 * with 10k conversations costs the `conv.sync` pages only — each row carries its last
 * message and unread count, which is what the list shows. Messages are fetched when a
 * conversation is opened (the history calls fill the cache) and, after
 * `onSyncServerFinish`, for the first screen in the background (history-prefetch.ts).
 */
import {
  ConfabError, ErrorCode, tryParseConversationID,
  type DeletionMode, type OpName, type OpRequest, type OpResult, type UserUpdate, type WireConversation, type WireMessage,
} from '@confab/protocol';
import type { Logger } from '../log.js';
import type { LocalCustomPatch, LocalStore, StoreChangeBatch, StoredConversation } from '../store/types.js';
import { MetaKey } from '../store/types.js';
import { buildBatch, type BuiltBatch } from './batch.js';
import { addChangesToBatch, collectChanges, keepLocalDeletions, type GivenChanges } from './message-changes.js';

/** Most messages pulled per conversation per catch-up pass; older ones load via history. */
export const CATCH_UP_LIMIT = 100;
/** Most `msg.history` catch-up requests in flight at once (the connection allows 32). */
export const CATCH_UP_CONCURRENCY = 8;
/** `conv.sync` page size (the server's maximum): a fresh device with 10k conversations needs 10 requests. */
export const SYNC_PAGE = 1000;

/**
 * A deletion the server committed, to apply locally: `update` is the reply's update (if
 * any); `conversationIDs` are the IDs the server accepted; rows of those conversations
 * whose version is at most `upToVersion` (i.e. not changed after the deletion) are wiped
 * even when the update could not carry the tombstone (a version gap resolved by a
 * `conv.sync` that hides tombstones, or a re-issued deletion the server had already done).
 */
export interface LocalRemoval {
  update: UserUpdate | undefined;
  conversationIDs: string[];
  mode: DeletionMode;
  upToVersion: number;
}

/** What a task run with `exclusive` may do without re-entering the queue. */
export interface ExclusiveContext {
  /** Applies a removal now; resolves true once the wipe committed. */
  applyRemoval(removal: LocalRemoval): Promise<boolean>;
  /** The stored sync version right now. */
  readonly version: number;
}

export type Requester = <K extends OpName>(op: K, body: OpRequest<K>) => Promise<OpResult<K>>;

export interface SyncEvents {
  syncStart(): void;
  syncFinish(): void;
  syncFailed(err: ConfabError): void;
  conversations(added: StoredConversation[], changed: StoredConversation[], removed: string[]): void;
  totalUnread(total: number): void;
  newMessages(messages: WireMessage[]): void;
  /** Messages recalled (status 6) since the device last heard. */
  revokedMessages?(messages: WireMessage[]): void;
  /** Messages modified since the device last heard, in their new state. */
  modifiedMessages?(messages: WireMessage[]): void;
}

export interface SyncEngineOptions {
  store: LocalStore;
  request: Requester;
  events: SyncEvents;
  log: Logger;
  /** True for a message this device is sending right now: it must not be announced as received. */
  isOwnOutgoing(m: WireMessage): boolean;
  /** Runs after each sync that finished (not awaited, outside the write queue): the first-screen prefetch. */
  afterSync?(): void;
}

export class SyncEngine {
  #version = 0;
  #total: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #stopped = false;
  /** Conversations whose lastSeq is above their deliveredSeq: the next catch-up's work. */
  readonly #lagging = new Set<string>();
  /**
   * True until the device's first sync has paged to the end (persisted as the meta value
   * `initialSync`: a first sync cut off after 3 of 10 pages, by a lost connection or a
   * restart, must not take the other 7 pages' rows for news and pull all their messages).
   */
  #firstSyncPending = false;
  /** True while the pages of that first sync are being applied: their rows are history (see above). */
  #pagingFirstSync = false;
  readonly #o: SyncEngineOptions;

  constructor(options: SyncEngineOptions) {
    this.#o = options;
  }

  get version(): number {
    return this.#version;
  }

  /** Reads the stored version and total. Call after the store is opened. */
  async load(): Promise<void> {
    const stored = await this.#o.store.getMeta(MetaKey.SYNC_VERSION);
    this.#version = stored ? Number(stored) || 0 : 0;
    this.#total = await this.#o.store.getTotalUnread();
    this.#firstSyncPending = this.#version === 0 || (await this.#o.store.getMeta(MetaKey.INITIAL_SYNC)) === 'pending';
    // A previous run may have stopped before catching up (offline, crashed): one scan at
    // login finds those rows. A fresh store has none and skips it.
    if (this.#version > 0) {
      for (const c of await this.#o.store.listConversations()) {
        if (c.lastSeq > (c.deliveredSeq ?? 0)) this.#lagging.add(c.conversationID);
      }
    }
  }

  /** Stops emitting and writing (logout). Queued work finishes without effects. */
  stop(): void {
    this.#stopped = true;
  }

  /** An `update` push, or the `update` field of a reply. Resolves once applied (or dropped). */
  handleUpdate(update: UserUpdate | undefined): Promise<void> {
    if (!update) return Promise.resolve();
    return this.#enqueue(() => this.#onUpdate(update));
  }

  /** Full sync from the stored version, then catch-up: after login and every reconnect. */
  sync(): Promise<void> {
    return this.#enqueue(async () => {
      this.#o.events.syncStart();
      try {
        await this.#pagesFromStoredVersion();
        await this.#catchUp();
        this.#ack();
        this.#o.events.syncFinish();
        if (!this.#stopped) this.#o.afterSync?.();
      } catch (err) {
        if (this.#stopped) return; // logged out mid-sync: nothing failed from the app's view
        const e = err instanceof ConfabError ? err : new ConfabError(ErrorCode.LOCAL_STORE_FAILED, String(err), { cause: err });
        this.#o.log.warn(`sync failed: ${e.message}`);
        this.#o.events.syncFailed(e);
      }
    });
  }

  /** Caches messages fetched by a history call (never announced: the app asked for them). */
  /** Sets a cached message's local fields, in the write queue like every other store write. */
  setLocalCustom(patch: LocalCustomPatch): Promise<void> {
    return this.#enqueue(() => this.#o.store.apply({ setLocalCustom: [patch] }));
  }

  cacheHistory(messages: WireMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return this.#enqueue(async () => {
      const byConv = new Map<string, StoredConversation | undefined>();
      for (const m of messages) {
        if (!byConv.has(m.conversationID)) byConv.set(m.conversationID, await this.#o.store.getConversation(m.conversationID));
      }
      // Only cache messages of a conversation the store holds, at or above the user's
      // watermark. No row means the conversation is deleted here (or not known yet): a
      // history reply racing a delete must not bring its messages back, and messages of
      // a conversation that is not in the list would have nothing to clear them later.
      const keep = await keepLocalDeletions(this.#o.store, messages.filter((m) => {
        const row = byConv.get(m.conversationID);
        return row !== undefined && m.seq >= row.visibleFromSeq;
      }));
      if (keep.length) await this.#o.store.apply({ putMessages: keep });
    });
  }

  /**
   * A `conv.markRead` the server answered without an `update`: it had nothing to change,
   * typically because the conversation is a tombstone there (deleted on another device
   * while deletion sync is off) and this device still shows its old unread count. Marks
   * the local row read up to its lastSeq in one batch, in the write queue, and announces
   * it like any change; a row already read is left alone.
   */
  markReadLocally(conversationID: string): Promise<void> {
    return this.#enqueue(async () => {
      const { store } = this.#o;
      const c = await store.getConversation(conversationID);
      if (!c) return;
      const next: StoredConversation = { ...c, unreadCount: 0, readSeq: Math.max(c.readSeq, c.lastSeq) };
      if (next.unreadCount === c.unreadCount && next.readSeq === c.readSeq) return;
      await store.apply({ upsertConversations: [next] });
      if (this.#stopped) return;
      this.#o.events.conversations([], [next], []);
      await this.#announceTotal();
    });
  }

  /**
   * Applies a committed deletion (see `LocalRemoval`) in the write queue. Resolves true
   * when the local wipe committed, false when the engine was stopped first (logout).
   */
  applyRemoval(removal: LocalRemoval): Promise<boolean> {
    return this.#enqueue(() => this.#applyRemoval(removal)).then((done) => done === true);
  }

  /** Runs `task` in the write queue: nothing else writes the store meanwhile. */
  exclusive<T>(task: (ctx: ExclusiveContext) => Promise<T>): Promise<T | undefined> {
    const self = this;
    const ctx: ExclusiveContext = {
      applyRemoval: (removal) => this.#applyRemoval(removal),
      get version() {
        return self.#version;
      },
    };
    return this.#enqueue(() => task(ctx));
  }

  async #applyRemoval(removal: LocalRemoval): Promise<boolean> {
    if (removal.update) {
      try {
        await this.#onUpdate(removal.update);
      } catch (err) {
        // A gap whose sync failed: the wipe below still removes what the server deleted.
        this.#o.log.warn(`applying the deletion's update failed: ${(err as Error).message}`);
      }
    }
    if (this.#stopped) return false;
    const { store } = this.#o;
    const batch: StoreChangeBatch = { removeConversations: [], clearMessages: [], upsertConversations: [] };
    const removed: string[] = [];
    const changed: StoredConversation[] = [];
    for (const id of new Set(removal.conversationIDs)) {
      if (!tryParseConversationID(id)) continue;
      const c = await store.getConversation(id);
      if (c && c.version > removal.upToVersion) continue; // changed after the deletion (a new message): keep
      if (removal.mode === 'clearHistory') {
        batch.clearMessages!.push(id);
        if (!c) continue;
        const next: StoredConversation = {
          ...c, lastMessage: null, unreadCount: 0,
          readSeq: Math.max(c.readSeq, c.lastSeq),
          visibleFromSeq: Math.max(c.visibleFromSeq, c.lastSeq + 1),
          deliveredSeq: Math.max(c.deliveredSeq ?? 0, c.lastSeq),
        };
        if (JSON.stringify(next) !== JSON.stringify(c)) {
          batch.upsertConversations!.push(next);
          changed.push(next);
        }
      } else {
        // Also when unknown: a history call may have cached messages without a row.
        batch.removeConversations!.push(id);
        if (c) removed.push(id);
      }
    }
    if (batch.removeConversations!.length || batch.clearMessages!.length || batch.upsertConversations!.length) {
      await store.apply(batch);
      if (this.#stopped) return true;
      if (changed.length || removed.length) this.#o.events.conversations([], changed, removed);
      await this.#announceTotal();
    }
    this.#ack();
    return true;
  }

  async #announceTotal(): Promise<void> {
    const total = await this.#o.store.getTotalUnread();
    if (total !== this.#total) {
      this.#total = total;
      this.#o.events.totalUnread(total);
    }
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => (this.#stopped ? (undefined as T) : task()));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The server's `sync.hint`: an update may have been lost on its way to this session.
   * The same sync as a version gap (from the stored version, then catch-up), without the
   * sync listener events: nothing may have changed.
   */
  resync(): Promise<void> {
    // Hints that arrive while one waits its turn are served by that one sync (a node that
    // reconnected to NATS hints every session, maybe more than once).
    this.#resyncQueued ??= this.#enqueue(() => {
      this.#resyncQueued = undefined;
      return this.#syncFromVersion();
    });
    return this.#resyncQueued;
  }

  #resyncQueued: Promise<void> | undefined;

  async #syncFromVersion(): Promise<void> {
    await this.#pagesFromStoredVersion();
    await this.#catchUp();
    // A deletion can reach this device through this sync instead of its update (a gap, or
    // a sync.hint that ran first); its update is then dropped as old, so acknowledge here.
    // This path is rare (gaps and hints), so the ack costs no write per message.
    this.#ack();
  }

  async #onUpdate(u: UserUpdate): Promise<void> {
    if (u.version <= this.#version) return;
    if (u.prevVersion !== this.#version) {
      this.#o.log.debug(`update ${u.prevVersion}→${u.version} does not follow ${this.#version}; syncing`);
      await this.#syncFromVersion();
      return;
    }
    const restored = u.deletion?.undone ? new Set(u.deletion.conversationIDs) : undefined;
    const built = await this.#commit({ conversations: u.conversations, messages: u.messages, syncVersion: u.version, restored },
      { changed: u.changedMessages, deleted: u.deletedMessages?.messages });
    // Tell the server this device wiped (or restored) what the deletion covered, so
    // "wiped on 2 of 3 devices" can be answered. Only deletions are acknowledged: an
    // ack per message would be a write per message on the server.
    if (u.deletion) this.#ack();
    if (built.added.length || built.changed.length) await this.#catchUp([...built.added, ...built.changed].map((c) => c.conversationID));
  }

  /** `#syncPages`, applying the device's first sync as history until it reached the end (see the file comment). */
  async #pagesFromStoredVersion(): Promise<void> {
    const { store } = this.#o;
    if (this.#firstSyncPending && this.#version === 0) await store.setMeta(MetaKey.INITIAL_SYNC, 'pending');
    this.#pagingFirstSync = this.#firstSyncPending;
    try {
      await this.#syncPages();
    } finally {
      this.#pagingFirstSync = false;
    }
    if (this.#firstSyncPending && !this.#stopped) {
      this.#firstSyncPending = false;
      await store.setMeta(MetaKey.INITIAL_SYNC, 'done');
    }
  }

  /**
   * Pages through `conv.sync` until the server says it is finished. A page may be empty
   * and still not the last: the server hides tombstones from a device that is not told of
   * deletions, so a page of 100 deletions made on another device comes back as
   * `{ conversations: [], isFinished: false, version: v' }` — the rows after it must still
   * be fetched. A page may also end inside one version step (one deletion of 100
   * conversations asked 40 at a time): its `version` is then the last complete one, maybe
   * the one we sent, and its `cursor` says where the next page starts; we store the version
   * (the rows we applied are re-applied harmlessly if we stop here and resume later).
   * A page that neither finishes nor moves the version or the cursor would repeat
   * forever: stop there (the next sync or update gap starts again from the stored version).
   */
  async #syncPages(): Promise<void> {
    let cursor: string | undefined;
    for (let page = 0; page < 10_000; page++) {
      const before = this.#version;
      const res = await this.#o.request('conv.sync', { sinceVersion: before, count: SYNC_PAGE, ...(cursor !== undefined ? { cursor } : {}) });
      if (this.#stopped) return;
      // A page never moves us backwards (a reply that raced a newer update).
      const version = Math.max(res.version, before);
      await this.#commit({ conversations: res.conversations, messages: [], syncVersion: version });
      if (res.isFinished) return;
      const moved = version > before || (res.cursor !== undefined && res.cursor !== cursor);
      if (!moved) {
        this.#o.log.warn(`conv.sync from version ${before} returned an unfinished page that does not advance (version ${res.version}); stopping this sync`);
        return;
      }
      // The cursor belongs to the reply's version; if we hold a newer one, start from it.
      cursor = res.cursor !== undefined && res.version === this.#version ? res.cursor : undefined;
    }
    this.#o.log.warn('conv.sync did not finish after 10000 pages; stopping this sync');
  }

  /** Builds, commits and announces one batch. */
  /** Acknowledges the stored version to the server; best effort (a lost ack is repeated by the next one). */
  #ack(): void {
    const version = this.#version;
    if (version === 0 || this.#stopped) return;
    this.#o.request('sync.ack', { version }).catch((err: unknown) => this.#o.log.debug(`sync.ack failed: ${(err as Error).message}`));
  }

  async #commit(input: { conversations: WireConversation[]; messages: WireMessage[]; syncVersion?: number; restored?: ReadonlySet<string> },
    given: GivenChanges = {}): Promise<BuiltBatch> {
    const { store } = this.#o;
    const existing = new Map<string, StoredConversation>();
    for (const c of await store.getConversations(input.conversations.map((c) => c.conversationID))) existing.set(c.conversationID, c);
    // Recalls, modifications and own deletions are fetched before anything is stored: a
    // failed fetch must leave the rows' counters where they were (message-changes.ts).
    const changes = await collectChanges(input.conversations, existing, given, this.#o.request);
    const built = buildBatch({ ...input, fresh: this.#pagingFirstSync }, existing);
    const seen = new Set((await store.getMessagesByID(built.messages.map((m) => m.msgID))).map((m) => m.msgID));
    const announced = await addChangesToBatch(store, built.batch, changes);
    await store.apply(built.batch);
    if (built.batch.syncVersion !== undefined) this.#version = built.batch.syncVersion;
    for (const id of built.removed) this.#lagging.delete(id);
    for (const c of [...built.added, ...built.changed]) {
      if (c.lastSeq > (c.deliveredSeq ?? 0)) this.#lagging.add(c.conversationID);
    }
    if (this.#stopped) return built;

    const fresh = built.messages.filter((m) => !seen.has(m.msgID) && !this.#o.isOwnOutgoing(m));
    if (fresh.length) this.#o.events.newMessages(fresh);
    if (announced.revoked.length) this.#o.events.revokedMessages?.(announced.revoked);
    if (announced.modified.length) this.#o.events.modifiedMessages?.(announced.modified);
    if (built.added.length || built.changed.length || built.removed.length) {
      this.#o.events.conversations(built.added, built.changed, built.removed);
    }
    await this.#announceTotal();
    return built;
  }

  /**
   * Pulls and announces messages above `deliveredSeq` for the lagging conversations
   * (only those among `only` when given: an update retries nothing it did not touch),
   * CATCH_UP_CONCURRENCY requests at a time. A conversation stays lagging when its pull
   * fails, so the next sync retries it; a lost connection ends the pass with that error.
   */
  async #catchUp(only?: string[]): Promise<void> {
    const ids = only ? only.filter((id) => this.#lagging.has(id)) : [...this.#lagging];
    let lost: unknown;
    const work = async (): Promise<void> => {
      for (let id = ids.shift(); id !== undefined && !this.#stopped && lost === undefined; id = ids.shift()) {
        try {
          await this.#catchUpOne(id);
        } catch (err) {
          lost = err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CATCH_UP_CONCURRENCY, ids.length) }, work));
    if (lost !== undefined) throw lost;
  }

  async #catchUpOne(conversationID: string): Promise<void> {
    const { store } = this.#o;
    const row = await store.getConversation(conversationID);
    const delivered = row?.deliveredSeq ?? 0;
    if (!row || row.lastSeq <= delivered) {
      this.#lagging.delete(conversationID);
      return;
    }
    const afterSeq = Math.max(delivered, row.visibleFromSeq - 1, row.lastSeq - CATCH_UP_LIMIT, 0);
    let messages: WireMessage[] = [];
    try {
      const res = await this.#o.request('msg.history', {
        conversationID, afterSeq, count: Math.min(CATCH_UP_LIMIT, row.lastSeq - afterSeq),
      });
      messages = res.messages;
    } catch (err) {
      // Not fatal: deliveredSeq stays, the next pass tries again.
      if (this.#stopped) return;
      this.#o.log.warn(`catch-up of ${conversationID} failed: ${(err as Error).message}`);
      if ((err as ConfabError).code === ErrorCode.NETWORK_DISCONNECTED) throw err;
      return;
    }
    if (this.#stopped) return;
    const current = await store.getConversation(conversationID);
    if (!current) {
      this.#lagging.delete(conversationID); // deleted meanwhile
      return;
    }
    const top = messages.reduce((max, m) => Math.max(max, m.seq), afterSeq);
    const keep = await keepLocalDeletions(store, messages.filter((m) => m.seq >= current.visibleFromSeq));
    const seen = new Set((await store.getMessagesByID(keep.map((m) => m.msgID))).map((m) => m.msgID));
    // An empty answer means there is nothing more for us (e.g. a group we left): stop asking.
    const deliveredSeq = messages.length ? Math.max(delivered, top) : Math.max(delivered, current.lastSeq);
    await store.apply({ putMessages: keep, upsertConversations: [{ ...current, deliveredSeq }] });
    if (deliveredSeq >= current.lastSeq) this.#lagging.delete(conversationID);
    if (this.#stopped) return;
    const fresh = keep.filter((m) => !seen.has(m.msgID) && !this.#o.isOwnOutgoing(m));
    if (fresh.length) this.#o.events.newMessages(fresh);
  }
}
