/**
 * Confab web chat: one page, vanilla TypeScript, on the SDK's browser bundle.
 *
 * - Sign-in: the page asks its back end (`POST /api/usersig`) for a UserSig; the app's
 *   secret key stays on the server. The user ID is remembered in localStorage, so a
 *   reload signs in again by itself.
 * - Persistence: `IndexedDbStore` keeps conversations and messages in this browser, so
 *   after a reload the list is on screen as soon as `login()` resolves, before the sync.
 * - Everything on screen comes from the SDK: the list is re-read from the SDK's store on
 *   each conversation event, the open chat is fed by history paging and `onRecvNewMessage`.
 */
import {
  IndexedDbStore, V2TIMManager, V2TIMMessageStatus,
  type V2TIMAdvancedMsgListener, type V2TIMConversation, type V2TIMConversationListener,
  type V2TIMMessage, type V2TIMSDKListener,
} from '@confab/sdk/browser';
import { clockTime, dayLabel, fullTime, h, icon, listTime, paintAvatar, PIN_PATH, sameDay } from './format.js';

const PAGE_SIZE = 20;
const USER_KEY = 'confab-web-chat.user';
const DB_NAME = 'confab-web-chat';
const USER_ID = /^[A-Za-z0-9_.@-]{1,32}$/;

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}

const ui = {
  loginView: byId('login-view'),
  loginForm: byId<HTMLFormElement>('login-form'),
  loginInput: byId<HTMLInputElement>('login-user-id'),
  loginError: byId('login-error'),
  loginSubmit: byId<HTMLButtonElement>('login-submit'),
  app: byId('chat-app'),
  meAvatar: byId('me-avatar'),
  meName: byId('me-name'),
  connection: byId('connection-status'),
  connectionText: byId('connection-text'),
  signOut: byId<HTMLButtonElement>('sign-out'),
  newChatForm: byId<HTMLFormElement>('new-chat-form'),
  newChatInput: byId<HTMLInputElement>('new-chat-input'),
  newChatError: byId('new-chat-error'),
  list: byId<HTMLUListElement>('conversation-list'),
  listEmpty: byId('conversation-list-empty'),
  placeholder: byId('chat-placeholder'),
  notice: byId('chat-notice'),
  chatView: byId('chat-view'),
  chatBack: byId<HTMLButtonElement>('chat-back'),
  chatAvatar: byId('chat-avatar'),
  chatTitle: byId('chat-title'),
  chatSubtitle: byId('chat-subtitle'),
  pinToggle: byId<HTMLButtonElement>('pin-toggle'),
  pinLabel: byId('pin-label'),
  menu: byId<HTMLDetailsElement>('chat-menu'),
  clearHistory: byId<HTMLButtonElement>('action-clear-history'),
  deleteKeep: byId<HTMLButtonElement>('action-delete-keep'),
  deleteConv: byId<HTMLButtonElement>('action-delete'),
  scroller: byId('message-scroller'),
  loadEarlier: byId<HTMLButtonElement>('load-earlier'),
  historyStart: byId('history-start'),
  messageList: byId<HTMLOListElement>('message-list'),
  chatEmpty: byId('chat-empty'),
  composer: byId<HTMLFormElement>('composer'),
  composerInput: byId<HTMLTextAreaElement>('composer-input'),
  send: byId<HTMLButtonElement>('send-button'),
  dialog: byId<HTMLDialogElement>('confirm-dialog'),
  dialogTitle: byId('confirm-title'),
  dialogBody: byId('confirm-body'),
  dialogOk: byId<HTMLButtonElement>('confirm-ok'),
  toast: byId('toast'),
};

// ---- state -------------------------------------------------------------------------------

interface OpenChat {
  id: string;
  /** C2C peer, or '' for a group. */
  userID: string;
  /** Group ID, or '' for C2C. */
  groupID: string;
}

