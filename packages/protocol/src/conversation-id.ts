import { ConfabError, ErrorCode } from './errors.js';
import { isValidGroupID, isValidUserID } from './ids.js';

/** The reference's `V2TIMConversationType`. */
export const ConversationType = { UNKNOWN: 0, C2C: 1, GROUP: 2 } as const;
export type ConversationType = (typeof ConversationType)[keyof typeof ConversationType];

export type ParsedConversationID =
  | { type: typeof ConversationType.C2C; conversationID: string; userID: string }
  | { type: typeof ConversationType.GROUP; conversationID: string; groupID: string };

/**
 * Conversation IDs use the reference's native form: `c2c_<userID>` and
 * `group_<groupID>`. They are written from the viewer's side: Alice's chat with
 * Bob is `c2c_bob` for Alice and `c2c_alice` for Bob.
 */
export function c2cConversationID(userID: string): string {
  return `c2c_${userID}`;
}

export function groupConversationID(groupID: string): string {
  return `group_${groupID}`;
}

/** Parses a conversation ID, or returns undefined when it is malformed. */
export function tryParseConversationID(id: unknown): ParsedConversationID | undefined {
  if (typeof id !== 'string') return undefined;
  if (id.startsWith('c2c_')) {
    const userID = id.slice(4);
    return isValidUserID(userID) ? { type: ConversationType.C2C, conversationID: id, userID } : undefined;
  }
  if (id.startsWith('group_')) {
    const groupID = id.slice(6);
    return isValidGroupID(groupID) ? { type: ConversationType.GROUP, conversationID: id, groupID } : undefined;
  }
  return undefined;
}

/** Parses a conversation ID; a malformed one is error 6017 (invalid parameters). */
export function parseConversationID(id: unknown): ParsedConversationID {
  const parsed = tryParseConversationID(id);
  if (!parsed) {
    throw new ConfabError(ErrorCode.INVALID_PARAMETERS,
      `conversationID must be c2c_<userID> or group_<groupID>, got ${JSON.stringify(id)}`);
  }
  return parsed;
}
