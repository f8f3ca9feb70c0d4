import type { WebSocket } from 'ws';
import type { PushName, Pushes, ReplyFrame } from '@confab/protocol';
import type { Caller } from '../services/context.js';
import { CloseCode } from './limits.js';

/** The most a WebSocket frame header adds to a server frame's payload (unmasked, 64-bit length). */
const FRAME_HEADER_BYTES = 10;

export interface SessionOptions {
  /** The remote address of the TCP peer, for the per-address limits. */
  address: string;
  /** Unsent bytes this connection may hold (see `GatewayLimits.outputBudgetBytes`). */
  outputBudgetBytes: number;
  /** Called once when the budget is exceeded; the session is closed already. */
  onOverflow(session: Session): void;
}

/**
 * One WebSocket and, after login, the user and device behind it. Kept deliberately
 * small: an idle connection costs this object plus ws's own buffers.
 */
export class Session {
  readonly id: string;
  readonly socket: WebSocket;
  caller: Caller | undefined;
  protocolVersion = 0;
  /** Set by a heartbeat round; cleared when a pong arrives. */
  awaitingPong = false;
  /** A login is being checked; a second one on the same socket is refused (7501). */
  loggingIn = false;
  /** Requests received and not yet answered (see `GatewayLimits.maxInFlight`). */
  inFlight = 0;
  /** When the UserSig this session logged in with expires (ms); the session ends then. */
  sigExpiresAt = Number.POSITIVE_INFINITY;
  readonly address: string;
  /** The user's rate-limit key (`sdkAppID:userID`), set at login. */
  userKey = '';
  /** Counted among the node's unauthenticated sockets (until login or close). */
  unauthenticated = true;
  /** Closes the socket if it has not logged in in time; cleared at login. */
  loginTimer: NodeJS.Timeout | undefined;
  readonly #budget: number;
  readonly #onOverflow: (session: Session) => void;
  #closed = false;
  #corked = false;
  /** Bytes earlier turns left unsent, read at this turn's first frame (see `#send`). */
  #backlog = 0;

  constructor(id: string, socket: WebSocket, options: SessionOptions) {
    this.id = id;
    this.socket = socket;
    this.address = options.address;
    this.#budget = options.outputBudgetBytes;
    this.#onOverflow = options.onOverflow;
  }

  get closed(): boolean {
    return this.#closed || this.socket.readyState !== 1;
  }

  reply(frame: ReplyFrame): void {
    this.#send(JSON.stringify(frame));
  }

  push<K extends PushName>(push: K, body: Pushes[K]): void {
    this.#send(JSON.stringify({ push, body }));
  }

  /** Sends a pre-serialised push; the same update goes to several sessions of a user. */
  pushRaw(text: string): void {
    this.#send(text);
  }

  close(code: number, reason: string): void {
    this.#closed = true;
    this.socket.close(code, reason.slice(0, 120));
  }

  /**
   * Every frame to the client passes here, so the output budget covers replies, refusals
   * and pushes alike. `bufferedAmount` is what ws and the TCP socket hold unsent (corked
   * writes included). The check is two additions on the hot path: a string of n UTF-16
   * units is at most 3n bytes of UTF-8, and the exact byte count is only computed when
   * that bound would not fit.
   */
  #send(text: string): void {
    if (this.closed) return;
    // Two checks. What was still unsent when the previous turn's writes were flushed
    // (`#backlog`) is what the client has not read: over the budget, it is not reading.
    // What this turn adds is measured separately against a ceiling four times the budget,
    // because one turn may legitimately answer several large requests at once (a device
    // catching up asks for eight history pages together; they are answered in one turn
    // and would trip a per-frame check against the budget although the client reads).
    // The first frame of a turn reads what earlier turns left unsent.
    if (!this.#corked) this.#backlog = this.socket.bufferedAmount;
    if (this.#backlog > this.#budget) {
      this.#overflow();
      return;
    }
    const room = 4 * this.#budget - this.socket.bufferedAmount - FRAME_HEADER_BYTES;
    if (text.length * 3 > room && Buffer.byteLength(text) > room) {
      this.#overflow();
      return;
    }
    this.#cork();
    this.socket.send(text);
  }

  /**
   * The client does not read what it asked for. Buffering more would let one client grow
   * the server without bound, and refusing with an error reply is itself more output; so
   * the connection ends. The close frame queues behind the unsent data: a client that
   * reads again sees 4002 after its last answer; one that never does is cut off by ws's
   * close timeout (30 s) with nothing more held meanwhile.
   */
  #overflow(): void {
    this.close(CloseCode.OUTPUT_BUDGET, 'output budget exceeded: the client did not read its answers');
    this.#onOverflow(this);
  }

  /**
   * Holds this socket's writes until the end of the event-loop turn. A group commit
   * answers hundreds of requests in one turn; corked, a busy socket gets them in one
   * write instead of one system call per frame. (`_socket` is ws's underlying TCP
   * socket; ws corks and uncorks around each frame itself, and corks nest.)
   */
  #cork(): void {
    if (this.#corked) return;
    const tcp = (this.socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    if (!tcp) return;
    this.#corked = true;
    tcp.cork();
    setImmediate(() => {
      this.#corked = false;
      tcp.uncork();
    });
  }
}
