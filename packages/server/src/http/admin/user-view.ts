import { ConfabError, ErrorCode } from '@confab/protocol';
import type { HttpContext } from '../areas.js';
import { lastMessagesOf } from '../../services/last-messages.js';
import { toWireConversation } from '../../services/wire.js';

/**
 * The admin's view of one user: profile, devices and conversations (tombstones included),
 * content-free. Conversations and devices are paged — `limit` (1-500, default 100) and
 * the `conversationsCursor` / `devicesCursor` of the previous answer (null when there is
 * no more) — so a user with 100k conversations costs one page of index reads, not a read
 * of everything. Conversations come oldest change first (by version, as conv.sync reads
 * them); devices by device ID.
 */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;

function limitOf(params: URLSearchParams): number {
  const raw = params.get('limit');
  if (raw === null) return DEFAULT_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `limit must be an integer from 1 to ${MAX_LIMIT}`);
  return n;
}

function decodePosition(cursor: string | null): { version: number; convKey?: string } {
  if (cursor === null) return { version: 0 };
  try {
    const [version, convKey] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (Number.isSafeInteger(version) && (version as number) >= 0 && typeof convKey === 'string' && convKey.length > 0) return { version: version as number, convKey };
  } catch {
    // fall through
  }
  throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'conversationsCursor is malformed: pass back the one the last answer gave');
}

const encodePosition = (version: number, convKey: string) => Buffer.from(JSON.stringify([version, convKey])).toString('base64url');

export async function userView(ctx: HttpContext, sdkAppID: number, account: { userID: string; nickName: string; faceUrl: string; createdAt: number }, params: URLSearchParams) {
  const { storage } = ctx.domain;
  const userID = account.userID;
  const limit = limitOf(params);
  const position = decodePosition(params.get('conversationsCursor'));
  const afterDevice = params.get('devicesCursor') ?? undefined;

  const [rows, devices, syncVersion, online] = await Promise.all([
    storage.conversations.changedSince(sdkAppID, userID, position.version, limit + 1, position.convKey),
    storage.devices.page(sdkAppID, userID, limit + 1, afterDevice),
    storage.accounts.syncVersion(sdkAppID, userID),
    // Every node's sessions, from the presence table (rows of a node that died expire).
    storage.presence.online(sdkAppID, userID, Date.now()),
  ]);
  const page = rows.slice(0, limit);
  const lastOf = await lastMessagesOf(storage, sdkAppID, page);
  const conversations = page.map((row) => {
    // The admin view is content-free: it shows that a last message exists, not what it says.
    // Drafts and custom data are the user's words too: the view says whether they exist.
    const { draftText, customData, ...wire } = toWireConversation(row, lastOf(row));
    return { ...wire, hasDraft: draftText !== '', hasCustomData: customData !== '',
      lastMessage: wire.lastMessage ? { msgID: wire.lastMessage.msgID, seq: wire.lastMessage.seq, sender: wire.lastMessage.sender, timestamp: wire.lastMessage.timestamp } : null };
  });
  const lastRow = page.at(-1);
  const devicePage = devices.slice(0, limit);
  return {
    devices: devicePage,
    devicesCursor: devices.length > limit ? devicePage.at(-1)!.deviceID : null,
    user: { userID, nickName: account.nickName, faceUrl: account.faceUrl, createdAt: account.createdAt,
      syncVersion,
      onlineSessions: online.map((p) => ({ deviceID: p.deviceID, capabilities: p.capabilities, protocolVersion: p.protocolVersion, node: p.node, since: p.since })) },
    conversations,
    conversationsCursor: rows.length > limit && lastRow ? encodePosition(lastRow.version, lastRow.convKey) : null,
  };
}
