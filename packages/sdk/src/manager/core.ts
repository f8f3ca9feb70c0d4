/**
 * The state shared by V2TIMManager and its sub-managers: configuration, listener sets and
 * the current login session. One `SdkCore` per V2TIMManager instance, so one process can
 * hold several users (or several devices of one user) side by side.
 *
 * Login order, and why: the store opens FIRST, then the socket. A phone restarting in a
 * tunnel still shows its cached conversations the moment `login()` resolves… but `login()`
 * resolves on the server's auth reply, not earlier: an app must learn at once that the
 * UserSig is wrong (70001…) or the server unreachable (9508), and a session without a
 * server behind it would have nowhere to send. The conversation sync then runs in the
 * background (onSyncServerStart/Finish), so login does not wait for a large catch-up.
 */
import {
  Capability, ConfabError, ErrorCode, PROTOCOL_VERSION, assertUserID,
  type OpName, type OpRequest, type OpResult, type PushFrame, type Pushes, type WireMessage,
} from '@confab/protocol';
import { safeCall } from '../callback.js';
import { Connection, type RequestOptions } from '../connection/connection.js';
import { emptyNameCache, toV2Conversation, toV2Message, type NameCache } from '../convert.js';
import { createLogger, type Logger } from '../log.js';
import { MemoryStore } from '../store/memory-store.js';
import { MetaKey, type LocalStore, type StoredConversation } from '../store/types.js';
import { PendingDeletions } from '../sync/pending-deletions.js';
import { prefetchFirstScreen } from '../sync/history-prefetch.js';
import { SyncEngine } from '../sync/sync-engine.js';
import { recoverPendingDeletions } from './deletion.js';
import { ListCursors } from './list-cursors.js';
import { SessionUpkeep } from './session-upkeep.js';
import {
  V2TIMLoginStatus,
  type V2TIMAdvancedMsgListener, type V2TIMConversationListener, type V2TIMFriendshipListener,
  type V2TIMGroupListener, type V2TIMSDKConfig, type V2TIMSDKListener,
} from '../types.js';

/** Everything that exists only while a user is logged in. */
export class Session {
  /** clientMsgIDs this device sent in this session: never announced back to it as "received". */
  readonly ownOutgoing = new Set<string>();
  readonly names: NameCache = emptyNameCache();
  /** Deletions sent but not yet wiped locally (crash safety, see deletion.ts). */
  readonly pending: PendingDeletions;
  /** getConversationList's `nextSeq` cursors. */
  readonly listCursors = new ListCursors();
  /** True while the first-screen history prefetch runs. */
  prefetching = false;
  /** UserSig renewal and network hints (session-upkeep.ts); set at login. */
  upkeep: SessionUpkeep | undefined;
  constructor(
    readonly userID: string,
    readonly store: LocalStore,
    readonly connection: Connection,
    readonly engine: SyncEngine,
  ) {
    this.pending = new PendingDeletions(store);
  }
}

