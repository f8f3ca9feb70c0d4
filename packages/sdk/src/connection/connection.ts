/**
 * One logged-in session's link to the server: a small state machine around one WebSocket
 * at a time, in the style of centrifuge-js.
 *
 * ```
 *            start()                 login ok
 *   ┌──────────────┐ connecting ───────────────▶ connected
 *   │              ▲     │ socket closed /           │ socket closed, ping timeout
 *   │   backoff    │     │ login timeout             ▼
 *   │   timer ─────┴──── disconnected ◀──────────────┘
 *   │
 *   └─▶ closed  (close(), kicked, login refused, or the FIRST connect failing)
 * ```
 *
 * Rules worth knowing:
 * - The first connect does not retry: `start()` rejects with the server's login code
 *   (70001…) or 9508 when the server cannot be reached, so `login()` tells the app at once.
 *   After one successful login, transient failures reconnect with full-jitter backoff and
 *   re-send `login` on the new socket.
 * - Stale-transport guard: every socket gets a number; callbacks of an older socket are
 *   ignored. Example: a ping timeout abandons socket 3 and opens socket 4; socket 3's
 *   `close` event arriving 30 s later (ws waits for the closing handshake) must not tear
 *   down socket 4.
 * - Several server URLs (the nodes of a cluster): the first connect tries them in order
 *   and fails only when every one failed; after that, every failed attempt and every
 *   dropped connection moves on to the next URL (round robin), with the same full-jitter
 *   backoff between attempts. With one URL nothing changes.
 * - Requests made while not connected fail at once with 9508. A request whose socket drops
 *   before the reply fails with 9520 — unless it was made with `resend: true` (idempotent
 *   ops such as `msg.send` with its clientMsgID), which is re-sent after the re-login and
 *   still bounded by its original timeout (6012).
 * - A request the server refuses with 9506 (the user's request rate) was not applied, so
 *   any op may be sent again: it is, after a growing, jittered pause, while its timeout
 *   allows; only then does it fail with 9506. Example: the catch-up after a long time
 *   offline pulls history for hundreds of conversations and runs into the rate.
 * - Server close codes (docs/protocol.md): 4000/4001 follow a `kicked` push and end the
 *   session; every other close (4002 output budget, 4003 login deadline, 1001 shutdown,
 *   an upgrade refused with HTTP 503…) is a dropped connection: reconnect with backoff.
 *   4004 (the node is draining) reconnects at once, to the next URL, without a backoff.
 *   A login refused with a code (70050 too many failed logins…) is not retried.
 * - `checkNow()` (the browser's `online` event, a tab made visible): a pending reconnect
 *   happens at once, and a connected socket must answer a ping within 5 s or is dropped.
 */
import {
  ConfabError, ErrorCode, decodeServerFrame,
  type LoginRequest, type LoginResult, type OpName, type OpRequest, type OpResult, type PushFrame,
} from '@confab/protocol';
import { TypedEmitter } from '../emitter.js';
import type { Logger } from '../log.js';
import type { WebSocketConstructor, WebSocketLike } from '../types.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { resolveWebSocket } from './websocket.js';

/** The close code of a draining node (docs/protocol.md): reconnect at once, to the next URL. */
const DRAINING_CLOSE_CODE = 4004;

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'closed';

export interface ConnectionEvents {
  state: { oldState: ConnectionState; newState: ConnectionState };
  /** A socket is being opened (first connect or a reconnect attempt). */
  connecting: { attempt: number };
  /** Login on a socket succeeded. `reconnected` is false only for the first one. */
  connected: { result: LoginResult; reconnected: boolean };
  /** A reconnect attempt failed; another follows after a backoff delay. */
  connectFailed: { code: number; desc: string };
  push: PushFrame;
  /** Terminal: kicked, login refused on reconnect, or `close()`. No reconnect follows. */
  closed: { code: number; desc: string };
}

export interface ConnectionOptions {
  /** The server's WebSocket URL, or several (the nodes of a cluster), tried in order. */
  url: string | readonly string[];
  login: LoginRequest;
  WebSocket?: WebSocketConstructor;
  requestTimeoutMs?: number;
  /** Send a ping after this long without any frame from the server. Default 30 s. */
  pingIntervalMs?: number;
  backoff?: BackoffOptions;
  log: Logger;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Idempotent op: re-send after a reconnect instead of failing with 9520. */
  resend?: boolean;
}

