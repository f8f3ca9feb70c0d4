import { ConfabError, ErrorCode, type OpName, type OpRequest, type OpResult } from '@confab/protocol';
import type { Caller } from '../services/context.js';
import type { Domain } from '../services/domain.js';

type Handled = Exclude<OpName, 'login' | 'logout' | 'auth.renew'>;
type Handler<K extends Handled> = (domain: Domain, caller: Caller, body: OpRequest<K>) => Promise<OpResult<K>>;

/** Each op after login, mapped onto a domain service call. Bodies are already schema-checked. */
export const handlers: { [K in Handled]: Handler<K> } = {
  ping: async () => ({ serverTime: Date.now() }),
  'profile.get': async (d, c, b) => ({ profiles: await d.relations.withAllowTypes(c, await d.accounts.profiles(c, b.userIDs)) }),
  'profile.set': async (d, c, b) => {
    const { allowType, ...fields } = b;
    // Checked before anything is written: a bad allowType must not leave the nickname changed.
    if (allowType !== undefined) await d.relations.setAllowType(c, allowType);
    const [profile] = await d.relations.withAllowTypes(c, [await d.accounts.setProfile(c, fields)]);
    return { profile: profile! };
  },
  'friend.add': async (d, c, b) => d.relations.add(c, b),
  'friend.delete': async (d, c, b) => ({ results: await d.relations.remove(c, b.userIDs, b.deleteType) }),
  'friend.check': async (d, c, b) => ({ results: await d.relations.check(c, b.userIDs, b.checkType) }),
  'friend.getInfo': async (d, c, b) => ({ results: await d.relations.getInfo(c, b.userIDs) }),
  'friend.setInfo': async (d, c, b) => { await d.relations.setInfo(c, b); return {}; },
  'friend.applications': async (d, c) => d.relations.applications(c),
  'friend.acceptApplication': async (d, c, b) => d.relations.accept(c, b.userID, b.responseType),
  'friend.refuseApplication': async (d, c, b) => { await d.relations.refuse(c, b.userID); return {}; },
  'friend.deleteApplication': async (d, c, b) => { await d.relations.deleteApplication(c, b.userID, b.type); return {}; },
  'friend.setApplicationRead': async (d, c) => { await d.relations.setApplicationsRead(c); return {}; },
  'black.add': async (d, c, b) => ({ results: await d.relations.block(c, b.userIDs) }),
  'black.delete': async (d, c, b) => ({ results: await d.relations.unblock(c, b.userIDs) }),
  'black.list': async (d, c) => ({ users: await d.relations.blockList(c) }),
  'group.setInfo': async (d, c, b) => { await d.groupAdmin.setInfo(c, b); return {}; },
  'group.setMemberRole': async (d, c, b) => { await d.groupAdmin.setMemberRole(c, b.groupID, b.userID, b.role); return {}; },
  'group.transferOwner': async (d, c, b) => { await d.groupAdmin.transferOwner(c, b.groupID, b.userID); return {}; },
  'group.muteMember': async (d, c, b) => { await d.groupAdmin.muteMember(c, b.groupID, b.userID, b.seconds); return {}; },
  'group.membersInfo': async (d, c, b) => ({ members: await d.groupAdmin.membersInfo(c, b.groupID, b.userIDs) }),
  'group.setMemberInfo': async (d, c, b) => { await d.groupAdmin.setMemberInfo(c, b); return {}; },
  'group.applications': async (d, c) => d.groupAdmin.applications(c),
  'group.acceptApplication': async (d, c, b) => { await d.groups.acceptApplication(c, b.groupID, b.userID, b.reason); return {}; },
  'group.refuseApplication': async (d, c, b) => { await d.groups.refuseApplication(c, b.groupID, b.userID, b.reason); return {}; },
  'friend.list': async (d, c) => ({ friends: await d.friends.list(c) }),
  'group.create': async (d, c, b) => d.groups.create(c, b),
  'group.join': async (d, c, b) => d.groups.join(c, b.groupID, b.message),
  'group.invite': async (d, c, b) => ({ results: await d.groups.invite(c, b.groupID, b.userIDs) }),
  'group.leave': async (d, c, b) => { await d.groups.leave(c, b.groupID); return {}; },
  'group.kick': async (d, c, b) => ({ results: await d.groups.kick(c, b.groupID, b.userIDs) }),
  'group.dismiss': async (d, c, b) => { await d.groups.dismiss(c, b.groupID); return {}; },
  'group.members': async (d, c, b) => d.groups.members(c, b.groupID, b.nextSeq ?? b.offset ?? 0, b.count),
  'group.joinedList': async (d, c) => ({ groups: await d.groups.joined(c) }),
  'group.info': async (d, c, b) => d.groups.info(c, b.groupIDs),
  'msg.send': async (d, c, b) => d.messages.send(c, b.conversationID, b.clientMsgID, b.elem, b),
  'msg.find': async (d, c, b) => d.messages.find(c, b.msgIDs),
  'msg.sendReadReceipts': async (d, c, b) => { await d.receipts.send(c, b.conversationID, b.seqs); return {}; },
  'msg.getReadReceipts': async (d, c, b) => ({ receipts: await d.receipts.get(c, b.conversationID, b.seqs) }),
  'msg.readMembers': async (d, c, b) => d.receipts.members(c, b.conversationID, b.seq, b.filter, b.nextSeq, b.count),
  'msg.history': async (d, c, b) => d.messages.history(c, b.conversationID, b),
  'msg.revoke': async (d, c, b) => d.mutations.revoke(c, b.conversationID, b.seq, b.reason),
  'msg.modify': async (d, c, b) => d.mutations.modify(c, b.conversationID, b.seq, b.elem, b.modifyVersion),
  'msg.delete': async (d, c, b) => d.mutations.remove(c, b.conversationID, b.seqs),
  'msg.changes': async (d, c, b) => d.mutations.changes(c, b.conversationID, b.afterChangeSeq, b.afterDeleteSeq ?? 0, b.count),
  'conv.sync': async (d, c, b) => d.conversations.sync(c, b.sinceVersion, b.count, b.cursor),
  'conv.markRead': async (d, c, b) => withUpdate(await d.readState.markRead(c, b.conversationID, b)),
  'conv.markAllRead': async (d, c, b) => ({ conversations: await d.readState.markAllRead(c, b.type ?? 0) }),
  'conv.setRecvOpt': async (d, c, b) => d.readState.setRecvOpt(c, b.conversationIDs, b.recvOpt),
  'conv.getRecvOpt': async (d, c, b) => ({ results: await d.readState.getRecvOpt(c, b.conversationIDs) }),
  'conv.pin': async (d, c, b) => withUpdate(await d.conversations.pin(c, b.conversationID, b.isPinned)),
  'conv.setDraft': async (d, c, b) => withUpdate(await d.conversations.setDraft(c, b.conversationID, b.draftText)),
  'conv.setCustomData': async (d, c, b) => d.conversations.setCustomData(c, b.conversationIDs, b.customData),
  'conv.delete': async (d, c, b) => d.conversations.remove(c, b.conversationIDs, b.clearMessages ? 'delete' : 'deleteKeepHistory', false, b.requestID),
  'conv.clearHistory': async (d, c, b) => withUpdate((await d.conversations.remove(c, [b.conversationID], 'clearHistory', true, b.requestID)).update),
  'conv.mark': async (d, c, b) => d.conversations.mark(c, b.conversationIDs, b.markType, b.enableMark),
  'conv.undoDelete': async (d, c, b) => withUpdate(await d.conversations.undo(c, b.conversationID)),
  'conv.deletionStatus': async (d, c, b) => ({ deletions: await d.conversations.deletionStatus(c, b.conversationID, b.limit) }),
  'sync.ack': async (d, c, b) => {
    await d.storage.devices.ack(c.app.sdkAppID, c.userID, c.deviceID, b.version, Date.now());
    return {};
  },
  'file.uploadToken': async (d, c, b) => filesOf(d).uploadToken(c, b),
  'file.url': async (d, c, b) => ({ urls: await filesOf(d).urls(c, b.uuids) }),
};

function filesOf(d: Domain) {
  if (!d.files) throw new ConfabError(ErrorCode.FILE_TRANS_AUTH_FAILED, 'this server has no file store');
  return d.files;
}

function withUpdate<T>(update: T | undefined): { update?: T } {
  return update ? { update } : {};
}
