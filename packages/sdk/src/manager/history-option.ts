/**
 * `getHistoryMessageList(option)`: the reference's four directions, with a time range and
 * a message-type filter. Cloud pulls go to `msg.history` (filters applied by the server,
 * which reads at most 1000 messages per request and says where to go on); local pulls
 * read the device's cache only.
 */
import {
  ConfabError, ErrorCode, assertGroupID, assertUserID, c2cConversationID, elemTypeNumber, groupConversationID,
  type WireMessage,
} from '@confab/protocol';
import { toV2Message } from '../convert.js';
import { keepLocalDeletions } from '../sync/message-changes.js';
import { visible } from './message-mutations.js';
import type { StoredMessage } from '../store/types.js';
import { V2TIMMessageGetType, type V2TIMMessage, type V2TIMMessageListGetOption } from '../types.js';
import type { Session } from './core.js';

/** Most messages one call returns (the reference's limit). */
const MAX_COUNT = 100;
/** Filtered server pages one call reads at most (each reads up to 1000 messages). */
const MAX_FILTERED_PAGES = 20;
/** Cached messages one local call reads at most. */
const MAX_LOCAL_SCAN = 5000;

interface Bounds {
  /** Inclusive, seconds. */
  timeFrom?: number;
  timeTo?: number;
  elemTypes?: number[];
}

function invalid(desc: string): ConfabError {
  return new ConfabError(ErrorCode.INVALID_PARAMETERS, desc);
}

/** The conversation and filters an option names, checked. */
export function readOption(option: V2TIMMessageListGetOption): { conversationID: string; older: boolean; local: boolean; bounds: Bounds } {
  if (typeof option !== 'object' || option === null) throw invalid('option must be a V2TIMMessageListGetOption');
  const { getType, userID, groupID, count } = option;
  if (![1, 2, 3, 4].includes(getType)) throw invalid('getType must be one of V2TIMMessageGetType');
  if (!Number.isSafeInteger(count) || count <= 0 || count > MAX_COUNT) throw invalid(`count must be 1..${MAX_COUNT}`);
  if (!!userID === !!groupID) throw invalid('set exactly one of userID and groupID');
  let conversationID: string;
  if (groupID) {
    assertGroupID(groupID);
    conversationID = groupConversationID(groupID);
  } else {
    assertUserID(userID);
    conversationID = c2cConversationID(userID!);
  }
  const older = getType === V2TIMMessageGetType.V2TIM_GET_CLOUD_OLDER_MSG || getType === V2TIMMessageGetType.V2TIM_GET_LOCAL_OLDER_MSG;
  const local = getType === V2TIMMessageGetType.V2TIM_GET_LOCAL_OLDER_MSG || getType === V2TIMMessageGetType.V2TIM_GET_LOCAL_NEWER_MSG;
  const begin = option.getTimeBegin ?? 0;
  const period = option.getTimePeriod ?? 0;
  if (!Number.isSafeInteger(begin) || begin < 0 || !Number.isSafeInteger(period) || period < 0) throw invalid('getTimeBegin and getTimePeriod must be seconds >= 0');
  const bounds: Bounds = {};
  // The reference's range: older [begin - period, begin] (begin 0 = now), newer [begin, begin + period].
  if (older) {
    if (begin > 0) bounds.timeTo = begin;
    if (period > 0) bounds.timeFrom = Math.max(0, (begin > 0 ? begin : Math.floor(Date.now() / 1000)) - period);
  } else {
    if (begin > 0) bounds.timeFrom = begin;
    if (period > 0) bounds.timeTo = begin + period;
  }
  const types = option.messageTypeList ?? [];
  if (!Array.isArray(types) || types.some((t) => !Number.isSafeInteger(t))) throw invalid('messageTypeList must hold V2TIMElemType numbers');
  if (types.length > 0) bounds.elemTypes = [...new Set(types)];
  return { conversationID, older, local, bounds };
}