let im: V2TIMManager | null = null;
let me = '';
let conversations: V2TIMConversation[] = [];
let current: OpenChat | null = null;
/** The open chat's messages, oldest first; unsent ones (seq 0) at the end. */
let messages: V2TIMMessage[] = [];
let historyDone = false;
let loadingHistory = false;
/** Bumped whenever another chat opens, so late answers for the previous one are dropped. */
let openToken = 0;
/** Deletions this page started: their onConversationDeleted is not "deleted elsewhere". */
const deletingHere = new Set<string>();

function parseConversationID(id: string): OpenChat {
  if (id.startsWith('c2c_')) return { id, userID: id.slice(4), groupID: '' };
  if (id.startsWith('group_')) return { id, userID: '', groupID: id.slice(6) };
  throw new Error(`not a conversation ID: ${id}`);
}

function errorText(err: unknown): string {
  const e = err as { code?: unknown; desc?: unknown; message?: unknown } | null;
  if (e && typeof e.code === 'number' && typeof e.desc === 'string') return `${e.desc} (code ${e.code})`;
  if (e && typeof e.message === 'string') return e.message;
  return String(err);
}

let toastTimer: ReturnType<typeof setTimeout> | undefined;
function toast(text: string, kind: 'info' | 'error' = 'info'): void {
  ui.toast.textContent = text;
  ui.toast.dataset.kind = kind;
  ui.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { ui.toast.hidden = true; }, kind === 'error' ? 6000 : 3000);
}

/** `data-synced` says whether the last sync with the server finished (tests wait on it). */
function setConnection(state: 'connecting' | 'online' | 'offline', text: string, synced = false): void {
  ui.connection.dataset.state = state;
  ui.connection.dataset.synced = String(synced);
  ui.connectionText.textContent = text;
}

// ---- sign-in -------------------------------------------------------------------------------

interface UserSigReply { sdkAppID: number; userSig: string; serverUrl: string }

async function fetchUserSig(userID: string): Promise<UserSigReply> {
  const res = await fetch('/api/usersig', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userID }),
  });
  const body = await res.json().catch(() => ({})) as Partial<UserSigReply> & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `the back end answered ${res.status}`);
  if (typeof body.sdkAppID !== 'number' || typeof body.userSig !== 'string' || typeof body.serverUrl !== 'string') {
    throw new Error('the back end sent an unexpected answer');
  }
  return body as UserSigReply;
}

function showLogin(error?: string): void {
  ui.app.hidden = true;
  ui.loginView.hidden = false;
  ui.loginSubmit.disabled = false;
  ui.loginSubmit.textContent = 'Sign in';
  ui.loginInput.disabled = false;
  ui.loginError.hidden = !error;
  ui.loginError.textContent = error ?? '';
  ui.loginInput.setAttribute('aria-invalid', error ? 'true' : 'false');
  document.title = 'Confab Chat';
  ui.loginInput.focus();
}

async function signIn(userID: string): Promise<void> {
  ui.loginInput.value = userID;
  ui.loginInput.disabled = true;
  ui.loginSubmit.disabled = true;
  ui.loginSubmit.textContent = `Signing in as ${userID}…`;
  ui.loginError.hidden = true;
  let manager: V2TIMManager | undefined;
  try {
    const { sdkAppID, userSig, serverUrl } = await fetchUserSig(userID);
    manager = new V2TIMManager();
    const store = new IndexedDbStore({ dbName: DB_NAME });
    if (!manager.initSDK(sdkAppID, { serverUrl, store, platform: 'web', logLevel: 'warn' })) {
      throw new Error('the SDK refused its configuration');
    }
    attachListeners(manager);
    im = manager;
    me = userID;
    setConnection('connecting', 'Connecting…');
    await manager.login(userID, userSig);
    localStorage.setItem(USER_KEY, userID);
    showApp();
    // Straight from IndexedDB: the sync with the server runs in the background.
    await refreshConversations();
  } catch (err) {
    if (manager && im === manager) {
      im = null;
      manager.unInitSDK();
    }
    showLogin(`Could not sign in: ${errorText(err)}`);
  }
}

