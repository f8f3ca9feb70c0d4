/**
 * Conversation IDs: the Web SDK writes `C2C<userID>` / `GROUP<groupID>`, the core (like
 * the native SDKs) `c2c_<userID>` / `group_<groupID>`. Only the prefix is swapped, so a
 * user ID that itself contains `c2c_` survives the round trip (the reference's Flutter web
 * shim replaces the substring anywhere and would corrupt it).
 */
import { isValidGroupID, isValidUserID } from '@confab/protocol';
import { ERROR_CODE, TYPES } from './constants.js';
import { ChatError } from './errors.js';

export interface ParsedWebID {
  type: typeof TYPES.CONV_C2C | typeof TYPES.CONV_GROUP;
  /** The peer's user ID or the group ID. */
  id: string;
  coreID: string;
}

export function parseWebConversationID(conversationID: unknown): ParsedWebID | undefined {
  if (typeof conversationID !== 'string') return undefined;
  if (conversationID.startsWith(TYPES.CONV_C2C)) {
    const id = conversationID.slice(TYPES.CONV_C2C.length);
    return isValidUserID(id) ? { type: TYPES.CONV_C2C, id, coreID: `c2c_${id}` } : undefined;
  }
  if (conversationID.startsWith(TYPES.CONV_GROUP)) {
    const id = conversationID.slice(TYPES.CONV_GROUP.length);
    return isValidGroupID(id) ? { type: TYPES.CONV_GROUP, id, coreID: `group_${id}` } : undefined;
  }
  return undefined;
}

/**
 * A Web conversation ID the core can act on. `@TIM#SYSTEM` and topics are IDs the
 * reference knows but Confab has no such conversations: 2502 CONV_UN_RECORDED_TYPE;
 * anything else malformed is 2503 INVALID_CONV_ID.
 */
export function requireWebConversationID(conversationID: unknown): ParsedWebID {
  const parsed = parseWebConversationID(conversationID);
  if (parsed) return parsed;
  if (conversationID === TYPES.CONV_SYSTEM || (typeof conversationID === 'string' && conversationID.startsWith(TYPES.CONV_TOPIC))) {
    throw new ChatError(ERROR_CODE.CONV_UN_RECORDED_TYPE, `conversation type of ${conversationID} is not supported`);
  }
  throw new ChatError(ERROR_CODE.INVALID_CONV_ID, `invalid conversationID: ${String(conversationID)}`);
}

/** `c2c_alice` → `C2Calice`, `group_g1` → `GROUPg1`. */
export function toWebConversationID(coreID: string): string {
  if (coreID.startsWith('c2c_')) return TYPES.CONV_C2C + coreID.slice(4);
  if (coreID.startsWith('group_')) return TYPES.CONV_GROUP + coreID.slice(6);
  return coreID;
}
