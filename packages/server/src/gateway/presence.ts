import type { Logger } from 'pino';
import type { PresenceStore } from '../storage/types.js';

/** Default of `presenceTtlMs`. */
export const DEFAULT_PRESENCE_TTL_MS = 90_000;

export interface PresenceSession {
  app: number;
  userID: string;
  sessionID: string;
  deviceID: string;
  capabilities: string[];
  protocolVersion: number;
  since: number;
}

/**
 * This node's part of the cluster-wide presence table (`PresenceStore`): a row per
 * logged-in session, written at login and deleted when the session ends, and the expiry
 * of all of this node's rows renewed in one statement every third of the TTL. If the node
 * dies its rows expire within the TTL and the admin view stops listing them.
 *
 * Writes go out one at a time, in the order the sessions came and went: a session that
 * logs in and closes at once has its row written and then deleted, never deleted first
 * and then left behind. A login's reply waits for its row (alongside the bus
 * subscription), so the admin view lists a session as soon as its login succeeded.
 */
export class Presence {
  readonly #store: PresenceStore;
  readonly #node: string;
  readonly #ttlMs: number;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  #queue: Promise<void> = Promise.resolve();
  #sweptAt = 0;

  constructor(store: PresenceStore, node: string, logger: Logger, ttlMs = DEFAULT_PRESENCE_TTL_MS) {
    this.#store = store;
    this.#node = node;
    this.#ttlMs = ttlMs;
    this.#logger = logger;
    this.#timer = setInterval(() => this.#renew(), ttlMs / 3).unref();
  }

  /** Records a session that logged in; resolves when written (or failed: logged, never thrown). */
  online(s: PresenceSession): Promise<void> {
    return this.#write('record a session', () => this.#store.add(s.app, s.userID, {
      node: this.#node, sessionID: s.sessionID, deviceID: s.deviceID, capabilities: s.capabilities,
      protocolVersion: s.protocolVersion, since: s.since,
    }, Date.now() + this.#ttlMs));
  }

  offline(app: number, userID: string, sessionID: string): void {
    void this.#write('forget a session', () => this.#store.remove(app, userID, sessionID));
  }

  /** Resolves once every write queued so far is done (tests, shutdown). */
  settled(): Promise<void> {
    return this.#queue;
  }

  /** Stops renewing and deletes this node's rows: its sessions are closed. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#queue;
    await this.#store.removeNode(this.#node).catch((err: unknown) => this.#logger.warn({ err }, 'could not clear this node\'s presence; it expires by itself'));
  }

  #renew(): void {
    void this.#write('renew presence', async () => {
      const now = Date.now();
      await this.#store.refresh(this.#node, now + this.#ttlMs);
      // Rows of nodes that died are ignored once expired; any node deletes them now and then.
      if (now - this.#sweptAt >= this.#ttlMs) {
        this.#sweptAt = now;
        await this.#store.sweep(now - this.#ttlMs);
      }
    });
  }

  #write(what: string, work: () => Promise<unknown>): Promise<void> {
    this.#queue = this.#queue.then(work).then(() => undefined, (err: unknown) => {
      this.#logger.warn({ err }, `could not ${what} in the presence table`);
    });
    return this.#queue;
  }
}
