import { ErrorCode, type MessageElem, type OfflinePushInfo } from '@confab/protocol';
import { restError } from './envelope.js';
import { str, z } from './schema.js';

/**
 * The reference's `MsgBody` elements and `OfflinePushInfo`, shared by `openim/sendmsg`,
 * `batchsendmsg` and `group_open_http_svc/send_group_msg`. Only the element kinds
 * Confab carries are accepted; a Confab message holds one element, so a `MsgBody` must
 * hold exactly one.
 */
const opt = str.nullish();
const elemSchema = z.discriminatedUnion('MsgType', [
  z.object({ MsgType: z.literal('TIMTextElem'), MsgContent: z.object({ Text: opt }) }),
  z.object({ MsgType: z.literal('TIMCustomElem'), MsgContent: z.object({ Data: opt, Desc: opt, Ext: opt }) }),
  z.object({ MsgType: z.literal('TIMFaceElem'), MsgContent: z.object({ Index: z.number().int(), Data: opt }) }),
  z.object({ MsgType: z.literal('TIMLocationElem'), MsgContent: z.object({ Desc: opt, Latitude: z.number(), Longitude: z.number() }) }),
], { error: 'MsgType must be TIMTextElem, TIMCustomElem, TIMFaceElem or TIMLocationElem, with its MsgContent' });

export const msgElemSchema = elemSchema;
export const msgBodySchema = z.array(elemSchema).length(1, 'MsgBody must hold exactly one element');

export const pushInfoSchema = z.object({
  PushFlag: z.number().int().optional(), Title: opt, Desc: opt, Ext: opt,
  ApnsInfo: z.object({ Sound: opt, BadgeMode: z.number().int().optional() }).optional(),
  AndroidInfo: z.object({ Sound: opt }).optional(),
});

export function toElem(raw: z.infer<typeof elemSchema>): MessageElem {
  switch (raw.MsgType) {
    case 'TIMTextElem':
      return { type: 'text', text: raw.MsgContent.Text ?? '' };
    case 'TIMCustomElem': {
      const c = raw.MsgContent;
      const elem: MessageElem = { type: 'custom', data: c.Data ?? '' };
      if (c.Desc != null) elem.description = c.Desc;
      if (c.Ext != null) elem.extension = c.Ext;
      return elem;
    }
    case 'TIMFaceElem':
      return { type: 'face', index: raw.MsgContent.Index, data: raw.MsgContent.Data ?? '' };
    case 'TIMLocationElem':
      return { type: 'location', desc: raw.MsgContent.Desc ?? '', latitude: raw.MsgContent.Latitude, longitude: raw.MsgContent.Longitude };
  }
}

/**
 * The reference's REST `OfflinePushInfo` → the SDK's V2TIMOfflinePushInfo fields:
 * `PushFlag` 1 = no push, `ApnsInfo.BadgeMode` 1 = leave the badge alone.
 */
export function toPushInfo(raw: z.infer<typeof pushInfoSchema>): OfflinePushInfo {
  const out: OfflinePushInfo = {};
  const pairs: [keyof OfflinePushInfo, string | null | undefined][] = [
    ['title', raw.Title], ['desc', raw.Desc], ['ext', raw.Ext],
    ['iOSSound', raw.ApnsInfo?.Sound], ['androidSound', raw.AndroidInfo?.Sound],
  ];
  for (const [key, value] of pairs) if (value) (out as Record<string, unknown>)[key] = value;
  if (raw.PushFlag === 1) out.disablePush = true;
  if (raw.ApnsInfo?.BadgeMode === 1) out.ignoreIOSBadge = true;
  return out;
}

/** The common message fields of the send commands. */
export const messageFields = {
  MsgBody: msgBodySchema,
  CloudCustomData: str.optional(),
  OfflinePushInfo: pushInfoSchema.optional(),
};

export function messageOptions(b: { CloudCustomData?: string | undefined; OfflinePushInfo?: z.infer<typeof pushInfoSchema> | undefined }) {
  const options: { cloudCustomData?: string; offlinePushInfo?: OfflinePushInfo } = {};
  if (b.CloudCustomData !== undefined) options.cloudCustomData = b.CloudCustomData;
  if (b.OfflinePushInfo !== undefined) options.offlinePushInfo = toPushInfo(b.OfflinePushInfo);
  return options;
}

/** A random 32-bit `MsgRandom` for a call that sent none (no idempotency then). */
export function freshRandom(): number {
  return Math.floor(Math.random() * 0x1_0000_0000);
}

export const unknownReceiver = (to: string) => restError(ErrorCode.UNKNOWN_RECEIVER, `To_Account ${JSON.stringify(to)} is not a valid UserID`);
