import { c2cConversationID, ErrorCode, isValidUserID, type MessageElem, type OfflinePushInfo } from '@confab/protocol';
import { describeIssue, requestSchemas } from '../../gateway/schemas.js';
import { callerFor, restError, type RestCommand } from './envelope.js';
import { Fields, isObject } from './fields.js';

const UINT32_MAX = 4_294_967_295;

/** One `MsgBody` element → a Confab element. Only the element kinds Confab carries are accepted. */
export function toElem(f: Fields, raw: unknown): MessageElem {
  if (!isObject(raw) || !isObject(raw.MsgContent)) throw f.bad('MsgBody[0] must be { MsgType, MsgContent }');
  const content = raw.MsgContent;
  const optional = (name: string): string | undefined => {
    const v = content[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw f.bad(`MsgContent.${name} must be a string`);
    return v;
  };
  switch (raw.MsgType) {
    case 'TIMTextElem':
      return { type: 'text', text: optional('Text') ?? '' };
    case 'TIMCustomElem': {
      const elem: MessageElem = { type: 'custom', data: optional('Data') ?? '' };
      const desc = optional('Desc');
      const ext = optional('Ext');
      if (desc !== undefined) elem.description = desc;
      if (ext !== undefined) elem.extension = ext;
      return elem;
    }
    case 'TIMFaceElem': {
      const index = content.Index;
      if (!Number.isSafeInteger(index)) throw f.bad('MsgContent.Index must be an integer');
      return { type: 'face', index: index as number, data: optional('Data') ?? '' };
    }
    case 'TIMLocationElem': {
      const { Latitude: latitude, Longitude: longitude } = content;
      if (typeof latitude !== 'number' || typeof longitude !== 'number') throw f.bad('MsgContent.Latitude and Longitude must be numbers');
      return { type: 'location', desc: optional('Desc') ?? '', latitude, longitude };
    }
    default:
      throw f.bad(`MsgType ${JSON.stringify(raw.MsgType)} is not supported; use TIMTextElem, TIMCustomElem, TIMFaceElem or TIMLocationElem`);
  }
}

/**
 * The reference's REST `OfflinePushInfo` → the SDK's V2TIMOfflinePushInfo fields:
 * `PushFlag` 1 = no push, `ApnsInfo.BadgeMode` 1 = leave the badge alone.
 */
function toPushInfo(f: Fields, raw: unknown): OfflinePushInfo {
  if (!isObject(raw)) throw f.bad('OfflinePushInfo must be an object');
  const text = (value: unknown, name: string): string | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw f.bad(`OfflinePushInfo.${name} must be a string`);
    return value;
  };
  const apns = isObject(raw.ApnsInfo) ? raw.ApnsInfo : {};
  const android = isObject(raw.AndroidInfo) ? raw.AndroidInfo : {};
  const out: OfflinePushInfo = {};
  const pairs: [keyof OfflinePushInfo, string | undefined][] = [
    ['title', text(raw.Title, 'Title')], ['desc', text(raw.Desc, 'Desc')], ['ext', text(raw.Ext, 'Ext')],
    ['iOSSound', text(apns.Sound, 'ApnsInfo.Sound')], ['androidSound', text(android.Sound, 'AndroidInfo.Sound')],
  ];
  for (const [key, value] of pairs) if (value) (out as Record<string, unknown>)[key] = value;
  if (raw.PushFlag === 1) out.disablePush = true;
  if (apns.BadgeMode === 1) out.ignoreIOSBadge = true;
  return out;
}

/**
 * `openim/sendmsg`: the admin sends a one-to-one message as `From_Account`. The
 * message goes through the same MessageService as a client's `msg.send` (existence of
 * the receiver, size limit, group commit, pushes to both users' devices).
 *
 * `MsgRandom` becomes the message's idempotency key, `rest-<From_Account>-<MsgRandom>`:
 * a retried call (same sender, receiver and MsgRandom) returns the stored message
 * instead of sending it twice.
 */
export const sendMsg: RestCommand = async (ctx, body) => {
  const f = new Fields(body, ErrorCode.INVALID_PARAMETERS);
  const from = f.string('From_Account');
  if (!isValidUserID(from)) throw restError(ErrorCode.INVALID_IDENTIFIER, `From_Account ${JSON.stringify(from)} is not a valid UserID`);
  const to = f.string('To_Account');
  if (!isValidUserID(to)) throw restError(ErrorCode.UNKNOWN_RECEIVER, `To_Account ${JSON.stringify(to)} is not a valid UserID`);
  const msgRandom = f.int('MsgRandom', 0, UINT32_MAX);
  // 1 and 2 are both accepted; Confab always keeps the message in the sender's
  // conversation too (one shared history), so 2 behaves as 1. See docs/rest-api.md.
  f.oneOf('SyncOtherMachine', [1, 2] as const, 1);
  const msgBody = f.array('MsgBody');
  if (msgBody.length !== 1) throw f.bad(`MsgBody must hold exactly one element, got ${msgBody.length}`);
  const elem = toElem(f, msgBody[0]);

  const options: { cloudCustomData?: string; offlinePushInfo?: OfflinePushInfo } = {};
  if (f.has('CloudCustomData')) options.cloudCustomData = f.string('CloudCustomData');
  if (f.has('OfflinePushInfo')) options.offlinePushInfo = toPushInfo(f, f.raw('OfflinePushInfo'));
  const request = { conversationID: c2cConversationID(to), clientMsgID: `rest-${from}-${msgRandom}`, elem, ...options };
  // The WebSocket op's schema, so both doors accept the same messages.
  const checked = requestSchemas['msg.send'].safeParse(request);
  if (!checked.success) throw f.bad(describeIssue(checked.error).replace(/^body\./, ''));

  if (!(await ctx.domain.accounts.exists(ctx.app.sdkAppID, from))) {
    throw restError(ErrorCode.ACCOUNT_NOT_FOUND, `From_Account ${from} does not exist; import it first`);
  }
  const { message } = await ctx.domain.messages.send(callerFor(ctx.app, from), request.conversationID, request.clientMsgID, elem, options);
  return { MsgTime: Math.floor(message.timestamp / 1000), MsgKey: message.msgID, MsgId: message.msgID };
};
