import { c2cConversationID, ErrorCode, isValidUserID, type MessageElem, type WireMessage } from '@confab/protocol';
import type { ListPosition } from '../../storage/types.js';
import { convKeyFor } from '../../services/wire.js';
import { callerFor, restError, type RestCommand, type RestContext } from './envelope.js';
import { parseBody, str, uint, z } from './schema.js';

/**
 * `openim/admin_getroammsg` and `openim/get_c2c_unread_msg_num`: a user's one-to-one
 * history and unread counts as the admin sees them. A `MsgKey` is Confab's message ID
 * (`c2c:<a>|<b>/<seq>`), the same key `sendmsg` answers and `admin_msgwithdraw`,
 * `modify_c2c_msg` and `delete_c2c_msg_ramble` take.
 */
const BAD = ErrorCode.INVALID_PARAMETERS;

async function requireAccount(ctx: RestContext, userID: string, field: string): Promise<string> {
  if (!isValidUserID(userID) || !(await ctx.domain.accounts.exists(ctx.app.sdkAppID, userID))) {
    throw restError(ErrorCode.ACCOUNT_NOT_FOUND, `${field} ${JSON.stringify(userID)} does not exist; import it first`);
  }
  return userID;
}

/** A Confab element → the reference's `MsgBody` element. */
export function toMsgBodyElem(elem: MessageElem): { MsgType: string; MsgContent: Record<string, unknown> } {
  switch (elem.type) {
    case 'text': return { MsgType: 'TIMTextElem', MsgContent: { Text: elem.text } };
    case 'custom': return { MsgType: 'TIMCustomElem', MsgContent: { Data: elem.data, Desc: elem.description ?? '', Ext: elem.extension ?? '' } };
    case 'face': return { MsgType: 'TIMFaceElem', MsgContent: { Index: elem.index, Data: elem.data } };
    case 'location': return { MsgType: 'TIMLocationElem', MsgContent: { Desc: elem.desc, Latitude: elem.latitude, Longitude: elem.longitude } };
    case 'merger': return { MsgType: 'TIMRelayElem', MsgContent: { Title: elem.title, AbstractList: elem.abstractList, CompatibleText: elem.compatibleText } };
    // Media: the reference's shapes; the URLs are issued per viewer (`file.url`), so the
    // UUIDs stand where the reference puts a download URL.
    case 'image': return {
      MsgType: 'TIMImageElem',
      MsgContent: {
        UUID: elem.imageList[0]?.uuid ?? '', ImageFormat: 255,
        ImageInfoArray: elem.imageList.map((i) => ({ Type: i.type === 0 ? 1 : i.type === 1 ? 3 : 2, Size: i.size, Width: i.width, Height: i.height, URL: '' })),
      },
    };
    case 'sound': return { MsgType: 'TIMSoundElem', MsgContent: { UUID: elem.UUID, Size: elem.dataSize, Second: elem.duration, Url: '', Download_Flag: 2 } };
    case 'video': return {
      MsgType: 'TIMVideoFileElem',
      MsgContent: {
        VideoUUID: elem.videoUUID, VideoSize: elem.videoSize, VideoSecond: elem.duration, VideoFormat: elem.videoType, VideoUrl: '',
        ThumbUUID: elem.snapshotUUID, ThumbSize: elem.snapshotSize, ThumbWidth: elem.snapshotWidth, ThumbHeight: elem.snapshotHeight, ThumbUrl: '',
        VideoDownloadFlag: 2, ThumbDownloadFlag: 2,
      },
    };
    case 'file': return { MsgType: 'TIMFileElem', MsgContent: { UUID: elem.UUID, FileName: elem.fileName, FileSize: elem.fileSize, Url: '', Download_Flag: 2 } };
  }
}

/** The `MsgRandom` of a message sent with one (`rest-<sender>-<n>`); 0 for a client's message. */
function randomOf(m: WireMessage): number {
  const match = /^rest-.+-([0-9]+)$/.exec(m.clientMsgID);
  return match ? Number(match[1]) : 0;
}

const roamSchema = z.object({
  Operator_Account: str, Peer_Account: str,
  MaxCnt: z.number().int().min(1).max(100).optional(),
  MinTime: uint(), MaxTime: uint(),
  LastMsgKey: str.optional(),
});

