import type { Logger } from 'pino';
import type { OfflinePushInfo, WireMessage } from '@confab/protocol';
import type { Storage, StoredMessage } from '../storage/types.js';
import { toWireMessage } from './wire.js';

/** One stored message for one recipient who had no online session when it reached them. */
export interface OfflinePushNotification {
  sdkAppID: number;
  /** The recipient. */
  userID: string;
  /** The message as the recipient sees it (its `offlinePushInfo` included when the sender gave one). */
  message: WireMessage;
  /** The sender's `offlinePushInfo`, or `{}` when none was given (the provider picks its own title and text). */
  offlinePushInfo: OfflinePushInfo;
}

/**
 * Where offline pushes go: APNs, FCM, a vendor's service. `startServer({ pushProvider })`
 * installs one; the default only logs. Called after the message is committed and has
 * reached the recipient's conversation row, once per recipient and message, never for a
 * recipient with a session online anywhere in the cluster (the presence table) and never
 * when the sender set `offlinePushInfo.disablePush`. A provider that throws or rejects is
 * logged; the message is not affected.
 */
export interface PushProvider {
  push(notification: OfflinePushNotification): void | Promise<void>;
}

/** The default provider: a debug log line per notification. */
export function loggingPushProvider(logger: Logger): PushProvider {
  return {
    push(n) {
      logger.debug({ sdkAppID: n.sdkAppID, userID: n.userID, msgID: n.message.msgID, title: n.offlinePushInfo.title }, 'offline push (no push provider configured)');
    },
  };
}

/**
 * Hands delivered messages to the push provider for recipients with no online session.
 * Runs beside the delivery, never in its way: a one-to-one batch or a fan-out chunk calls
 * `dispatch` with what it delivered and does not wait. Costs one presence query per
 * call (a chunk's recipients together).
 */
export class OfflinePusher {
  readonly #storage: Storage;
  /** None: nothing to hand notifications to, so `dispatch` does no work at all. */
  readonly #provider: PushProvider | undefined;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(storage: Storage, provider: PushProvider | undefined, logger: Logger, now: () => number = Date.now) {
    this.#storage = storage;
    this.#provider = provider;
    this.#logger = logger;
    this.#now = now;
  }

  /** `deliveries`: recipient → the messages that just reached them (their own are skipped). */
  dispatch(app: number, deliveries: Iterable<[userID: string, messages: StoredMessage[]]>): Promise<void> {
    if (!this.#provider) return Promise.resolve();
    const run = this.#run(app, [...deliveries]).catch((err: unknown) => this.#logger.warn({ err }, 'offline push dispatch failed'));
    this.#inFlight.add(run);
    void run.finally(() => this.#inFlight.delete(run));
    return run;
  }

  /** Resolves once every dispatch started so far is done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  async #run(app: number, deliveries: [string, StoredMessage[]][]): Promise<void> {
    const wanted = deliveries
      .map(([userID, messages]) => [userID, messages.filter((m) => m.sender !== userID && !m.extra?.offlinePushInfo?.disablePush)] as const)
      .filter(([, messages]) => messages.length > 0);
    if (wanted.length === 0) return;
    const online = await this.#storage.presence.onlineAmong(app, wanted.map(([userID]) => userID), this.#now());
    for (const [userID, messages] of wanted) {
      if (online.has(userID)) continue;
      for (const m of messages) {
        try {
          await this.#provider!.push({ sdkAppID: app, userID, message: toWireMessage(userID, m), offlinePushInfo: m.extra?.offlinePushInfo ?? {} });
        } catch (err) {
          this.#logger.warn({ err, userID, seq: m.seq }, 'the push provider failed');
        }
      }
    }
  }
}
