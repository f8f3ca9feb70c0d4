/**
 * The core's listeners → the Web SDK's events and readiness.
 *
 * Readiness, as in the reference: `login()` resolves on the server's auth reply;
 * SDK_READY follows once the first conversation sync finished and the face took its
 * snapshot of the list; only then do the other methods run (before it they reject with
 * the not-ready reason: 2024 when logged out, 2999 while syncing, 3002/3004 after a
 * kick). The snapshot is read inside the sync engine's write queue, which login()
 * already holds the first sync in, so it sees that sync's result and no commit
 * interleaves with the read.
 *
 * Events are gathered per burst (a microtask): one sync batch that brings 30 messages in
 * 5 conversations gives one MESSAGE_RECEIVED with 30 messages, then one
 * CONVERSATION_LIST_UPDATED with the whole sorted list, then the total if it changed.
 */
import { V2TIMLoginStatus, type V2TIMConversation, type V2TIMMessage } from '@confab/sdk';
import { toV2Conversation } from '@confab/sdk/internal';
import { ERROR_CODE, EVENT, TYPES } from './constants.js';
import type { FaceContext } from './context.js';
import { webFriend, type WebConversation, type WebMessage } from './convert.js';
import type { WebEmitter } from './emitter.js';

/** How many conversations' names (peers' profiles, groups) are fetched after login: the first screen. */
const NAMES_AT_LOGIN = 100;

export class SessionBridge {
  /** Bumped by each login and logout: work started for an older session does nothing. */
  #gen = 0;
  #ready = false;
  #notReadyReason: number = ERROR_CODE.USER_NOT_LOGGED_IN;
  #synced = false;
  #snapshotTaken = false;
  #readyScheduled = false;
  #total = 0;
  #emittedTotal = -1;
  #received: WebMessage[] = [];
  #flushQueued = false;
  #netState = '';
  /** Users and groups whose names were asked for once (so an unknown ID is not asked again and again). */
  readonly #askedNames = new Set<string>();
  readonly #ctx: FaceContext;
  readonly #events: WebEmitter;

  constructor(ctx: FaceContext, events: WebEmitter) {
    this.#ctx = ctx;
    this.#events = events;
    this.#wire();
  }

  get ready(): boolean {
    return this.#ready;
  }

  get notReadyReason(): number {
    return this.#notReadyReason;
  }

  /** The total the last TOTAL_UNREAD_MESSAGE_COUNT_UPDATED carried (0 before SDK_READY). */
  get total(): number {
    return this.#ready ? this.#total : 0;
  }

