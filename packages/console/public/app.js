/**
 * The Confab admin console: a plain client of the admin API (`/admin/api/`). No build
 * step, no framework, no external resources. The session token lives in
 * sessionStorage, so it ends with the browser tab.
 */

const SESSION_KEY = 'confab.console.session';
const PAGE_SIZE = 20;
const MIN_MESSAGE_BYTES = 256;
const MAX_MESSAGE_BYTES = 1024 * 1024;
const MAX_UNDO_SECONDS = 600;
const DELETION_SYNC_CAPABILITY = 'conv.deletion-sync';

/** An error answered by the admin API (`{ code, desc }`), or a network failure (status 0). */
class ApiError extends Error {
  constructor(status, code, desc) {
    super(desc);
    this.status = status;
    this.code = code;
    this.desc = desc;
  }
}

const state = {
  /** `{ token, scope, expiresAt }` or null */
  session: null,
  apps: [],
  /** The selected app as last read from the server. */
  app: null,
  deletions: { userID: '', before: undefined, cursors: [], rows: [], hasMore: false },
  expiryTimer: 0,
  /** Re-renders the deletions table when the earliest shown undo window closes. */
  undoTimer: 0,
};

const $ = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
};

/** Builds an element: `h('td', { className: 'num', 'data-testid': 'x' }, 'text', child)`. */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') el.className = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function describeError(err) {
  if (err instanceof ApiError) return err.status === 0 ? err.desc : `${err.desc} (code ${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

function showError(el, err) {
  el.textContent = typeof err === 'string' ? err : describeError(err);
  el.hidden = false;
}

function hideError(el) {
  el.textContent = '';
  el.hidden = true;
}

function formatTime(ms, stacked = false) {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms <= 0) return null;
  const date = new Date(ms);
  const attrs = { datetime: date.toISOString(), title: date.toISOString() };
  // Stacked: the date above the time, for narrow table columns.
  if (stacked) return h('time', { ...attrs, className: 'stacked' }, h('span', {}, date.toLocaleDateString()), ' ', h('span', {}, date.toLocaleTimeString()));
  return h('time', attrs, date.toLocaleString());
}

/** `HH:MM:SS`, local time, 24-hour. */
function formatClock(ms) {
  const date = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** `off`, `45 s`, `2 min`, `2 min 30 s`. */
function formatSeconds(n) {
  if (!Number.isFinite(n)) return '';
  if (n === 0) return 'off';
  const min = Math.floor(n / 60);
  const sec = n % 60;
  if (min === 0) return `${sec} s`;
  return sec === 0 ? `${min} min` : `${min} min ${sec} s`;
}

function formatBytes(n) {
  if (!Number.isFinite(n)) return '';
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(2)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(2)} KiB`;
  return `${n} B`;
}

// ---------------------------------------------------------------------------
// Session and API
// ---------------------------------------------------------------------------

function loadSession() {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const session = JSON.parse(raw);
    if (typeof session?.token !== 'string' || typeof session.expiresAt !== 'number' || session.expiresAt <= Date.now()) {
      sessionStorage.removeItem(SESSION_KEY);
      return null;
    }
    return session;
  } catch {
    return null;
  }
}