/** Where the page starts: strictly before (older) or after (newer) this seq; undefined = the newest / oldest end. */
function startSeq(option: V2TIMMessageListGetOption, older: boolean): number | undefined {
  if (option.lastMsg && option.lastMsg.seq > 0) return option.lastMsg.seq;
  const seq = option.lastMsgSeq ?? 0;
  if (!Number.isSafeInteger(seq) || seq < 0) throw invalid('lastMsgSeq must be a seq >= 0');
  // lastMsgSeq is included in the page, as in the reference.
  if (seq > 0) return older ? seq + 1 : seq - 1;
  return undefined;
}

function matches(m: WireMessage, bounds: Bounds): boolean {
  if (bounds.elemTypes && !bounds.elemTypes.includes(elemTypeNumber(m.elem.type))) return false;
  const seconds = Math.floor(m.timestamp / 1000);
  if (bounds.timeFrom !== undefined && seconds < bounds.timeFrom) return false;
  if (bounds.timeTo !== undefined && seconds > bounds.timeTo) return false;
  return true;
}

/**
 * Older pulls return newest first and newer pulls oldest first, as the reference.
 * `unfiltered`: the plain older pull (cache first, then server) for the option without filters.
 */
export async function historyByOption(s: Session, option: V2TIMMessageListGetOption,
  unfiltered: (conversationID: string, count: number, beforeSeq: number | undefined) => Promise<WireMessage[]>): Promise<V2TIMMessage[]> {
  const { conversationID, older, local, bounds } = readOption(option);
  const count = option.count;
  const from = startSeq(option, older);
  const filtered = bounds.elemTypes !== undefined || bounds.timeFrom !== undefined || bounds.timeTo !== undefined;
  let found: WireMessage[];
  if (local) {
    found = await localPage(s, conversationID, count, older, from, bounds);
  } else if (older && !filtered) {
    found = await unfiltered(conversationID, count, from);
  } else {
    found = await cloudPage(s, conversationID, count, older, from, bounds);
  }
  const row = await s.store.getConversation(conversationID);
  // Messages deleted on this device stay in the store as content-free entries (status 4).
  const out = visible(found).map((m) => toV2Message(m, s.userID, row?.readSeq));
  return out.sort((a, b) => (older ? b.seq - a.seq : a.seq - b.seq));
}

async function cloudPage(s: Session, conversationID: string, count: number, older: boolean, from: number | undefined, bounds: Bounds): Promise<WireMessage[]> {
  const found: WireMessage[] = [];
  let cursor = from;
  for (let page = 0; page < MAX_FILTERED_PAGES && found.length < count; page++) {
    const res = await s.connection.request('msg.history', {
      conversationID, count: count - found.length,
      ...(older ? (cursor !== undefined ? { beforeSeq: cursor } : {}) : { afterSeq: cursor ?? 0 }),
      ...(bounds.timeFrom !== undefined ? { timeFrom: bounds.timeFrom } : {}),
      ...(bounds.timeTo !== undefined ? { timeTo: bounds.timeTo } : {}),
      ...(bounds.elemTypes ? { elemTypes: bounds.elemTypes } : {}),
    });
    const kept = await keepLocalDeletions(s.store, res.messages);
    found.push(...kept);
    await s.engine.cacheHistory(kept);
    if (res.isFinished) break;
    // An unfiltered page has no nextSeq: it goes on from its last message.
    const edge = older ? res.messages[0]?.seq : res.messages[res.messages.length - 1]?.seq;
    const next = res.nextSeq ?? edge;
    if (next === undefined) break;
    cursor = next;
  }
  return found.slice(0, count);
}

async function localPage(s: Session, conversationID: string, count: number, older: boolean, from: number | undefined, bounds: Bounds): Promise<StoredMessage[]> {
  const found: StoredMessage[] = [];
  let cursor = from;
  for (let scanned = 0; scanned < MAX_LOCAL_SCAN && found.length < count;) {
    const page = await s.store.getMessages(conversationID, older
      ? { ...(cursor !== undefined ? { beforeSeq: cursor } : {}), limit: 100 }
      : { afterSeq: cursor ?? 0, limit: 100 });
    if (page.length === 0) break;
    scanned += page.length;
    const ordered = older ? page.reverse() : page;
    for (const m of ordered) {
      if (matches(m, bounds)) found.push(m);
      if (found.length >= count) break;
    }
    cursor = ordered[ordered.length - 1]!.seq;
  }
  return found;
}