/** `forget`: the next page load shows the sign-in form instead of signing in again. */
async function signOut(message?: string, forget = true): Promise<void> {
  const manager = im;
  im = null;
  closeChat();
  conversations = [];
  ui.list.replaceChildren();
  ui.list.dataset.ready = 'false';
  if (forget) localStorage.removeItem(USER_KEY);
  if (manager) {
    await manager.logout().catch(() => undefined);
    manager.unInitSDK();
  }
  showLogin(message);
}

function showApp(): void {
  ui.loginView.hidden = true;
  ui.app.hidden = false;
  ui.meName.textContent = me;
  paintAvatar(ui.meAvatar, me, me);
  ui.app.dataset.view = 'list';
}

function attachListeners(manager: V2TIMManager): void {
  const live = () => im === manager;
  const sdk: V2TIMSDKListener = {
    onConnecting: () => { if (live()) setConnection('connecting', 'Connecting…'); },
    onConnectSuccess: () => { if (live()) setConnection('online', 'Online'); }, // a sync follows
    onConnectFailed: () => { if (live()) setConnection('offline', 'Offline, retrying…'); },
    onKickedOffline: () => {
      if (live()) void signOut('Signed out: this browser signed in as the same user in another tab. Use one tab per user.', false);
    },
    onUserSigExpired: () => {
      if (!live()) return;
      const user = me;
      void signOut(undefined, false).then(() => signIn(user));
    },
  };
  const conv: V2TIMConversationListener = {
    onSyncServerStart: () => { if (live()) setConnection('online', 'Syncing…'); },
    onSyncServerFinish: () => {
      if (!live()) return;
      setConnection('online', 'Online', true);
      scheduleRefresh();
    },
    onNewConversation: () => { if (live()) scheduleRefresh(); },
    onConversationChanged: (list) => {
      if (!live()) return;
      scheduleRefresh();
      const mine = current && list.find((c) => c.conversationID === current!.id);
      // History cleared on another device: its messages left the store; show that.
      if (mine && !mine.lastMessage && messages.some((m) => m.seq > 0)) void reloadChat();
    },
    onConversationDeleted: (ids) => {
      if (!live()) return;
      scheduleRefresh();
      if (current && ids.includes(current.id) && !deletingHere.has(current.id)) {
        closeChat('This conversation was deleted on another of your devices.');
      }
    },
    onTotalUnreadMessageCountChanged: (total) => {
      if (live()) document.title = total > 0 ? `(${total}) Confab Chat` : 'Confab Chat';
    },
  };
  const msg: V2TIMAdvancedMsgListener = {
    onRecvNewMessage: (m) => {
      if (!live() || !current || m.conversationID !== current.id) return;
      addMessage(m);
      if (!m.isSelf && document.visibilityState === 'visible') markCurrentRead(true);
    },
  };
  manager.addSDKListener(sdk);
  manager.getConversationManager().addConversationListener(conv);
  manager.getMessageManager().addAdvancedMsgListener(msg);
}

// ---- conversation list ------------------------------------------------------------------

let refreshing = false;
let refreshAgain = false;

function scheduleRefresh(): void {
  void refreshConversations();
}

/** Re-reads the whole list from the SDK; a burst of events while one runs makes one more pass. */
async function refreshConversations(): Promise<void> {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    do {
      refreshAgain = false;
      const manager = im;
      if (!manager) return;
      const all: V2TIMConversation[] = [];
      let next = 0;
      for (;;) {
        const page = await manager.getConversationManager().getConversationList(next, 100);
        all.push(...page.conversationList);
        if (page.isFinished) break;
        next = page.nextSeq;
      }
      if (manager !== im) return;
      conversations = all;
      renderConversations();
    } while (refreshAgain);
  } catch (err) {
    if (im) toast(`Could not read the conversation list: ${errorText(err)}`, 'error');
  } finally {
    refreshing = false;
  }
}

