import { createHash } from 'node:crypto';

/**
 * The key under which the purge remembers an erased message, so that a resend of it
 * (same clientMsgID, say after a reconnect) is refused instead of stored again: SHA-256
 * of the app, conversation, sender and clientMsgID, truncated to 132 bits (22 base64url characters). The record
 * holds no content and not the clientMsgID itself; that many bits keep a false match (a new
 * message refused as a resend) out of reach even over billions of records.
 */
export function purgedSendKey(app: number, convKey: string, sender: string, clientMsgID: string): string {
  return createHash('sha256').update(`${app}\u0000${convKey}\u0000${sender}\u0000${clientMsgID}`).digest('base64url').slice(0, 22);
}
