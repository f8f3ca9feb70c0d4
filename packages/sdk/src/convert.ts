/**
 * Wire/stored shapes → the reference's V2TIM objects. Pure functions; the caches they read
 * (profiles, friend remarks, group names) are passed in.
 */
import type { FriendInfo, GroupInfo, GroupMember, UserProfile, WireMessage } from '@confab/protocol';
import { comparePositions } from './store/order.js';
import { setMediaElem, type FileUrlResolver } from './media-elems.js';
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

export function toV2Message(m: WireMessage, selfUserID: string, fileUrl?: FileUrlResolver): V2TIMMessage {
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
    elemType: m.elem.type === 'text' ? V2TIMElemType.TEXT : V2TIMElemType.CUSTOM,
    seq: m.seq,
  };
  if (m.elem.type === 'text') out.textElem = { text: m.elem.text };
  else if (m.elem.type !== 'custom') setMediaElem(out, m.elem, fileUrl);
  else out.customElem = { data: m.elem.data, desc: m.elem.description ?? '', extension: m.elem.extension ?? '' };
  return out;
}

export function toV2Conversation(c: StoredConversation, selfUserID: string, names: NameCache, fileUrl?: FileUrlResolver): V2TIMConversation {
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
  const lastMessage = c.lastMessage ? toV2Message(c.lastMessage, selfUserID, fileUrl) : null;
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