function saveSession(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const authed = path !== '/admin/api/login';
  if (authed && state.session) headers.authorization = `Bearer ${state.session.token}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    throw new ApiError(0, 0, 'Could not reach the server. Check that it is running and try again.');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data?.code ?? res.status, data?.desc ?? `HTTP ${res.status} ${res.statusText}`);
    // The session is no longer accepted (expired, or the key behind it changed).
    if (res.status === 401 && authed && state.session) signOut(`You were signed out: ${describeError(err)}`);
    throw err;
  }
  return data;
}

// ---------------------------------------------------------------------------
// Sign in / out
// ---------------------------------------------------------------------------

function signInMode() {
  return document.querySelector('input[name="mode"]:checked')?.value === 'app' ? 'app' : 'operator';
}

function updateSignInMode() {
  const app = signInMode() === 'app';
  $('signin-operator-fields').hidden = app;
  $('signin-app-fields').hidden = !app;
  $('signin-operator-token').required = !app;
  $('signin-sdkappid').required = app;
  $('signin-secret').required = app;
}

async function onSignIn(event) {
  event.preventDefault();
  const errorEl = $('signin-error');
  hideError(errorEl);
  let body;
  let focusOnError;
  if (signInMode() === 'operator') {
    const operatorToken = $('signin-operator-token').value;
    focusOnError = $('signin-operator-token');
    if (!operatorToken) return fail('Enter the operator token.');
    body = { operatorToken };
  } else {
    const idText = $('signin-sdkappid').value.trim();
    const secretKey = $('signin-secret').value;
    focusOnError = $('signin-sdkappid');
    if (!/^[1-9][0-9]*$/.test(idText)) return fail('Enter the app\'s SDKAppID (a number).');
    if (!secretKey) {
      focusOnError = $('signin-secret');
      return fail('Enter the app\'s secret key.');
    }
    body = { sdkAppID: Number(idText), secretKey };
  }
  const button = event.submitter instanceof HTMLButtonElement ? event.submitter : null;
  if (button) button.disabled = true;
  let result;
  try {
    result = await api('POST', '/admin/api/login', body);
  } catch (err) {
    fail(err);
    return;
  } finally {
    if (button) button.disabled = false;
  }
  state.session = { token: result.token, scope: result.scope, expiresAt: result.expiresAt };
  saveSession(state.session);
  $('signin-form').reset();
  updateSignInMode();
  await enterConsole();

  function fail(err) {
    showError(errorEl, err);
    focusOnError.focus();
  }
}

function signOut(message) {
  state.session = null;
  state.apps = [];
  state.app = null;
  clearTimeout(state.expiryTimer);
  sessionStorage.removeItem(SESSION_KEY);
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  hideNewSecret();
  $('user-result').replaceChildren();
  clearTimeout(state.undoTimer);
  state.deletions = { userID: '', before: undefined, cursors: [], rows: [], hasMore: false };
  $('deletions-body').replaceChildren();
  showSignIn();
  if (message) showError($('signin-error'), message);
}

function showSignIn() {
  $('console-view').hidden = true;
  $('session').hidden = true;
  hideError($('global-error'));
  $('signin-view').hidden = false;
  document.title = 'Sign in · Confab console';
  (signInMode() === 'app' ? $('signin-sdkappid') : $('signin-operator-token')).focus();
}

async function enterConsole() {
  const { session } = state;
  $('signin-view').hidden = true;
  hideError($('signin-error'));
  $('console-view').hidden = false;
  $('session').hidden = false;
  const operator = session.scope === 'operator';
  const scope = $('session-scope');
  scope.textContent = operator ? 'Operator · all apps' : `App ${session.scope}`;
  scope.title = `Session ends ${new Date(session.expiresAt).toLocaleString()}`;
  $('create-app-form').hidden = !operator;
  clearTimeout(state.expiryTimer);
  const left = session.expiresAt - Date.now();
  if (left < 2 ** 31 - 1) state.expiryTimer = setTimeout(() => signOut('Your session expired. Sign in again.'), Math.max(left, 0));
  document.title = 'Confab console';
  await loadApps();
  const wanted = appIDFromHash();
  if (wanted !== undefined) await selectApp(wanted);
  else if (state.apps.length === 1) await selectApp(state.apps[0].sdkAppID);
  else showNoApp();
  $('main').focus();
}

// ---------------------------------------------------------------------------
// Apps
// ---------------------------------------------------------------------------

function appIDFromHash() {
  const match = /^#\/apps\/(\d+)$/.exec(location.hash);
  return match ? Number(match[1]) : undefined;
}

async function loadApps() {
  try {
    const { apps } = await api('GET', '/admin/api/apps');
    state.apps = apps;
    hideError($('global-error'));
  } catch (err) {
    if (!state.session) return;
    showError($('global-error'), `Could not load the apps: ${describeError(err)}`);
  }
  renderApps();
}

function renderApps() {
  const list = $('app-list');
  list.replaceChildren(...state.apps.map((app) => {
    const selected = state.app?.sdkAppID === app.sdkAppID;
    return h('li', { 'data-testid': `app-row-${app.sdkAppID}` },
      h('button', {
        type: 'button', className: 'app-item', 'aria-current': selected ? 'true' : undefined,
        'data-testid': `app-open-${app.sdkAppID}`, onclick: () => navigateToApp(app.sdkAppID),
      },
      h('span', { className: 'app-item-name' }, app.name),
      h('span', { className: 'app-item-id' }, String(app.sdkAppID)),
      app.settings?.syncConversationDeletion ? h('span', { className: 'tag', title: 'Conversation deletion sync is on' }, 'sync on') : null));
  }));
  $('app-list-empty').hidden = state.apps.length > 0;
}

function navigateToApp(sdkAppID) {
  const hash = `#/apps/${sdkAppID}`;
  if (location.hash === hash) void selectApp(sdkAppID);
  else location.hash = hash; // hashchange selects it
}

function showNoApp() {
  state.app = null;
  $('app-panel').hidden = true;
  $('no-app-selected').hidden = false;
  renderApps();
}

