/**
 * Message objects for `sendMessage` and the wire element each one sends. A merger's
 * element holds its merged messages, which `V2TIMMergerElem` does not show (it shows
 * `title` and `abstractList` and answers `downloadMergerMessage`), so the wire element
 * of every merger the SDK builds or receives is kept beside the object (convert.ts).
 */
import { mediaElemOf } from './media.js';
import { ConfabError, ErrorCode, type MergedMessage, type MessageElem, type MergerElem } from '@confab/protocol';
import { mergerDepth, mergerElemOf, MAX_MERGER_LAYERS } from '../convert.js';
import { V2TIMElemType, V2TIMMessageStatus, type V2TIMMessage } from '../types.js';

const invalid = (desc: string) => new ConfabError(ErrorCode.INVALID_PARAMETERS, desc);

/** The wire element a message object sends. */
export function elemOf(message: V2TIMMessage): MessageElem {
  switch (message?.elemType) {
    case V2TIMElemType.TEXT: {
      const text = message.textElem?.text;
      if (typeof text !== 'string' || text === '') throw invalid('text must be a non-empty string');
      const at = message.groupAtUserList;
      if (at === undefined || at === null) return { type: 'text', text };
      if (!Array.isArray(at) || at.length === 0 || at.length > 100 || at.some((id) => typeof id !== 'string' || id === '')) {
        throw invalid('atUserList must hold 1-100 user IDs');
      }
      return { type: 'text', text, atUserList: [...at] };
    }
    case V2TIMElemType.CUSTOM: {
      const c = message.customElem;
      if (!c || typeof c.data !== 'string') throw invalid('customElem.data must be a string');
      return {
        type: 'custom', data: c.data,
        ...(c.desc ? { description: c.desc } : {}),
        ...(c.extension ? { extension: c.extension } : {}),
      };
    }
    case V2TIMElemType.FACE: {
      const f = message.faceElem;
      if (!f || !Number.isSafeInteger(f.index) || f.index < 0 || typeof f.data !== 'string') throw invalid('faceElem needs an index >= 0 and data');
      return { type: 'face', index: f.index, data: f.data };
    }
    case V2TIMElemType.LOCATION: {
      const l = message.locationElem;
      if (!l || typeof l.desc !== 'string' || !(Math.abs(l.longitude) <= 180) || !(Math.abs(l.latitude) <= 90)) {
        throw invalid('locationElem needs a desc, a longitude in [-180, 180] and a latitude in [-90, 90]');
      }
      return { type: 'location', desc: l.desc, longitude: l.longitude, latitude: l.latitude };
    }
    case V2TIMElemType.MERGER: {
      const elem = mergerElemOf(message);
      if (!elem) throw invalid('a merger message must come from createMergerMessage or createForwardMessage');
      if (mergerDepth(elem) > MAX_MERGER_LAYERS) {
        throw new ConfabError(ErrorCode.MERGER_MSG_LAYERS_OVER_LIMIT, `a merger message may nest at most ${MAX_MERGER_LAYERS} levels`);
      }
      return elem;
    }
    case V2TIMElemType.IMAGE:
    case V2TIMElemType.SOUND:
    case V2TIMElemType.VIDEO:
    case V2TIMElemType.FILE:
      return mediaElemOf(message)!;
    default:
      throw invalid('unsupported message: create it with one of the create…Message methods');
  }
}

/** One merged message: what a reader of the merger needs to show it. */
export function toMerged(message: V2TIMMessage): MergedMessage {
  if (message?.status !== V2TIMMessageStatus.SEND_SUCC) throw invalid('only sent or received messages can be merged');
  const item: MergedMessage = { sender: message.sender, timestamp: message.serverTime, elem: elemOf(message) };
  if (message.nickName) item.nickName = message.nickName;
  if (message.faceURL) item.faceUrl = message.faceURL;
  if (message.cloudCustomData) item.cloudCustomData = message.cloudCustomData;
  return item;
}

/** The merger element for createMergerMessage. */
export function mergerElem(messageList: V2TIMMessage[], title: string, abstractList: string[], compatibleText: string): MergerElem {
  if (!Array.isArray(messageList) || messageList.length === 0 || messageList.length > 300) throw invalid('messageList must hold 1 to 300 messages');
  if (typeof title !== 'string') throw invalid('title must be a string');
  if (!Array.isArray(abstractList) || abstractList.length > 100 || abstractList.some((a) => typeof a !== 'string')) throw invalid('abstractList must be at most 100 strings');
  // The reference requires it: what a client that cannot show mergers displays.
  if (typeof compatibleText !== 'string' || compatibleText === '') throw invalid('compatibleText must be a non-empty string');
  return { type: 'merger', title, abstractList: [...abstractList], compatibleText, messageList: messageList.map(toMerged) };
}