function preview(c: V2TIMConversation): { text: string; empty: boolean } {
  const m = c.lastMessage;
  if (!m) return { text: c.draftText ? `Draft: ${c.draftText}` : 'No messages', empty: !c.draftText };
  const body = m.textElem?.text ?? (m.customElem ? `[${m.customElem.desc || 'custom message'}]` : '');
  const who = m.isSelf ? 'You: ' : c.type === 2 ? `${m.sender}: ` : '';
  return { text: `${who}${body.replace(/\s+/g, ' ')}`, empty: false };
}

function renderConversations(): void {
  const focusedID = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('[data-conversation-id]')?.dataset.conversationId;
  const items = conversations.map((c) => {
    const isCurrent = current?.id === c.conversationID;
    // The open chat is being read: its count drops to 0 as soon as the read mark lands.
    const unread = isCurrent && document.visibilityState === 'visible' ? 0 : c.unreadCount;
    const when = c.lastMessage ? c.lastMessage.serverTime : c.draftTimestamp * 1000;
    const p = preview(c);
    const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' });
    paintAvatar(avatar, c.conversationID, c.showName);
    const button = h('button', {
      type: 'button', class: 'conversation',
      'aria-current': isCurrent ? 'true' : undefined,
      'aria-label': [
        c.showName, c.isPinned ? 'pinned' : '', unread ? `${unread} unread` : '', p.text,
      ].filter(Boolean).join(', '),
    },
    avatar,
    h('span', { class: 'conversation-main' },
      h('span', { class: 'conversation-top' },
        h('span', { class: 'conversation-name', 'data-testid': 'conversation-name' }, c.showName),
        c.isPinned ? h('span', { class: 'pinned', 'data-testid': 'pinned-indicator', title: 'Pinned' }, icon(PIN_PATH)) : null,
        when ? h('time', { class: 'conversation-time', 'data-testid': 'conversation-time', datetime: new Date(when).toISOString(), title: fullTime(when) }, listTime(when)) : null),
      h('span', { class: 'conversation-bottom' },
        h('span', { class: `conversation-preview${p.empty ? ' empty' : ''}`, 'data-testid': 'conversation-preview' }, p.text),
        unread > 0 ? h('span', { class: 'badge', 'data-testid': 'unread-badge' }, unread > 99 ? '99+' : String(unread)) : null)));
    button.addEventListener('click', () => void openConversation(c.conversationID));
    return h('li', {
      'data-testid': 'conversation-item',
      'data-conversation-id': c.conversationID,
      'data-pinned': String(c.isPinned),
      'data-unread': String(unread),
      class: c.isPinned ? 'is-pinned' : undefined,
    }, button);
  });
  ui.list.replaceChildren(...items);
  ui.list.dataset.ready = 'true';
  ui.listEmpty.hidden = conversations.length > 0;
  if (focusedID) ui.list.querySelector<HTMLElement>(`[data-conversation-id="${CSS.escape(focusedID)}"] button`)?.focus();
  if (current) renderChatHeader();
}

// ---- the open chat ------------------------------------------------------------------------

function currentConversation(): V2TIMConversation | undefined {
  return current ? conversations.find((c) => c.conversationID === current!.id) : undefined;
}

function renderChatHeader(): void {
  if (!current) return;
  const c = currentConversation();
  const name = c?.showName ?? (current.userID || current.groupID);
  ui.chatTitle.textContent = name;
  ui.chatSubtitle.textContent = current.userID ? `User ID ${current.userID}` : `Group ${current.groupID}`;
  paintAvatar(ui.chatAvatar, current.id, name);
  const pinned = c?.isPinned ?? false;
  ui.pinToggle.setAttribute('aria-pressed', String(pinned));
  ui.pinLabel.textContent = pinned ? 'Unpin' : 'Pin';
  // Not in the list yet (a new chat before its first message): nothing to pin or delete.
  const known = !!c;
  ui.pinToggle.disabled = !known;
  ui.clearHistory.disabled = !known;
  ui.deleteKeep.disabled = !known;
  ui.deleteConv.disabled = !known;
}

