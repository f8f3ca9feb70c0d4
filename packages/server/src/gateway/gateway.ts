import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import {
  assertUserID, ConfabError, decodeRequestFrame, ErrorCode, FrameError, isConfabError, MAX_FRAME_BYTES, PROTOCOL_VERSION,
  type LoginRequest, type LoginResult, type OpName,
} from '@confab/protocol';
import { userTopic, type Bus, type BusMessage } from '../bus/types.js';
import { verifyUserSig } from '../auth/usersig.js';
import type { Domain } from '../services/domain.js';
import { toProfile } from '../services/accounts.js';
import { receivesDeletionSync } from '../services/conversations.js';
import { describeIssue, requestSchemas } from './schemas.js';
import { Session } from './session.js';
import { handlers } from './handlers.js';
import { Admission } from './admission.js';
import { containsNul } from './frame-checks.js';
import { CloseCode, resolveLimits, type GatewayLimits } from './limits.js';
import { TokenBuckets } from './token-buckets.js';
import type { Presence } from './presence.js';

const HEARTBEAT_MS = 25_000;
const LOGGED_OUT = Symbol('logged out');
/** Login failures that say nothing about the credentials do not count towards 70050. */
const NOT_A_LOGIN_FAILURE = new Set<number>([ErrorCode.NETWORK_DISCONNECTED, ErrorCode.SERVER_INTERNAL, ErrorCode.LOGIN_FAILURE_LIMIT]);
const SYNC_HINT = JSON.stringify({ push: 'sync.hint', body: {} });

/** How long a login waits for the bus to confirm a new subscription (NATS: one round trip). */
const BUS_READY_MS = 5000;

/**
 * The WebSocket side of the server: accepts sockets on `/ws`, runs login, dispatches
 * requests to the domain and fans bus messages out to the sessions of each user.
 */
export class Gateway {
  readonly #wss: WebSocketServer;
  readonly #domain: Domain;
  readonly #bus: Bus;
  readonly #logger: Logger;
  /** Sessions by user topic; one bus subscription per user with sessions on this node. */
  readonly #byUser = new Map<string, { sessions: Set<Session>; unsubscribe: () => void; ready: Promise<void> }>();
  readonly #all = new Set<Session>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #limits: GatewayLimits;
  readonly #admission: Admission;
  /** Requests per user (`sdkAppID:userID`), across the user's sessions on this node. */
  readonly #userRequests: TokenBuckets;
  /** Failed logins per remote address. */
  readonly #loginFailures: TokenBuckets;

  /** Set by `drain()`: no new sockets, no new requests. */
  #draining = false;

  /** The cluster-wide presence table, told of every login and every session's end. */
  readonly #presence: Presence | undefined;