async function selectApp(sdkAppID) {
  let app;
  try {
    ({ app } = await api('GET', `/admin/api/apps/${sdkAppID}`));
  } catch (err) {
    if (!state.session) return;
    showError($('global-error'), `Could not open app ${sdkAppID}: ${describeError(err)}`);
    showNoApp();
    return;
  }
  hideError($('global-error'));
  const changed = state.app?.sdkAppID !== app.sdkAppID;
  state.app = app;
  $('no-app-selected').hidden = true;
  $('app-panel').hidden = false;
  $('app-title').textContent = app.name;
  $('app-meta').replaceChildren(`SDKAppID ${app.sdkAppID} · created `, formatTime(app.createdAt) ?? '—');
  document.title = `${app.name} · Confab console`;
  fillSettings(app.settings);
  setStatus('', '');
  if (changed) {
    $('user-result').replaceChildren();
    hideError($('user-error'));
    $('user-id-input').value = '';
    $('deletions-user-filter').value = '';
    state.deletions = { userID: '', before: undefined, cursors: [], rows: [], hasMore: false };
    $('deletions-body').replaceChildren();
  }
  renderApps();
  await loadDeletions();
}

async function onCreateApp(event) {
  event.preventDefault();
  const errorEl = $('create-app-error');
  hideError(errorEl);
  const name = $('create-app-name').value.trim();
  if (!name) {
    showError(errorEl, 'Give the app a name.');
    $('create-app-name').focus();
    return;
  }
  const button = event.submitter instanceof HTMLButtonElement ? event.submitter : null;
  if (button) button.disabled = true;
  try {
    const { app } = await api('POST', '/admin/api/apps', { name });
    $('create-app-name').value = '';
    showNewSecret(app);
    await loadApps();
    navigateToApp(app.sdkAppID);
  } catch (err) {
    showError(errorEl, err);
  } finally {
    if (button) button.disabled = false;
  }
}

function showNewSecret(app, rotated = false) {
  $('new-app-secret-title').textContent = rotated ? 'New secret key — copy it now' : 'App created — copy its secret key now';
  $('new-app-id').textContent = String(app.sdkAppID);
  $('new-app-secret-value').textContent = app.secretKey;
  $('copy-secret').textContent = 'Copy';
  $('new-app-secret').hidden = false;
  $('copy-secret').focus();
}

async function onRotateSecret() {
  const app = state.app;
  if (!app) return;
  const errorEl = $('rotate-secret-error');
  hideError(errorEl);
  // Irreversible, and every UserSig signed with the old key stops working at its next login.
  if (!confirm(`Give ${app.name} (${app.sdkAppID}) a new secret key? UserSigs made with the current key will be refused from their next login on, and your app back end needs the new key.`)) return;
  $('rotate-secret').disabled = true;
  try {
    const result = await api('POST', `/admin/api/apps/${app.sdkAppID}/rotate-secret`, {});
    // Signed in with this app's key: that session was signed with the old key; the reply carries one signed with the new key.
    if (result.session) {
      state.session = { ...state.session, token: result.session.token, expiresAt: result.session.expiresAt };
      saveSession(state.session);
    }
    showNewSecret(result.app, true);
  } catch (err) {
    showError(errorEl, err);
  } finally {
    $('rotate-secret').disabled = false;
  }
}

function hideNewSecret() {
  $('new-app-secret').hidden = true;
  $('new-app-secret-value').textContent = '';
  $('new-app-id').textContent = '';
}

async function copySecret() {
  const text = $('new-app-secret-value').textContent ?? '';
  try {
    await navigator.clipboard.writeText(text);
    $('copy-secret').textContent = 'Copied';
  } catch {
    // No clipboard access (e.g. plain http on another host): select it for a manual copy.
    const range = document.createRange();
    range.selectNodeContents($('new-app-secret-value'));
    const selection = getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
    $('copy-secret').textContent = 'Press Ctrl+C';
  }
}

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

function fillSettings(settings) {
  $('setting-sync-deletion').checked = Boolean(settings.syncConversationDeletion);
  $('setting-undo-seconds').value = String(settings.deletionUndoSeconds ?? 0);
  $('setting-max-bytes').value = String(settings.maxMessageBytes);
  $('setting-revoke-seconds').value = String(settings.revokeWindowSeconds ?? 120);
  $('setting-revoke-seconds').removeAttribute('aria-invalid');
  $('setting-undo-seconds').removeAttribute('aria-invalid');
  $('setting-max-bytes').removeAttribute('aria-invalid');
  onSettingsInput();
}

function readNumber(id) {
  const text = $(id).value.trim();
  // An input of type number reads '' for text it cannot parse (e.g. "1e"); both are invalid.
  return text === '' ? NaN : Number(text);
}