async function openConversation(id: string): Promise<void> {
  const token = ++openToken;
  current = parseConversationID(id);
  messages = [];
  historyDone = false;
  loadingHistory = false;
  ui.menu.open = false;
  ui.notice.hidden = true;
  ui.placeholder.hidden = true;
  ui.chatView.hidden = false;
  ui.app.dataset.view = 'chat';
  ui.chatView.dataset.conversationId = id;
  renderChatHeader();
  renderMessages('bottom');
  renderConversations();
  await loadHistory(token, 'bottom');
  if (token !== openToken) return;
  markCurrentRead();
  if (window.matchMedia('(pointer: fine)').matches) ui.composerInput.focus();
}

function closeChat(notice?: string): void {
  openToken++;
  current = null;
  messages = [];
  ui.chatView.hidden = true;
  ui.placeholder.hidden = false;
  ui.app.dataset.view = 'list';
  delete ui.chatView.dataset.conversationId;
  ui.notice.hidden = !notice;
  ui.notice.textContent = notice ?? '';
  ui.menu.open = false;
  renderConversations();
}

/** Re-reads the open chat from the start (after its history was cleared elsewhere). */
async function reloadChat(): Promise<void> {
  if (current) await openConversation(current.id);
}

/** Marks the open chat read; `force` when a message just came in (the list may lag behind). */
function markCurrentRead(force = false): void {
  const manager = im;
  const chat = current;
  if (!manager || !chat) return;
  const c = currentConversation();
  if (!force && (!c || c.unreadCount === 0)) return;
  const mm = manager.getMessageManager();
  const done = chat.userID ? mm.markC2CMessageAsRead(chat.userID) : mm.markGroupMessageAsRead(chat.groupID);
  done.catch(() => undefined); // offline: the next open marks it
}

async function loadHistory(token: number, keep: 'bottom' | 'anchor'): Promise<void> {
  const manager = im;
  const chat = current;
  if (!manager || !chat || loadingHistory || historyDone) return;
  loadingHistory = true;
  ui.loadEarlier.disabled = true;
  ui.loadEarlier.textContent = 'Loading…';
  try {
    const oldest = messages.find((m) => m.seq > 0) ?? null;
    const mm = manager.getMessageManager();
    const page = chat.userID
      ? await mm.getC2CHistoryMessageList(chat.userID, PAGE_SIZE, oldest)
      : await mm.getGroupHistoryMessageList(chat.groupID, PAGE_SIZE, oldest);
    if (token !== openToken) return;
    const known = new Set(messages.map((m) => m.msgID).filter(Boolean));
    const older = page.filter((m) => !known.has(m.msgID)).sort((a, b) => a.seq - b.seq);
    messages = [...older, ...messages];
    historyDone = page.length < PAGE_SIZE;
    renderMessages(keep);
  } catch (err) {
    if (token === openToken) toast(`Could not load messages: ${errorText(err)}`, 'error');
  } finally {
    if (token === openToken) {
      loadingHistory = false;
      ui.loadEarlier.disabled = false;
      ui.loadEarlier.textContent = 'Load earlier messages';
    }
  }
  // A short chat that does not fill the pane: keep paging until it does or the start shows.
  if (token === openToken && !historyDone && ui.scroller.scrollHeight <= ui.scroller.clientHeight) {
    await loadHistory(token, 'bottom');
  }
}

/** Sorting key: sent messages by seq, unsent ones (seq 0) after them in the order they were added. */
const orderOf = (m: V2TIMMessage): number => (m.seq > 0 ? m.seq : Number.MAX_SAFE_INTEGER);

/** Adds a live message (or updates one already shown, by msgID or clientMsgID) in seq order. */
function addMessage(m: V2TIMMessage): void {
  const i = messages.findIndex((x) => (m.msgID && x.msgID === m.msgID) || x.clientMsgID === m.clientMsgID);
  if (i >= 0) messages[i] = m;
  else messages.push(m);
  // Stable: unsent messages keep their relative order.
  messages.sort((a, b) => orderOf(a) - orderOf(b));
  renderMessages('auto');
}

const timeOf = (m: V2TIMMessage): number => m.serverTime || Date.now();