export function randomID(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

export class SdkCore {
  sdkAppID: number | undefined;
  config: Readonly<V2TIMSDKConfig> | undefined;
  store: LocalStore | undefined;
  log: Logger = createLogger('warn');
  status: V2TIMLoginStatus = V2TIMLoginStatus.LOGOUT;
  session: Session | undefined;
  #loggingIn: Connection | undefined;

  readonly sdkListeners = new Set<V2TIMSDKListener>();
  readonly conversationListeners = new Set<V2TIMConversationListener>();
  readonly messageListeners = new Set<V2TIMAdvancedMsgListener>();
  readonly friendListeners = new Set<V2TIMFriendshipListener>();
  readonly groupListeners = new Set<V2TIMGroupListener>();

  requireInit(): void {
    if (this.sdkAppID === undefined || !this.config) {
      throw new ConfabError(ErrorCode.SDK_NOT_INITIALIZED, 'call initSDK first');
    }
  }

  requireSession(): Session {
    this.requireInit();
    if (this.status !== V2TIMLoginStatus.LOGINED || !this.session) {
      throw new ConfabError(ErrorCode.NOT_LOGGED_IN, 'log in first');
    }
    return this.session;
  }

  request<K extends OpName>(op: K, body: OpRequest<K>, options?: RequestOptions): Promise<OpResult<K>> {
    return this.requireSession().connection.request(op, body, options);
  }

  /** Calls `fn` on every listener of a set; a throwing listener does not stop the others. */
  emit<L>(listeners: Set<L>, fn: (l: L) => void): void {
    for (const l of [...listeners]) safeCall(() => fn(l));
  }

  async login(userID: string, userSig: string): Promise<void> {
    this.requireInit();
    assertUserID(userID);
    if (typeof userSig !== 'string' || userSig === '') {
      throw new ConfabError(ErrorCode.USER_SIG_EMPTY, 'userSig is empty');
    }
    if (this.status === V2TIMLoginStatus.LOGINING) {
      throw new ConfabError(ErrorCode.LOGIN_IN_PROCESS, 'a login is already running');
    }
    if (this.status === V2TIMLoginStatus.LOGINED) {
      if (this.session?.userID === userID) return;
      await this.logout(); // switching users: the reference also needs one user at a time
    }
    this.status = V2TIMLoginStatus.LOGINING;
    const config = this.config!;
    const store = this.store!;
    let connection: Connection | undefined;
    let upkeep: SessionUpkeep | undefined;
    try {
      await store.open({ sdkAppID: this.sdkAppID!, userID });
      const deviceID = config.deviceID ?? (await this.#deviceID(store));
      connection = new Connection({
        url: config.serverUrl,
        WebSocket: config.WebSocket,
        requestTimeoutMs: config.requestTimeoutMs ?? 15_000,
        log: this.log,
        login: {
          sdkAppID: this.sdkAppID!, userID, userSig, deviceID,
          protocolVersion: config.protocolVersion ?? PROTOCOL_VERSION,
          ...(config.platform !== undefined ? { platform: config.platform } : {}),
          // Deletion sync by default: the server sends other devices' deletions only when
          // the app enabled it; an explicit list (even empty) overrides, e.g. to test old clients.
          capabilities: config.capabilities !== undefined ? [...config.capabilities] : [Capability.DELETION_SYNC],
        },
      });
      const session = new Session(userID, store, connection, undefined as never);
      const engine = new SyncEngine({
        store,
        log: this.log,
        request: (op, body) => connection!.request(op, body),
        isOwnOutgoing: (m: WireMessage) => m.sender === userID && session.ownOutgoing.has(m.clientMsgID),
        events: this.#syncEvents(session),
        afterSync: () => this.#prefetch(session),
      });
      (session as { engine: SyncEngine }).engine = engine;
      await engine.load();
      session.upkeep = upkeep = new SessionUpkeep({
        userID, connection, log: this.log,
        ...(config.userSigProvider ? { userSigProvider: config.userSigProvider } : {}),
        ...(config.userSigRefreshAheadMs !== undefined ? { refreshAheadMs: config.userSigRefreshAheadMs } : {}),
        onRenewed: (at) => this.emit(this.sdkListeners, (l) => l.onUserSigRenewed?.(at)),
      });
      this.#wire(session);
      this.#loggingIn = connection;
      const loginResult = await connection.start();
      if (this.#loggingIn !== connection) throw new ConfabError(ErrorCode.NETWORK_DISCONNECTED, 'logged out during login');
      upkeep.loggedIn(loginResult);
      upkeep.watchNetwork();
      this.#loggingIn = undefined;
      this.session = session;
      this.status = V2TIMLoginStatus.LOGINED;
      // Both queued now, in this order: a deletion interrupted by a crash completes before
      // the sync runs. A row the recovery keeps because it changed after the deletion was
      // sent is settled by that sync, which always shows this device its own tombstone.
      void recoverPendingDeletions(session, this.log);
      void engine.sync();
    } catch (err) {
      this.#loggingIn = undefined;
      upkeep?.stop();
      connection?.close();
      this.status = V2TIMLoginStatus.LOGOUT;
      await store.close().catch(() => undefined);
      throw err;
    }
  }

  async logout(): Promise<void> {
    this.requireInit();
    if (this.#loggingIn) {
      const c = this.#loggingIn;
      this.#loggingIn = undefined;
      c.close(ErrorCode.NETWORK_DISCONNECTED, 'logged out during login');
    }
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    this.status = V2TIMLoginStatus.LOGOUT;
    session.engine.stop();
    session.upkeep?.stop();
    // Tell the server so it drops the device's session at once; do not wait long for it.
    await session.connection.request('logout', {}, { timeoutMs: 3000 }).catch(() => undefined);
    session.connection.close();
    await session.store.close().catch(() => undefined);
  }

  async #deviceID(store: LocalStore): Promise<string> {
    const stored = await store.getMeta(MetaKey.DEVICE_ID);
    if (stored) return stored;
    const id = randomID();
    await store.setMeta(MetaKey.DEVICE_ID, id);
    return id;
  }

  /** The first-screen history prefetch after a sync (history-prefetch.ts); one run at a time. */
  #prefetch(session: Session): void {
    const options = this.config?.historyPrefetch;
    if (options === false || session.prefetching) return;
    session.prefetching = true;
    void prefetchFirstScreen({
      store: session.store,
      request: (op, body) => session.connection.request(op, body),
      cache: (messages) => session.engine.cacheHistory(messages),
      stopped: () => this.session !== session,
      log: this.log,
    }, options ?? {}).finally(() => {
      session.prefetching = false;
    });
  }

  #wire(session: Session): void {
    const { connection, engine } = session;
    connection.on('connecting', () => this.emit(this.sdkListeners, (l) => l.onConnecting?.()));
    connection.on('connectFailed', ({ code, desc }) => this.emit(this.sdkListeners, (l) => l.onConnectFailed?.(code, desc)));
    connection.on('state', ({ newState }) => this.emit(this.sdkListeners, (l) => l.onConnectionStateChanged?.(newState)));
    connection.on('connected', ({ result, reconnected }) => {
      if (reconnected) session.upkeep?.loggedIn(result);
      this.emit(this.sdkListeners, (l) => l.onConnectSuccess?.());
      // The first sync is started by login() once it has published the session.
      if (reconnected) {
        void recoverPendingDeletions(session, this.log);
        void engine.sync();
      }
    });
    connection.on('push', (frame) => this.#onPush(session, frame));
    connection.on('closed', ({ code, desc }) => {
      if (this.session !== session) return; // logout() already cleaned up
      this.session = undefined;
      this.status = V2TIMLoginStatus.LOGOUT;
      engine.stop();
      session.upkeep?.stop();
      void session.store.close().catch(() => undefined);
      if (code === ErrorCode.KICKED_OFF_BY_OTHER) this.emit(this.sdkListeners, (l) => l.onKickedOffline?.());
      else if (code === ErrorCode.USER_SIG_EXPIRED || code === ErrorCode.USER_SIG_EXPIRED_LOCAL) {
        this.emit(this.sdkListeners, (l) => l.onUserSigExpired?.());
      } else this.emit(this.sdkListeners, (l) => l.onConnectFailed?.(code, desc));
    });
  }

  #onPush(session: Session, frame: PushFrame): void {
    switch (frame.push) {
      case 'update':
        void session.engine.handleUpdate((frame as PushFrame<'update'>).body);
        return;
      case 'msg.online': {
        // Sent with onlineUserOnly: announced, never stored (history never shows it).
        const msg = toV2Message((frame as PushFrame<'msg.online'>).body, session.userID);
        this.emit(this.messageListeners, (l) => l.onRecvNewMessage?.(msg));
        return;
      }
      case 'sync.hint':
        void session.engine.resync().catch((err: unknown) => this.log.warn(`sync after a hint failed: ${String(err)}`));
        return;
      case 'group.event':
        this.#onGroupEvent(session, (frame as PushFrame<'group.event'>).body);
        return;
      case 'friend.event':
        this.#onFriendEvent(session, (frame as PushFrame<'friend.event'>).body);
        return;
      default:
        this.log.debug(`ignoring push ${String(frame.push)}`);
    }
  }

  #onGroupEvent(session: Session, ev: Pushes['group.event']): void {
    const member = (userID: string) => {
      const p = session.names.profiles.get(userID);
      return { userID, nickName: p?.nickName ?? '', faceUrl: p?.faceUrl ?? '' };
    };
    const members = ev.userIDs.map(member);
    const g = ev.groupID;
    switch (ev.event) {
      case 'joined':
      case 'memberJoined':
        this.emit(this.groupListeners, (l) => l.onMemberEnter?.(g, members.length ? members : [member(session.userID)]));
        break;
      case 'memberLeft':
        for (const m of members) this.emit(this.groupListeners, (l) => l.onMemberLeave?.(g, m));
        break;
      case 'left':
        this.emit(this.groupListeners, (l) => l.onQuitFromGroup?.(g));
        break;
      case 'kicked':
        this.emit(this.groupListeners, (l) => l.onMemberKicked?.(g, null, members));
        break;
      case 'dismissed': {
        const cached = session.names.groups.get(g);
        if (cached) session.names.groups.set(g, { ...cached, dismissed: true });
        this.emit(this.groupListeners, (l) => l.onGroupDismissed?.(g, null));
        break;
      }
    }
  }

  #onFriendEvent(session: Session, ev: Pushes['friend.event']): void {
    if (ev.event === 'deleted') {
      for (const id of ev.userIDs) session.names.friendRemarks.delete(id);
      this.emit(this.friendListeners, (l) => l.onFriendListDeleted?.([...ev.userIDs]));
      return;
    }
    const infos = ev.userIDs.map((userID) => {
      const p = session.names.profiles.get(userID);
      return {
        userID, friendRemark: session.names.friendRemarks.get(userID) ?? '',
        userProfile: { userID, nickName: p?.nickName ?? '', faceUrl: p?.faceUrl ?? '', selfSignature: p?.selfSignature ?? '' },
      };
    });
    this.emit(this.friendListeners, (l) => l.onFriendListAdded?.(infos));
  }

  #syncEvents(session: Session) {
    const conv = (c: StoredConversation) => toV2Conversation(c, session.userID, session.names);
    return {
      syncStart: () => this.emit(this.conversationListeners, (l) => l.onSyncServerStart?.()),
      syncFinish: () => this.emit(this.conversationListeners, (l) => l.onSyncServerFinish?.()),
      syncFailed: () => this.emit(this.conversationListeners, (l) => l.onSyncServerFailed?.()),
      conversations: (added: StoredConversation[], changed: StoredConversation[], removed: string[]) => {
        if (added.length) this.emit(this.conversationListeners, (l) => l.onNewConversation?.(added.map(conv)));
        if (changed.length) this.emit(this.conversationListeners, (l) => l.onConversationChanged?.(changed.map(conv)));
        if (removed.length) this.emit(this.conversationListeners, (l) => l.onConversationDeleted?.([...removed]));
      },
      totalUnread: (total: number) => this.emit(this.conversationListeners, (l) => l.onTotalUnreadMessageCountChanged?.(total)),
      newMessages: (messages: WireMessage[]) => {
        for (const m of messages) {
          const msg = toV2Message(m, session.userID);
          this.emit(this.messageListeners, (l) => l.onRecvNewMessage?.(msg));
        }
      },
      revokedMessages: (messages: WireMessage[]) => {
        for (const m of messages) {
          const msg = toV2Message(m, session.userID);
          this.emit(this.messageListeners, (l) => l.onRecvMessageRevoked?.(m.msgID, msg.revokerInfo, m.revokeReason ?? ''));
        }
      },
      modifiedMessages: (messages: WireMessage[]) => {
        for (const m of messages) {
          const msg = toV2Message(m, session.userID);
          this.emit(this.messageListeners, (l) => l.onRecvMessageModified?.(msg));
        }
      },
    };
  }

  /** Default store when the app passed none. */
  static defaultStore(): LocalStore {
    return new MemoryStore();
  }
}
