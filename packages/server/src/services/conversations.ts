import {
  Capability, ConfabError, MAX_MARK_TYPE, ErrorCode, MAX_BATCH, parseConversationID, tryParseConversationID,
  type DeletionStatus, type OperationResult, type UserUpdate, type WireConversation,
} from '@confab/protocol';
import type { AppRecord, ConversationPatch, DeletionMode, DeletionRecord, DeviceRecord } from '../storage/types.js';
import { originOf, publishChanges, type Caller, type ServiceContext } from './context.js';
import type { AccountService } from './accounts.js';
import { convKeyFor, toWireConversation } from './wire.js';

const MAX_CUSTOM_DATA_BYTES = 256;

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
    devices: told.map((d) => ({ deviceID: d.deviceID, wiped: d.deviceID === r.deviceID || d.ackedVersion >= r.version, lastSeen: d.lastSeen })),
  };
}

/** Whether a device is told of deletions made on its user's other devices. */
export function receivesDeletionSync(app: AppRecord, capabilities: ReadonlySet<string>): boolean {
  return app.settings.syncConversationDeletion && capabilities.has(Capability.DELETION_SYNC);
}

export class ConversationService {
  readonly #ctx: ServiceContext;
  readonly #accounts: AccountService;

  constructor(ctx: ServiceContext, accounts: AccountService) {
    this.#ctx = ctx;
    this.#accounts = accounts;
  }

  /** Rows changed after `sinceVersion`, with the version they bring the device to. */
  async sync(caller: Caller, sinceVersion: number, count = 100): Promise<{ conversations: WireConversation[]; version: number; isFinished: boolean }> {
    const app = caller.app.sdkAppID;
    const limit = Math.min(Math.max(count, 1), 500);
    const current = await this.#ctx.storage.accounts.syncVersion(app, caller.userID);
    const rows = await this.#ctx.storage.conversations.changedSince(app, caller.userID, sinceVersion, limit);
    // A device catching up is not told of deletions made elsewhere unless deletion sync
    // applies to it; it keeps its copy, as it would have had it been online. A device
    // with nothing yet (version 0) is simply not shown the tombstones' conversations.
    const hideTombstones = sinceVersion > 0 && !receivesDeletionSync(this.#currentApp(caller), caller.capabilities);
    const conversations: WireConversation[] = [];
    for (const row of rows) {
      if (row.deleted && hideTombstones) continue;
      const last = !row.deleted && row.lastSeq >= row.visibleFromSeq
        ? await this.#ctx.storage.messages.get(app, row.convKey, row.lastSeq) : undefined;
      conversations.push(toWireConversation(row, last));
    }
    const reached = rows.length ? rows[rows.length - 1]!.version : Math.max(sinceVersion, current);
    return { conversations, version: reached, isFinished: reached >= current };
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