/** Consecutive messages of one sender within five minutes share a block; only the last shows the time. */
function sameBlock(a: V2TIMMessage | undefined, b: V2TIMMessage | undefined): boolean {
  return !!a && !!b && a.sender === b.sender && sameDay(timeOf(a), timeOf(b)) && Math.abs(timeOf(b) - timeOf(a)) < 5 * 60_000;
}

function messageItem(m: V2TIMMessage, prev: V2TIMMessage | undefined, next: V2TIMMessage | undefined): HTMLLIElement {
  const pending = m.status === V2TIMMessageStatus.SENDING;
  const failed = m.status === V2TIMMessageStatus.SEND_FAIL;
  const grouped = sameBlock(prev, m);
  const lastOfBlock = !sameBlock(m, next);
  const text = m.textElem?.text ?? (m.customElem ? `[${m.customElem.desc || 'custom message'}] ${m.customElem.data}` : '');
  let state: HTMLElement | null = null;
  if (pending) state = h('span', { class: 'state' }, 'Sending…');
  if (failed) {
    const retry = h('button', { type: 'button', class: 'link', 'data-testid': 'message-retry' }, 'Retry');
    retry.addEventListener('click', () => void sendText(m));
    state = h('span', { class: 'state failed' }, 'Not sent · ', retry);
  }
  const showTime = m.serverTime > 0 && lastOfBlock;
  return h('li', {
    class: ['message', m.isSelf ? 'self' : 'other', grouped ? 'grouped' : '', pending ? 'pending' : '', failed ? 'failed' : ''].filter(Boolean).join(' '),
    'data-testid': 'message',
    'data-seq': m.seq,
    'data-msg-id': m.msgID || undefined,
    'data-self': String(m.isSelf),
    'data-status': pending ? 'sending' : failed ? 'failed' : 'sent',
  },
  !m.isSelf && current?.groupID && !grouped ? h('span', { class: 'sender' }, m.sender) : null,
  h('div', { class: 'bubble', title: m.serverTime ? fullTime(m.serverTime) : undefined },
    h('span', { class: 'text', 'data-testid': 'message-text' }, text)),
  showTime || state ? h('div', { class: 'meta' },
    showTime ? h('time', { datetime: new Date(m.serverTime).toISOString() }, clockTime(m.serverTime)) : null,
    state) : null);
}

/**
 * Redraws the open chat. `bottom`: scroll to the newest; `anchor`: keep what is on screen
 * where it is (older messages were put above); `auto`: follow new messages only when the
 * reader is already at the bottom.
 */
function renderMessages(keep: 'bottom' | 'anchor' | 'auto'): void {
  const s = ui.scroller;
  const fromBottom = s.scrollHeight - s.scrollTop;
  const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  const items: HTMLLIElement[] = [];
  messages.forEach((m, i) => {
    const prev = messages[i - 1];
    if (!prev || !sameDay(timeOf(prev), timeOf(m))) {
      items.push(h('li', { class: 'day', 'data-testid': 'day-separator' }, h('span', {}, dayLabel(timeOf(m)))));
    }
    items.push(messageItem(m, prev, messages[i + 1]));
  });
  ui.messageList.replaceChildren(...items);
  const hasMessages = messages.length > 0;
  ui.chatEmpty.hidden = hasMessages || !historyDone;
  ui.loadEarlier.hidden = historyDone || !hasMessages;
  ui.historyStart.hidden = !historyDone || !hasMessages;
  if (keep === 'bottom' || (keep === 'auto' && atBottom)) s.scrollTop = s.scrollHeight;
  else if (keep === 'anchor') s.scrollTop = s.scrollHeight - fromBottom;
}

async function sendText(message: V2TIMMessage): Promise<void> {
  const manager = im;
  const chat = current;
  if (!manager || !chat) return;
  message.status = V2TIMMessageStatus.SENDING;
  addMessage(message);
  try {
    await manager.getMessageManager().sendMessage(message, chat.userID || null, chat.groupID || null);
  } catch (err) {
    toast(`Not sent: ${errorText(err)}`, 'error');
  }
  if (current?.id === chat.id) addMessage(message);
}

