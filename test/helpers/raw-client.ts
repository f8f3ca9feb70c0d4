/**
 * A raw protocol client for gateway tests: one `ws` socket, JSON frames in and out, no
 * SDK logic. Every frame the server sends is kept in `frames` (a log) and in an inbox
 * that `next*` calls consume, so a push that arrives before the test asks for it is
 * never lost.
 *
 * Waits have a generous guard (`guardMs`) so a missing frame fails the test with a
 * message instead of hanging it; the guard is not a speed assertion.
 */
import { WebSocket } from 'ws';
import {
  PROTOCOL_VERSION,
  type LoginResult, type OpName, type OpRequest, type OpResult, type PushFrame, type PushName, type Pushes,
  type ReplyFrame, type ServerFrame,
} from '@confab/protocol';

export type ErrorReply = Extract<ReplyFrame, { ok: false }>;
export type OkReply = Extract<ReplyFrame, { ok: true }>;

export interface CloseInfo {
  code: number;
  reason: string;
}

interface Waiter {
  match: (frame: ServerFrame) => boolean;
  resolve: (frame: ServerFrame) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Thrown by `ok()` when the server answers with an error. */
export class ReplyError extends Error {
  readonly code: number;
  readonly desc: string;
  constructor(op: string, reply: ErrorReply) {
    super(`${op} failed: ${reply.code} ${reply.desc}`);
    this.code = reply.code;
    this.desc = reply.desc;
  }
}

export function isPush(frame: ServerFrame): frame is PushFrame {
  return 'push' in frame;
}

export function isReply(frame: ServerFrame): frame is ReplyFrame {
  return 'id' in frame && !('push' in frame);
}

export class RawClient {
  readonly socket: WebSocket;
  /** Every frame received, in order. */
  readonly frames: ServerFrame[] = [];
  /** Resolves when the socket closes, with the close code the client saw. */
  readonly closed: Promise<CloseInfo>;
  guardMs = 10_000;
  #inbox: ServerFrame[] = [];
  #waiters: Waiter[] = [];
  #nextID = 1;
  #closeInfo: CloseInfo | undefined;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    this.closed = new Promise<CloseInfo>((resolve) => {
      socket.on('close', (code, reason) => {
        this.#closeInfo = { code, reason: reason.toString() };
        for (const waiter of this.#waiters.splice(0)) {
          clearTimeout(waiter.timer);
          waiter.reject(new Error(`socket closed (${code} ${reason.toString()}) while waiting for a frame`));
        }
        resolve(this.#closeInfo);
      });
    });
    socket.on('message', (data, isBinary) => {
      assertText(isBinary);
      const frame = JSON.parse(data.toString()) as ServerFrame;
      this.frames.push(frame);
      const index = this.#waiters.findIndex((w) => w.match(frame));
      if (index >= 0) {
        const [waiter] = this.#waiters.splice(index, 1);
        clearTimeout(waiter!.timer);
        waiter!.resolve(frame);
      } else {
        this.#inbox.push(frame);
      }
    });
    // Errors surface through `closed`; an unhandled 'error' event would crash the runner.
    socket.on('error', () => {});
  }

  static connect(url: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      const client = new RawClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  get closeInfo(): CloseInfo | undefined {
    return this.#closeInfo;
  }

  /** Sends bytes as they are (a text frame). */
  sendRaw(text: string): void {
    this.socket.send(text);
  }

  /** Sends any JSON value as a frame. */
  sendJSON(value: unknown): void {
    this.socket.send(JSON.stringify(value));
  }

  /** A fresh request ID. */
  nextID(): number {
    return this.#nextID++;
  }

  /** Sends a request without waiting; returns its ID. */
  send<K extends OpName>(op: K, body: OpRequest<K>): number;
  send(op: string, body: unknown): number;
  send(op: string, body: unknown): number {
    const id = this.nextID();
    this.sendJSON({ id, op, body });
    return id;
  }

  /** Sends a request and returns its reply frame, ok or not. */
  async call<K extends OpName>(op: K, body: OpRequest<K>): Promise<ReplyFrame>;
  async call(op: string, body: unknown): Promise<ReplyFrame>;
  async call(op: string, body: unknown): Promise<ReplyFrame> {
    const id = this.send(op, body);
    return this.reply(id);
  }

  /** Sends a request and returns its body; throws `ReplyError` on an error reply. */
  async ok<K extends OpName>(op: K, body: OpRequest<K>): Promise<OpResult<K>> {
    const reply = await this.call(op, body);
    if (!reply.ok) throw new ReplyError(op, reply);
    return reply.body as OpResult<K>;
  }

  /** Sends a request that must fail; returns the error reply. */
  async fail(op: OpName | string, body: unknown): Promise<ErrorReply> {
    const reply = await this.call(op, body);
    if (reply.ok) throw new Error(`${op} was expected to fail but succeeded: ${JSON.stringify(reply.body)}`);
    return reply;
  }

  /** The reply with this request ID. */
  async reply(id: number): Promise<ReplyFrame> {
    return (await this.next((f) => isReply(f) && f.id === id, `reply ${id}`)) as ReplyFrame;
  }

  /** The next error reply, whatever its ID (for frames the server cannot read an ID from). */
  async nextError(): Promise<ErrorReply> {
    return (await this.next((f) => isReply(f) && !f.ok, 'an error reply')) as ErrorReply;
  }

  /** The next push of this kind (optionally matching `where`), consumed from the inbox. */
  async nextPush<K extends PushName>(push: K, where: (body: Pushes[K]) => boolean = () => true): Promise<Pushes[K]> {
    const frame = await this.next((f) => isPush(f) && f.push === push && where(f.body as Pushes[K]), `push ${push}`);
    return (frame as PushFrame<K>).body;
  }

  /** Pushes of a kind received so far (the log, consumed or not). */
  pushesSeen<K extends PushName>(push: K): Pushes[K][] {
    return this.frames.filter((f): f is PushFrame<K> => isPush(f) && f.push === push).map((f) => f.body);
  }

  /** The first frame, already received or still to come, that matches. */
  next(match: (frame: ServerFrame) => boolean, what = 'frame'): Promise<ServerFrame> {
    const index = this.#inbox.findIndex(match);
    if (index >= 0) return Promise.resolve(this.#inbox.splice(index, 1)[0]!);
    if (this.#closeInfo) return Promise.reject(new Error(`socket already closed (${this.#closeInfo.code}); no ${what}`));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match, resolve, reject,
        timer: setTimeout(() => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          reject(new Error(`no ${what} arrived (guard ${this.guardMs} ms); received: ${JSON.stringify(this.frames).slice(0, 2000)}`));
        }, this.guardMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Logs in and returns the login result; throws `ReplyError` when it fails. */
  login(req: { sdkAppID: number; userID: string; userSig: string; deviceID?: string; capabilities?: string[] }): Promise<LoginResult> {
    return this.ok('login', {
      sdkAppID: req.sdkAppID, userID: req.userID, userSig: req.userSig, deviceID: req.deviceID ?? `dev-${req.userID}`,
      protocolVersion: PROTOCOL_VERSION, ...(req.capabilities ? { capabilities: req.capabilities } : {}),
    });
  }

  /** Closes the socket (if open) and waits until it is closed. */
  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    if (this.socket.readyState === WebSocket.CONNECTING || this.socket.readyState === WebSocket.OPEN) this.socket.close();
    const timer = setTimeout(() => this.socket.terminate(), 2000);
    await this.closed;
    clearTimeout(timer);
  }
}

function assertText(isBinary: boolean): void {
  if (isBinary) throw new Error('the server sent a binary frame; the protocol is JSON text');
}
