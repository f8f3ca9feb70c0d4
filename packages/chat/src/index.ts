/**
 * @confab/chat — the reference's Web SDK (`@tencentcloud/chat` 3.6) on a Confab server.
 *
 * ```ts
 * import TencentCloudChat from '@confab/chat';
 * const chat = TencentCloudChat.create({ SDKAppID, serverUrl: 'wss://im.example.com/ws' });
 * chat.on(TencentCloudChat.EVENT.SDK_READY, () => chat.getConversationList());
 * await chat.login({ userID, userSig });
 * ```
 *
 * Built on @confab/sdk's core (connection, sync engine, local stores); docs/web-sdk.md
 * lists every method and event with its status.
 */
import { Chat, type ChatOptions } from './chat.js';
import { ERROR_CODE, EVENT, TYPES } from './constants.js';

/** The package version of the reference's API this face follows. */
export const VERSION = '3.6.6';

/** Each call makes a new instance (the reference returns one per SDKAppID; see docs/web-sdk.md). */
function create(options: ChatOptions): Chat {
  return new Chat(options);
}

const TencentCloudChat = { create, EVENT, TYPES, VERSION } as const;

export default TencentCloudChat;
export { Chat, ERROR_CODE, EVENT, TYPES, create };
export type { ChatOptions };
export { ChatError } from './errors.js';
export type { ChatResponse } from './errors.js';
export type { ChatEvent, Handler } from './emitter.js';
export type { WebConversation, WebMessage, WebProfile, WebGroup, WebLastMessage } from './convert.js';
export { UNSUPPORTED_METHODS } from './unsupported.js';