  constructor(domain: Domain, bus: Bus, logger: Logger, heartbeatMs = HEARTBEAT_MS, limits: GatewayLimits = resolveLimits(), presence?: Presence) {
    this.#domain = domain;
    this.#presence = presence;
    this.#bus = bus;
    this.#logger = logger;
    this.#limits = limits;
    this.#admission = new Admission(limits.maxUnauthenticated, limits.maxUnauthenticatedPerAddress);
    this.#userRequests = new TokenBuckets(limits.userRequestsPerSecond, limits.userRequestBurst);
    this.#loginFailures = new TokenBuckets(limits.loginFailuresPerMinute / 60, limits.loginFailureBurst);
    // Frames up to the ceiling reach #onFrame, which answers those over MAX_FRAME_BYTES
    // with 9522; ws itself cuts off larger ones while they arrive (see GatewayLimits).
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: limits.frameCeilingBytes, perMessageDeflate: false, clientTracking: false });
    this.#heartbeat = setInterval(() => this.#beat(), heartbeatMs).unref();
  }

  attach(server: HttpServer): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/ws') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      const address = req.socket.remoteAddress ?? 'unknown';
      const refusal = this.#draining ? 'this node is shutting down; connect to another one' : this.#admission.refusal(address);
      if (refusal) {
        this.#logger.debug({ address }, refusal);
        socket.end(`HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Type: text/plain\r\nContent-Length: ${refusal.length}\r\n\r\n${refusal}`);
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, address));
    });
  }

  get sessionCount(): number {
    return this.#all.size;
  }

  /** Sessions that logged in (`sessionCount` also counts sockets still before their login). */
  get loggedInCount(): number {
    let n = 0;
    for (const entry of this.#byUser.values()) n += entry.sessions.size;
    return n;
  }

  /**
   * The first half of a graceful shutdown: new sockets are refused (HTTP 503), frames
   * that arrive from now on are left unanswered (the SDK re-sends idempotent ones, such
   * as `msg.send` with its clientMsgID, on its next connection), and once a session's
   * requests in flight are answered — every message it was told is stored has committed —
   * it is closed with 4004 so its client reconnects at once to another node. Resolves
   * `true` when every session is closed, or `false` at `deadline` (epoch ms) with those
   * still busy left to `close()`.
   */
  async drain(deadline: number): Promise<boolean> {
    this.#draining = true;
    for (;;) {
      for (const session of this.#all) {
        if (session.inFlight === 0 && !session.closed) session.close(CloseCode.DRAINING, 'node draining; reconnect to another node');
      }
      if ([...this.#all].every((s) => s.closed)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.#draining = true;
    clearInterval(this.#heartbeat);
    // A shutdown is not a kick: clients see an ordinary close (1001, going away) and
    // reconnect, to this node once it is back or to another one.
    for (const session of this.#all) session.close(1001, 'server shutting down');
    this.#all.clear();
    for (const entry of this.#byUser.values()) entry.unsubscribe();
    this.#byUser.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #accept(ws: WebSocket, address: string): void {
    const session = new Session(randomUUID(), ws, {
      address,
      outputBudgetBytes: this.#limits.outputBudgetBytes,
      onOverflow: (s) => {
        // Debug only: a client can make this happen once per connection it opens.
        this.#logger.debug({ address: s.address, userID: s.caller?.userID }, 'closed a connection over its output budget');
        this.#drop(s);
      },
    });
    this.#admission.add(address);
    session.loginTimer = setTimeout(() => {
      if (session.caller) return;
      session.close(CloseCode.LOGIN_TIMEOUT, `no login within ${this.#limits.loginTimeoutMs} ms of connecting`);
      this.#drop(session);
    }, this.#limits.loginTimeoutMs).unref();
    this.#all.add(session);
    ws.on('message', (data: RawData, isBinary: boolean) => void this.#onFrame(session, data, isBinary));
    ws.on('pong', () => { session.awaitingPong = false; });
    ws.on('close', () => this.#drop(session));
    ws.on('error', (err) => this.#logger.debug({ err }, 'socket error'));
  }

  async #onFrame(session: Session, data: RawData, isBinary: boolean): Promise<void> {
    // ws still reads (and emits) frames while a close handshake runs: nothing more is
    // done for a session that is closing, e.g. one closed for its output budget.
    // Nor while draining: the request is not started, so the client may safely send it again elsewhere.
    if (session.closed || this.#draining) return;
    let id = 0;
    try {
      const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
      if (size > MAX_FRAME_BYTES) {
        session.reply({ id: 0, ok: false, code: ErrorCode.PACKET_TOO_LARGE, desc: `frames are limited to ${MAX_FRAME_BYTES} bytes` });
        session.close(1009, 'frame too large');
        return;
      }
      if (isBinary) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'frames must be JSON text');
      const text = data.toString();
      const frame = decodeRequestFrame(text);
      id = frame.id;
      // No field of the protocol takes a NUL character, and PostgreSQL text cannot store
      // one: refuse it here, for every op alike. (It can only arrive as the escape \u0000;
      // the cheap text test rules most frames out before the walk over the parsed body.)
      if (text.includes('\\u0000') && containsNul(frame.body)) throw new FrameError(id, 'strings may not contain the NUL character');
      if (session.inFlight >= this.#limits.maxInFlight) {
        // A client that pipelines more than the server works on at once is told to wait
        // for answers, and nothing is applied. (One that does not read at all runs into
        // the output budget instead, since these refusals are output too.)
        throw new ConfabError(ErrorCode.SERVER_OVERLOADED, `too many requests in flight on this connection (at most ${this.#limits.maxInFlight}); wait for answers`);
      }
      if (session.caller && !this.#userRequests.take(session.userKey, Date.now())) {
        throw new ConfabError(ErrorCode.REQUEST_RATE_LIMIT,
          `more than ${this.#limits.userRequestsPerSecond} requests per second for this user; the request was not applied, retry later`);
      }
      // Own properties only: an op named "constructor" or "__proto__" is unknown, not a crash.
      const schema = Object.hasOwn(requestSchemas, frame.op) ? requestSchemas[frame.op] : undefined;
      if (!schema) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `unknown op ${JSON.stringify(frame.op)}`);
      const parsed = schema.safeParse(frame.body);
      if (!parsed.success) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, describeIssue(parsed.error));
      let body: unknown;
      session.inFlight += 1;
      try {
        body = await this.#dispatch(session, frame.op, parsed.data, id);
      } finally {
        session.inFlight -= 1;
      }
      if (body === LOGGED_OUT) return;
      session.reply({ id, ok: true, body: body ?? {} });
    } catch (err) {
      if (err instanceof FrameError) id = err.frameID;
      if (isConfabError(err)) {
        session.reply({ id, ok: false, code: err.code, desc: err.desc });
      } else {
        this.#logger.error({ err }, 'request failed');
        session.reply({ id, ok: false, code: ErrorCode.SERVER_INTERNAL, desc: 'internal server error; the request was not applied' });
      }
    }
  }

  async #dispatch(session: Session, op: OpName, body: unknown, id: number): Promise<unknown> {
    // Reads wait until the latest message commit is on disk (storage `readBarrier`):
    // a client is never shown state a power cut could take back. A send needs no wait:
    // its answer already comes after its own commit's sync.
    if (op !== 'msg.send') {
      const barrier = this.#domain.storage.readBarrier?.();
      if (barrier) await barrier;
    }
    if (op === 'login') return this.#login(session, body as LoginRequest);
    if (!session.caller) throw new ConfabError(ErrorCode.NOT_LOGGED_IN, 'log in first');
    if (op === 'auth.renew') return this.#renew(session, body as { userSig: string });
    if (op === 'logout') {
      session.reply({ id, ok: true, body: {} });
      session.close(1000, 'logged out');
      return LOGGED_OUT;
    }
    return handlers[op as Exclude<OpName, 'login' | 'logout' | 'auth.renew'>](this.#domain, session.caller, body as never);
  }

  /**
   * A newer UserSig for the logged-in user: the session then lives until it expires. A
   * device on a train all day keeps its one connection instead of being cut at expiry and
   * logging in again. The old expiry stays when the new UserSig is refused.
   */
  async #renew(session: Session, body: { userSig: string }): Promise<{ userSigExpireAt: number }> {
    const caller = session.caller!;
    const app = await this.#domain.apps.get(caller.app.sdkAppID);
    if (!app) throw new ConfabError(ErrorCode.SDKAPPID_NOT_FOUND, `SDKAppID ${caller.app.sdkAppID} no longer exists on this server`);
    const sig = verifyUserSig({ sdkAppID: app.sdkAppID, secretKey: app.secretKey, userID: caller.userID, userSig: body.userSig });
    session.sigExpiresAt = sig.expireAt * 1000;
    return { userSigExpireAt: session.sigExpiresAt };
  }

  async #login(session: Session, req: LoginRequest): Promise<LoginResult> {
    if (session.caller || session.loggingIn) throw new ConfabError(ErrorCode.LOGIN_IN_PROCESS, 'this connection is already logged in');
    // UserSig guessing and login floods from one address: after too many failures its
    // logins are refused unchecked for a while (each check costs a zlib inflate, an HMAC
    // and, for a valid UserSig, database writes).
    if (!this.#loginFailures.has(session.address, Date.now())) {
      throw new ConfabError(ErrorCode.LOGIN_FAILURE_LIMIT, 'too many failed logins from this address; retry in a minute');
    }
    session.loggingIn = true;
    try {
      return await this.#completeLogin(session, req);
    } catch (err) {
      if (isConfabError(err) && !NOT_A_LOGIN_FAILURE.has(err.code)) this.#loginFailures.take(session.address, Date.now());
      throw err;
    } finally {
      session.loggingIn = false;
    }
  }

  async #completeLogin(session: Session, req: LoginRequest): Promise<LoginResult> {
    assertUserID(req.userID);
    const app = await this.#domain.apps.get(req.sdkAppID);
    if (!app) throw new ConfabError(ErrorCode.SDKAPPID_NOT_FOUND, `SDKAppID ${req.sdkAppID} does not exist on this server`);
    const sig = verifyUserSig({ sdkAppID: app.sdkAppID, secretKey: app.secretKey, userID: req.userID, userSig: req.userSig });
    const account = await this.#domain.accounts.ensure(app.sdkAppID, req.userID);
    await this.#domain.storage.devices.touch(app.sdkAppID, req.userID, {
      deviceID: req.deviceID, platform: req.platform ?? '', capabilities: req.capabilities ?? [], protocolVersion: req.protocolVersion,
    }, Date.now());
    // Every reinstall brings a new device ID, so a user's device list would only grow: past
    // the limit the devices seen least recently are forgotten (a forgotten device that
    // comes back is simply new again). Refusing the login instead would lock the user out.
    await this.#domain.storage.devices.prune(app.sdkAppID, req.userID, this.#limits.maxDevicesPerUser, req.deviceID);
    // The socket may have closed while the awaits above ran: a session that is already
    // gone must not be registered (it would stay "online" with a bus subscription forever).
    if (session.closed) throw new ConfabError(ErrorCode.NETWORK_DISCONNECTED, 'the connection closed during login');
    clearTimeout(session.loginTimer);
    this.#releaseAdmission(session);
    session.caller = { app, userID: req.userID, deviceID: req.deviceID, capabilities: new Set(req.capabilities ?? []), sessionID: session.id };
    session.sigExpiresAt = sig.expireAt * 1000;
    session.protocolVersion = req.protocolVersion;
    const topic = userTopic(app.sdkAppID, req.userID);
    session.userKey = topic;
    // Another socket of this device (a reconnect that raced the old socket's close, or
    // a second app instance with the same device ID) is replaced by this one.
    this.#bus.publish(topic, { kind: 'kick', deviceID: req.deviceID, keep: session.id, code: ErrorCode.KICKED_OFF_BY_OTHER,
      desc: 'another login with this device ID replaced this session' });
    let entry = this.#byUser.get(topic);
    if (!entry) {
      const sessions = new Set<Session>();
      const unsubscribe = this.#bus.subscribe(topic, (message) => this.#deliver(sessions, message));
      entry = { sessions, unsubscribe, ready: this.#subscribed(topic) };
      this.#byUser.set(topic, entry);
    }
    entry.sessions.add(session);
    const recorded = this.#presence?.online({ app: app.sdkAppID, userID: req.userID, sessionID: session.id, deviceID: req.deviceID,
      capabilities: req.capabilities ?? [], protocolVersion: req.protocolVersion, since: Date.now() });
    if (entry.sessions.size > this.#limits.maxSessionsPerUser) this.#signOutOldest(entry.sessions, session);
    // The version is read only once the subscription receives what other nodes publish:
    // a change committed before the read is in the device's sync from that version, and
    // one committed after it is pushed. (On one node the subscription is effective at once.)
    await entry.ready;
    await recorded;
    const version = await this.#domain.storage.accounts.syncVersion(app.sdkAppID, req.userID);
    return {
      userID: req.userID, serverTime: Date.now(), protocolVersion: Math.min(req.protocolVersion, PROTOCOL_VERSION), version,
      profile: toProfile(account), userSigExpireAt: session.sigExpiresAt,
    };
  }

  /** Resolves when a new subscription is effective across the cluster, or after BUS_READY_MS in any case. */
  #subscribed(topic: string): Promise<void> {
    const ready = this.#bus.ready?.();
    if (!ready) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      ready.catch((err: unknown) => this.#logger.warn({ err, topic }, 'the bus did not confirm a subscription; pushes from other nodes may be late')),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.#logger.warn({ topic }, `the bus did not confirm a subscription within ${BUS_READY_MS} ms; logging in anyway`);
          resolve();
        }, BUS_READY_MS);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  #deliver(sessions: Set<Session>, message: BusMessage): void {
    switch (message.kind) {
      case 'update': {
        // The per-user part is encoded here; the messages arrive encoded once for all
        // their recipients and are spliced in (`{…,"messages":[]}` → `{…,"messages":<shared>}`).
        const text = message.messagesJson === undefined
          ? JSON.stringify({ push: 'update', body: message.update })
          : `${JSON.stringify({ push: 'update', body: { ...message.update, messages: undefined } }).slice(0, -2)},"messages":${message.messagesJson}}}`;
        const deletion = message.update.deletion;
        // A deletion reaches the user's other devices only when the app turned deletion
        // sync on and the device's SDK declared it can handle it; the others get the
        // version step alone, so their version stays continuous and they keep their copy.
        let stripped: string | undefined;
        // Messages deleted for oneself follow the same rule; the others get the rows only.
        const deletedMessages = message.update.deletedMessages;
        let withoutDeleted: string | undefined;
        for (const s of sessions) {
          if (s.id === message.skipSession) continue;
          if (deletedMessages && s.caller?.deviceID !== deletedMessages.deviceID && !this.#receivesDeletions(s)) {
            withoutDeleted ??= JSON.stringify({ push: 'update', body: { ...message.update, deletedMessages: undefined } });
            s.pushRaw(withoutDeleted);
            continue;
          }
          if (!deletion || s.caller?.deviceID === deletion.deviceID || this.#receivesDeletions(s)) {
            s.pushRaw(text);
          } else {
            stripped ??= JSON.stringify({ push: 'update', body: { prevVersion: message.update.prevVersion, version: message.update.version, conversations: [], messages: [] } });
            s.pushRaw(stripped);
          }
        }
        return;
      }
      case 'push': {
        const text = JSON.stringify({ push: message.push, body: message.body });
        for (const s of sessions) s.pushRaw(text);
        return;
      }
      case 'resync':
        // A push for this user may have been lost between nodes (bus/sequenced-bus.ts).
        for (const s of sessions) s.pushRaw(SYNC_HINT);
        return;
      case 'kick':
        for (const s of sessions) {
          if (s.caller?.deviceID === message.deviceID && s.id !== message.keep) {
            s.push('kicked', { code: message.code, desc: message.desc });
            s.close(4000, message.desc);
            this.#drop(s);
          }
        }
        return;
    }
  }

  /**
   * The reference's multi-instance rule: over the limit, the session that logged in
   * first is signed out (a `kicked` push with 6208, then close 4000) and the new login
   * succeeds. Refusing the new one instead would lock a user out behind sessions left
   * open on devices out of reach. Sessions of the new login's device are left out of the
   * count: the same-device kick above is ending them already.
   */
  #signOutOldest(sessions: Set<Session>, newest: Session): void {
    const deviceID = newest.caller?.deviceID;
    // A Set iterates in insertion order, and a session is added at its login: oldest first.
    const others = [...sessions].filter((s) => s !== newest && s.caller?.deviceID !== deviceID);
    const excess = others.length + 1 - this.#limits.maxSessionsPerUser;
    for (const s of others.slice(0, Math.max(0, excess))) {
      const desc = `more than ${this.#limits.maxSessionsPerUser} sessions of this user; a newer login signed out this one`;
      s.push('kicked', { code: ErrorCode.KICKED_OFF_BY_OTHER, desc });
      s.close(CloseCode.KICKED, desc);
      this.#drop(s);
    }
  }

  /** The session no longer counts among the unauthenticated sockets (it logged in, or closed). Idempotent. */
  #releaseAdmission(session: Session): void {
    if (!session.unauthenticated) return;
    session.unauthenticated = false;
    this.#admission.release(session.address);
  }

  #receivesDeletions(session: Session): boolean {
    const caller = session.caller;
    if (!caller) return false;
    return receivesDeletionSync(this.#domain.apps.peek(caller.app.sdkAppID) ?? caller.app, caller.capabilities);
  }

  #drop(session: Session): void {
    clearTimeout(session.loginTimer);
    this.#releaseAdmission(session);
    this.#all.delete(session);
    const caller = session.caller;
    if (!caller) return;
    const topic = userTopic(caller.app.sdkAppID, caller.userID);
    const entry = this.#byUser.get(topic);
    if (!entry) return;
    if (entry.sessions.delete(session)) this.#presence?.offline(caller.app.sdkAppID, caller.userID, session.id);
    if (entry.sessions.size === 0) {
      entry.unsubscribe();
      this.#byUser.delete(topic);
    }
  }

  #beat(): void {
    const now = Date.now();
    this.#userRequests.sweep(now);
    this.#loginFailures.sweep(now);
    for (const session of this.#all) {
      // A session lives no longer than the UserSig it logged in with (checked at each
      // heartbeat, so up to one interval late): the device must log in with a new one.
      if (session.caller && session.sigExpiresAt <= now) {
        session.push('kicked', { code: ErrorCode.USER_SIG_EXPIRED, desc: 'the UserSig expired; log in again with a new one' });
        session.close(CloseCode.USER_SIG_EXPIRED, 'UserSig expired');
        this.#drop(session);
        continue;
      }
      if (session.awaitingPong) {
        session.socket.terminate();
        this.#drop(session);
        continue;
      }
      session.awaitingPong = true;
      session.socket.ping();
    }
  }
}
