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

/** In a page: the instance of each SDKAppID, as the reference keeps them (until `destroy()`). */
const pageInstances = new Map<number, Chat>();

/**
 * In a browser page, the same instance for the same SDKAppID, as the reference does: a
 * UIKit may call `create` again to reach the app's instance. Elsewhere (Node), a new
 * instance per call, so one process can hold several users (tests, bots, back ends).
 */
function create(options: ChatOptions): Chat {
  const inPage = typeof (globalThis as { document?: unknown }).document !== 'undefined';
  const key = Number(options?.SDKAppID);
  const known = inPage ? pageInstances.get(key) : undefined;
  if (known) return known;
  const chat = new Chat(options);
  if (inPage) {
    pageInstances.set(key, chat);
    chat.on(EVENT.SDK_DESTROY, () => {
      if (pageInstances.get(key) === chat) pageInstances.delete(key);
    });
  }
  return chat;
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