// ---- conversation actions ------------------------------------------------------------------

interface ConfirmOptions { kind: string; title: string; body: string[]; confirm: string }

/** A modal <dialog>; resolves true when confirmed. Cancel is focused first. */
function confirmDialog(o: ConfirmOptions): Promise<boolean> {
  ui.dialog.dataset.kind = o.kind;
  ui.dialogTitle.textContent = o.title;
  ui.dialogBody.replaceChildren(...o.body.map((text) => h('p', {}, text)));
  ui.dialogOk.textContent = o.confirm;
  ui.dialog.returnValue = '';
  return new Promise((resolve) => {
    ui.dialog.addEventListener('close', () => resolve(ui.dialog.returnValue === 'ok'), { once: true });
    ui.dialog.showModal();
  });
}

function peerName(chat: OpenChat): string {
  return currentConversation()?.showName ?? (chat.userID || chat.groupID);
}

async function togglePin(): Promise<void> {
  const manager = im;
  const c = currentConversation();
  if (!manager || !c) return;
  try {
    await manager.getConversationManager().pinConversation(c.conversationID, !c.isPinned);
    toast(c.isPinned ? 'Unpinned' : 'Pinned to the top');
  } catch (err) {
    toast(`Could not ${c.isPinned ? 'unpin' : 'pin'}: ${errorText(err)}`, 'error');
  }
}

async function deleteConversation(): Promise<void> {
  const manager = im;
  const chat = current;
  if (!manager || !chat) return;
  const name = peerName(chat);
  const ok = await confirmDialog({
    kind: 'delete',
    title: 'Delete this conversation?',
    body: [
      `The conversation with ${name} and its history are deleted on this device and on the server. They cannot be recovered.`,
      chat.userID
        ? `${name} keeps their own copy. Your other devices remove it too if the app syncs conversation deletion.`
        : 'The other members keep theirs. Your other devices remove it too if the app syncs conversation deletion.',
    ],
    confirm: 'Delete',
  });
  if (!ok || im !== manager) return;
  deletingHere.add(chat.id);
  // The reference's callback style: onSuccess once the server committed it and it is wiped here.
  manager.getConversationManager().deleteConversation(chat.id, {
    onSuccess: () => {
      deletingHere.delete(chat.id);
      if (current?.id === chat.id) closeChat();
      toast(`Deleted the conversation with ${name}`);
    },
    onError: (code, desc) => {
      deletingHere.delete(chat.id);
      toast(`Could not delete: ${desc} (code ${code})`, 'error');
    },
  });
}

async function deleteKeepHistory(): Promise<void> {
  const manager = im;
  const chat = current;
  if (!manager || !chat) return;
  const name = peerName(chat);
  const ok = await confirmDialog({
    kind: 'delete-keep-history',
    title: 'Remove from your list?',
    body: [
      `The conversation with ${name} leaves your list, here and on the server. Its history is kept on the server.`,
      `Start a chat with ${chat.userID || chat.groupID} again to see it.`,
    ],
    confirm: 'Remove',
  });
  if (!ok || im !== manager) return;
  deletingHere.add(chat.id);
  try {
    const [result] = await manager.getConversationManager().deleteConversationList([chat.id], false);
    if (result && result.resultCode !== 0) throw Object.assign(new Error(result.resultInfo), { code: result.resultCode, desc: result.resultInfo });
    if (current?.id === chat.id) closeChat();
    toast(`Removed ${name} from the list; the history is kept`);
  } catch (err) {
    toast(`Could not remove: ${errorText(err)}`, 'error');
  } finally {
    deletingHere.delete(chat.id);
  }
}

