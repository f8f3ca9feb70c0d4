/**
 * Core (V2TIM) objects → the Web SDK's objects, field for field as the reference's
 * `Message`, `Conversation`, `Group`, `Profile`, `GroupMember` and `Friend`. Fields for
 * features Confab lacks carry the reference's neutral values (`isRevoked: false`,
 * `atUserList: []`), never invented data.
 */
import { GroupMemberRole, type GroupInfo, type MessageElem, type UserProfile } from '@confab/protocol';
import type { V2TIMConversation, V2TIMFriendInfo, V2TIMGroupMemberFullInfo, V2TIMMessage } from '@confab/sdk';
import { mergerElemOf } from '@confab/sdk/internal';
import { TYPES } from './constants.js';
import { toWebConversationID } from './ids.js';

/** What the core has learnt about names and avatars (profile, friend and group calls fill it). */
export interface Names {
  profile(userID: string): UserProfile | undefined;
  remark(userID: string): string;
  group(groupID: string): GroupInfo | undefined;
}

export type MessageStatus = 'unSend' | 'success' | 'fail';
type MessageType = (typeof TYPES)[keyof typeof TYPES] & string;

/** The reference's `Message` (the fields its typings list, plus the runtime's clientTime etc.). */
export interface WebMessage {
  ID: string;
  type: MessageType;
  payload: Record<string, unknown>;
  conversationID: string;
  conversationType: string;
  to: string;
  from: string;
  flow: 'in' | 'out';
  time: number;
  status: MessageStatus;
  isRevoked: boolean;
  priority: string;
  nick: string;
  avatar: string;
  isPeerRead: boolean;
  nameCard: string;
  atUserList: string[];
  cloudCustomData: string;
  isDeleted: boolean;
  isModified: boolean;
  needReadReceipt: boolean;
  readReceiptInfo: { readCount: number | undefined; unreadCount: number | undefined; isPeerRead: boolean | undefined; timestamp: number };
  isBroadcastMessage: boolean;
  isSupportExtension: boolean;
  revoker: string;
  revokerInfo: { userID: string; nick: string; avatar: string };
  revokeReason: string;
  sequence: number;
  clientSequence: number;
  clientTime: number;
  random: number;
  isResend: boolean;
  isSystemMessage: boolean;
  protocol: string;
  version: number;
  hasRiskContent: boolean;
}

export interface WebLastMessage {
  lastTime: number;
  lastSequence: number;
  fromAccount: string;
  messageForShow: string;
  payload: Record<string, unknown> | null;
  type: string;
  isRevoked: boolean;
  cloudCustomData: string;
  onlineOnlyFlag: boolean;
  nick: string;
  nameCard: string;
  version: number;
  isPeerRead: boolean;
  revoker: string | null;
}

export interface WebProfile {
  userID: string;
  nick: string;
  gender: string;
  birthday: number;
  location: string;
  selfSignature: string;
  allowType: string;
  language: number;
  avatar: string;
  messageSettings: number;
  adminForbidType: string;
  level: number;
  role: number;
  lastUpdatedNumber: number;
  profileCustomField: unknown[];
}

export interface WebGroup {
  groupID: string;
  name: string;
  avatar: string;
  type: string;
  introduction: string;
  notification: string;
  ownerID: string;
  createTime: number;
  infoSequence: number;
  lastInfoTime: number;
  selfInfo: { role: string; messageRemindType: string; joinTime: number; nameCard: string; unreadCount: number };
  lastMessage: Record<string, unknown>;
  nextMessageSeq: number;
  memberCount: number;
  maxMemberCount: number;
  muteAllMembers: boolean;
  joinOption: string;
  inviteOption: string;
  groupCustomField: unknown[];
  isSupportTopic: boolean;
}

export interface WebConversation {
  conversationID: string;
  type: string;
  subType?: string;
  unreadCount: number;
  lastMessage: WebLastMessage;
  groupProfile?: WebGroup;
  userProfile?: WebProfile;
  groupAtInfoList: unknown[];
  remark: string;
  isPinned: boolean;
  messageRemindType: string;
  markList: number[];
  customData: string;
  conversationGroupList: string[];
  draftText: string;
}

