import { ConfabError, ErrorCode } from '@confab/protocol';
import type { ServiceContext } from './context.js';

/**
 * Refuses the resend of a message the purge has erased. Before the purge, a resend (the
 * SDK resends an unacknowledged message with the same clientMsgID, say after a
 * reconnect) finds the stored message and is refused with 51013 when it lies below the
 * sender's watermark. The purge erases that message together with its idempotency key,
 * so without this check the resend would be stored as a new message and bring an old
 * message back into a conversation both sides deleted. The purge leaves a content-free
 * record of each erased message (`DeletionStore.wasPurged`) for this.
 *
 * One indexed read per send. A resend that arrives while the purge step erasing its
 * original is in flight can still pass: the purge runs only after every participant
 * deleted, so that needs a resend racing a purge step in the same milliseconds.
 */
export async function refusePurgedResend(ctx: ServiceContext, app: number, convKey: string, sender: string, clientMsgID: string): Promise<void> {
  if (await ctx.storage.deletions.wasPurged(app, convKey, sender, clientMsgID)) {
    throw new ConfabError(ErrorCode.MESSAGE_DELETED, 'this message was deleted with its conversation and erased since it was first sent; it is not sent again');
  }
}