function readSettingsForm() {
  return {
    syncConversationDeletion: $('setting-sync-deletion').checked,
    deletionUndoSeconds: readNumber('setting-undo-seconds'),
    maxMessageBytes: readNumber('setting-max-bytes'),
    revokeWindowSeconds: readNumber('setting-revoke-seconds'),
  };
}

function settingsPatch() {
  if (!state.app) return {};
  const saved = state.app.settings;
  const form = readSettingsForm();
  const patch = {};
  if (form.syncConversationDeletion !== saved.syncConversationDeletion) patch.syncConversationDeletion = form.syncConversationDeletion;
  if (form.deletionUndoSeconds !== (saved.deletionUndoSeconds ?? 0)) patch.deletionUndoSeconds = form.deletionUndoSeconds;
  if (form.maxMessageBytes !== saved.maxMessageBytes) patch.maxMessageBytes = form.maxMessageBytes;
  if (form.revokeWindowSeconds !== (saved.revokeWindowSeconds ?? 120)) patch.revokeWindowSeconds = form.revokeWindowSeconds;
  return patch;
}

function onSettingsInput() {
  const form = readSettingsForm();
  $('sync-deletion-state').textContent = form.syncConversationDeletion ? 'On' : 'Off';
  $('undo-seconds-human').textContent = Number.isFinite(form.deletionUndoSeconds) ? `= ${formatSeconds(form.deletionUndoSeconds)}` : '';
  $('max-bytes-human').textContent = Number.isFinite(form.maxMessageBytes) ? `= ${formatBytes(form.maxMessageBytes)}` : '';
  $('revoke-seconds-human').textContent = Number.isFinite(form.revokeWindowSeconds) ? `= ${formatSeconds(form.revokeWindowSeconds)}` : '';
  const dirty = Object.keys(settingsPatch()).length > 0;
  $('settings-save').disabled = !dirty;
  $('settings-reset').disabled = !dirty;
  if (dirty) setStatus('Unsaved changes', 'pending');
  else if ($('settings-status').dataset.kind === 'pending') setStatus('', '');
}

function setStatus(text, kind) {
  const el = $('settings-status');
  el.textContent = text;
  el.dataset.kind = kind;
}

async function onSaveSettings(event) {
  event.preventDefault();
  if (!state.app) return;
  const patch = settingsPatch();
  if (Object.keys(patch).length === 0) return;
  $('setting-undo-seconds').removeAttribute('aria-invalid');
  $('setting-max-bytes').removeAttribute('aria-invalid');
  if ('deletionUndoSeconds' in patch) {
    const n = patch.deletionUndoSeconds;
    if (!Number.isInteger(n) || n < 0 || n > MAX_UNDO_SECONDS) {
      return invalid('setting-undo-seconds', `The undo window must be a whole number of seconds from 0 (off) to ${MAX_UNDO_SECONDS}.`);
    }
  }
  if ('revokeWindowSeconds' in patch) {
    const n = patch.revokeWindowSeconds;
    if (!Number.isInteger(n) || n < 0 || n > 604800) {
      return invalid('setting-revoke-seconds', 'The recall window must be a whole number of seconds from 0 to 604800 (7 days).');
    }
  }
  if ('maxMessageBytes' in patch) {
    const n = patch.maxMessageBytes;
    if (!Number.isInteger(n) || n < MIN_MESSAGE_BYTES || n > MAX_MESSAGE_BYTES) {
      return invalid('setting-max-bytes', `Maximum message size must be a whole number from ${MIN_MESSAGE_BYTES} to ${MAX_MESSAGE_BYTES} bytes.`);
    }
  }
  const sdkAppID = state.app.sdkAppID;
  $('settings-save').disabled = true;
  setStatus('Saving…', 'pending');
  try {
    const { app } = await api('PATCH', `/admin/api/apps/${sdkAppID}/settings`, patch);
    if (state.app?.sdkAppID !== sdkAppID) return;
    state.app = app;
    state.apps = state.apps.map((a) => (a.sdkAppID === app.sdkAppID ? { ...a, settings: app.settings } : a));
    fillSettings(app.settings);
    const sync = app.settings.syncConversationDeletion ? 'on' : 'off';
    const undo = app.settings.deletionUndoSeconds ? formatSeconds(app.settings.deletionUndoSeconds) : 'off';
    setStatus(`Saved at ${new Date().toLocaleTimeString()}. Deletion sync is ${sync}; undo window ${undo}; maximum message size ${formatBytes(app.settings.maxMessageBytes)}.`, 'success');
    renderApps();
  } catch (err) {
    setStatus(`Could not save: ${describeError(err)}`, 'error');
    onSettingsInputKeepStatus();
  }

  function invalid(id, message) {
    setStatus(message, 'error');
    $(id).setAttribute('aria-invalid', 'true');
    $(id).focus();
  }
}

