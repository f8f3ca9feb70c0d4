/**
 * Wire/stored shapes → the reference's V2TIM objects. Pure functions; the caches they read
 * (profiles, friend remarks, group names) are passed in.
 */
import { elemTypeNumber, type FriendInfo, type GroupInfo, type GroupMember, type MergedMessage, type MergerElem, type MessageElem, type UserProfile, type WireMessage } from '@confab/protocol';
import { withCallback } from './callback.js';
import type { StoredMessage } from './store/types.js';
import { comparePositions } from './store/order.js';
import type { StoredConversation } from './store/types.js';
import {
  V2TIMElemType, V2TIMMessageStatus,
  type V2TIMConversation, type V2TIMFriendInfo, type V2TIMGroupInfo, type V2TIMGroupMemberFullInfo,
  type V2TIMMessage, type V2TIMUserFullInfo,
} from './types.js';

/** What the SDK has learned about names and avatars so far (filled by profile/friend/group calls). */
export interface NameCache {
  profiles: Map<string, UserProfile>;
  friendRemarks: Map<string, string>;
  groups: Map<string, GroupInfo>;
}

export function emptyNameCache(): NameCache {
  return { profiles: new Map(), friendRemarks: new Map(), groups: new Map() };
}

/**
 * `readSeq`: the conversation's read position, for `isRead` (own messages are always
 * read; others' are read up to it). Without it, others' messages count as unread: a
 * message just received is.
 */
export function toV2Message(m: WireMessage | StoredMessage, selfUserID: string, readSeq?: number): V2TIMMessage {
  const isSelf = m.sender === selfUserID;
  const out: V2TIMMessage = {
    msgID: m.msgID,
    clientMsgID: m.clientMsgID,
    conversationID: m.conversationID,
    timestamp: Math.floor(m.timestamp / 1000),
    serverTime: m.timestamp,
    sender: m.sender,
    // The peer: for my own C2C message that is the receiver, otherwise the sender.
    userID: m.groupID ? '' : isSelf ? (m.receiver ?? m.conversationID.slice(4)) : m.sender,
    groupID: m.groupID ?? '',
    isSelf,
    status: V2TIMMessageStatus.SEND_SUCC,
    elemType: elemTypeNumber(m.elem.type) as V2TIMElemType,
    seq: m.seq,
    isRead: isSelf || (readSeq !== undefined && m.seq > 0 && m.seq <= readSeq),
  };
  setElem(out, m.elem, selfUserID);
  if (m.status === V2TIMMessageStatus.LOCAL_REVOKED || m.status === V2TIMMessageStatus.HAS_DELETED) out.status = m.status;
  if (m.revoker) out.revokerInfo = { userID: m.revoker, nickName: '', faceUrl: '', selfSignature: '' };
  if (m.revokeReason) out.revokeReason = m.revokeReason;
  if (m.modifyVersion) out.modifyVersion = m.modifyVersion;
  if (m.nickName !== undefined) out.nickName = m.nickName;
  if (m.faceUrl !== undefined) out.faceURL = m.faceUrl;
  if (m.cloudCustomData !== undefined) out.cloudCustomData = m.cloudCustomData;
  out.priority = m.priority ?? 0;
  if (m.offlinePushInfo !== undefined) out.offlinePushInfo = { ...m.offlinePushInfo };
  if (m.isOnlineOnly) out.isOnlineOnly = true;
  const local = m as StoredMessage;
  if (local.localCustomData !== undefined) out.localCustomData = local.localCustomData;
  if (local.localCustomInt !== undefined) out.localCustomInt = local.localCustomInt;
  return out;
}

/** Fills the element field of a message object from a wire element. */
export function setElem(out: V2TIMMessage, elem: MessageElem, selfUserID: string): void {
  switch (elem.type) {
    case 'text':
      out.textElem = { text: elem.text };
      return;
    case 'custom':
      out.customElem = { data: elem.data, desc: elem.description ?? '', extension: elem.extension ?? '' };
      return;
    case 'face':
      out.faceElem = { index: elem.index, data: elem.data };
      return;
    case 'location':
      out.locationElem = { desc: elem.desc, longitude: elem.longitude, latitude: elem.latitude };
      return;
    case 'merger': {
      const list = elem.messageList;
      out.mergerElem = {
        title: elem.title,
        abstractList: [...elem.abstractList],
        layersOverLimit: mergerDepth(elem) > MAX_MERGER_LAYERS,
        // The merged messages are inside the element: nothing to download.
        downloadMergerMessage: (cb) => withCallback(cb, async () => list.map((item) => fromMerged(item, selfUserID))),
      };
      rememberMerger(out, elem);
      return;
    }
  }
}

