import {
  Capability, ConfabError, MAX_MARK_TYPE, ErrorCode, MAX_BATCH, parseConversationID, tryParseConversationID,
  type DeletionStatus, type OperationResult, type OpResult, type UserUpdate, type WireConversation,
} from '@confab/protocol';
import type { AppRecord, ConversationPatch, ConversationRow, DeletionMode, DeletionRecord, DeviceRecord } from '../storage/types.js';
import { originOf, publishChanges, type Caller, type ServiceContext } from './context.js';
import type { AccountService } from './accounts.js';
import { convKeyFor, toWireConversation } from './wire.js';
import { decodeSyncCursor, encodeSyncCursor } from './sync-cursor.js';
import { lastMessagesOf } from './last-messages.js';

const MAX_CUSTOM_DATA_BYTES = 256;
/** Most rows per `conv.sync` page: a fresh device with 10k conversations needs 10 requests. */
export const MAX_SYNC_PAGE = 1000;
/** Rough JSON size at which a `conv.sync` page stops early, well under the 4 MiB send buffer limit. */
const SYNC_PAGE_BYTES = 512 * 1024;

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_MARK_TYPE && Math.log2(n) % 1 === 0;
}

/**
 * One deletion as its user sees it. A device counts when it is told of deletions (the
 * app's deletion sync is on and its SDK declared the capability) and was known when the
 * deletion happened; it has wiped the deletion once it acknowledged the version the
 * deletion committed at. The deleting device wiped it before its call returned.
 */
export function toDeletionStatus(r: DeletionRecord, devices: DeviceRecord[], app: AppRecord): DeletionStatus {
  const told = devices.filter((d) => d.deviceID === r.deviceID || (d.firstSeen <= r.createdAt && receivesDeletionSync(app, new Set(d.capabilities))));
  return {
    id: r.id, conversationID: r.conversationID, mode: r.mode, deviceID: r.deviceID, createdAt: r.createdAt, undoUntil: r.undoUntil,
    state: r.undoneAt !== null ? 'undone' : r.watermarkSeq === null ? 'kept' : r.purgedAt === null ? 'pending' : 'purged',
    erasedAt: r.erasedAt,
    devices: told.map((d) => ({ deviceID: d.deviceID, wiped: d.deviceID === r.deviceID || d.ackedVersion >= r.version, lastSeen: d.lastSeen })),
  };
}

/** Whether a device is told of deletions made on its user's other devices. */
export function receivesDeletionSync(app: AppRecord, capabilities: ReadonlySet<string>): boolean {
  return app.settings.syncConversationDeletion && capabilities.has(Capability.DELETION_SYNC);
}

/** Rows of a `conv.sync` page built between two turns of the event loop. */
const SYNC_CHUNK = 100;

export class ConversationService {
  readonly #ctx: ServiceContext;
  readonly #accounts: AccountService;

  constructor(ctx: ServiceContext, accounts: AccountService) {
    this.#ctx = ctx;
    this.#accounts = accounts;
  }