/** Re-enables the buttons after a failed save without clearing the error. */
function onSettingsInputKeepStatus() {
  const dirty = Object.keys(settingsPatch()).length > 0;
  $('settings-save').disabled = !dirty;
  $('settings-reset').disabled = !dirty;
}

// ---------------------------------------------------------------------------
// User lookup
// ---------------------------------------------------------------------------

async function onUserLookup(event) {
  event?.preventDefault();
  if (!state.app) return;
  const userID = $('user-id-input').value.trim();
  const errorEl = $('user-error');
  hideError(errorEl);
  if (!userID) {
    showError(errorEl, 'Enter a user ID.');
    $('user-id-input').focus();
    return;
  }
  const sdkAppID = state.app.sdkAppID;
  const result = $('user-result');
  result.setAttribute('aria-busy', 'true');
  try {
    const data = await api('GET', `/admin/api/apps/${sdkAppID}/users/${encodeURIComponent(userID)}`);
    if (state.app?.sdkAppID !== sdkAppID) return;
    renderUser(data);
  } catch (err) {
    result.replaceChildren();
    showError(errorEl, err);
  } finally {
    result.removeAttribute('aria-busy');
  }
}

function yesNo(value) {
  return value ? 'Yes' : 'No';
}

/** Appends the next page of the user's conversations (the admin API pages them) and re-renders. */
async function loadMoreConversations(data, button) {
  const sdkAppID = state.app?.sdkAppID;
  if (sdkAppID === undefined || !data.conversationsCursor) return;
  button.disabled = true;
  try {
    const params = new URLSearchParams({ conversationsCursor: data.conversationsCursor });
    const next = await api('GET', `/admin/api/apps/${sdkAppID}/users/${encodeURIComponent(data.user.userID)}?${params}`);
    if (state.app?.sdkAppID !== sdkAppID) return;
    renderUser({ ...data, conversations: [...data.conversations, ...next.conversations], conversationsCursor: next.conversationsCursor });
  } catch (err) {
    button.disabled = false;
    showError($('user-error'), err);
  }
}