async function clearHistory(): Promise<void> {
  const manager = im;
  const chat = current;
  if (!manager || !chat) return;
  const name = peerName(chat);
  const ok = await confirmDialog({
    kind: 'clear-history',
    title: 'Clear the chat history?',
    body: [
      `Every message with ${name} is deleted on this device and on the server. It cannot be recovered.`,
      'The conversation stays in your list.',
    ],
    confirm: 'Clear history',
  });
  if (!ok || im !== manager) return;
  try {
    const mm = manager.getMessageManager();
    await (chat.userID ? mm.clearC2CHistoryMessage(chat.userID) : mm.clearGroupHistoryMessage(chat.groupID));
    if (current?.id === chat.id) {
      messages = messages.filter((m) => m.seq === 0);
      historyDone = true;
      renderMessages('bottom');
    }
    toast('History cleared');
  } catch (err) {
    toast(`Could not clear the history: ${errorText(err)}`, 'error');
  }
}

async function startChat(raw: string): Promise<void> {
  const userID = raw.trim();
  const fail = (text: string) => {
    ui.newChatError.textContent = text;
    ui.newChatError.hidden = false;
    ui.newChatInput.setAttribute('aria-invalid', 'true');
    ui.newChatInput.focus();
  };
  ui.newChatError.hidden = true;
  ui.newChatInput.removeAttribute('aria-invalid');
  const manager = im;
  if (!manager) return;
  if (!USER_ID.test(userID)) return fail('A user ID is 1-32 characters of A-Z a-z 0-9 _ . @ -');
  if (userID === me) return fail('That is you. Pick someone else.');
  try {
    const found = await manager.getUsersInfo([userID]);
    if (found.length === 0) return fail(`No user "${userID}" yet: they appear once they have signed in.`);
  } catch (err) {
    return fail(`Could not look up ${userID}: ${errorText(err)}`);
  }
  ui.newChatInput.value = '';
  await openConversation(`c2c_${userID}`);
}

// ---- wiring ---------------------------------------------------------------------------------

ui.loginForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const userID = ui.loginInput.value.trim();
  if (!USER_ID.test(userID)) {
    showLogin('A user ID is 1-32 characters of A-Z a-z 0-9 _ . @ -');
    return;
  }
  void signIn(userID);
});

ui.signOut.addEventListener('click', () => void signOut());
ui.newChatForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void startChat(ui.newChatInput.value);
});
ui.chatBack.addEventListener('click', () => closeChat());
ui.pinToggle.addEventListener('click', () => void togglePin());
ui.clearHistory.addEventListener('click', () => { ui.menu.open = false; void clearHistory(); });
ui.deleteKeep.addEventListener('click', () => { ui.menu.open = false; void deleteKeepHistory(); });
ui.deleteConv.addEventListener('click', () => { ui.menu.open = false; void deleteConversation(); });
ui.loadEarlier.addEventListener('click', () => void loadHistory(openToken, 'anchor'));
ui.scroller.addEventListener('scroll', () => {
  if (ui.scroller.scrollTop < 60 && !historyDone && !loadingHistory && messages.length > 0) void loadHistory(openToken, 'anchor');
}, { passive: true });

// The menu closes on Escape and on a click elsewhere.
document.addEventListener('click', (ev) => {
  if (ui.menu.open && !ui.menu.contains(ev.target as Node)) ui.menu.open = false;
});
ui.menu.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && ui.menu.open) {
    ui.menu.open = false;
    ui.menu.querySelector('summary')?.focus();
  }
});

function resizeComposer(): void {
  const t = ui.composerInput;
  t.style.height = 'auto';
  t.style.height = `${Math.min(t.scrollHeight, 160)}px`;
  ui.send.disabled = t.value.trim() === '';
}
ui.composerInput.addEventListener('input', resizeComposer);
ui.composerInput.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.composer.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = ui.composerInput.value.trim();
  if (!text || !im || !current) return;
  ui.composerInput.value = '';
  resizeComposer();
  void sendText(im.getMessageManager().createTextMessage(text));
});

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && current) {
    markCurrentRead();
    renderConversations();
  }
});

// Signed in before? Go straight back in: the list shows from IndexedDB.
const remembered = localStorage.getItem(USER_KEY);
if (remembered && USER_ID.test(remembered)) void signIn(remembered);
else showLogin();