/**
 * The wire element of each merger message object: `V2TIMMergerElem` shows the title and
 * abstracts, not the merged messages, which sending or forwarding it needs.
 */
const mergerElems = new WeakMap<V2TIMMessage, MergerElem>();

export function rememberMerger(message: V2TIMMessage, elem: MergerElem): void {
  mergerElems.set(message, elem);
}

export function mergerElemOf(message: V2TIMMessage): MergerElem | undefined {
  return mergerElems.get(message);
}

/** The reference's limit on nested merger messages. */
export const MAX_MERGER_LAYERS = 100;

/** Levels of merged messages inside a merger (1 for a merger of plain messages). */
export function mergerDepth(elem: MessageElem): number {
  let depth = 0;
  let level: MessageElem[] = [elem];
  while (level.length > 0) {
    const next: MessageElem[] = [];
    for (const e of level) if (e.type === 'merger') for (const m of e.messageList) next.push(m.elem);
    if (level.some((e) => e.type === 'merger')) depth++;
    level = next;
  }
  return depth;
}

function fromMerged(item: MergedMessage, selfUserID: string): V2TIMMessage {
  const isSelf = item.sender === selfUserID;
  const out: V2TIMMessage = {
    msgID: '', clientMsgID: '', conversationID: '', timestamp: Math.floor(item.timestamp / 1000), serverTime: item.timestamp,
    sender: item.sender, userID: '', groupID: '', isSelf, status: V2TIMMessageStatus.SEND_SUCC,
    elemType: elemTypeNumber(item.elem.type) as V2TIMElemType, seq: 0, isRead: true, priority: 0,
  };
  setElem(out, item.elem, selfUserID);
  if (item.nickName !== undefined) out.nickName = item.nickName;
  if (item.faceUrl !== undefined) out.faceURL = item.faceUrl;
  if (item.cloudCustomData !== undefined) out.cloudCustomData = item.cloudCustomData;
  return out;
}

export function toV2Conversation(c: StoredConversation, selfUserID: string, names: NameCache): V2TIMConversation {
  const userID = c.type === 1 ? (c.userID ?? c.conversationID.slice(4)) : '';
  const groupID = c.type === 2 ? (c.groupID ?? c.conversationID.slice(6)) : '';
  let showName: string;
  let faceUrl = '';
  if (c.type === 2) {
    const g = names.groups.get(groupID);
    showName = g?.groupName || groupID;
    faceUrl = g?.faceUrl ?? '';
  } else {
    const p = names.profiles.get(userID);
    // The reference's order: friend remark > nickname > userID.
    showName = names.friendRemarks.get(userID) || p?.nickName || userID;
    faceUrl = p?.faceUrl ?? '';
  }
  const lastMessage = c.lastMessage ? toV2Message(c.lastMessage, selfUserID, c.readSeq) : null;
  const out: V2TIMConversation = {
    conversationID: c.conversationID,
    type: c.type,
    userID,
    groupID,
    showName,
    faceUrl,
    unreadCount: c.unreadCount,
    lastMessage,
    draftText: c.draftText,
    draftTimestamp: c.draftTimestamp,
    isPinned: c.isPinned,
    orderKey: c.orderKey,
    customData: c.customData,
    // Rows stored by an SDK older than marks have none.
    markList: c.markList ?? [],
  };
  if (c.type === 2) out.groupReadSequence = c.readSeq;
  // The wire has no read timestamp; the last message's time is exact when everything is read.
  else out.c2cReadTimestamp = lastMessage && c.readSeq >= c.lastSeq ? lastMessage.timestamp : 0;
  return out;
}

/** Pinned first, then orderKey descending, then conversationID (the reference's list order; store/order.ts). */
export function compareConversations(a: StoredConversation, b: StoredConversation): number {
  return comparePositions(a, b);
}

export function toV2User(p: UserProfile): V2TIMUserFullInfo {
  return { userID: p.userID, nickName: p.nickName, faceUrl: p.faceUrl, selfSignature: p.selfSignature };
}

export function toV2Friend(f: FriendInfo): V2TIMFriendInfo {
  return { userID: f.userID, friendRemark: f.friendRemark, userProfile: toV2User(f.profile) };
}

export function toV2Group(g: GroupInfo): V2TIMGroupInfo {
  return { ...g };
}

export function toV2Member(m: GroupMember): V2TIMGroupMemberFullInfo {
  return { userID: m.userID, nickName: m.nickName, faceUrl: m.faceUrl, role: m.role, joinTime: m.joinTime };
}
