/**
 * `V2TIMManager`, the entry point, shaped like the reference's native API:
 *
 * ```ts
 * const im = V2TIMManager.getInstance();            // or `new V2TIMManager()` per user/device
 * im.initSDK(sdkAppID, { serverUrl: 'ws://localhost:8080/ws' }, { onKickedOffline: () => … });
 * await im.login('alice', userSig);
 * await im.sendC2CTextMessage('hi', 'bob');
 * ```
 */
import { ConfabError, ErrorCode, assertGroupID, assertUserID, type GroupType } from '@confab/protocol';
import { withCallback, type CallbackResult, type V2TIMCallback, type V2TIMValueCallback } from '../callback.js';
import { toV2User } from '../convert.js';
import { createLogger } from '../log.js';
import type { ConnectionState, V2TIMMessage, V2TIMSDKConfig, V2TIMSDKListener, V2TIMUserFullInfo } from '../types.js';
import { V2TIMLoginStatus } from '../types.js';
import { V2TIMConversationManager } from './conversation-manager.js';
import { SdkCore } from './core.js';
import { V2TIMFriendshipManager } from './friendship-manager.js';
import { V2TIMGroupManager } from './group-manager.js';
import { sendMessage, V2TIMMessageManager } from './message-manager.js';

let instance: V2TIMManager | undefined;
/** Set by the class's static block: how `internal.ts` reaches a manager's core. */
let readCore: (manager: V2TIMManager) => SdkCore;

/** A URL, or a non-empty list of URLs (the nodes of a cluster). */
function validServerUrl(url: unknown): url is string | string[] {
  if (typeof url === 'string') return url !== '';
  return Array.isArray(url) && url.length > 0 && url.every((u) => typeof u === 'string' && u !== '');
}

export class V2TIMManager {
  readonly #core = new SdkCore();
  readonly #conversation = new V2TIMConversationManager(this.#core);
  readonly #message = new V2TIMMessageManager(this.#core);
  readonly #friendship = new V2TIMFriendshipManager(this.#core);
  readonly #group = new V2TIMGroupManager(this.#core);

  static {
    readCore = (manager) => manager.#core;
  }

  /** The process-wide instance. Use `new V2TIMManager()` for more users or devices in one process. */
  static getInstance(): V2TIMManager {
    return (instance ??= new V2TIMManager());
  }

  /**
   * Configures the SDK; no network yet. Returns false for a bad config (no serverUrl, bad
   * app ID) or when already initialized with a session running — call unInitSDK first.
   */
  initSDK(sdkAppID: number, config: V2TIMSDKConfig, listener?: V2TIMSDKListener): boolean {
    const core = this.#core;
    if (!Number.isSafeInteger(sdkAppID) || sdkAppID <= 0 || !validServerUrl(config?.serverUrl)) {
      return false;
    }
    if (core.status !== V2TIMLoginStatus.LOGOUT) return false;
    core.sdkAppID = sdkAppID;
    core.config = Object.freeze({
      ...config,
      serverUrl: Array.isArray(config.serverUrl) ? [...config.serverUrl] : config.serverUrl,
      capabilities: config.capabilities ? [...config.capabilities] : undefined,
    });
    core.store = config.store ?? SdkCore.defaultStore();
    core.log = createLogger(config.logLevel ?? 'warn', `[confab ${sdkAppID}]`, config.logger);
    if (listener) core.sdkListeners.add(listener);
    return true;
  }

  /** Logs out (without waiting) and forgets the configuration. */
  unInitSDK(): void {
    const core = this.#core;
    if (core.sdkAppID === undefined) return;
    void core.logout().catch(() => undefined);
    core.sdkAppID = undefined;
    core.config = undefined;
    core.store = undefined;
  }

  addSDKListener(listener: V2TIMSDKListener): void {
    this.#core.sdkListeners.add(listener);
  }

  removeSDKListener(listener: V2TIMSDKListener): void {
    this.#core.sdkListeners.delete(listener);
  }

  /**
   * Opens the local store, connects and authenticates. Resolves on the server's auth
   * reply; the conversation sync continues in the background (onSyncServerStart/Finish).
   * Fails with the server's code (70001…), 9508 when the server is unreachable, 7501 when a
   * login is already running. Logging in as the current user again is a no-op; as another
   * user, it logs the current one out first.
   */
  login<C extends V2TIMCallback | undefined>(userID: string, userSig: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, () => this.#core.login(userID, userSig));
  }