/**
 * `admin_getroammsg`: `{ Operator_Account, Peer_Account, MaxCnt?, MinTime, MaxTime, LastMsgKey? }` →
 * `{ Complete, MsgCnt, LastMsgTime, LastMsgKey, MsgList: [{ From_Account, To_Account, MsgSeq, MsgRandom,
 * MsgTimeStamp, MsgFlagBits, MsgKey, MsgBody, CloudCustomData }] }`. The messages
 * `Operator_Account` can see between MinTime and MaxTime (Unix seconds, inclusive),
 * newest first, at most `MaxCnt` (default 100). With `Complete` 0, call again with
 * `MaxTime` = `LastMsgTime` and the `LastMsgKey` answered: the next page starts just
 * before that message. Each page is one history read (O(page)).
 */
export const adminGetRoamMsg: RestCommand = async (ctx, body) => {
  const b = parseBody(roamSchema, body, BAD);
  const operator = await requireAccount(ctx, b.Operator_Account, 'Operator_Account');
  if (!isValidUserID(b.Peer_Account)) throw restError(BAD, `Peer_Account ${JSON.stringify(b.Peer_Account)} is not a valid UserID`);
  if (b.MinTime > b.MaxTime) throw restError(BAD, 'MinTime is after MaxTime');
  const opts: { timeFrom: number; timeTo: number; count: number; beforeSeq?: number } = { timeFrom: b.MinTime, timeTo: b.MaxTime, count: b.MaxCnt ?? 100 };
  if (b.LastMsgKey) {
    const seq = Number(/\/([0-9]+)$/.exec(b.LastMsgKey)?.[1]);
    if (!Number.isSafeInteger(seq) || seq < 1) throw restError(BAD, `LastMsgKey ${JSON.stringify(b.LastMsgKey)} is not a MsgKey of this chat`);
    opts.beforeSeq = seq;
  }
  const page = await ctx.domain.messages.history(callerFor(ctx.app, operator), c2cConversationID(b.Peer_Account), opts);
  const messages = [...page.messages].reverse().filter((m) => m.status === undefined);
  const last = page.messages[0];
  return {
    Complete: page.isFinished ? 1 : 0,
    MsgCnt: messages.length,
    LastMsgTime: last ? Math.floor(last.timestamp / 1000) : 0,
    LastMsgKey: last?.msgID ?? '',
    MsgList: messages.map((m) => ({
      From_Account: m.sender, To_Account: m.sender === operator ? b.Peer_Account : operator,
      MsgSeq: m.seq, MsgRandom: randomOf(m), MsgTimeStamp: Math.floor(m.timestamp / 1000), MsgFlagBits: 0,
      MsgKey: m.msgID, MsgBody: [toMsgBodyElem(m.elem)], CloudCustomData: m.cloudCustomData ?? '',
    })),
  };
};

const unreadSchema = z.object({ To_Account: str, Peer_Account: z.array(str).min(1).max(10).optional() });
const SUM_PAGE = 500;

/**
 * `get_c2c_unread_msg_num`: `{ To_Account, Peer_Account?: [UserID] (1 to 10) }` →
 * `{ AllC2CUnreadMsgNum, C2CUnreadMsgNumList?: [{ Peer_Account, C2CUnreadMsgNum }] }`.
 * The per-peer counts are one row read each. The total is summed over the user's live
 * conversations read in pages of 500 rows — proportional to the number of
 * conversations, as the reference's own total is.
 */
export const getC2CUnreadMsgNum: RestCommand = async (ctx, body) => {
  const b = parseBody(unreadSchema, body, BAD);
  const userID = await requireAccount(ctx, b.To_Account, 'To_Account');
  const app = ctx.app.sdkAppID;
  let total = 0;
  for (const pinned of [true, false]) {
    let after: ListPosition | undefined;
    for (;;) {
      const rows = await ctx.domain.storage.conversations.listLive(app, userID, { pinned, nonEmptyOnly: false, limit: SUM_PAGE, ...(after ? { after } : {}) });
      for (const { row } of rows) if (!row.convKey.startsWith('group:')) total += row.unreadCount;
      if (rows.length < SUM_PAGE) break;
      after = rows[rows.length - 1]!.position;
    }
  }
  const out: Record<string, unknown> = { AllC2CUnreadMsgNum: total };
  if (b.Peer_Account) {
    const list = [];
    for (const peer of b.Peer_Account) {
      let count = 0;
      if (isValidUserID(peer)) {
        const row = await ctx.domain.storage.conversations.get(app, userID, convKeyFor(userID, { type: 1, userID: peer, conversationID: c2cConversationID(peer) }));
        if (row && !row.deleted) count = row.unreadCount;
      }
      list.push({ Peer_Account: peer, C2CUnreadMsgNum: count });
    }
    out.C2CUnreadMsgNumList = list;
  }
  return out;
};
