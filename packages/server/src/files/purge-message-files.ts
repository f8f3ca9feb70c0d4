import type { Domain } from '../services/domain.js';

/**
 * Deletes the files of one message from the file store (and their records): for
 * anything that removes a single message, such as a revoke. Idempotent; returns how
 * many files the message had. The purge of deleted conversations does the same on its
 * own, in its steps. Example: `await purgeMessageFiles(domain, app, convKey, msg.sender, msg.clientMsgID)`.
 */
export async function purgeMessageFiles(domain: Domain, app: number, convKey: string, sender: string, clientMsgID: string): Promise<number> {
  return (await domain.files?.purgeMessageFiles(app, convKey, sender, clientMsgID)) ?? 0;
}