  logout<C extends V2TIMCallback | undefined>(cb?: C): CallbackResult<void, C> {
    return withCallback(cb, () => this.#core.logout());
  }

  /** The logged-in user ID, or '' when logged out. */
  getLoginUser(): string {
    return this.#core.status === V2TIMLoginStatus.LOGINED ? (this.#core.session?.userID ?? '') : '';
  }

  /**
   * Confab's addition: the state of the session's connection (`closed` when logged out).
   * Changes are reported to `V2TIMSDKListener.onConnectionStateChanged`.
   */
  getConnectionState(): ConnectionState {
    return this.#core.session?.connection.state ?? 'closed';
  }

  /** 1 logged in, 2 logging in, 3 logged out (the reference's V2TIMLoginStatus). */
  getLoginStatus(): V2TIMLoginStatus {
    return this.#core.status;
  }

  getConversationManager(): V2TIMConversationManager {
    return this.#conversation;
  }

  getMessageManager(): V2TIMMessageManager {
    return this.#message;
  }

  getFriendshipManager(): V2TIMFriendshipManager {
    return this.#friendship;
  }

  getGroupManager(): V2TIMGroupManager {
    return this.#group;
  }

  // ---- the reference's convenience methods ---------------------------------------------

  sendC2CTextMessage<C extends V2TIMValueCallback<V2TIMMessage> | undefined>(
    text: string, userID: string, cb?: C,
  ): CallbackResult<V2TIMMessage, C> {
    return withCallback(cb, () => sendMessage(this.#core, this.#message.createTextMessage(text), userID, null));
  }

  sendGroupTextMessage<C extends V2TIMValueCallback<V2TIMMessage> | undefined>(
    text: string, groupID: string, priority?: number, cb?: C,
  ): CallbackResult<V2TIMMessage, C> {
    void priority;
    return withCallback(cb, () => {
      assertGroupID(groupID);
      return sendMessage(this.#core, this.#message.createTextMessage(text), null, groupID);
    });
  }

  createGroup<C extends V2TIMValueCallback<string> | undefined>(
    groupType: GroupType, groupID: string | null, groupName: string, cb?: C,
  ): CallbackResult<string, C> {
    return this.#group.createGroup({ groupType, groupID, groupName }, null, cb);
  }

  /** `message` (the join request text) is accepted for compatibility; joining is immediate. */
  joinGroup<C extends V2TIMCallback | undefined>(groupID: string, message: string, cb?: C): CallbackResult<void, C> {
    void message;
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      const res = await s.connection.request('group.join', { groupID });
      s.names.groups.set(res.group.groupID, res.group);
      await s.engine.handleUpdate(res.update);
    });
  }

  quitGroup<C extends V2TIMCallback | undefined>(groupID: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      await s.connection.request('group.leave', { groupID });
    });
  }

  dismissGroup<C extends V2TIMCallback | undefined>(groupID: string, cb?: C): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      assertGroupID(groupID);
      await s.connection.request('group.dismiss', { groupID });
    });
  }

  getUsersInfo<C extends V2TIMValueCallback<V2TIMUserFullInfo[]> | undefined>(
    userIDs: string[], cb?: C,
  ): CallbackResult<V2TIMUserFullInfo[], C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      if (!Array.isArray(userIDs) || userIDs.length === 0 || userIDs.length > 100) {
        throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'userIDs must hold 1..100 IDs');
      }
      userIDs.forEach((id) => assertUserID(id));
      const res = await s.connection.request('profile.get', { userIDs: [...userIDs] });
      for (const p of res.profiles) s.names.profiles.set(p.userID, p);
      return res.profiles.map(toV2User);
    });
  }

  setSelfInfo<C extends V2TIMCallback | undefined>(
    info: { nickName?: string; faceUrl?: string; selfSignature?: string }, cb?: C,
  ): CallbackResult<void, C> {
    return withCallback(cb, async () => {
      const s = this.#core.requireSession();
      if (typeof info !== 'object' || info === null) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'info must be an object');
      const body: { nickName?: string; faceUrl?: string; selfSignature?: string } = {};
      for (const key of ['nickName', 'faceUrl', 'selfSignature'] as const) {
        const v = info[key];
        if (v === undefined) continue;
        if (typeof v !== 'string') throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `${key} must be a string`);
        body[key] = v;
      }
      const res = await s.connection.request('profile.set', body);
      s.names.profiles.set(res.profile.userID, res.profile);
    });
  }
}

/** @internal The core behind a manager, for the other faces of the SDK (see internal.ts). */
export function coreOf(manager: V2TIMManager): SdkCore {
  return readCore(manager);
}
