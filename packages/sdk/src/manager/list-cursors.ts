/**
 * `getConversationList(nextSeq, count)`'s cursors. The reference's `nextSeq` is an opaque
 * 64-bit number; here it names the position of the last row a page returned, kept by the
 * session. A number cannot carry that position itself: the order ends in the
 * conversationID (orderKeys tie when one server batch activates several conversations),
 * and a cursor that only counted rows ("skip the first 2 of orderKey 7") would skip an
 * untouched row as soon as an earlier one moved away between two pages.
 *
 * Guarantee, with the store paging strictly after that position: a conversation that was
 * not changed while the app paged is returned exactly once, in order. One that changed
 * and moved up past the cursor (a new message, a pin) may be returned again; one that
 * moved down (unpinned) is returned at its new place if that is still ahead.
 *
 * Cursors live as long as the login session (a new login starts from 0) and the newest
 * MAX_CURSORS are kept, plenty for paging a list of any length page by page. Values start
 * at a random base, so a cursor from an earlier session is refused (6017) rather than
 * taken for another one.
 */
import { ConfabError, ErrorCode } from '@confab/protocol';
import type { ConversationPosition } from '../store/types.js';

export const MAX_CURSORS = 4096;

export class ListCursors {
  readonly #positions = new Map<number, ConversationPosition | null>();
  #next: number;

  constructor(random: () => number = Math.random) {
    // Below 2^52, leaving room to count up without leaving the safe integers.
    this.#next = 1 + Math.floor(random() * 2 ** 40) * 2 ** 10;
  }

  /** A new cursor for "after `position`" (null: the list had no rows; resume from the top). */
  issue(position: ConversationPosition | null): number {
    const id = this.#next++;
    this.#positions.set(id, position);
    if (this.#positions.size > MAX_CURSORS) this.#positions.delete(this.#positions.keys().next().value!);
    return id;
  }

  /** The position `nextSeq` stands for; undefined for 0 (the first page). */
  resolve(nextSeq: number): ConversationPosition | undefined {
    if (nextSeq === 0) return undefined;
    const position = this.#positions.get(nextSeq);
    if (position === undefined) {
      throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `nextSeq ${nextSeq} is not a cursor of this login session; start again from 0`);
    }
    return position ?? undefined;
  }
}
