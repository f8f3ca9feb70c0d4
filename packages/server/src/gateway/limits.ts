import { MAX_FRAME_BYTES } from '@confab/protocol';

/**
 * Every abuse limit of the WebSocket gateway, in one place. `startServer({ limits })`
 * takes any subset; the CLI reads the `CONFAB_MAX_…` variables listed in `LIMIT_ENV`.
 * docs/protocol.md ("Limits") says what a client sees when it hits each one.
 */
export interface GatewayLimits {
  /**
   * Bytes of replies and pushes one connection may have waiting to be sent. A client that
   * stops reading (or reads slower than it asks) is disconnected with close code 4002
   * instead of making the server hold its answers: measured before this limit, one such
   * client grew the server by 280 MB. Must exceed the largest single reply (a full
   * `msg.history` page of 100 large messages is about 1.5 MB).
   */
  outputBudgetBytes: number;
  /** Requests one connection may have received and not yet answered; more get 60022. */
  maxInFlight: number;
  /**
   * The largest frame ws reads into memory at all. Frames up to 1 MiB (the protocol's
   * `MAX_FRAME_BYTES`) are served; frames between that and this ceiling are answered with
   * 9522 and the socket is closed (1009); frames over it are cut off by ws while still
   * arriving (1009, no reply), so a peer can never make the server buffer more.
   */
  frameCeilingBytes: number;
  /** A socket that has not logged in this long after connecting is closed (4003). */
  loginTimeoutMs: number;
  /** Sockets on this node that have not logged in yet; an upgrade over it gets HTTP 503. */
  maxUnauthenticated: number;
  /** The same, per remote address (the TCP peer: behind a proxy, the proxy's address). */
  maxUnauthenticatedPerAddress: number;
  /** Sessions of one user on this node; a login over it signs out the oldest (6208). */
  maxSessionsPerUser: number;
  /** Devices remembered per user; a login from a new device over it forgets the one seen least recently. */
  maxDevicesPerUser: number;
  /** Requests per second of one user, across that user's sessions on this node (token bucket rate). */
  userRequestsPerSecond: number;
  /** Requests one user may make at once before the rate applies (token bucket size). */
  userRequestBurst: number;
  /** Failed logins per minute from one remote address; over it logins are refused with 70050. */
  loginFailuresPerMinute: number;
  /** Failed logins from one address allowed at once before the per-minute rate applies. */
  loginFailureBurst: number;
}

export const DEFAULT_LIMITS: Readonly<GatewayLimits> = Object.freeze({
  outputBudgetBytes: 4 * 1024 * 1024,
  maxInFlight: 64,
  frameCeilingBytes: 2 * MAX_FRAME_BYTES,
  loginTimeoutMs: 10_000,
  maxUnauthenticated: 10_000,
  maxUnauthenticatedPerAddress: 256,
  maxSessionsPerUser: 10,
  maxDevicesPerUser: 32,
  userRequestsPerSecond: 200,
  userRequestBurst: 400,
  loginFailuresPerMinute: 60,
  loginFailureBurst: 30,
});

/** The environment variable of each limit (read by the CLI; listed in docs/protocol.md). */
export const LIMIT_ENV: Readonly<Record<keyof GatewayLimits, string>> = Object.freeze({
  outputBudgetBytes: 'CONFAB_MAX_OUTPUT_BYTES',
  maxInFlight: 'CONFAB_MAX_IN_FLIGHT',
  frameCeilingBytes: 'CONFAB_MAX_FRAME_CEILING_BYTES',
  loginTimeoutMs: 'CONFAB_MAX_LOGIN_WAIT_MS',
  maxUnauthenticated: 'CONFAB_MAX_UNAUTHENTICATED',
  maxUnauthenticatedPerAddress: 'CONFAB_MAX_UNAUTHENTICATED_PER_ADDRESS',
  maxSessionsPerUser: 'CONFAB_MAX_SESSIONS_PER_USER',
  maxDevicesPerUser: 'CONFAB_MAX_DEVICES_PER_USER',
  userRequestsPerSecond: 'CONFAB_MAX_USER_REQUESTS_PER_SECOND',
  userRequestBurst: 'CONFAB_MAX_USER_REQUEST_BURST',
  loginFailuresPerMinute: 'CONFAB_MAX_LOGIN_FAILURES_PER_MINUTE',
  loginFailureBurst: 'CONFAB_MAX_LOGIN_FAILURE_BURST',
});

/** WebSocket close codes the gateway uses (4000–4999 is the application range). */
export const CloseCode = {
  /** Another login replaced this session, or the user has too many (a `kicked` push precedes it). */
  KICKED: 4000,
  /** The UserSig expired (a `kicked` push with 70001 precedes it). */
  USER_SIG_EXPIRED: 4001,
  /** The connection's unsent output went over `outputBudgetBytes`: the client did not read. */
  OUTPUT_BUDGET: 4002,
  /** No successful login within `loginTimeoutMs` of connecting. */
  LOGIN_TIMEOUT: 4003,
  /**
   * The node is draining (SIGTERM): its requests in flight were answered, and the client
   * should reconnect at once, to another node of its list.
   */
  DRAINING: 4004,
} as const;

/** Defaults overridden by `overrides`; throws naming the field when a value is not a positive number. */
export function resolveLimits(overrides: Partial<GatewayLimits> = {}): GatewayLimits {
  const limits = { ...DEFAULT_LIMITS } as GatewayLimits;
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof GatewayLimits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new Error(`limit ${key} must be a positive number, got ${String(value)}`);
    }
    limits[key] = value;
  }
  if (limits.frameCeilingBytes < MAX_FRAME_BYTES) {
    throw new Error(`limit frameCeilingBytes must be at least the protocol's frame limit (${MAX_FRAME_BYTES})`);
  }
  return limits;
}

/** The limits set in the environment (`CONFAB_MAX_…`); unset or empty variables keep their default. */
export function limitsFromEnv(env: NodeJS.ProcessEnv): Partial<GatewayLimits> {
  const out: Partial<GatewayLimits> = {};
  for (const [key, name] of Object.entries(LIMIT_ENV) as [keyof GatewayLimits, string][]) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
    out[key] = value;
  }
  return out;
}