function renderUser(data) {
  const { user, conversations } = data;
  const syncOn = Boolean(state.app?.settings.syncConversationDeletion);
  const profile = h('dl', { className: 'profile', 'data-testid': 'user-profile' },
    h('div', {}, h('dt', {}, 'User ID'), h('dd', { 'data-testid': 'user-profile-id' }, user.userID)),
    h('div', {}, h('dt', {}, 'Nickname'), h('dd', {}, user.nickName || '—')),
    h('div', {}, h('dt', {}, 'Created'), h('dd', {}, formatTime(user.createdAt) ?? '—')),
    h('div', {}, h('dt', {}, 'Sync version'), h('dd', { className: 'num' }, String(user.syncVersion))),
    h('div', {}, h('dt', {}, 'Online devices'), h('dd', { className: 'num', 'data-testid': 'user-online-count' }, String(user.onlineSessions.length))));

  const devices = user.onlineSessions.length === 0
    ? h('p', { className: 'muted empty', 'data-testid': 'user-devices' }, 'Not online on any device.')
    : h('div', { className: 'table-wrap' }, h('table', { className: 'data', 'data-testid': 'user-devices' },
      h('caption', { className: 'visually-hidden' }, 'Online devices'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Device'), h('th', { scope: 'col' }, 'Node'), h('th', { scope: 'col', className: 'num' }, 'Protocol'),
        h('th', { scope: 'col' }, 'Capabilities'), h('th', { scope: 'col' }, 'Receives deletion sync'))),
      h('tbody', {}, user.onlineSessions.map((s) => {
        const capable = s.capabilities.includes(DELETION_SYNC_CAPABILITY);
        return h('tr', { 'data-testid': 'device-row', 'data-device-id': s.deviceID },
          h('td', {}, h('code', {}, s.deviceID || '(none)')),
          h('td', { 'data-testid': 'device-node' }, h('code', {}, s.node)),
          h('td', { className: 'num' }, `v${s.protocolVersion}`),
          h('td', {}, s.capabilities.length
            ? h('ul', { className: 'chips', 'aria-label': 'Capabilities' }, s.capabilities.map((c) => h('li', { className: 'chip' }, c)))
            : h('span', { className: 'muted' }, 'none')),
          h('td', { 'data-testid': 'device-receives-sync' }, capable
            ? (syncOn ? 'Yes' : 'Supported (setting off)')
            : 'No (SDK did not declare support)'));
      }))));

  const convs = conversations.length === 0
    ? h('p', { className: 'muted empty', 'data-testid': 'user-conversations' }, 'No conversations.')
    : h('div', { className: 'table-wrap' }, h('table', { className: 'data', 'data-testid': 'user-conversations' },
      h('caption', { className: 'visually-hidden' }, 'Conversations, including deleted ones'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Conversation'), h('th', { scope: 'col' }, 'State'),
        h('th', { scope: 'col', className: 'num' }, 'Unread'), h('th', { scope: 'col' }, 'Pinned'),
        h('th', { scope: 'col', className: 'num' }, 'Visible from seq'), h('th', { scope: 'col', className: 'num' }, 'Last seq'),
        h('th', { scope: 'col' }, 'Last message'), h('th', { scope: 'col', className: 'num' }, 'Version'))),
      h('tbody', {}, conversations.map((c) => h('tr', {
        'data-testid': 'conv-row', 'data-conversation-id': c.conversationID, 'data-deleted': String(c.deleted),
        className: c.deleted ? 'row-tombstone' : undefined,
      },
      h('td', {}, h('code', {}, c.conversationID), h('span', { className: 'muted small block' }, c.type === 2 ? 'group' : 'one-to-one')),
      h('td', { 'data-testid': 'conv-state' }, c.deleted
        ? h('span', { className: 'badge badge-deleted', title: 'Deleted by this user: a tombstone until a new message brings it back' }, 'deleted')
        : h('span', { className: 'badge badge-active' }, 'active')),
      h('td', { className: 'num', 'data-testid': 'conv-unread' }, String(c.unreadCount)),
      h('td', { 'data-testid': 'conv-pinned' }, yesNo(c.isPinned)),
      h('td', { className: 'num', 'data-testid': 'conv-visible-from' }, String(c.visibleFromSeq)),
      h('td', { className: 'num' }, String(c.lastSeq)),
      h('td', {}, c.lastMessage
        ? h('span', {}, `#${c.lastMessage.seq} from `, h('code', {}, c.lastMessage.sender), ', ', formatTime(c.lastMessage.timestamp) ?? '—')
        : h('span', { className: 'muted' }, '—')),
      h('td', { className: 'num' }, String(c.version)))))));

  $('user-result').replaceChildren(
    profile,
    h('h3', {}, 'Online devices'),
    devices,
    h('div', { className: 'subhead' },
      h('h3', {}, `Conversations (${conversations.length}${data.conversationsCursor ? '+' : ''})`),
      h('button', {
        type: 'button', className: 'btn btn-ghost btn-small', 'data-testid': 'user-show-deletions',
        onclick: () => filterDeletions(user.userID),
      }, 'Show this user\'s deletions')),
    h('p', { className: 'muted small' }, 'Content-free: the console shows that a last message exists, never what it says.'),
    convs,
    ...(data.conversationsCursor ? [h('button', {
      type: 'button', className: 'btn btn-ghost btn-small', 'data-testid': 'user-more-conversations',
      onclick: (event) => loadMoreConversations(data, event.currentTarget),
    }, 'Load more conversations')] : []));
}

// ---------------------------------------------------------------------------
// Deletions audit
// ---------------------------------------------------------------------------

async function loadDeletions() {
  if (!state.app) return;
  const sdkAppID = state.app.sdkAppID;
  const d = state.deletions;
  const params = new URLSearchParams({ limit: String(PAGE_SIZE + 1) });
  if (d.userID) params.set('userID', d.userID);
  if (d.before !== undefined) params.set('before', String(d.before));
  const errorEl = $('deletions-error');
  hideError(errorEl);
  $('deletions-body').setAttribute('aria-busy', 'true');
  try {
    const { deletions, storage } = await api('GET', `/admin/api/apps/${sdkAppID}/deletions?${params}`);
    if (state.app?.sdkAppID !== sdkAppID) return;
    d.storage = storage;
    d.hasMore = deletions.length > PAGE_SIZE;
    d.rows = deletions.slice(0, PAGE_SIZE);
    renderDeletions();
  } catch (err) {
    showError(errorEl, err);
  } finally {
    $('deletions-body').removeAttribute('aria-busy');
  }
}

const MODE_LABELS = {
  delete: 'Delete',
  deleteKeepHistory: 'Delete, keep history',
  clearHistory: 'Clear history',
};

const STATE_TITLES = {
  pending: 'The hidden messages are not yet physically erased',
  purged: 'The hidden messages were physically erased',
  kept: 'History was kept: nothing to erase',
  undone: 'Undone from one of the user\'s devices: the conversation was restored',
};

