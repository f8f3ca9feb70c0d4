import { z } from 'zod';
import type { OpName } from '@confab/protocol';

/**
 * Request body schemas, one per op. They check shape and type only; domain rules (ID
 * formats, sizes, permissions) live in the services so the REST API shares them.
 */
const id = z.string().min(1).max(128);
/**
 * Lists of IDs are not length-checked here: each service enforces its own limit with its
 * own code (100 conversations → 51006, …), and one bad item gets its own result instead
 * of failing the whole batch. The 1 MiB frame limit bounds them anyway.
 */
const ids = z.array(z.string().max(128));
const elem: z.ZodType = z.lazy(() => z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string().min(1) }).strict(),
  z.object({ type: z.literal('custom'), data: z.string(), description: z.string().optional(), extension: z.string().optional() }).strict(),
  z.object({ type: z.literal('face'), index: z.number().int().min(0).max(0x7fffffff), data: z.string() }).strict(),
  z.object({ type: z.literal('location'), desc: z.string(), longitude: z.number().min(-180).max(180), latitude: z.number().min(-90).max(90) }).strict(),
  z.object({
    type: z.literal('merger'), title: z.string(), abstractList: z.array(z.string()).max(100), compatibleText: z.string().min(1),
    messageList: z.array(mergedMessage).min(1).max(300),
  }).strict(),
]));
// Nesting depth is checked by the message service (8005); the frame size bounds the rest.
const mergedMessage: z.ZodType = z.lazy(() => z.object({
  sender: z.string().max(128), nickName: z.string().max(128).optional(), faceUrl: z.string().max(500).optional(),
  timestamp: z.number().int().min(0), elem, cloudCustomData: z.string().optional(),
}).strict());
const offlinePushInfo = z.object({
  title: z.string().max(256).optional(), desc: z.string().max(1024).optional(), ext: z.string().max(4096).optional(),
  disablePush: z.boolean().optional(), iOSSound: z.string().max(256).optional(), androidSound: z.string().max(256).optional(),
  ignoreIOSBadge: z.boolean().optional(),
}).strict();
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const requestID = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'requestID must be 1-64 characters of A-Z a-z 0-9 _ -');

export const requestSchemas: { [K in OpName]: z.ZodType } = {
  login: z.object({
    sdkAppID: z.number().int().positive(), userID: z.string(), userSig: z.string(), deviceID: z.string().min(1).max(128),
    platform: z.string().max(64).optional(), protocolVersion: z.number().int().min(1), capabilities: z.array(z.string().max(64)).max(64).optional(),
  }),
  logout: z.object({}),
  ping: z.object({}),
  'auth.renew': z.object({ userSig: z.string().min(1).max(4096) }),
  'profile.get': z.object({ userIDs: z.array(id).min(1).max(100) }),
  'profile.set': z.object({ nickName: z.string().optional(), faceUrl: z.string().optional(), selfSignature: z.string().optional() }),
  'friend.add': z.object({ userID: id, remark: z.string().optional() }),
  'friend.delete': z.object({ userIDs: ids }),
  'friend.list': z.object({}),
  'group.create': z.object({
    groupID: z.string().optional(), groupType: z.string(), groupName: z.string(), memberUserIDs: ids.optional(),
    faceUrl: z.string().max(500).optional(), introduction: z.string().max(400).optional(), notification: z.string().max(400).optional(),
  }),
  'group.join': z.object({ groupID: id }),
  'group.invite': z.object({ groupID: id, userIDs: ids }),
  'group.leave': z.object({ groupID: id }),
  'group.kick': z.object({ groupID: id, userIDs: ids }),
  'group.dismiss': z.object({ groupID: id }),
  'group.members': z.object({ groupID: id, nextSeq: seq.optional(), offset: seq.optional(), count: z.number().int().min(1).max(500).optional() }),
  'group.joinedList': z.object({}),
  'group.info': z.object({ groupIDs: ids }),
  'msg.send': z.object({
    conversationID: id, clientMsgID: z.string().min(1).max(64), elem,
    priority: z.number().int().min(0).max(3).optional(), onlineUserOnly: z.boolean().optional(),
    offlinePushInfo: offlinePushInfo.optional(), cloudCustomData: z.string().optional(),
  }),
  'msg.history': z.object({
    conversationID: id, beforeSeq: seq.optional(), afterSeq: seq.optional(), count: z.number().int().min(1).max(100).optional(),
    timeFrom: seq.optional(), timeTo: seq.optional(), elemTypes: z.array(z.number().int()).max(16).optional(),
  }),
  'msg.find': z.object({ msgIDs: z.array(z.string().max(300)).min(1).max(100) }),
  'msg.revoke': z.object({ conversationID: id, seq: seq.min(1), reason: z.string().max(256).optional() }),
  'msg.modify': z.object({ conversationID: id, seq: seq.min(1), elem, modifyVersion: seq }),
  'msg.delete': z.object({ conversationID: id, seqs: z.array(seq.min(1)).max(1000) }),
  'msg.changes': z.object({ conversationID: id, afterChangeSeq: seq, afterDeleteSeq: seq.optional(), count: z.number().int().min(1).max(100).optional() }),
  'conv.sync': z.object({ sinceVersion: seq, count: z.number().int().min(1).max(1000).optional(), cursor: z.string().min(1).max(1024).optional() }),
  'conv.markRead': z.object({ conversationID: id }),
  'conv.pin': z.object({ conversationID: id, isPinned: z.boolean() }),
  'conv.setDraft': z.object({ conversationID: id, draftText: z.string() }),
  'conv.setCustomData': z.object({ conversationIDs: ids, customData: z.string() }),
  'conv.delete': z.object({ conversationIDs: ids, clearMessages: z.boolean(), requestID: requestID.optional() }),
  'conv.clearHistory': z.object({ conversationID: id, requestID: requestID.optional() }),
  'conv.undoDelete': z.object({ conversationID: id }),
  'conv.mark': z.object({ conversationIDs: ids, markType: z.number(), enableMark: z.boolean() }),
  'conv.deletionStatus': z.object({ conversationID: id.optional(), limit: z.number().int().min(1).max(100).optional() }),
  'sync.ack': z.object({ version: seq }),
};

/** Formats the first schema issue for a person: `body.elem.text: Too small…`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid body';
  const path = ['body', ...issue.path.map(String)].join('.');
  return `${path}: ${issue.message}`;
}
