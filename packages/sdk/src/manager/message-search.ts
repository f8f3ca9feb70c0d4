/**
 * `findMessages` (this device's cache first, then the server) and `searchLocalMessages`
 * (this device's cache only, as the reference's local search).
 */
import { ConfabError, ErrorCode, MessageStatus, elemTypeNumber, tryParseConversationID, type MessageElem } from '@confab/protocol';
import { toV2Message } from '../convert.js';
import type { StoredMessage } from '../store/types.js';
import {
  V2TIMKeywordListMatchType, type V2TIMMessage, type V2TIMMessageSearchParam, type V2TIMMessageSearchResult,
} from '../types.js';
import type { Session } from './core.js';

const invalid = (desc: string) => new ConfabError(ErrorCode.INVALID_PARAMETERS, desc);

/** IDs one `msg.find` request carries. */
const FIND_BATCH = 100;

/** Messages by msgID in the order asked; IDs neither cached nor visible on the server are left out. */
export async function findMessages(s: Session, messageIDList: string[]): Promise<V2TIMMessage[]> {
  if (!Array.isArray(messageIDList) || messageIDList.some((id) => typeof id !== 'string' || id === '')) {
    throw invalid('messageIDList must be a list of msgIDs');
  }
  const ids = [...new Set(messageIDList)];
  const byID = new Map<string, StoredMessage>();
  for (const m of await s.store.getMessagesByID(ids)) byID.set(m.msgID, m);
  const missing = ids.filter((id) => !byID.has(id));
  for (let i = 0; i < missing.length; i += FIND_BATCH) {
    const res = await s.connection.request('msg.find', { msgIDs: missing.slice(i, i + FIND_BATCH) });
    for (const m of res.messages) byID.set(m.msgID, m);
    await s.engine.cacheHistory(res.messages);
  }
  const readSeqs = new Map<string, number | undefined>();
  const out: V2TIMMessage[] = [];
  for (const id of ids) {
    const m = byID.get(id);
    if (!m || m.status === MessageStatus.HAS_DELETED) continue;
    if (!readSeqs.has(m.conversationID)) readSeqs.set(m.conversationID, (await s.store.getConversation(m.conversationID))?.readSeq);
    out.push(toV2Message(m, s.userID, readSeqs.get(m.conversationID)));
  }
  return out;
}

/** The words a keyword can match in an element. */
function searchableText(elem: MessageElem): string {
  switch (elem.type) {
    case 'text': return elem.text;
    case 'custom': return [elem.data, elem.description ?? '', elem.extension ?? ''].join('\n');
    case 'face': return elem.data;
    case 'location': return elem.desc;
    case 'merger': return [elem.title, ...elem.abstractList, elem.compatibleText].join('\n');
    default: return '';
  }
}

/**
 * The reference's local search over the cached messages. Keywords match without regard
 * to case (OR: any, AND: all); senders, types and the time window narrow further.
 * Matches are ordered newest first. Searching one conversation pages its messages;
 * searching all pages the conversations that match (newest match first), each with its
 * message count and, when that count is 1, the message.
 */
export async function searchLocalMessages(s: Session, param: V2TIMMessageSearchParam): Promise<V2TIMMessageSearchResult> {
  if (typeof param !== 'object' || param === null) throw invalid('searchParam must be a V2TIMMessageSearchParam');
  const keywords = param.keywordList ?? [];
  const senders = param.senderUserIDList ?? [];
  const types = param.messageTypeList ?? [];
  if (!Array.isArray(keywords) || keywords.length > 5 || keywords.some((k) => typeof k !== 'string' || k === '')) {
    throw invalid('keywordList must hold at most 5 non-empty strings');
  }
  if (!Array.isArray(senders) || senders.some((u) => typeof u !== 'string')) throw invalid('senderUserIDList must be user IDs');
  if (!Array.isArray(types) || types.some((t) => !Number.isSafeInteger(t))) throw invalid('messageTypeList must hold V2TIMElemType numbers');
  if (keywords.length === 0 && senders.length === 0 && types.length === 0) {
    throw invalid('give at least one of keywordList, senderUserIDList and messageTypeList');
  }
  const matchAll = param.keywordListMatchType === V2TIMKeywordListMatchType.V2TIM_KEYWORD_LIST_MATCH_TYPE_AND;
  const position = param.searchTimePosition ?? 0;
  const period = param.searchTimePeriod ?? 0;
  const pageSize = param.pageSize ?? 100;
  const pageIndex = param.pageIndex ?? 0;
  for (const [name, n] of [['searchTimePosition', position], ['searchTimePeriod', period], ['pageIndex', pageIndex]] as const) {
    if (!Number.isSafeInteger(n) || n < 0) throw invalid(`${name} must be an integer >= 0`);
  }
  if (!Number.isSafeInteger(pageSize) || pageSize <= 0) throw invalid('pageSize must be a positive integer');
  const conversationID = param.conversationID || undefined;
  if (conversationID !== undefined && !tryParseConversationID(conversationID)) throw invalid('conversationID must be c2c_<userID> or group_<groupID>');

  const toMs = (position > 0 ? position : Number.MAX_SAFE_INTEGER / 1000) * 1000 + 999;
  const fromMs = period > 0 ? ((position > 0 ? position : Math.floor(Date.now() / 1000)) - period) * 1000 : 0;
  const lowered = keywords.map((k) => k.toLowerCase());
  const senderSet = new Set(senders);
  const typeSet = new Set(types);
  const match = (m: StoredMessage): boolean => {
    if (m.status === MessageStatus.HAS_DELETED) return false;
    if (m.timestamp < fromMs || m.timestamp > toMs) return false;
    if (senderSet.size > 0 && !senderSet.has(m.sender)) return false;
    if (typeSet.size > 0 && !typeSet.has(elemTypeNumber(m.elem.type))) return false;
    if (lowered.length === 0) return true;
    const text = searchableText(m.elem).toLowerCase();
    return matchAll ? lowered.every((k) => text.includes(k)) : lowered.some((k) => text.includes(k));
  };
  const found = (await s.store.searchMessages(conversationID, match))
    .sort((a, b) => b.timestamp - a.timestamp || b.seq - a.seq);
  const readSeq = async (id: string) => (await s.store.getConversation(id))?.readSeq;
  const start = pageIndex * pageSize;

  if (conversationID !== undefined) {
    const rs = await readSeq(conversationID);
    const page = found.slice(start, start + pageSize).map((m) => toV2Message(m, s.userID, rs));
    return {
      totalCount: found.length,
      messageSearchResultItems: found.length === 0 ? [] : [{ conversationID, messageCount: found.length, messageList: page }],
    };
  }
  const groups = new Map<string, StoredMessage[]>();
  for (const m of found) {
    let list = groups.get(m.conversationID);
    if (!list) groups.set(m.conversationID, (list = []));
    list.push(m);
  }
  const items = [];
  for (const [id, list] of [...groups].slice(start, start + pageSize)) {
    const rs = list.length === 1 ? await readSeq(id) : undefined;
    items.push({ conversationID: id, messageCount: list.length, messageList: list.length === 1 ? [toV2Message(list[0]!, s.userID, rs)] : [] });
  }
  return { totalCount: groups.size, messageSearchResultItems: items };
}