/** The State cell: the badge; until when the deletion can still be undone, or when it was purged. */
function stateCell(r, now) {
  const undoable = r.state !== 'undone' && typeof r.undoUntil === 'number' && r.undoUntil > now;
  let title = STATE_TITLES[r.state];
  if (r.state === 'undone' && typeof r.undoneAt === 'number') title += ` at ${new Date(r.undoneAt).toLocaleString()}`;
  return h('td', {},
    h('span', { className: `badge badge-${r.state}`, 'data-testid': 'deletion-state', title }, r.state),
    undoable
      ? h('span', { className: 'muted small block undo-until', 'data-testid': 'deletion-undo-until' },
        'undo until ', h('time', { datetime: new Date(r.undoUntil).toISOString(), title: new Date(r.undoUntil).toLocaleString() }, formatClock(r.undoUntil)))
      : null,
    r.state === 'purged' && typeof r.purgedAt === 'number'
      ? h('span', { className: 'muted small block', 'data-testid': 'deletion-purged-at' }, formatTime(r.purgedAt, true))
      : null,
    r.state === 'purged' ? erasureLine(r) : null);
}

const BACKEND_NAMES = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

/**
 * "Rows deleted" and "bytes erased" are two steps: on PostgreSQL the tables that held the
 * rows are rewritten a little after the rows are deleted, and until then their bytes are
 * still in the database files.
 */
function erasureLine(r) {
  const backend = BACKEND_NAMES[state.deletions.storage] ?? 'the database';
  const erased = typeof r.erasedAt === 'number';
  return h('span', {
    className: `small block ${erased ? 'erased' : 'muted'}`, 'data-testid': 'deletion-erasure', 'data-erased': String(erased),
    title: erased
      ? `Rows deleted, and their bytes erased from the ${backend} files at ${new Date(r.erasedAt).toLocaleString()}`
      : `Rows deleted; their bytes are still in the ${backend} files until the next erasure`,
  }, erased ? `bytes erased (${backend}) at ${formatClock(r.erasedAt)}` : `rows deleted, bytes not yet erased (${backend})`);
}

/**
 * A device ID as a table shows it: random IDs are 36 characters (a UUID), which pushed
 * the "wiped n/m" column out of a 1280 px window. The first 8 characters tell devices
 * apart; the whole ID is in the tooltip.
 */
function deviceCode(id) {
  if (!id) return h('code', {}, '(none)');
  return id.length > 12 ? h('code', { title: id, 'data-full-id': id }, `${id.slice(0, 8)}…`) : h('code', {}, id);
}

/** The Devices cell: "wiped on N of M", opening to each device and whether it wiped the deletion. */
function devicesCell(r, open) {
  const devices = Array.isArray(r.devices) ? r.devices : [];
  if (devices.length === 0) {
    return h('td', { 'data-testid': 'deletion-devices', 'data-wiped': '0', 'data-total': '0' },
      h('span', { className: 'muted', title: 'None of the user\'s devices is told of deletions' }, '—'));
  }
  const wiped = devices.filter((x) => x.wiped).length;
  const describe = (x) => {
    const what = x.deviceID === r.deviceID ? 'wiped (deleted here)' : x.wiped ? 'wiped' : 'not yet wiped';
    const seen = Number.isFinite(x.lastSeen) && x.lastSeen > 0 ? `, last seen ${new Date(x.lastSeen).toLocaleString()}` : '';
    return `${x.deviceID || '(no device ID)'}: ${what}${seen}`;
  };
  const all = wiped === devices.length;
  return h('td', { 'data-testid': 'deletion-devices', 'data-wiped': String(wiped), 'data-total': String(devices.length) },
    h('details', { className: 'devices', open: open.has(String(r.id)) },
      h('summary', { title: devices.map(describe).join('\n'), 'data-testid': 'deletion-devices-summary' },
        h('span', { className: all ? 'wiped-all' : 'wiped-some' }, `wiped on ${wiped} of ${devices.length}`)),
      h('ul', { className: 'device-list', 'aria-label': 'Devices told of this deletion' }, devices.map((x) =>
        h('li', { 'data-testid': 'deletion-device', 'data-device-id': x.deviceID, 'data-wiped': String(x.wiped), title: describe(x) },
          h('span', { className: x.wiped ? 'mark mark-yes' : 'mark mark-no', 'aria-hidden': 'true' }, x.wiped ? '✓' : '…'),
          deviceCode(x.deviceID),
          h('span', { className: 'muted small device-what' }, x.deviceID === r.deviceID ? 'deleted here' : x.wiped ? 'wiped' : 'not yet wiped'))))));
}

/** Re-renders when the earliest "undo until" shown passes, so it does not linger. */
function scheduleUndoExpiry(now) {
  clearTimeout(state.undoTimer);
  const next = Math.min(...state.deletions.rows
    .filter((r) => r.state !== 'undone' && typeof r.undoUntil === 'number' && r.undoUntil > now)
    .map((r) => r.undoUntil));
  if (Number.isFinite(next)) state.undoTimer = setTimeout(() => { if (state.app) renderDeletions(); }, next - now + 250);
}