/** Milliseconds or seconds → seconds (the Web SDK's times are seconds). */
export function toSeconds(t: number): number {
  return t > 1e11 ? Math.floor(t / 1000) : t;
}

const ROLE: Record<number, string> = {
  [GroupMemberRole.OWNER]: TYPES.GRP_MBR_ROLE_OWNER,
  [GroupMemberRole.ADMIN]: TYPES.GRP_MBR_ROLE_ADMIN,
  [GroupMemberRole.MEMBER]: TYPES.GRP_MBR_ROLE_MEMBER,
};

/** Confab's group types ↔ the Web SDK's: Work is 'Private', Meeting is 'ChatRoom' on the reference's wire too. */
export const WEB_GROUP_TYPE: Record<string, string> = { Work: TYPES.GRP_WORK, Public: TYPES.GRP_PUBLIC, Meeting: TYPES.GRP_MEETING };
export const CORE_GROUP_TYPE: Record<string, 'Work' | 'Public' | 'Meeting'> = {
  [TYPES.GRP_WORK]: 'Work', [TYPES.GRP_PUBLIC]: 'Public', [TYPES.GRP_MEETING]: 'Meeting',
};

export function webProfile(userID: string, p: Partial<UserProfile> | undefined): WebProfile {
  return {
    userID, nick: p?.nickName ?? '', gender: TYPES.GENDER_UNKNOWN, birthday: 0, location: '',
    selfSignature: p?.selfSignature ?? '', allowType: TYPES.ALLOW_TYPE_ALLOW_ANY, language: 0,
    avatar: p?.faceUrl ?? '', messageSettings: 0, adminForbidType: TYPES.FORBID_TYPE_NONE, level: 0, role: 0,
    lastUpdatedNumber: 0, profileCustomField: [],
  };
}

export function webGroup(g: GroupInfo | undefined, groupID: string, selfRole = ''): WebGroup {
  return {
    groupID, name: g?.groupName ?? '', avatar: g?.faceUrl ?? '', type: (g && WEB_GROUP_TYPE[g.groupType]) ?? '',
    introduction: g?.introduction ?? '', notification: g?.notification ?? '', ownerID: g?.owner ?? '',
    createTime: g ? toSeconds(g.createTime) : 0, infoSequence: 0, lastInfoTime: 0,
    selfInfo: { role: selfRole, messageRemindType: TYPES.MSG_REMIND_ACPT_AND_NOTE, joinTime: 0, nameCard: '', unreadCount: 0 },
    lastMessage: {}, nextMessageSeq: 0, memberCount: g?.memberCount ?? 0, maxMemberCount: 0, muteAllMembers: false,
    joinOption: TYPES.JOIN_OPTIONS_FREE_ACCESS, inviteOption: TYPES.INVITE_OPTIONS_FREE_ACCESS,
    groupCustomField: [], isSupportTopic: false,
  };
}

export function webMember(m: V2TIMGroupMemberFullInfo): { userID: string; avatar: string; nick: string; role: string; joinTime: number; nameCard: string; muteUntil: number; memberCustomField: unknown[] } {
  return {
    userID: m.userID, avatar: m.faceUrl, nick: m.nickName, role: ROLE[m.role] ?? TYPES.GRP_MBR_ROLE_MEMBER,
    joinTime: toSeconds(m.joinTime), nameCard: '', muteUntil: 0, memberCustomField: [],
  };
}

export function webFriend(f: V2TIMFriendInfo): { userID: string; remark: string; groupList: string[]; source: string; wording: string; profile: WebProfile; friendCustomField: unknown[] } {
  const p = f.userProfile;
  return {
    userID: f.userID, remark: f.friendRemark, groupList: [], source: '', wording: '',
    profile: webProfile(f.userID, { nickName: p.nickName, faceUrl: p.faceUrl, selfSignature: p.selfSignature }), friendCustomField: [],
  };
}