interface Pending {
  op: string;
  frame: string;
  resend: boolean;
  /** Written to the current socket and not answered yet. */
  sent: boolean;
  /** When the request times out (ms); a 9506 retry is only scheduled before it. */
  deadline: number;
  /** 9506 refusals so far; grows the pause before the next attempt. */
  refusals: number;
  /** Not sent again before this time (ms), after a 9506 refusal. */
  notBefore: number;
  resolve(body: unknown): void;
  reject(err: ConfabError): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Requests on the wire at once. The server answers more than 64 in flight on one
 * connection with 60022; the SDK queues the rest and sends each as an answer frees a
 * place, so an app that fires 200 sends at once sees them all succeed.
 */
const MAX_IN_FLIGHT = 32;

/** The pause before re-sending a request refused with 9506: 250 ms plus full jitter growing to 4 s. */
const RATE_RETRY: BackoffOptions = { baseMs: 250, capMs: 4000 };

/** How long `checkNow` waits for any frame after its ping before it declares the socket dead. */
const PROBE_TIMEOUT_MS = 5000;

/** Login codes worth retrying: the server is busy or failed, the credentials are fine. */
const TRANSIENT_LOGIN_CODES = new Set<number>([ErrorCode.SERVER_INTERNAL, ErrorCode.SERVER_OVERLOADED, ErrorCode.REQUEST_TIMEOUT]);

export class Connection extends TypedEmitter<ConnectionEvents> {
  #state: ConnectionState = 'disconnected';
  readonly #opts: Required<Omit<ConnectionOptions, 'WebSocket' | 'url'>> & { WebSocket?: WebSocketConstructor };
  readonly #urls: readonly string[];
  /** The URL the next socket opens; moves on after every failed attempt or drop. */
  #urlIndex = 0;
  /** First connect only: how many URLs failed so far. */
  #firstFailures = 0;
  #ws: WebSocketLike | undefined;
  #transportID = 0;
  #nextID = 1;
  #pending = new Map<number, Pending>();
  /** How many of `#pending` are on the current socket. */
  #onWire = 0;
  #attempt = 0;
  #everConnected = false;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #loginTimer: ReturnType<typeof setTimeout> | undefined;
  #loginID = 0;
  #lastReceived = 0;
  #unansweredPings = 0;
  #first: { resolve(r: LoginResult): void; reject(e: ConfabError): void } | undefined;
  /** Frames received on any socket; `checkNow` compares it before and after its ping. */
  #framesReceived = 0;
  /** The ping sent by `checkNow`, until it is answered or given up. */
  #probe: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ConnectionOptions) {
    super();
    const { url, ...rest } = options;
    this.#urls = typeof url === 'string' ? [url] : [...url];
    if (this.#urls.length === 0 || this.#urls.some((u) => typeof u !== 'string' || u === '')) {
      throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'serverUrl must be a URL or a non-empty list of URLs');
    }
    this.#opts = {
      requestTimeoutMs: 15_000,
      pingIntervalMs: 30_000,
      backoff: DEFAULT_BACKOFF,
      ...rest,
    };
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The URL of the current (or next) socket. */
  get url(): string {
    return this.#urls[this.#urlIndex]!;
  }

  /** First connect + login. Rejects (and closes) on any failure; see the header. */
  start(): Promise<LoginResult> {
    if (this.#state !== 'disconnected' || this.#first || this.#everConnected) {
      return Promise.reject(new ConfabError(ErrorCode.IN_PROGRESS, 'connection already started'));
    }
    return new Promise<LoginResult>((resolve, reject) => {
      this.#first = { resolve, reject };
      void this.#openTransport();
    });
  }

  /** Sends a request; resolves with the reply body or rejects with a ConfabError. */
  request<K extends OpName>(op: K, body: OpRequest<K>, options: RequestOptions = {}): Promise<OpResult<K>> {
    if (this.#state !== 'connected') {
      return Promise.reject(new ConfabError(ErrorCode.NETWORK_DISCONNECTED, `not connected (${this.#state}); ${op} was not sent`));
    }
    const id = this.#nextID++;
    const frame = JSON.stringify({ id, op, body });
    return new Promise<OpResult<K>>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.#opts.requestTimeoutMs;
      const timer = setTimeout(() => {
        const p = this.#pending.get(id);
        this.#pending.delete(id);
        if (p?.sent) this.#onWire -= 1;
        this.#pump();
        reject(new ConfabError(ErrorCode.REQUEST_TIMEOUT, `${op} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        op, frame, resend: options.resend ?? false, sent: false, deadline: Date.now() + timeoutMs, refusals: 0, notBefore: 0,
        resolve: resolve as (b: unknown) => void, reject, timer,
      });
      this.#pump();
    });
  }

  /** Writes queued requests, oldest first, while fewer than MAX_IN_FLIGHT are on the wire. */
  #pump(): void {
    if (this.#state !== 'connected') return;
    const now = Date.now();
    for (const p of this.#pending.values()) {
      if (this.#onWire >= MAX_IN_FLIGHT) return;
      if (p.sent || p.notBefore > now) continue;
      p.sent = true;
      this.#onWire += 1;
      this.#send(p.frame);
    }
  }

  /**
   * A 9506 refusal: nothing was applied, so the request goes out again after a pause,
   * unless that would be past its timeout (then the caller gets the 9506). It leaves the
   * window meanwhile, so other requests are not held up behind it.
   */
  #retryLater(p: Pending): boolean {
    const delay = RATE_RETRY.baseMs + backoffDelay(p.refusals, RATE_RETRY);
    if (Date.now() + delay >= p.deadline) return false;
    p.refusals += 1;
    p.notBefore = Date.now() + delay;
    if (p.sent) this.#onWire -= 1;
    p.sent = false;
    setTimeout(() => this.#pump(), delay);
    this.#pump();
    return true;
  }

  /**
   * The UserSig the next login (a reconnect) sends. The session's own UserSig is renewed
   * with `auth.renew`; this keeps a later reconnect from logging in with the expired one.
   */
  setUserSig(userSig: string): void {
    this.#opts.login = { ...this.#opts.login, userSig };
  }

  /**
   * The network may be back (the browser's `online` event, a tab becoming visible): when
   * waiting to reconnect, reconnect now instead of at the end of the backoff; when
   * connected, make sure the socket still answers — after a laptop sleeps or a phone
   * changes network the old socket is often dead without a close, and the ping rule
   * alone would notice only after two missed intervals (about 90 s).
   */
  checkNow(reason: string): void {
    if (this.#state === 'disconnected' && this.#reconnectTimer !== undefined) {
      clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = undefined;
      this.#opts.log.info(`${reason}: reconnecting now`);
      void this.#openTransport();
      return;
    }
    if (this.#state !== 'connected' || this.#probe !== undefined) return;
    const transportID = this.#transportID;
    const framesBefore = this.#framesReceived;
    this.#send(JSON.stringify({ id: this.#nextID++, op: 'ping', body: {} }));
    this.#probe = setTimeout(() => {
      this.#probe = undefined;
      if (transportID === this.#transportID && this.#framesReceived === framesBefore) {
        this.#transportDown(transportID, `${reason}, and the socket did not answer a ping`);
      }
    }, Math.min(PROBE_TIMEOUT_MS, this.#opts.requestTimeoutMs));
  }

  /** Ends the session for good (logout, unInit). Pending requests fail with 9508. */
  close(code = 0, desc = 'closed by the app'): void {
    if (this.#state === 'closed') return;
    this.#terminate(code, desc, new ConfabError(ErrorCode.NETWORK_DISCONNECTED, desc));
  }

  // ---- transport ---------------------------------------------------------------------

  async #openTransport(): Promise<void> {
    const id = ++this.#transportID;
    this.#setState('connecting');
    this.emit('connecting', { attempt: this.#attempt });
    let ws: WebSocketLike;
    try {
      const Ctor = await resolveWebSocket(this.#opts.WebSocket);
      if (id !== this.#transportID) return;
      ws = new Ctor(this.#urls[this.#urlIndex]!);
    } catch (err) {
      this.#transportDown(id, `cannot open WebSocket: ${(err as Error).message}`);
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      if (id === this.#transportID) this.#sendLogin(id);
    };
    ws.onmessage = (ev) => {
      if (id === this.#transportID) this.#onFrame(String(ev.data));
    };
    ws.onclose = (ev) => {
      if (id !== this.#transportID) return;
      // 4004: the node is draining and answered what was in flight; another node can take
      // the session now, so waiting out a backoff would only delay the user.
      this.#transportDown(id, `socket closed (${ev?.code ?? '?'} ${ev?.reason ?? ''})`.trim(), undefined, ev?.code === DRAINING_CLOSE_CODE);
    };
    // An error is always followed by close; the close handler does the work.
    ws.onerror = () => {};
  }

  #sendLogin(transportID: number): void {
    const loginID = this.#nextID++;
    this.#loginID = loginID;
    this.#lastReceived = Date.now();
    this.#loginTimer = setTimeout(() => {
      if (transportID === this.#transportID) this.#transportDown(transportID, 'login timed out', ErrorCode.REQUEST_TIMEOUT);
    }, this.#opts.requestTimeoutMs);
    this.#send(JSON.stringify({ id: loginID, op: 'login', body: this.#opts.login }));
  }

  #onLoginReply(reply: { ok: true; body: unknown } | { ok: false; code: number; desc: string }): void {
    clearTimeout(this.#loginTimer);
    this.#loginID = 0;
    if (!reply.ok) {
      const err = new ConfabError(reply.code, reply.desc);
      if (TRANSIENT_LOGIN_CODES.has(reply.code) && (this.#everConnected || this.#firstHasNext())) {
        // This node is busy or failing; the next one (or this one later) may not be.
        this.#abandonTransport();
        if (this.#everConnected) this.#afterDrop(reply.code, reply.desc);
        else this.#tryNextFirst(reply.code, reply.desc);
        return;
      }
      // Bad credentials do not get better by retrying: stop here.
      this.#terminate(reply.code, reply.desc, err);
      return;
    }
    const result = reply.body as LoginResult;
    const reconnected = this.#everConnected;
    this.#everConnected = true;
    this.#attempt = 0;
    this.#firstFailures = 0;
    this.#setState('connected');
    this.#startPing();
    // Re-send idempotent requests that were in flight when the last socket dropped, and
    // send what queued up meanwhile — through the same window as everything else.
    this.#pump();
    const first = this.#first;
    this.#first = undefined;
    first?.resolve(result);
    this.emit('connected', { result, reconnected });
  }

  #onFrame(text: string): void {
    this.#framesReceived++;
    this.#lastReceived = Date.now();
    this.#unansweredPings = 0;
    let frame;
    try {
      frame = decodeServerFrame(text);
    } catch {
      this.#opts.log.warn('dropping a frame that is not JSON');
      return;
    }
    if ('push' in frame) {
      if (frame.push === 'kicked') {
        const { code, desc } = (frame as PushFrame<'kicked'>).body;
        this.#terminate(code, desc, new ConfabError(code, desc));
        return;
      }
      this.emit('push', frame);
      return;
    }
    if (frame.id === this.#loginID && this.#loginID !== 0) {
      this.#onLoginReply(frame);
      return;
    }
    const pending = this.#pending.get(frame.id);
    if (!pending) return; // a ping reply, or a reply that arrived after its timeout
    if (!frame.ok && frame.code === ErrorCode.REQUEST_RATE_LIMIT && this.#retryLater(pending)) return;
    this.#pending.delete(frame.id);
    clearTimeout(pending.timer);
    if (pending.sent) this.#onWire -= 1;
    this.#pump();
    if (frame.ok) pending.resolve(frame.body);
    else pending.reject(new ConfabError(frame.code, frame.desc));
  }

  /** The current socket is gone (closed, failed to open, login/ping timeout). */
  #transportDown(transportID: number, desc: string, code: number = ErrorCode.NETWORK_DISCONNECTED, immediate = false): void {
    if (transportID !== this.#transportID || this.#state === 'closed') return;
    this.#abandonTransport();
    if (!this.#everConnected) {
      if (this.#firstHasNext()) {
        this.#tryNextFirst(code, desc);
        return;
      }
      // First connect: report to login() instead of retrying behind the app's back.
      const what = this.#urls.length > 1 ? `cannot reach any of the ${this.#urls.length} servers` : 'cannot reach the server';
      this.#terminate(code, `${what}: ${desc}`, new ConfabError(code, `${what}: ${desc}`));
      return;
    }
    this.#afterDrop(code, desc, immediate);
  }

  /** First connect: whether another URL is left to try. */
  #firstHasNext(): boolean {
    return !this.#everConnected && this.#firstFailures + 1 < this.#urls.length;
  }

  /** First connect: this URL failed; try the next one at once (another node, so no backoff). */
  #tryNextFirst(code: number, desc: string): void {
    this.#firstFailures++;
    this.#opts.log.info(`${this.#urls[this.#urlIndex]} failed (${desc}); trying the next server`);
    this.#rotate();
    this.#setState('disconnected');
    this.emit('connectFailed', { code, desc });
    void this.#openTransport();
  }

  #rotate(): void {
    this.#urlIndex = (this.#urlIndex + 1) % this.#urls.length;
  }

  /** Forgets the current socket; its late events are ignored by the transport ID check. */
  #abandonTransport(): void {
    this.#transportID++;
    clearTimeout(this.#probe);
    this.#probe = undefined;
    clearTimeout(this.#loginTimer);
    this.#loginID = 0;
    this.#stopPing();
    const ws = this.#ws;
    this.#ws = undefined;
    try {
      ws?.close();
    } catch {
      /* already closed */
    }
  }

  /** `immediate`: the node is draining (4004), so the next URL is tried without a backoff. */
  #afterDrop(code: number, desc: string, immediate = false): void {
    const wasConnecting = this.#state === 'connecting';
    for (const [id, p] of this.#pending) {
      if (p.resend) {
        p.sent = false; // goes out again on the next socket
        continue;
      }
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.reject(p.sent
        ? new ConfabError(ErrorCode.NETWORK_WAIT_ACK_TIMEOUT, `connection lost before the reply to ${p.op}; it may have been applied`)
        : new ConfabError(ErrorCode.NETWORK_DISCONNECTED, `connection lost before ${p.op} was sent; it was not applied`));
    }
    this.#onWire = 0;
    this.#setState('disconnected');
    if (wasConnecting) this.emit('connectFailed', { code, desc });
    // A failed attempt or a lost connection moves on to the next node (no-op with one URL).
    this.#rotate();
    const delay = immediate ? 0 : backoffDelay(this.#attempt++, this.#opts.backoff);
    this.#opts.log.info(`connection lost (${desc}); reconnecting${this.#urls.length > 1 ? ` to ${this.#urls[this.#urlIndex]}` : ''} in ${delay} ms`);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#state === 'disconnected') void this.#openTransport();
    }, delay);
  }

  #terminate(code: number, desc: string, err: ConfabError): void {
    if (this.#state === 'closed') return;
    this.#abandonTransport();
    clearTimeout(this.#reconnectTimer);
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.#pending.clear();
    this.#onWire = 0;
    this.#setState('closed');
    const first = this.#first;
    this.#first = undefined;
    if (first) {
      first.reject(err);
      return; // start() reports it; there was never a session to close
    }
    this.emit('closed', { code, desc });
  }

  #send(frame: string): void {
    try {
      this.#ws?.send(frame);
    } catch (err) {
      // The close event follows; the request stays pending until then or its timeout.
      this.#opts.log.debug(`send failed: ${(err as Error).message}`);
    }
  }

  // ---- heartbeat ---------------------------------------------------------------------

  /**
   * The server pings at the WebSocket level, but a browser cannot see those, and a NAT
   * that silently dropped the flow looks exactly like a quiet chat. So: after
   * `pingIntervalMs` without any frame, send a `ping` op; after two unanswered ones the
   * socket is dead and we reconnect.
   */
  #startPing(): void {
    this.#stopPing();
    this.#unansweredPings = 0;
    const transportID = this.#transportID;
    const interval = this.#opts.pingIntervalMs;
    this.#pingTimer = setInterval(() => {
      if (transportID !== this.#transportID) return;
      if (Date.now() - this.#lastReceived < interval) return;
      if (this.#unansweredPings >= 2) {
        this.#transportDown(transportID, 'two pings unanswered');
        return;
      }
      this.#unansweredPings++;
      this.#send(JSON.stringify({ id: this.#nextID++, op: 'ping', body: {} }));
    }, interval);
  }

  #stopPing(): void {
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  #setState(newState: ConnectionState): void {
    const oldState = this.#state;
    if (oldState === newState) return;
    this.#state = newState;
    this.emit('state', { oldState, newState });
  }
}
