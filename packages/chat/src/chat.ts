/**
 * One Web SDK instance (`TencentCloudChat.create(...)`): a V2TIMManager underneath, and
 * this face translating its IDs, objects, events and codes. The methods live in
 * conversations.ts, messages.ts and relations.ts; readiness and events in
 * session-bridge.ts; this file is the reference's method table.
 */
import { V2TIMLoginStatus, V2TIMManager, type LocalStore, type V2TIMConversation, type WebSocketConstructor } from '@confab/sdk';
import { coreOf, createLogger, type LogLevel, type SdkCore } from '@confab/sdk/internal';
import { ERROR_CODE, EVENT, TYPES } from './constants.js';
import { SessionBridge } from './session-bridge.js';
import { MessageIndex, type FaceContext } from './context.js';
import { ConversationList } from './conversation-list.js';
import * as conversations from './conversations.js';
import { webConversation, webMessage, type Names, type WebConversation, type WebMessage } from './convert.js';
import { WebEmitter, type Handler } from './emitter.js';
import { ChatError, notSupported, ok, toChatError, type ChatResponse } from './errors.js';
import * as messages from './messages.js';
import * as relations from './relations.js';
import { CALLABLE_BEFORE_READY, UNSUPPORTED_METHODS, type UnsupportedMethods } from './unsupported.js';

export interface ChatOptions {
  SDKAppID: number;
  /**
   * Confab's one addition: the server's WebSocket URL (or a cluster's URLs). In a browser
   * it defaults to the page's origin + `/ws`.
   */
  serverUrl?: string | string[];
  /** Where conversations and messages are cached (default: memory). */
  store?: LocalStore;
  /** A WebSocket constructor for environments without a global one (Node < 22 gets `ws`). */
  WebSocket?: WebSocketConstructor;
  deviceID?: string;
  /** Other keys the reference's create() takes (`framework`, `scene`, `useUploadPlugin` …) are accepted and unused. */
  [key: string]: unknown;
}

export interface LoginResult {
  actionStatus: string;
  errorCode: number;
  errorInfo: string;
  repeatLogin: boolean;
}

/** The reference's levels: 0 all, 1 release, 2 warnings, 3 errors, 4 none. */
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

function defaultServerUrl(): string | undefined {
  const loc = (globalThis as { location?: { protocol?: string; host?: string } }).location;
  if (!loc?.host) return undefined;
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}

export interface Chat extends UnsupportedMethods {}

export class Chat {
  readonly #im = new V2TIMManager();
  readonly #core: SdkCore;
  readonly #sdkAppID: number;
  readonly #events = new WebEmitter();
  readonly #list = new ConversationList();
  readonly #messages = new MessageIndex();
  readonly #ctx: FaceContext;
  readonly #bridge: SessionBridge;

