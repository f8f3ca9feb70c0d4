import { randomUUID } from 'node:crypto';
import {
  ConfabError, ErrorCode, MessagePriority, type MessageElem, type MsgSendRequest, type WireMessage,
} from '@confab/protocol';
import { userTopic } from '../bus/types.js';
import type { MessageExtra } from '../storage/types.js';
import { forEachMemberBatch } from './bounded.js';
import type { Caller, ServiceContext } from './context.js';
import { conversationIDFor } from './wire.js';

/** The send options of `msg.send` besides the element. */
export type SendOptions = Pick<MsgSendRequest, 'priority' | 'onlineUserOnly' | 'offlinePushInfo' | 'cloudCustomData'>;

/** The reference's limit on merged messages inside merged messages. */
export const MAX_MERGER_LAYERS = 100;

/**
 * The group committer's lane for a priority: HIGH first, then DEFAULT and NORMAL (the
 * reference treats DEFAULT as NORMAL), then LOW.
 */
export function priorityRank(priority: number | undefined): number {
  if (priority === MessagePriority.HIGH) return 0;
  if (priority === MessagePriority.LOW) return 2;
  return 1;
}

/** Refuses a merger nested deeper than the reference allows (8005). Iterative: a deep one must not blow the stack. */
export function checkMergerDepth(elem: MessageElem): void {
  let level: MessageElem[] = [elem];
  for (let depth = 0; level.length > 0; depth++) {
    const next: MessageElem[] = [];
    for (const e of level) if (e.type === 'merger') for (const m of e.messageList) next.push(m.elem);
    if (next.length > 0 && depth + 1 > MAX_MERGER_LAYERS) {
      throw new ConfabError(ErrorCode.MERGER_MSG_LAYERS_OVER_LIMIT, `a merger message may nest at most ${MAX_MERGER_LAYERS} levels`);
    }
    level = next;
  }
}

/** What is stored beside the element: the sender's profile now, and the sender's options. */
export async function buildExtra(ctx: ServiceContext, caller: Caller, options: SendOptions): Promise<MessageExtra> {
  const [account] = await ctx.storage.accounts.get(caller.app.sdkAppID, [caller.userID]);
  const extra: MessageExtra = {};
  if (account?.nickName) extra.nickName = account.nickName;
  if (account?.faceUrl) extra.faceUrl = account.faceUrl;
  if (options.cloudCustomData) extra.cloudCustomData = options.cloudCustomData;
  if (options.priority !== undefined && options.priority !== MessagePriority.DEFAULT) extra.priority = options.priority;
  if (options.offlinePushInfo && Object.keys(options.offlinePushInfo).length > 0) extra.offlinePushInfo = options.offlinePushInfo;
  return extra;
}

/** Bytes a message takes against the app's `maxMessageBytes`: its element and what it carries. */
export function messageBytes(elem: MessageElem, options: SendOptions): number {
  return Buffer.byteLength(JSON.stringify(elem)) + Buffer.byteLength(options.cloudCustomData ?? '')
    + (options.offlinePushInfo ? Buffer.byteLength(JSON.stringify(options.offlinePushInfo)) : 0);
}

/**
 * An `onlineUserOnly` message: never stored, no seq, no unread, no version step. It is
 * published on the recipients' bus topics as a `msg.online` push, so it reaches their
 * sessions on any node of the cluster, and reaches nobody who is offline (a device that
 * reconnects later never sees it, and history never shows it). A group's members are
 * read 500 at a time with a turn of the event loop between batches.
 */
export async function deliverOnline(ctx: ServiceContext, caller: Caller, convKey: string, clientMsgID: string,
  elem: MessageElem, extra: MessageExtra): Promise<WireMessage> {
  const app = caller.app.sdkAppID;
  const viewFor = (viewer: string): WireMessage => {
    const m: WireMessage = {
      msgID: `${convKey}/online-${randomUUID()}`, conversationID: conversationIDFor(viewer, convKey), seq: 0,
      sender: caller.userID, clientMsgID, timestamp: ctx.now(), elem, isOnlineOnly: true,
    };
    if (extra.nickName !== undefined) m.nickName = extra.nickName;
    if (extra.faceUrl !== undefined) m.faceUrl = extra.faceUrl;
    if (extra.cloudCustomData !== undefined) m.cloudCustomData = extra.cloudCustomData;
    if (extra.priority !== undefined) m.priority = extra.priority;
    if (convKey.startsWith('group:')) m.groupID = convKey.slice(6);
    else {
      const [a, b] = convKey.slice(4).split('|') as [string, string];
      m.receiver = a === caller.userID ? b : a;
    }
    return m;
  };
  const mine = viewFor(caller.userID);
  if (convKey.startsWith('group:')) {
    const theirs = { ...mine, conversationID: `group_${convKey.slice(6)}` };
    await forEachMemberBatch(ctx.storage, app, convKey.slice(6), (members) => {
      for (const member of members) {
        if (member.userID !== caller.userID) ctx.bus.publish(userTopic(app, member.userID), { kind: 'push', push: 'msg.online', body: theirs });
      }
    });
  } else {
    const peer = mine.receiver!;
    ctx.bus.publish(userTopic(app, peer), { kind: 'push', push: 'msg.online', body: { ...mine, conversationID: conversationIDFor(peer, convKey) } });
  }
  return mine;
}