/** The Web message ID: stable from creation (the core's clientMsgID, made at create time) and the same on every device. */
export function webMessageID(sender: string, clientMsgID: string): string {
  return `${sender}-${clientMsgID}`;
}

/** The reference's `SimplifiedMessage`: one message inside a merger. */
export interface WebSimplifiedMessage {
  ID: string;
  nick: string;
  avatar: string;
  from: string;
  messageBody: { type: string; payload: Record<string, unknown> }[];
  time: number;
  cloudCustomData: string;
}

/** A wire element → the Web SDK's `type` and `payload`. */
export function elemToWeb(elem: MessageElem): { type: MessageType; payload: Record<string, unknown> } {
  switch (elem.type) {
    case 'text':
      return { type: TYPES.MSG_TEXT, payload: { text: elem.text } };
    case 'custom':
      return { type: TYPES.MSG_CUSTOM, payload: { data: elem.data, description: elem.description ?? '', extension: elem.extension ?? '' } };
    case 'face':
      return { type: TYPES.MSG_FACE, payload: { index: elem.index, data: elem.data } };
    case 'location':
      return { type: TYPES.MSG_LOCATION, payload: { description: elem.desc, longitude: elem.longitude, latitude: elem.latitude } };
    case 'merger':
      return {
        type: TYPES.MSG_MERGER,
        payload: {
          title: elem.title, abstractList: [...elem.abstractList], compatibleText: elem.compatibleText,
          // The merged messages travel inside the message: nothing to download.
          downloadKey: '', pbDownloadKey: '', layersOverLimit: false,
          messageList: elem.messageList.map((item): WebSimplifiedMessage => {
            const body = elemToWeb(item.elem);
            return {
              ID: '', nick: item.nickName ?? '', avatar: item.faceUrl ?? '', from: item.sender,
              messageBody: [body], time: toSeconds(item.timestamp), cloudCustomData: item.cloudCustomData ?? '',
            };
          }),
        },
      };
  }
}

function typeAndPayload(m: V2TIMMessage): { type: MessageType; payload: Record<string, unknown> } {
  if (m.textElem) return elemToWeb({ type: 'text', text: m.textElem.text });
  if (m.customElem) return elemToWeb({ type: 'custom', data: m.customElem.data, description: m.customElem.desc, extension: m.customElem.extension });
  if (m.faceElem) return elemToWeb({ type: 'face', index: m.faceElem.index, data: m.faceElem.data });
  if (m.locationElem) return elemToWeb({ type: 'location', desc: m.locationElem.desc, longitude: m.locationElem.longitude, latitude: m.locationElem.latitude });
  const merger = m.mergerElem ? mergerElemOf(m) : undefined;
  if (merger) return elemToWeb(merger);
  return { type: TYPES.MSG_CUSTOM, payload: { data: '', description: '', extension: '' } };
}

const WEB_PRIORITY: Record<number, string> = { 1: TYPES.MSG_PRIORITY_HIGH, 2: TYPES.MSG_PRIORITY_NORMAL, 3: TYPES.MSG_PRIORITY_LOW };