  /**
   * One page of the rows changed after `sinceVersion` (or after `cursor`), read by index
   * in (version, convKey) order: O(count) reads whatever the user's row count or the size
   * of a version step. A page may end inside a version step V; then `version` is V-1 (the
   * last version the device now holds completely) and `cursor` says where to go on.
   * Example: one deletion of 100 conversations is step 7; a fresh device asking 40 at a
   * time gets rows of steps 1-6 and 40 of step 7 with `version: 6, cursor: (7, key40)`, then
   * `{ sinceVersion: 6, cursor }` gives the next 40, and so on. Re-applying a row is
   * harmless, so a device that stops midway and resumes from version 6 converges too.
   */
  async sync(caller: Caller, sinceVersion: number, count = 100, cursor?: string): Promise<OpResult<'conv.sync'>> {
    const app = caller.app.sdkAppID;
    const limit = Math.min(Math.max(count, 1), MAX_SYNC_PAGE);
    const after = cursor === undefined ? undefined : decodeSyncCursor(cursor, sinceVersion);
    // Read before the rows: every step committed in between shows up in the rows (a row
    // re-stamped later is read at its newer version), so max(current, rows) is safe.
    const current = await this.#ctx.storage.accounts.syncVersion(app, caller.userID);
    const rows = after
      ? await this.#ctx.storage.conversations.changedSince(app, caller.userID, after.version, limit + 1, after.convKey)
      : await this.#ctx.storage.conversations.changedSince(app, caller.userID, sinceVersion, limit + 1);
    // A device catching up is not told of deletions made elsewhere unless deletion sync
    // applies to it; it keeps its copy, as it would have had it been online. A device
    // with nothing yet (version 0) is simply not shown the tombstones' conversations.
    const hideTombstones = sinceVersion > 0 && !receivesDeletionSync(this.#currentApp(caller), caller.capabilities);
    const conversations: WireConversation[] = [];
    let taken = 0;
    let bytes = 0;
    const candidates = rows.slice(0, limit);
    // Never hidden from the device that made the deletion: one that crashed before its
    // local wipe, with a message that landed just before the deletion already applied,
    // learns here what the deletion covered (its recovery alone keeps such a row).
    const ownTombstones = hideTombstones ? await this.#ownTombstones(caller, candidates.filter((r) => r.deleted)) : new Set<string>();
    const hidden = (r: ConversationRow) => r.deleted && hideTombstones && !ownTombstones.has(r.convKey);
    // The page is built SYNC_CHUNK rows at a time with a turn of the event loop between
    // chunks: a 1000-row page of a heavy user held every other client for about 40 ms
    // (bench/heavy-users.ts) when built in one go.
    build: for (let start = 0; start < candidates.length; start += SYNC_CHUNK) {
      if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const chunk = candidates.slice(start, start + SYNC_CHUNK);
      const lastOf = await lastMessagesOf(this.#ctx.storage, app, chunk.filter((r) => !hidden(r)));
      for (const row of chunk) {
        if (!hidden(row)) {
          const wire = toWireConversation(row, lastOf(row));
          // A page of 1000 rows whose last messages are 12 KiB each would be a 12 MiB frame:
          // stop at a byte budget instead (always at least one row, so a page advances).
          const size = JSON.stringify(wire).length;
          if (taken > 0 && bytes + size > SYNC_PAGE_BYTES) break build;
          bytes += size;
          conversations.push(wire);
        }
        taken++;
      }
    }
    const next = rows[taken];
    if (!next) {
      const reached = Math.max(sinceVersion, current, ...rows.map((r) => r.version));
      return { conversations, version: reached, isFinished: true };
    }
    const last = rows[taken - 1]!;
    if (next.version > last.version) return { conversations, version: last.version, isFinished: false };
    return { conversations, version: last.version - 1, isFinished: false, cursor: encodeSyncCursor({ version: last.version, convKey: last.convKey }) };
  }

  /** The convKeys of these tombstones whose latest deletion the caller's device made. */
  async #ownTombstones(caller: Caller, tombstones: ConversationRow[]): Promise<Set<string>> {
    if (tombstones.length === 0) return new Set();
    const deleters = await this.#ctx.storage.deletions.lastDeleters(caller.app.sdkAppID, caller.userID, tombstones.map((r) => r.convKey));
    return new Set(tombstones.filter((r) => deleters.get(r.convKey) === caller.deviceID).map((r) => r.convKey));
  }

  /**
   * Deletes conversations (or clears their history) for the caller only. O(1) per
   * conversation: a watermark moves; the purge worker erases the rows later.
   */
  async remove(caller: Caller, conversationIDs: string[], mode: DeletionMode, single = false, requestID?: string): Promise<{ results: OperationResult[]; update?: UserUpdate }> {
    if (conversationIDs.length === 0) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'conversationIDs is empty');
    if (conversationIDs.length > MAX_BATCH) {
      throw new ConfabError(ErrorCode.TOO_MANY_CONVERSATIONS, `at most ${MAX_BATCH} conversations per call, got ${conversationIDs.length}`);
    }
    if (single) parseConversationID(conversationIDs[0]);
    const results: OperationResult[] = [];
    const targets = new Map<string, { convKey: string; conversationID: string }>();
    for (const id of conversationIDs) {
      const parsed = tryParseConversationID(id);
      if (!parsed) {
        results.push({ id, resultCode: ErrorCode.INVALID_PARAMETERS, resultInfo: 'conversationID must be c2c_<userID> or group_<groupID>' });
        continue;
      }
      const convKey = convKeyFor(caller.userID, parsed);
      targets.set(convKey, { convKey, conversationID: id });
      results.push({ id, resultCode: 0, resultInfo: '' });
    }
    const out: { results: OperationResult[]; update?: UserUpdate } = { results };
    if (targets.size === 0) return out;
    const app = caller.app.sdkAppID;
    const now = this.#ctx.now();
    const undoSeconds = this.#currentApp(caller).settings.deletionUndoSeconds;
    const { change } = await this.#ctx.storage.deletions.remove(app, caller.userID, [...targets.values()],
      { mode, deviceID: caller.deviceID, now, ...(undoSeconds > 0 ? { undoUntil: now + undoSeconds * 1000 } : {}),
        ...(requestID !== undefined ? { requestID } : {}) });
    if (!change) return out;
    const deletion = { mode, conversationIDs: change.rows.map((r) => r.conversationID), deviceID: caller.deviceID };
    const update = (await publishChanges(this.#ctx, [change], undefined, { deletion }, originOf(caller))).get(`${app}|${caller.userID}`);
    if (update) out.update = update;
    this.#ctx.onDeletion?.();
    return out;
  }

  /** Undoes the caller's latest deletion of a conversation within the app's undo window. */
  async undo(caller: Caller, conversationID: string): Promise<UserUpdate | undefined> {
    const parsed = parseConversationID(conversationID);
    const app = caller.app.sdkAppID;
    const { change } = await this.#ctx.storage.deletions.undo(app, caller.userID, convKeyFor(caller.userID, parsed), this.#ctx.now());
    if (!change) {
      throw new ConfabError(ErrorCode.NOTHING_TO_UNDO, `no deletion of ${conversationID} can be undone now`);
    }
    const deletion = { mode: 'delete' as const, conversationIDs: [conversationID], deviceID: caller.deviceID, undone: true };
    return (await publishChanges(this.#ctx, [change], undefined, { deletion }, originOf(caller))).get(`${app}|${caller.userID}`);
  }

  /**
   * The caller's recent deletions with their state on the server and on each device
   * that is told of deletions: "wiped on 2 of 3 devices".
   */
  async deletionStatus(caller: Caller, conversationID?: string, limit = 20): Promise<DeletionStatus[]> {
    if (conversationID !== undefined) parseConversationID(conversationID);
    const app = caller.app.sdkAppID;
    const records = await this.#ctx.storage.deletions.list(app, { userID: caller.userID, limit: conversationID ? 200 : limit });
    const devices = await this.#ctx.storage.devices.list(app, caller.userID);
    const current = this.#currentApp(caller);
    return records.filter((r) => conversationID === undefined || r.conversationID === conversationID).slice(0, limit)
      .map((r) => toDeletionStatus(r, devices, current));
  }

  #currentApp(caller: Caller): AppRecord {
    return this.#ctx.apps?.peek(caller.app.sdkAppID) ?? caller.app;
  }

  async markRead(caller: Caller, conversationID: string): Promise<UserUpdate | undefined> {
    return this.#patchOne(caller, conversationID, { kind: 'markRead' }, false);
  }

  async pin(caller: Caller, conversationID: string, isPinned: boolean): Promise<UserUpdate | undefined> {
    return this.#patchOne(caller, conversationID, { kind: 'pin', isPinned }, true);
  }

  async setDraft(caller: Caller, conversationID: string, draftText: string): Promise<UserUpdate | undefined> {
    if (Buffer.byteLength(draftText) > 8 * 1024) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'draftText is longer than 8 KiB');
    return this.#patchOne(caller, conversationID, { kind: 'draft', draftText, now: this.#ctx.now() }, true);
  }

  async setCustomData(caller: Caller, conversationIDs: string[], customData: string): Promise<{ results: OperationResult[]; update?: UserUpdate }> {
    if (Buffer.byteLength(customData) > MAX_CUSTOM_DATA_BYTES) {
      throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `customData is longer than ${MAX_CUSTOM_DATA_BYTES} bytes`);
    }
    return this.#patchMany(caller, conversationIDs, { kind: 'customData', customData });
  }

