import type { Logger } from 'pino';
import type { Bus } from '../bus/types.js';
import { userTopic } from '../bus/types.js';
import type { AppRecord, Storage, StoredMessage, UserChange } from '../storage/types.js';
import { toWireUpdate } from './wire.js';
import type { UserUpdate } from '@confab/protocol';

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
}

/** The session to leave out of a user's push because its reply carries the update. */
export function originOf(caller: Caller): Map<string, string | undefined> {
  return new Map([[`${caller.app.sdkAppID}|${caller.userID}`, caller.sessionID]]);
}

/**
 * Turns committed user changes into `update` pushes for every session of each user,
 * and returns the updates by user so a reply can carry the caller's own.
 */
export async function publishChanges(ctx: ServiceContext, changes: UserChange[],
  messagesFor: (app: number, userID: string) => StoredMessage[] = () => [],
  extra: Pick<UserUpdate, 'deletion'> = {}, origins: ReadonlyMap<string, string | undefined> = new Map()): Promise<Map<string, UserUpdate>> {
  // Take a place in line before the first await: updates go out in the order their
  // commits returned, even when building one needs more reads than building the next.
  // Devices would recover from an overtaken update by resyncing, but should not have to.
  const turn = ctx.publishOrder.reserve();
  const out = new Map<string, UserUpdate>();
  const ready: [string, UserUpdate, string | undefined][] = [];
  try {
    for (const change of changes) {
      // Everything here runs after the commit: a failure must not turn a committed change
      // into an error. The update is then not pushed; the user's devices notice the version
      // gap at their next update or reconnect and sync.
      try {
        const update = { ...await toWireUpdate(change, (convKey, seq) => ctx.storage.messages.get(change.app, convKey, seq),
          messagesFor(change.app, change.userID)), ...extra };
        out.set(`${change.app}|${change.userID}`, update);
        ready.push([userTopic(change.app, change.userID), update, origins.get(`${change.app}|${change.userID}`)]);
      } catch (err) {
        ctx.logger.error({ err, userID: change.userID, version: change.version }, 'could not build an update after its commit; devices will sync');
      }
    }
    await turn.wait();
    for (const [topic, update, skip] of ready) {
      ctx.bus.publish(topic, skip ? { kind: 'update', update, skipSession: skip } : { kind: 'update', update });
    }
  } finally {
    turn.done();
  }
  return out;
}

/** A FIFO of turns: `reserve()` in commit order, `wait()` for the earlier turns to finish. */
export class Sequencer {
  #tail: Promise<void> = Promise.resolve();

  reserve(): { wait(): Promise<void>; done(): void } {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => { release = resolve; });
    return { wait: () => previous, done: release };
  }
}