/** A stored or received core message → a Web message, from `selfUserID`'s point of view. */
export function webMessage(m: V2TIMMessage, selfUserID: string, names: Names): WebMessage {
  const isGroup = m.groupID !== '';
  const sender = m.sender || selfUserID;
  const out = sender === selfUserID;
  // The sender's name as it was at send time, else what this device knows now.
  const p = names.profile(sender);
  const nick = m.nickName || p?.nickName || '';
  const avatar = m.faceURL || p?.faceUrl || '';
  const time = m.timestamp || Math.floor(Date.now() / 1000);
  return {
    ID: webMessageID(sender, m.clientMsgID),
    ...typeAndPayload(m),
    conversationID: isGroup ? TYPES.CONV_GROUP + m.groupID : TYPES.CONV_C2C + m.userID,
    conversationType: isGroup ? TYPES.CONV_GROUP : TYPES.CONV_C2C,
    to: isGroup ? m.groupID : out ? m.userID : selfUserID,
    from: sender,
    flow: out ? 'out' : 'in',
    time,
    status: m.status === 2 ? 'success' : m.status === 3 ? 'fail' : 'unSend',
    isRevoked: false, priority: WEB_PRIORITY[m.priority ?? 0] ?? TYPES.MSG_PRIORITY_NORMAL,
    nick, avatar,
    isPeerRead: false, nameCard: '', atUserList: [], cloudCustomData: m.cloudCustomData ?? '', isDeleted: false, isModified: false,
    needReadReceipt: false, readReceiptInfo: { readCount: undefined, unreadCount: undefined, isPeerRead: undefined, timestamp: 0 },
    isBroadcastMessage: false, isSupportExtension: false,
    revoker: '', revokerInfo: { userID: '', nick: '', avatar: '' }, revokeReason: '',
    sequence: m.seq, clientSequence: m.seq, clientTime: time, random: 0, isResend: false, isSystemMessage: false,
    protocol: 'JSON', version: 0, hasRiskContent: false,
  };
}

/** The reference's `messageForShow`: the text, or a bracketed label for other kinds. */
export function messageForShow(type: string, payload: Record<string, unknown> | null): string {
  if (!payload) return '';
  return type === TYPES.MSG_TEXT ? String(payload.text ?? '') : (FOR_SHOW[type] ?? '');
}

/** The reference's English labels (it shows Chinese ones for its Chinese-region apps). */
const FOR_SHOW: Record<string, string> = {
  [TYPES.MSG_IMAGE]: '[Image]', [TYPES.MSG_LOCATION]: '[Location]', [TYPES.MSG_AUDIO]: '[Voice]', [TYPES.MSG_VIDEO]: '[Video]',
  [TYPES.MSG_FILE]: '[File]', [TYPES.MSG_CUSTOM]: '[Custom Messages]', [TYPES.MSG_GRP_TIP]: '[Group Notification]',
  [TYPES.MSG_GRP_SYS_NOTICE]: '[Group System Message]', [TYPES.MSG_FACE]: '[Animated Sticker]', [TYPES.MSG_MERGER]: '[Chat Record]',
};

const EMPTY_LAST: WebLastMessage = {
  lastTime: 0, lastSequence: 0, fromAccount: '', messageForShow: '', payload: null, type: '', isRevoked: false,
  cloudCustomData: '', onlineOnlyFlag: false, nick: '', nameCard: '', version: 0, isPeerRead: false, revoker: null,
};

export function webConversation(c: V2TIMConversation, selfUserID: string, names: Names): WebConversation {
  let lastMessage: WebLastMessage = { ...EMPTY_LAST };
  if (c.lastMessage) {
    const m = webMessage(c.lastMessage, selfUserID, names);
    lastMessage = {
      lastTime: m.time, lastSequence: m.sequence, fromAccount: m.from, messageForShow: messageForShow(m.type, m.payload),
      payload: m.payload, type: m.type, isRevoked: false, cloudCustomData: m.cloudCustomData, onlineOnlyFlag: false,
      nick: m.nick, nameCard: '', version: 0, isPeerRead: false, revoker: null,
    };
  }
  const out: WebConversation = {
    conversationID: toWebConversationID(c.conversationID),
    type: c.type === 2 ? TYPES.CONV_GROUP : TYPES.CONV_C2C,
    unreadCount: c.unreadCount,
    lastMessage,
    groupAtInfoList: [],
    remark: c.type === 1 ? names.remark(c.userID) : '',
    isPinned: c.isPinned,
    messageRemindType: TYPES.MSG_REMIND_ACPT_AND_NOTE,
    markList: [...c.markList],
    customData: c.customData,
    conversationGroupList: [],
    draftText: c.draftText,
  };
  if (c.type === 2) {
    const g = names.group(c.groupID);
    out.groupProfile = webGroup(g, c.groupID);
    out.subType = out.groupProfile.type;
  } else {
    out.userProfile = webProfile(c.userID, names.profile(c.userID));
  }
  return out;
}
