import type { WebSocket } from 'ws';
import type { PushName, Pushes, ReplyFrame } from '@confab/protocol';
import type { Caller } from '../services/context.js';

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
  /** Requests received and not yet answered (see the gateway's MAX_IN_FLIGHT). */
  inFlight = 0;
  /** When the UserSig this session logged in with expires (ms); the session ends then. */
  sigExpiresAt = Number.POSITIVE_INFINITY;
  #closed = false;
  #corked = false;

  constructor(id: string, socket: WebSocket) {
    this.id = id;
    this.socket = socket;
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

  #send(text: string): void {
    if (this.closed) return;
    this.#cork();
    this.socket.send(text);
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
