/**
 * The order of a user's conversation list (REST `recentcontact/get_list`, the admin
 * view): pinned first, then by `orderKey` descending, then by `order_tie` descending.
 *
 * `orderKey` alone is not a position: one commit that activates several of a user's
 * rows (a batch of messages to 40 of Alice's conversations) gives all 40 the same
 * orderKey. `order_tie` makes the position unique and an integer, so a page can end
 * anywhere and the next one starts with an index seek to `(orderKey, tie)` — the REST
 * cursor's `TimeStamp` and `StartIndex` — instead of counting rows.
 *
 * A row's tie is set once, when the row is inserted, and never changes. The commit that
 * creates it has a version no other commit of the user has, so `version * 2^20 + r` is
 * unique per user, where r ranks the rows that commit writes for the user by convKey,
 * reversed — so the list (tie descending) shows conversations created together in
 * conversation-key order. Rows that existed before the column got n…1 the same way,
 * all below 2^20. This holds while a user's version stays below 2^33 and one commit
 * writes fewer than 2^20 rows of one user (batches are bounded far below that).
 */
export const TIE_STRIDE = 2 ** 20;

/** The tie each of these rows (one user's rows of one commit at `version`) gets if it is new. */
export function orderTies(version: number, convKeys: string[]): Map<string, number> {
  const ranked = [...convKeys].sort();
  return new Map(ranked.map((key, rank) => [key, version * TIE_STRIDE + (ranked.length - 1 - rank)]));
}