function renderDeletions() {
  const d = state.deletions;
  const body = $('deletions-body');
  const now = Date.now();
  // Keep open device lists open across a refresh.
  const open = new Set([...body.querySelectorAll('tr[data-id] details[open]')].map((el) => el.closest('tr')?.dataset.id));
  if (d.rows.length === 0) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: '9', className: 'muted empty', 'data-testid': 'deletions-empty' },
      d.userID ? `No deletions by ${d.userID}${d.cursors.length ? ' on this page' : ''}.` : 'No deletions yet.')));
  } else {
    body.replaceChildren(...d.rows.map((r) => h('tr', {
      'data-testid': 'deletion-row', 'data-state': r.state, 'data-id': String(r.id),
      className: r.state === 'undone' ? 'row-undone' : undefined,
    },
      h('td', { className: 'num' }, String(r.id)),
      h('td', {}, formatTime(r.createdAt, true) ?? '—'),
      h('td', {}, h('button', {
        type: 'button', className: 'link', title: `Look up ${r.userID}`, 'data-testid': 'deletion-user',
        onclick: () => lookUp(r.userID),
      }, r.userID)),
      h('td', { 'data-testid': 'deletion-conversation' }, h('code', {}, r.conversationID)),
      h('td', {}, r.deviceID ? deviceCode(r.deviceID) : h('span', { className: 'muted' }, '—')),
      h('td', {}, MODE_LABELS[r.mode] ?? r.mode),
      h('td', { className: 'num' }, r.watermarkSeq === null ? '—' : String(r.watermarkSeq)),
      stateCell(r, now),
      devicesCell(r, open))));
  }
  scheduleUndoExpiry(now);
  const page = d.cursors.length + 1;
  const updated = ` · as of ${new Date().toLocaleTimeString()}`;
  $('deletions-page-info').textContent = d.rows.length
    ? `Page ${page} · ${d.rows.length} ${d.rows.length === 1 ? 'entry' : 'entries'}${d.userID ? ` by ${d.userID}` : ''}${updated}`
    : `Page ${page}${updated}`;
  $('deletions-newer').disabled = d.cursors.length === 0;
  $('deletions-older').disabled = !d.hasMore;
}

function filterDeletions(userID) {
  $('deletions-user-filter').value = userID;
  state.deletions = { userID, before: undefined, cursors: [], rows: [], hasMore: false };
  void loadDeletions();
  $('deletions-title').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

function lookUp(userID) {
  $('user-id-input').value = userID;
  void onUserLookup();
  $('user-title').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

function olderDeletions() {
  const d = state.deletions;
  const last = d.rows[d.rows.length - 1];
  if (!d.hasMore || !last) return;
  d.cursors.push(d.before);
  d.before = last.id;
  void loadDeletions();
}

function newerDeletions() {
  const d = state.deletions;
  if (d.cursors.length === 0) return;
  d.before = d.cursors.pop();
  void loadDeletions();
}

// ---------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------

function init() {
  for (const radio of document.querySelectorAll('input[name="mode"]')) radio.addEventListener('change', () => {
    updateSignInMode();
    hideError($('signin-error'));
  });
  $('signin-form').addEventListener('submit', onSignIn);
  $('signout').addEventListener('click', () => signOut());
  $('apps-refresh').addEventListener('click', () => void loadApps());
  $('create-app-form').addEventListener('submit', onCreateApp);
  $('copy-secret').addEventListener('click', () => void copySecret());
  $('dismiss-secret').addEventListener('click', hideNewSecret);
  $('rotate-secret').addEventListener('click', () => void onRotateSecret());
  $('settings-form').addEventListener('submit', onSaveSettings);
  $('settings-form').addEventListener('input', onSettingsInput);
  $('settings-form').addEventListener('change', onSettingsInput);
  $('settings-reset').addEventListener('click', () => {
    if (state.app) fillSettings(state.app.settings);
    setStatus('', '');
  });
  $('user-form').addEventListener('submit', onUserLookup);
  $('deletions-form').addEventListener('submit', (event) => {
    event.preventDefault();
    filterDeletions($('deletions-user-filter').value.trim());
  });
  $('deletions-clear').addEventListener('click', () => filterDeletions(''));
  $('deletions-refresh').addEventListener('click', () => void loadDeletions());
  $('deletions-older').addEventListener('click', olderDeletions);
  $('deletions-newer').addEventListener('click', newerDeletions);
  addEventListener('hashchange', () => {
    if (!state.session) return;
    const id = appIDFromHash();
    if (id !== undefined) void selectApp(id);
    else showNoApp();
  });

  updateSignInMode();
  state.session = loadSession();
  if (state.session) void enterConsole();
  else showSignIn();
}

init();
