import { elemTypeNumber } from '@confab/protocol';
import type { Storage, StoredMessage } from '../storage/types.js';

/** The filters of `msg.history` beyond paging. */
export interface HistoryFilter {
  beforeSeq?: number;
  afterSeq?: number;
  /** Seconds, inclusive. */
  timeFrom?: number;
  timeTo?: number;
  /** V2TIMElemType numbers. */
  elemTypes?: number[];
}

/** Most messages one filtered page reads, matching or not. */
export const FILTER_SCAN_LIMIT = 1000;
const READ_STEP = 100;

/**
 * A history page with filters, at O(page) cost whatever the conversation's length:
 *
 * - a time range becomes a seq range by two seeks of the (conversation, created_at)
 *   index (`seqAtTime`), so "the messages of last March" in a chat of a million starts
 *   reading there, not at the newest message;
 * - a type filter cannot use an index (types live in the element), so a page reads at
 *   most FILTER_SCAN_LIMIT messages and answers with what matched and `nextSeq`, where
 *   the next page's read starts. Example: 20 images asked for among 5,000 texts — the
 *   first page answers none with `isFinished: false`, and the client asks on.
 *
 * `floor..ceiling` is what the caller may see (watermark to last seq). A node stamps a
 * batch's messages with one time, never below its previous batch's (MessageService), so
 * a conversation's times do not go down as its seqs go up and the seeks are exact. In a
 * cluster two nodes' clocks may differ: a message sent through another node at the
 * very edge of a range may then fall on the wrong side of it by the clocks' skew.
 */
export async function filteredHistory(storage: Storage, app: number, convKey: string, floor: number, ceiling: number,
  count: number, filter: HistoryFilter): Promise<{ messages: StoredMessage[]; isFinished: boolean; nextSeq: number }> {
  const newer = filter.afterSeq !== undefined;
  let lo = newer ? Math.max(floor, filter.afterSeq! + 1) : floor;
  let hi = !newer && filter.beforeSeq ? Math.min(ceiling, filter.beforeSeq - 1) : ceiling;
  const fromMs = filter.timeFrom !== undefined ? filter.timeFrom * 1000 : undefined;
  const toMs = filter.timeTo !== undefined ? filter.timeTo * 1000 + 999 : undefined;
  if (fromMs !== undefined) lo = Math.max(lo, (await storage.messages.seqAtTime(app, convKey, fromMs, 'first')) ?? hi + 1);
  if (toMs !== undefined) hi = Math.min(hi, (await storage.messages.seqAtTime(app, convKey, toMs, 'last')) ?? lo - 1);
  const types = filter.elemTypes && filter.elemTypes.length > 0 ? new Set(filter.elemTypes) : undefined;
  const keep = (m: StoredMessage): boolean => (types === undefined || types.has(elemTypeNumber(m.elem.type)))
    && (fromMs === undefined || m.createdAt >= fromMs) && (toMs === undefined || m.createdAt <= toMs);

  const found: StoredMessage[] = [];
  let scanned = 0;
  // The next seq to read: walking down from hi (older) or up from lo (newer).
  let cursor = newer ? lo : hi;
  const done = (): boolean => (newer ? cursor > hi : cursor < lo);
  while (!done() && found.length < count && scanned < FILTER_SCAN_LIMIT) {
    const step = Math.min(READ_STEP, FILTER_SCAN_LIMIT - scanned);
    const rows = newer
      ? await storage.messages.range(app, convKey, cursor, hi, step, 'asc')
      : await storage.messages.range(app, convKey, lo, cursor, step, 'desc');
    if (rows.length === 0) {
      cursor = newer ? hi + 1 : lo - 1;
      break;
    }
    for (const m of rows) {
      scanned += 1;
      cursor = newer ? m.seq + 1 : m.seq - 1;
      if (keep(m)) {
        found.push(m);
        if (found.length >= count) break;
      }
    }
  }
  if (!newer) found.reverse();
  // nextSeq is the beforeSeq (older) or afterSeq (newer) of the next request.
  return { messages: found, isFinished: done(), nextSeq: newer ? cursor - 1 : cursor + 1 };
}
