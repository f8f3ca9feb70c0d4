/**
 * Batch validation shared by every store. A store calls `validateBatch` before it writes
 * anything, so "a batch with one bad item changes nothing" holds even for a backend that
 * cannot roll back (an in-memory map). Example: the 3rd of 50 messages in a catch-up page
 * has `seq: -1` — without this check MemoryStore would keep the first two and the stored
 * sync version would no longer describe what is stored.
 */
import { ConfabError, ErrorCode, tryParseConversationID } from '@confab/protocol';
import type { StoreChangeBatch, StoredConversation, StoredMessage, StoreScope } from './types.js';

function fail(what: string): never {
  throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `invalid store batch: ${what}`);
}

function isSeq(n: unknown, min = 1): boolean {
  return Number.isSafeInteger(n) && (n as number) >= min;
}

function checkConversationID(id: unknown, where: string): void {
  if (!tryParseConversationID(id)) fail(`${where}: bad conversationID ${JSON.stringify(id)}`);
}

function checkMessage(m: StoredMessage | undefined, where: string): void {
  if (typeof m !== 'object' || m === null) fail(`${where}: not an object`);
  checkConversationID(m.conversationID, where);
  if (typeof m.msgID !== 'string' || m.msgID === '') fail(`${where}: msgID must be a non-empty string`);
  if (!isSeq(m.seq)) fail(`${where}: seq must be a positive integer`);
  if (typeof m.elem !== 'object' || m.elem === null) fail(`${where}: elem missing`);
}

function checkConversation(c: StoredConversation | undefined, where: string): void {
  if (typeof c !== 'object' || c === null) fail(`${where}: not an object`);
  checkConversationID(c.conversationID, where);
  for (const key of ['lastSeq', 'unreadCount', 'readSeq', 'visibleFromSeq', 'orderKey', 'version'] as const) {
    if (!isSeq(c[key], 0)) fail(`${where}: ${key} must be a non-negative integer`);
  }
  if (c.lastMessage !== null) checkMessage(c.lastMessage, `${where}.lastMessage`);
}

export function validateBatch(batch: StoreChangeBatch): void {
  if (typeof batch !== 'object' || batch === null) fail('not an object');
  if (batch.syncVersion !== undefined && !isSeq(batch.syncVersion, 0)) fail('syncVersion must be a non-negative integer');
  batch.upsertConversations?.forEach((c, i) => checkConversation(c, `upsertConversations[${i}]`));
  batch.removeConversations?.forEach((id, i) => checkConversationID(id, `removeConversations[${i}]`));
  batch.clearMessages?.forEach((id, i) => checkConversationID(id, `clearMessages[${i}]`));
  batch.putMessages?.forEach((m, i) => checkMessage(m, `putMessages[${i}]`));
  batch.setLocalCustom?.forEach((p, i) => {
    if (typeof p?.msgID !== 'string' || p.msgID === '') fail(`setLocalCustom[${i}]: msgID must be a non-empty string`);
    if (p.localCustomData !== undefined && typeof p.localCustomData !== 'string') fail(`setLocalCustom[${i}]: localCustomData must be a string`);
    if (p.localCustomInt !== undefined && !Number.isSafeInteger(p.localCustomInt)) fail(`setLocalCustom[${i}]: localCustomInt must be an integer`);
  });
  batch.dropMessagesBelow?.forEach((d, i) => {
    checkConversationID(d?.conversationID, `dropMessagesBelow[${i}]`);
    if (!isSeq(d.seq, 0)) fail(`dropMessagesBelow[${i}]: seq must be a non-negative integer`);
  });
}

export function validateScope(scope: StoreScope): void {
  if (!Number.isSafeInteger(scope?.sdkAppID) || typeof scope.userID !== 'string' || scope.userID === '') {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'store scope needs a numeric sdkAppID and a userID');
  }
}

export function notOpen(): never {
  throw new ConfabError(ErrorCode.LOCAL_STORE_FAILED, 'the local store is not open (log in first)');
}