  /** The reference's markConversation: one mark on or off for up to 100 conversations. */
  async mark(caller: Caller, conversationIDs: string[], markType: number, enable: boolean): Promise<{ results: OperationResult[]; update?: UserUpdate }> {
    if (!isPowerOfTwo(markType)) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `markType must be a power of two from 1 to 2^52, got ${markType}`);
    return this.#patchMany(caller, conversationIDs, { kind: 'mark', markType, enable });
  }

  /** One patch on up to 100 of the caller's conversations, with one result per ID. */
  async #patchMany(caller: Caller, conversationIDs: string[], patch: ConversationPatch): Promise<{ results: OperationResult[]; update?: UserUpdate }> {
    if (conversationIDs.length === 0) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'conversationIDs is empty');
    if (conversationIDs.length > MAX_BATCH) {
      throw new ConfabError(ErrorCode.TOO_MANY_CONVERSATIONS, `at most ${MAX_BATCH} conversations per call, got ${conversationIDs.length}`);
    }
    const results = new Map<string, OperationResult>();
    const targets = [];
    for (const id of new Set(conversationIDs)) {
      const parsed = tryParseConversationID(id);
      if (!parsed) {
        results.set(id, { id, resultCode: ErrorCode.INVALID_PARAMETERS, resultInfo: 'malformed conversation ID' });
        continue;
      }
      targets.push({ convKey: convKeyFor(caller.userID, parsed), conversationID: id, create: false });
    }
    const { change, missing } = await this.#ctx.storage.conversations.patch(caller.app.sdkAppID, caller.userID, targets, patch);
    for (const id of missing) results.set(id, { id, resultCode: ErrorCode.INVALID_CONVERSATION, resultInfo: 'no such conversation' });
    const updates = change ? await publishChanges(this.#ctx, [change], undefined, {}, originOf(caller)) : undefined;
    const ordered = conversationIDs.filter((id, i) => conversationIDs.indexOf(id) === i)
      .map((id) => results.get(id) ?? { id, resultCode: 0, resultInfo: '' });
    const out: { results: OperationResult[]; update?: UserUpdate } = { results: ordered };
    const update = updates?.get(`${caller.app.sdkAppID}|${caller.userID}`);
    if (update) out.update = update;
    return out;
  }

  async #patchOne(caller: Caller, conversationID: string, patch: ConversationPatch, createIfAllowed: boolean): Promise<UserUpdate | undefined> {
    const parsed = parseConversationID(conversationID);
    const app = caller.app.sdkAppID;
    let create = false;
    if (createIfAllowed) {
      create = parsed.type === 1
        ? parsed.userID !== caller.userID && await this.#accounts.exists(app, parsed.userID)
        : (await this.#ctx.storage.groups.member(app, parsed.groupID, caller.userID)) !== undefined;
    }
    const { change, missing } = await this.#ctx.storage.conversations.patch(app, caller.userID,
      [{ convKey: convKeyFor(caller.userID, parsed), conversationID, create }], patch);
    if (missing.length && createIfAllowed) {
      throw new ConfabError(ErrorCode.INVALID_CONVERSATION, `conversation ${conversationID} does not exist for you`);
    }
    if (!change) return undefined;
    return (await publishChanges(this.#ctx, [change], undefined, {}, originOf(caller))).get(`${app}|${caller.userID}`);
  }
}
