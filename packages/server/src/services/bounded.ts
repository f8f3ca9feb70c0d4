import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AppSettings, GroupMemberRecord, MembershipCaps, Storage } from '../storage/types.js';
import type { Caller, ServiceContext } from './context.js';

/**
 * Reads of lists that grow with a user or a group (members, friends, joined groups) go
 * in batches of this many rows, each read by index from where the last ended, with a
 * turn of the event loop between batches: a 6,000-member group costs twelve short reads
 * that other requests interleave with, not one long one that holds them all up.
 */
export const READ_BATCH = 500;

/** Lets I/O callbacks and timers run before the next batch (an `await` of a resolved promise would not). */
export function yieldTurn(): Promise<void> {
  return nextTurn();
}

/** The caller's app settings as they are now (an operator may change them at run time). */
export function settingsOf(ctx: ServiceContext, caller: Caller): AppSettings {
  return (ctx.apps?.peek(caller.app.sdkAppID) ?? caller.app).settings;
}

export function membershipCaps(settings: AppSettings): MembershipCaps {
  return { maxMembers: settings.maxGroupMembers, maxJoinedGroups: settings.maxJoinedGroups };
}

/** Calls `each` with the group's current members, READ_BATCH at a time in join order. */
export async function forEachMemberBatch(storage: Storage, app: number, groupID: string,
  each: (members: GroupMemberRecord[]) => void | Promise<void>): Promise<void> {
  let after = 0;
  for (;;) {
    const batch = await storage.groups.memberPage(app, groupID, after, READ_BATCH);
    if (batch.length > 0) await each(batch);
    if (batch.length < READ_BATCH) return;
    after = batch[batch.length - 1]!.seq;
    await yieldTurn();
  }
}

/** Reads a whole keyed list in READ_BATCH pages, yielding between pages. */
export async function readAll<T>(page: (after: string | undefined, limit: number) => Promise<T[]>, keyOf: (row: T) => string): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  for (;;) {
    const batch = await page(after, READ_BATCH);
    out.push(...batch);
    if (batch.length < READ_BATCH) return out;
    after = keyOf(batch[batch.length - 1]!);
    await yieldTurn();
  }
}
