import type { Logger } from 'pino';
import type { Bus } from '../bus/types.js';
import { userTopic, type BusMessage } from '../bus/types.js';
import type { AppRecord, Storage, StoredMessage, UserChange } from '../storage/types.js';
import { conversationIDFor, toWireMessage, toWireUpdate } from './wire.js';
import type { UserUpdate } from '@confab/protocol';
import type { OfflinePusher } from './offline-push.js';

/** Who is asking: a logged-in user of an app. */
export interface Caller {
  app: AppRecord;
  userID: string;
  deviceID: string;
  /** What the client declared at login (`Capability`); gates features old clients do not know. */
  capabilities: ReadonlySet<string>;
  /** The WebSocket session asking, if any: its reply carries the update, so the push to it is skipped. */
  sessionID?: string;
}

export interface ServiceContext {
  storage: Storage;
  bus: Bus;
  logger: Logger;
  now(): number;
  /** Current app records (settings change at run time). */
  apps?: { peek(sdkAppID: number): AppRecord | undefined };
  /** Keeps update pushes in commit order (see `publishChanges`). */
  publishOrder: Sequencer;
  /** Called after a deletion commits; wakes the purge worker. */
  onDeletion?: () => void;
  /** Called after group messages were queued for fan-out; wakes the fan-out worker. */
  onFanout?: () => void;
  /** Called after message content was erased in place (a recall): the purge worker compacts. */
  onErased?: () => void;
  /** Hands delivered messages to the push provider for recipients with no session online. */
  offlinePush?: OfflinePusher;
}

/** The session to leave out of a user's push because its reply carries the update. */
export function originOf(caller: Caller): Map<string, string | undefined> {
  return new Map([[`${caller.app.sdkAppID}|${caller.userID}`, caller.sessionID]]);
}

/**
 * Turns committed user changes into `update` pushes for every session of each user,
 * and returns the updates of the users in `origins` (the callers) so a reply can carry
 * the caller's own.
 *
 * Each message is encoded to JSON once, however many users it reaches: the push
 * carries the per-user part (versions, that user's rows) as an object and the messages
 * as shared encoded text (`messagesJson`), which the gateway splices in. Example: one
 * fan-out chunk of 200 members and 100 messages encodes 100 messages, not 20,000.
 */
export async function publishChanges(ctx: ServiceContext, changes: UserChange[],
  messagesFor: (app: number, userID: string) => StoredMessage[] = () => [],
  extra: Pick<UserUpdate, 'deletion' | 'deletedMessages'> = {}, origins: ReadonlyMap<string, string | undefined> = new Map(),
  reserved?: PublishTurn,
  /** Recalled or modified messages each user's update carries (`changedMessages`). */
  changedFor?: (app: number, userID: string) => StoredMessage[] | undefined): Promise<Map<string, UserUpdate>> {
  // Take a place in line before the first await: updates go out in the order their
  // commits returned, even when building one needs more reads than building the next.
  // Devices would recover from an overtaken update by resyncing, but should not have to.
  // A caller whose commit resolves later than it happened (a message batch waiting for
  // its WAL sync) reserved its place at the commit itself and passes it in.
  const turn = reserved ?? ctx.publishOrder.reserve();
  const out = new Map<string, UserUpdate>();
  const ready: [string, BusMessage][] = [];
  const encoder = new SharedEncoder();
  try {
    for (const change of changes) {
      // Everything here runs after the commit: a failure must not turn a committed change
      // into an error. The update is then not pushed; the user's devices notice the version
      // gap at their next update or reconnect and sync.
      try {
        const key = `${change.app}|${change.userID}`;
        const messages = messagesFor(change.app, change.userID);
        const update: UserUpdate = { ...await toWireUpdate(change, (convKey, seq, row) => (row.deleteSeq
          // The user may have deleted the last message for themselves (last-messages.ts).
          ? ctx.storage.mutations.lastVisible(change.app, row.userID, convKey, row.visibleFromSeq, seq)
          : ctx.storage.messages.get(change.app, convKey, seq)), messages, false), ...extra };
        const changed = changedFor?.(change.app, change.userID);
        if (changed?.length) update.changedMessages = changed.map((m) => toWireMessage(change.userID, m));
        if (origins.has(key)) out.set(key, { ...update, messages: messages.map((m) => toWireMessage(change.userID, m)) });
        const skip = origins.get(key);
        const message: BusMessage = { kind: 'update', update, messagesJson: encoder.list(change.userID, messages) };
        if (skip) message.skipSession = skip;
        ready.push([userTopic(change.app, change.userID), message]);
      } catch (err) {
        ctx.logger.error({ err, userID: change.userID, version: change.version }, 'could not build an update after its commit; devices will sync');
      }
    }
    await turn.wait();
    for (const [topic, message] of ready) ctx.bus.publish(topic, message);
  } finally {
    turn.done();
  }
  return out;
}

/** Encodes each message once per distinct view of it, and each distinct list once. */
class SharedEncoder {
  readonly #messages = new Map<string, string>();
  readonly #lists = new Map<string, string>();

  list(viewer: string, messages: StoredMessage[]): string {
    if (messages.length === 0) return '[]';
    // A group message reads the same for every member; a C2C one differs by the viewer's
    // conversation ID only, which the key includes.
    const keys = messages.map((m) => `${conversationIDFor(viewer, m.convKey)}\u0000${m.convKey}\u0000${m.seq}`);
    const listKey = keys.join('\u0001');
    let text = this.#lists.get(listKey);
    if (text === undefined) {
      const parts = messages.map((m, i) => {
        let json = this.#messages.get(keys[i]!);
        if (json === undefined) this.#messages.set(keys[i]!, (json = JSON.stringify(toWireMessage(viewer, m))));
        return json;
      });
      this.#lists.set(listKey, (text = `[${parts.join(',')}]`));
    }
    return text;
  }
}

export interface PublishTurn { wait(): Promise<void>; done(): void }

/** A FIFO of turns: `reserve()` in commit order, `wait()` for the earlier turns to finish. */
export class Sequencer {
  #tail: Promise<void> = Promise.resolve();

  reserve(): PublishTurn {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => { release = resolve; });
    return { wait: () => previous, done: release };
  }
}
