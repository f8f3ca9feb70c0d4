/**
 * Conversation deletion and history clearing, shared by the conversation and message
 * managers, and the crash recovery run at login (docs/deletion.md).
 *
 * Flow of one call: validate → record a pending entry (with a fresh random `requestID`)
 * in the store meta → send `conv.delete` / `conv.clearHistory` with that requestID → on
 * the server's OK, apply its `update` and wipe whatever of those conversations the update
 * could not reach, in the sync engine's write queue → clear the pending entry. Success is
 * reported only after all of that. A re-issue at login sends the same requestID, which
 * the server answers as already done: it never deletes messages that arrived after the
 * original deletion.
 */
import {
  ConfabError, ErrorCode, type DeletionMode, type OperationResult, type UserUpdate,
} from '@confab/protocol';
import type { Logger } from '../log.js';
import { newRequestID, type PendingDeletion } from '../sync/pending-deletions.js';
import type { ExclusiveContext } from '../sync/sync-engine.js';
import { randomID, type Session } from './core.js';

/** Errors after which the server may or may not have committed the request. */
const MAYBE_APPLIED: ReadonlySet<number> = new Set([
  ErrorCode.NETWORK_DISCONNECTED, ErrorCode.NETWORK_WAIT_ACK_TIMEOUT, ErrorCode.REQUEST_TIMEOUT,
]);

export function isNetworkError(err: unknown): boolean {
  return err instanceof ConfabError && MAYBE_APPLIED.has(err.code);
}

/** Sends the entry's request with its requestID (the same on every attempt). */
async function send(s: Session, entry: PendingDeletion & { requestID: string }): Promise<{ results: OperationResult[]; update?: UserUpdate }> {
  const { requestID } = entry;
  if (entry.mode === 'clearHistory') {
    const id = entry.conversationIDs[0]!;
    const res = await s.connection.request('conv.clearHistory', { conversationID: id, requestID });
    return { results: [{ id, resultCode: 0, resultInfo: '' }], ...(res.update ? { update: res.update } : {}) };
  }
  return s.connection.request('conv.delete', { conversationIDs: [...entry.conversationIDs], clearMessages: entry.mode === 'delete', requestID });
}

/**
 * Deletes (or clears) valid conversation IDs on the server, then locally. Returns the
 * server's per-ID results. Fails with 9508 without sending anything when not connected;
 * the local copy is untouched on every failure.
 */
export async function removeConversations(s: Session, conversationIDs: string[], mode: DeletionMode): Promise<OperationResult[]> {
  if (s.connection.state !== 'connected') {
    throw new ConfabError(ErrorCode.NETWORK_DISCONNECTED, `not connected (${s.connection.state}); nothing was deleted`);
  }
  const versionAtSend = s.engine.version;
  const entry = {
    id: randomID(), conversationIDs: [...conversationIDs], mode, requestID: newRequestID(), version: versionAtSend,
  } satisfies PendingDeletion;
  await s.pending.add(entry);
  let res: Awaited<ReturnType<typeof send>>;
  try {
    res = await send(s, entry);
  } catch (err) {
    // Sent but unanswered: the server may have committed, so the next login re-issues it
    // (idempotent) to bring this device in line. A refusal changed nothing: forget it.
    if (!isNetworkError(err)) await s.pending.remove(entry.id).catch(() => undefined);
    throw err;
  }
  const accepted = res.results.filter((r) => r.resultCode === 0).map((r) => r.id);
  const done = await s.engine.applyRemoval({
    update: res.update, conversationIDs: accepted, mode,
    upToVersion: res.update ? res.update.version - 1 : versionAtSend,
  });
  if (!done) throw new ConfabError(ErrorCode.NETWORK_DISCONNECTED, 'logged out before the local copy was wiped; it is wiped at the next login');
  await s.pending.remove(entry.id);
  return res.results;
}

/**
 * Re-issues the deletions a previous run sent but did not finish applying, in the write
 * queue before the first sync. Call right after login (and after a reconnect): the
 * `exclusive` task is queued synchronously, ahead of the sync queued after it.
 * An entry is kept when the server cannot be reached, dropped (with a warning) when the
 * server refuses it with any other code.
 */
export function recoverPendingDeletions(s: Session, log: Logger): Promise<void> {
  return s.engine.exclusive(async (ctx: ExclusiveContext) => {
    const entries = await s.pending.list();
    for (const stored of entries) {
      // An entry of an older SDK has no requestID: give it one, stored before it is sent,
      // so that every later re-issue of this entry repeats it.
      const entry = { ...stored, requestID: stored.requestID ?? newRequestID() };
      if (!stored.requestID) await s.pending.update(entry);
      const versionAtSend = ctx.version;
      let res: Awaited<ReturnType<typeof send>>;
      try {
        res = await send(s, entry);
      } catch (err) {
        if (isNetworkError(err)) {
          log.warn(`pending deletion of ${entry.conversationIDs.join(',')} not re-issued (offline); kept for later`);
          return;
        }
        log.warn(`pending deletion of ${entry.conversationIDs.join(',')} refused by the server: ${(err as Error).message}; dropped`);
        await s.pending.remove(entry.id);
        continue;
      }
      const accepted = res.results.filter((r) => r.resultCode === 0).map((r) => r.id);
      // No update: the server had nothing (more) to do, typically because it applied this
      // requestID before. Rows at or below the version of the first attempt predate the
      // deletion; a row changed after it may be a conversation a new message brought
      // back, so it is kept.
      const done = await ctx.applyRemoval({
        update: res.update, conversationIDs: accepted, mode: entry.mode,
        upToVersion: res.update ? res.update.version - 1 : Math.min(versionAtSend, entry.version ?? versionAtSend),
      });
      if (!done) return;
      await s.pending.remove(entry.id);
    }
  }).then(() => undefined, (err: unknown) => {
    log.warn(`recovering pending deletions failed: ${(err as Error).message}`);
  });
}
