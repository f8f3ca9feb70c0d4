import type { GroupType } from '@confab/protocol';
import type { ConversationRow, GroupRecord } from './types.js';

/**
 * Row shapes as both SQL backends return them, and their mapping to records. The two
 * differ only in booleans: SQLite stores 0/1, PostgreSQL returns true/false (bigints
 * are numbers on both: the PostgreSQL pool parses them).
 */
export interface RawConversationRow {
  user_id: string;
  conv_key: string;
  conversation_id: string;
  last_seq: number;
  unread_count: number;
  read_seq: number;
  visible_from_seq: number;
  order_key: number;
  is_pinned: number | boolean;
  draft_text: string;
  draft_ts: number;
  custom_data: string;
  marks: string;
  deleted: number | boolean;
  version: number;
  change_seq?: number;
  delete_seq?: number;
}

export function toConversationRow(raw: RawConversationRow): ConversationRow {
  return {
    userID: raw.user_id,
    convKey: raw.conv_key,
    conversationID: raw.conversation_id,
    lastSeq: raw.last_seq,
    unreadCount: raw.unread_count,
    readSeq: raw.read_seq,
    visibleFromSeq: raw.visible_from_seq,
    orderKey: raw.order_key,
    isPinned: raw.is_pinned === true || raw.is_pinned === 1,
    draftText: raw.draft_text,
    draftTimestamp: raw.draft_ts,
    customData: raw.custom_data,
    marks: JSON.parse(raw.marks) as number[],
    deleted: raw.deleted === true || raw.deleted === 1,
    version: raw.version,
    changeSeq: raw.change_seq ?? 0,
    deleteSeq: raw.delete_seq ?? 0,
  };
}

export interface RawGroup {
  group_id: string;
  group_type: string;
  group_name: string;
  face_url: string;
  introduction: string;
  notification: string;
  owner: string;
  created_at: number;
  dismissed_at: number | null;
  member_count: number;
}

export function toGroup(raw: RawGroup): GroupRecord {
  return {
    groupID: raw.group_id, groupType: raw.group_type as GroupType, groupName: raw.group_name, faceUrl: raw.face_url,
    introduction: raw.introduction, notification: raw.notification, owner: raw.owner, createdAt: raw.created_at,
    dismissedAt: raw.dismissed_at, memberCount: raw.member_count,
  };
}