  /** Before the core's login: returns the login's generation. */
  loginStarting(): number {
    if (this.#ctx.im.getLoginStatus() === V2TIMLoginStatus.LOGINED) this.notReady(ERROR_CODE.USER_NOT_LOGGED_IN);
    const gen = ++this.#gen;
    this.#synced = false;
    this.#snapshotTaken = false;
    this.#readyScheduled = false;
    this.#notReadyReason = ERROR_CODE.SDK_IS_NOT_READY;
    return gen;
  }

  loginFailed(gen: number): void {
    if (gen === this.#gen) this.#notReadyReason = ERROR_CODE.USER_NOT_LOGGED_IN;
  }

  loggedIn(gen: number): void {
    void this.#takeSnapshot(gen);
  }

  /** Logout, kick, or a session that ended: SDK_NOT_READY (if it was ready or getting ready) and a clean slate. */
  notReady(reason: number): void {
    this.#gen++;
    const wasActive = this.#ready || this.#notReadyReason === ERROR_CODE.SDK_IS_NOT_READY;
    this.#ready = false;
    this.#notReadyReason = reason;
    this.#ctx.list.clear();
    this.#ctx.messages.clear();
    this.#received = [];
    this.#total = 0;
    this.#emittedTotal = -1;
    this.#askedNames.clear();
    if (wasActive) this.#events.emit(EVENT.SDK_NOT_READY, {});
  }

  scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  #wire(): void {
    this.#ctx.im.addSDKListener({
      onConnectionStateChanged: (state) => {
        this.#setNetState(state === 'connected' ? TYPES.NET_STATE_CONNECTED
          : state === 'connecting' ? TYPES.NET_STATE_CONNECTING : TYPES.NET_STATE_DISCONNECTED);
      },
      onConnectFailed: () => {
        // The session ended for good (not a retry): the app must log in again.
        if (this.#ctx.im.getLoginStatus() === V2TIMLoginStatus.LOGOUT && this.#notReadyReason !== ERROR_CODE.USER_NOT_LOGGED_IN) {
          this.notReady(ERROR_CODE.USER_NOT_LOGGED_IN);
        }
      },
      onKickedOffline: () => this.#kicked(ERROR_CODE.KICKED_OUT_MULT_DEVICE, TYPES.KICKED_OUT_MULT_DEVICE),
      onUserSigExpired: () => this.#kicked(ERROR_CODE.KICKED_OUT_USERSIG_EXPIRED, TYPES.KICKED_OUT_USERSIG_EXPIRED),
    });
    this.#ctx.im.getConversationManager().addConversationListener({
      onSyncServerFinish: () => {
        this.#synced = true;
        this.#maybeReady(this.#gen);
      },
      onNewConversation: (list) => this.#onRows(list),
      onConversationChanged: (list) => this.#onRows(list),
      onConversationDeleted: (ids) => {
        if (!this.#snapshotTaken) return;
        this.#ctx.list.remove(ids);
        this.scheduleFlush();
      },
      onTotalUnreadMessageCountChanged: (total) => {
        this.#total = total;
        this.scheduleFlush();
      },
    });
    // A friend added or removed on another device or by the other user: remarks in the
    // list change, and the Web SDK announces the friend list.
    const friendsChanged = () => {
      if (!this.#ready) return;
      this.#ctx.namesChanged();
      const gen = this.#gen;
      void this.#ctx.im.getFriendshipManager().getFriendList().then((friends) => {
        if (gen === this.#gen) this.#events.emit(EVENT.FRIEND_LIST_UPDATED, friends.map(webFriend));
      }, () => undefined);
    };
    this.#ctx.im.getFriendshipManager().addFriendListener({ onFriendListAdded: friendsChanged, onFriendListDeleted: friendsChanged });
    this.#ctx.im.getMessageManager().addAdvancedMsgListener({
      onRecvNewMessage: (m: V2TIMMessage) => {
        const web = this.#ctx.webMessage(m);
        this.#ctx.messages.remember(web, m);
        this.#received.push(web);
        this.scheduleFlush();
      },
    });
  }

  #onRows(rows: V2TIMConversation[]): void {
    // Before the snapshot, the snapshot itself will hold these rows.
    if (!this.#snapshotTaken) return;
    this.#ctx.list.upsert(rows);
    this.scheduleFlush();
    if (this.#ready) void this.#lookUpNames(rows, this.#gen);
  }

  async #takeSnapshot(gen: number): Promise<void> {
    const session = this.#ctx.core.session;
    if (!session) return;
    const snap = await session.engine.exclusive(async () => ({
      rows: await session.store.listConversations(),
      total: await session.store.getTotalUnread(),
    })).catch(() => undefined);
    if (gen !== this.#gen || !snap) return;
    const rows = snap.rows.map((c) => toV2Conversation(c, session.userID, session.names));
    this.#ctx.list.reset(rows);
    this.#total = snap.total;
    this.#snapshotTaken = true;
    await this.#lookUpNames(this.#ctx.list.sorted().slice(0, NAMES_AT_LOGIN), gen);
    this.#maybeReady(gen);
  }

  /**
   * Fetches the profiles of C2C peers and the profiles of groups the list shows without a
   * name yet (one request each, up to 100 IDs), so `userProfile.nick` and
   * `groupProfile.name` are filled; then the list is announced again.
   */
  async #lookUpNames(rows: V2TIMConversation[], gen: number): Promise<void> {
    const names = this.#ctx.names;
    const users: string[] = [];
    const groups: string[] = [];
    for (const c of rows) {
      const key = c.type === 1 ? `u:${c.userID}` : `g:${c.groupID}`;
      if (this.#askedNames.has(key)) continue;
      if (c.type === 1 ? names.profile(c.userID) : names.group(c.groupID)) continue;
      const batch = c.type === 1 ? users : groups;
      if (batch.length === 100) continue; // the next burst asks for it
      this.#askedNames.add(key);
      batch.push(c.type === 1 ? c.userID : c.groupID);
    }
    if (!users.length && !groups.length) return;
    await Promise.all([
      users.length ? this.#ctx.im.getUsersInfo(users).catch(() => undefined) : undefined,
      groups.length ? this.#ctx.im.getGroupManager().getGroupsInfo(groups).catch(() => undefined) : undefined,
    ]);
    if (gen !== this.#gen) return;
    this.#ctx.namesChanged();
  }

  #maybeReady(gen: number): void {
    if (gen !== this.#gen || !this.#synced || !this.#snapshotTaken || this.#ready || this.#readyScheduled) return;
    this.#readyScheduled = true;
    // A macrotask: the app's `await chat.login()` continues before SDK_READY, as the
    // reference's UIKits require (their login promise waits for login() first).
    setTimeout(() => {
      if (gen !== this.#gen) return;
      this.#ready = true;
      this.#notReadyReason = 0;
      this.#events.emit(EVENT.SDK_READY, {});
      this.#ctx.list.dirty = true;
      this.#emittedTotal = -1;
      this.#flush();
    }, 0);
  }

  #kicked(reason: number, type: string): void {
    this.#events.emit(EVENT.KICKED_OUT, { type });
    this.notReady(reason);
  }

  #setNetState(state: string): void {
    if (state === this.#netState) return;
    this.#netState = state;
    this.#events.emit(EVENT.NET_STATE_CHANGE, { state });
  }

  /** One burst of changes → MESSAGE_RECEIVED, then CONVERSATION_LIST_UPDATED (whole list), then the total. */
  #flush(): void {
    if (!this.#ready) return;
    if (this.#received.length) {
      const batch = this.#received;
      this.#received = [];
      this.#events.emit(EVENT.MESSAGE_RECEIVED, batch);
    }
    if (this.#ctx.list.dirty) {
      this.#ctx.list.dirty = false;
      const list: WebConversation[] = this.#ctx.list.sorted().map((c) => this.#ctx.webConversation(c));
      this.#events.emit(EVENT.CONVERSATION_LIST_UPDATED, list);
    }
    if (this.#total !== this.#emittedTotal) {
      this.#emittedTotal = this.#total;
      this.#events.emit(EVENT.TOTAL_UNREAD_MESSAGE_COUNT_UPDATED, this.#total);
    }
  }
}
