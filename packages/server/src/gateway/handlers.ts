import type { OpName, OpRequest, OpResult } from '@confab/protocol';
import type { Caller } from '../services/context.js';
import type { Domain } from '../services/domain.js';

type Handled = Exclude<OpName, 'login' | 'logout' | 'auth.renew'>;
type Handler<K extends Handled> = (domain: Domain, caller: Caller, body: OpRequest<K>) => Promise<OpResult<K>>;

/** Each op after login, mapped onto a domain service call. Bodies are already schema-checked. */
export const handlers: { [K in Handled]: Handler<K> } = {
  ping: async () => ({ serverTime: Date.now() }),
  'profile.get': async (d, c, b) => ({ profiles: await d.accounts.profiles(c, b.userIDs) }),
  'profile.set': async (d, c, b) => ({ profile: await d.accounts.setProfile(c, b) }),
  'friend.add': async (d, c, b) => ({ friend: await d.friends.add(c, b.userID, b.remark) }),
  'friend.delete': async (d, c, b) => ({ results: await d.friends.remove(c, b.userIDs) }),
  'friend.list': async (d, c) => ({ friends: await d.friends.list(c) }),
  'group.create': async (d, c, b) => d.groups.create(c, b),
  'group.join': async (d, c, b) => d.groups.join(c, b.groupID),
  'group.invite': async (d, c, b) => ({ results: await d.groups.invite(c, b.groupID, b.userIDs) }),
  'group.leave': async (d, c, b) => { await d.groups.leave(c, b.groupID); return {}; },
  'group.kick': async (d, c, b) => ({ results: await d.groups.kick(c, b.groupID, b.userIDs) }),
  'group.dismiss': async (d, c, b) => { await d.groups.dismiss(c, b.groupID); return {}; },
  'group.members': async (d, c, b) => d.groups.members(c, b.groupID, b.nextSeq ?? b.offset ?? 0, b.count),
  'group.joinedList': async (d, c) => ({ groups: await d.groups.joined(c) }),
  'group.info': async (d, c, b) => ({ groups: await d.groups.info(c, b.groupIDs) }),
  'msg.send': async (d, c, b) => d.messages.send(c, b.conversationID, b.clientMsgID, b.elem, b),
  'msg.find': async (d, c, b) => d.messages.find(c, b.msgIDs),
  'msg.history': async (d, c, b) => d.messages.history(c, b.conversationID, b),
  'msg.revoke': async (d, c, b) => d.mutations.revoke(c, b.conversationID, b.seq, b.reason),
  'msg.modify': async (d, c, b) => d.mutations.modify(c, b.conversationID, b.seq, b.elem, b.modifyVersion),
  'msg.delete': async (d, c, b) => d.mutations.remove(c, b.conversationID, b.seqs),
  'msg.changes': async (d, c, b) => d.mutations.changes(c, b.conversationID, b.afterChangeSeq, b.afterDeleteSeq ?? 0, b.count),
  'conv.sync': async (d, c, b) => d.conversations.sync(c, b.sinceVersion, b.count, b.cursor),
  'conv.markRead': async (d, c, b) => withUpdate(await d.conversations.markRead(c, b.conversationID)),
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
};

function withUpdate<T>(update: T | undefined): { update?: T } {
  return update ? { update } : {};
}