  /** @internal Use `TencentCloudChat.create`. */
  constructor(options: ChatOptions) {
    const sdkAppID = Number(options?.SDKAppID);
    if (!Number.isSafeInteger(sdkAppID) || sdkAppID <= 0) throw new ChatError(ERROR_CODE.NO_SDKAPPID, 'SDKAppID is required');
    const serverUrl = options.serverUrl ?? defaultServerUrl();
    if (!serverUrl) throw new ChatError(ERROR_CODE.INVALID_OPERATION, 'serverUrl is required outside a browser page');
    this.#sdkAppID = sdkAppID;
    const initialized = this.#im.initSDK(sdkAppID, {
      serverUrl, logLevel: 'warn',
      ...(options.store ? { store: options.store } : {}),
      ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
      ...(typeof options.deviceID === 'string' ? { deviceID: options.deviceID } : {}),
    });
    if (!initialized) throw new ChatError(ERROR_CODE.INVALID_OPERATION, 'invalid serverUrl');
    this.#core = coreOf(this.#im);
    const core = this.#core;
    const names: Names = {
      profile: (id) => core.session?.names.profiles.get(id),
      remark: (id) => core.session?.names.friendRemarks.get(id) ?? '',
      group: (id) => core.session?.names.groups.get(id),
    };
    const self = this;
    // One Web object per core row: a message in one chat re-sends the whole list, but
    // only that chat's row is converted again. Names arriving rebuild all.
    let converted = new WeakMap<V2TIMConversation, WebConversation>();
    this.#ctx = {
      im: this.#im, core, list: this.#list, messages: this.#messages, names,
      userID: () => core.session?.userID ?? '',
      emit: (name, data) => this.#events.emit(name, data),
      scheduleFlush: () => this.#bridge.scheduleFlush(),
      webConversation: (c) => {
        let web = converted.get(c);
        if (!web) converted.set(c, (web = webConversation(c, self.#ctx.userID(), names)));
        return web;
      },
      namesChanged: (announce = true) => {
        converted = new WeakMap();
        if (!announce) return;
        this.#list.dirty = true;
        this.#bridge.scheduleFlush();
      },
      webMessage: (m) => webMessage(m, self.#ctx.userID(), names),
    };
    this.#bridge = new SessionBridge(this.#ctx, this.#events);
  }

  // ---- lifecycle -------------------------------------------------------------------------

  on(eventName: string, handler: Handler, context?: unknown): void {
    this.#events.on(eventName, handler, context);
  }

  once(eventName: string, handler: Handler, context?: unknown): void {
    this.#events.on(eventName, handler, context, true);
  }

  off(eventName: string, handler?: Handler, context?: unknown): void {
    this.#events.off(eventName, handler, context);
  }

  /** Resolves `{ repeatLogin }` on the server's auth reply; SDK_READY follows after the first sync. */
  login(options: { userID: string; userSig: string }): Promise<ChatResponse<LoginResult>> {
    return this.#run<LoginResult>('login', true, async () => {
      const { userID, userSig } = (options ?? {}) as { userID?: unknown; userSig?: unknown };
      if (typeof userID !== 'string' || userID === '') throw new ChatError(ERROR_CODE.NO_IDENTIFIER, 'userID is required');
      if (typeof userSig !== 'string' || userSig === '') throw new ChatError(ERROR_CODE.NO_USERSIG, 'userSig is required');
      if (this.#im.getLoginStatus() === V2TIMLoginStatus.LOGINED && this.#im.getLoginUser() === userID) {
        return ok({ actionStatus: 'OK', errorCode: 0, errorInfo: `${userID} is already logged in`, repeatLogin: true });
      }
      const gen = this.#bridge.loginStarting();
      try {
        await this.#im.login(userID, userSig);
      } catch (err) {
        this.#bridge.loginFailed(gen);
        throw err;
      }
      this.#bridge.loggedIn(gen);
      return ok({ actionStatus: 'OK', errorCode: 0, errorInfo: '', repeatLogin: false });
    });
  }

  logout(): Promise<ChatResponse<Record<string, never>>> {
    return this.#run('logout', true, async () => {
      this.#bridge.notReady(ERROR_CODE.USER_NOT_LOGGED_IN);
      await this.#im.logout();
      return ok({});
    });
  }

  /** Logs out, emits SDK_DESTROY and drops every handler; the instance is not used again. */
  destroy(): Promise<ChatResponse<Record<string, never>>> {
    return this.#run('destroy', true, async () => {
      this.#bridge.notReady(ERROR_CODE.USER_NOT_LOGGED_IN);
      await this.#im.logout().catch(() => undefined);
      this.#events.emit(EVENT.SDK_DESTROY, { SDKAppID: this.#sdkAppID });
      this.#events.clear();
      this.#im.unInitSDK();
      return ok({});
    });
  }

  isReady(): boolean {
    return this.#bridge.ready;
  }

  getLoginUser(): string {
    return this.#im.getLoginUser();
  }

  /** Seconds; the device's clock (Confab does not correct it by the server's yet). */
  getServerTime(): number {
    return Math.floor(Date.now() / 1000);
  }

  setLogLevel(level: number): void {
    const l = LOG_LEVELS[Number(level)] ?? 'warn';
    this.#core.log = createLogger(l, `[confab ${this.#sdkAppID}]`);
  }

  /**
   * `@tencentcloud/lite-chat`'s module registration (`chat.use(ConversationPlugin)`):
   * every module is built in here, so nothing to do (lite-plugin.ts).
   */
  use(plugin: unknown, subPlugins?: unknown[]): void {
    void plugin;
    void subPlugins;
  }

  /** Upload and other plugins of the reference: accepted; Confab sends no media yet, so none is used. */
  registerPlugin(plugins: Record<string, unknown>): void {
    void plugins;
  }

  callExperimentalAPI(api: string, param?: unknown): unknown {
    void param;
    switch (api) {
      case 'isCommercialAbilityEnabled':
        return Promise.resolve(ok({ enabled: false }));
      case 'isFeatureEnabledForStat':
      case 'statTUIKeyFeatures':
        // The reference's usage statistics for its own service: nothing to report here.
        return undefined;
      case 'canIUseModule':
        return true;
      case 'isIntl':
        return true;
      default:
        return Promise.reject(new ChatError(ERROR_CODE.INVALID_OPERATION, `callExperimentalAPI: unknown api ${String(api)}`));
    }
  }

  // ---- conversations ---------------------------------------------------------------------

  getConversationList(options?: string[] | Record<string, unknown>) {
    return this.#run('getConversationList', false, () => conversations.getConversationList(this.#ctx, options));
  }

  getConversationProfile(conversationID: string) {
    return this.#run('getConversationProfile', false, () => conversations.getConversationProfile(this.#ctx, conversationID));
  }

  deleteConversation(options: string | { conversationIDList: string[]; clearHistoryMessage?: boolean }) {
    return this.#run('deleteConversation', false, () => conversations.deleteConversation(this.#ctx, options));
  }

  clearHistoryMessage(conversationID: string) {
    return this.#run('clearHistoryMessage', false, () => conversations.clearHistoryMessage(this.#ctx, conversationID));
  }

  pinConversation(options: { conversationID: string; isPinned: boolean }) {
    return this.#run('pinConversation', false, () => conversations.pinConversation(this.#ctx, options));
  }

  setConversationDraft(options: { conversationID: string; draftText: string }) {
    return this.#run('setConversationDraft', false, () => conversations.setConversationDraft(this.#ctx, options));
  }

  setMessageRead(options: { conversationID: string }) {
    return this.#run('setMessageRead', false, () => conversations.setMessageRead(this.#ctx, options));
  }

  setAllMessageRead(options?: { scope?: string }) {
    return this.#run('setAllMessageRead', false, () => conversations.setAllMessageRead(this.#ctx, options));
  }

  setConversationCustomData(options: { conversationIDList: string[]; customData: string }) {
    return this.#run('setConversationCustomData', false, () => conversations.setConversationCustomData(this.#ctx, options));
  }

  markConversation(options: { conversationIDList: string[]; markType: number; enableMark: boolean }) {
    return this.#run('markConversation', false, () => conversations.markConversation(this.#ctx, options));
  }

  /** Synchronous, as in the reference: the total the last TOTAL_UNREAD_MESSAGE_COUNT_UPDATED carried (0 before SDK_READY). */
  getTotalUnreadMessageCount(): number {
    return this.#bridge.total;
  }

  // ---- messages --------------------------------------------------------------------------

  createTextMessage(options: messages.CreateMessageOptions): WebMessage {
    return messages.createTextMessage(this.#ctx, options);
  }

  createTextAtMessage(options: messages.CreateMessageOptions): WebMessage {
    return messages.createTextAtMessage(this.#ctx, options);
  }

  createCustomMessage(options: messages.CreateMessageOptions): WebMessage {
    return messages.createCustomMessage(this.#ctx, options);
  }

  createImageMessage(options: messages.CreateMessageOptions): WebMessage {
    return messages.createUnsupportedMessage(this.#ctx, TYPES.MSG_IMAGE, options);
  }

  createAudioMessage(options: messages.CreateMessageOptions): WebMessage {
    return messages.createUnsupportedMessage(this.#ctx, TYPES.MSG_AUDIO, options);
  }

  createVideoMessage(options: messages.CreateMessageOptions): WebMessage {
    return messages.createUnsupportedMessage(this.#ctx, TYPES.MSG_VIDEO, options);
  }

  createFileMessage(options: messages.CreateMessageOptions): WebMessage {
    return messages.createUnsupportedMessage(this.#ctx, TYPES.MSG_FILE, options);
  }

  createFaceMessage(options: messages.CreateMessageOptions): WebMessage {
    return messages.createFaceMessage(this.#ctx, options);
  }

  createLocationMessage(options: messages.CreateMessageOptions): WebMessage {
    return messages.createLocationMessage(this.#ctx, options);
  }

  createMergerMessage(options: messages.CreateMessageOptions): WebMessage {
    return messages.createMergerMessage(this.#ctx, options);
  }

  downloadMergerMessage(message: WebMessage) {
    return this.#run('downloadMergerMessage', false, () => messages.downloadMergerMessage(this.#ctx, message));
  }

  createForwardMessage(options: messages.ForwardMessageOptions): WebMessage {
    return messages.createForwardMessage(this.#ctx, options);
  }

  /** `options`: `onlineUserOnly`, `offlinePushInfo` (title, description, extension, disablePush …). */
  sendMessage(message: WebMessage, options?: messages.SendOptions) {
    return this.#run('sendMessage', false, () => messages.sendMessage(this.#ctx, message, options));
  }

  resendMessage(message: WebMessage, options?: messages.SendOptions) {
    return this.#run('resendMessage', false, () => messages.resendMessage(this.#ctx, message, options));
  }

  getMessageList(options: { conversationID: string; nextReqMessageID?: string; count?: number }) {
    return this.#run('getMessageList', false, () => messages.getMessageList(this.#ctx, options));
  }

  getMessageListHopping(options: { conversationID: string; sequence?: number; time?: number; count?: number; direction?: number }) {
    return this.#run('getMessageListHopping', false, () => messages.getMessageListHopping(this.#ctx, options));
  }

  /** Synchronous: a message this instance has handed out (received, listed or created), else null. */
  findMessage(messageID: string): WebMessage | null {
    const core = this.#messages.byID(messageID);
    return core ? this.#ctx.webMessage(core) : null;
  }

  // ---- profiles, groups, friends ---------------------------------------------------------

  getMyProfile() {
    return this.#run('getMyProfile', false, () => relations.getMyProfile(this.#ctx));
  }

  getUserProfile(options: { userIDList: string[] }) {
    return this.#run('getUserProfile', false, () => relations.getUserProfile(this.#ctx, options));
  }

  updateMyProfile(options: Record<string, unknown>) {
    return this.#run('updateMyProfile', false, () => relations.updateMyProfile(this.#ctx, options));
  }

  getGroupList(options?: unknown) {
    void options;
    return this.#run('getGroupList', false, () => relations.getGroupList(this.#ctx));
  }

  getGroupProfile(options: { groupID: string }) {
    return this.#run('getGroupProfile', false, () => relations.getGroupProfile(this.#ctx, options));
  }

  createGroup(options: Record<string, unknown>) {
    return this.#run('createGroup', false, () => relations.createGroup(this.#ctx, options));
  }

  joinGroup(options: { groupID: string; applyMessage?: string }) {
    return this.#run('joinGroup', true, () => relations.joinGroup(this.#ctx, options));
  }

  quitGroup(groupID: string) {
    return this.#run('quitGroup', true, () => relations.quitGroup(this.#ctx, groupID));
  }

  dismissGroup(groupID: string) {
    return this.#run('dismissGroup', false, () => relations.dismissGroup(this.#ctx, groupID));
  }

  getGroupMemberList(options: { groupID: string; count?: number; offset?: number }) {
    return this.#run('getGroupMemberList', false, () => relations.getGroupMemberList(this.#ctx, options));
  }

  getFriendList() {
    return this.#run('getFriendList', false, () => relations.getFriendList(this.#ctx));
  }

  addFriend(options: { to: string; source?: string; remark?: string; wording?: string; type?: string }) {
    return this.#run('addFriend', false, () => relations.addFriend(this.#ctx, options));
  }

  deleteFriend(options: { userIDList: string[]; type?: string }) {
    return this.#run('deleteFriend', false, () => relations.deleteFriend(this.#ctx, options));
  }

  /** Nobody is ever blocked on Confab (there is no blocklist yet): always empty. */
  getBlacklist() {
    return this.#run('getBlacklist', false, () => ok([] as string[]));
  }

  /** Friendship is immediate on Confab: there are never pending applications. */
  getFriendApplicationList() {
    return this.#run('getFriendApplicationList', false, () => ok({ friendApplicationList: [] as unknown[], unreadCount: 0 }));
  }

  /** Confab has no friend groups: always empty. */
  getFriendGroupList() {
    return this.#run('getFriendGroupList', false, () => ok([] as unknown[]));
  }

  // ---- internals -------------------------------------------------------------------------

  /** @internal Every unsupported method (unsupported.ts) lands here. */
  _unsupported(api: string): Promise<never> {
    return this.#run(api, CALLABLE_BEFORE_READY.has(api), () => {
      throw notSupported(api);
    }) as Promise<never>;
  }

  /**
   * The reference's middleware in one place: the readiness check (methods whitelisted
   * before SDK_READY skip it), then the call, with anything thrown turned into a
   * rejection with the Web SDK's code.
   */
  #run<T>(api: string, beforeReady: boolean, work: () => Promise<ChatResponse<T>> | ChatResponse<T>): Promise<ChatResponse<T>> {
    if (!beforeReady && !this.#bridge.ready) {
      const reason = this.#bridge.notReadyReason;
      return Promise.reject(new ChatError(reason, `${api}: the SDK is not ready (${reason})`));
    }
    try {
      return Promise.resolve(work()).catch((err: unknown) => {
        throw toChatError(err);
      });
    } catch (err) {
      return Promise.reject(toChatError(err));
    }
  }
}

for (const name of UNSUPPORTED_METHODS) {
  Object.defineProperty(Chat.prototype, name, {
    configurable: true, writable: true, enumerable: false,
    value(this: Chat) {
      return this._unsupported(name);
    },
  });
}

