/** What the method modules (conversations, messages, relations) share with the instance. */
import type { V2TIMConversation, V2TIMManager, V2TIMMessage } from '@confab/sdk';
import type { SdkCore } from '@confab/sdk/internal';
import type { ConversationList } from './conversation-list.js';
import type { Names, WebConversation, WebMessage } from './convert.js';

export interface FaceContext {
  readonly im: V2TIMManager;
  readonly core: SdkCore;
  readonly list: ConversationList;
  readonly messages: MessageIndex;
  readonly names: Names;
  /** The logged-in user ('' when none). */
  userID(): string;
  emit(name: string, data: unknown): void;
  /** Emits CONVERSATION_LIST_UPDATED (and the total) once the current burst of changes is applied. */
  scheduleFlush(): void;
  webConversation(c: V2TIMConversation): WebConversation;
  /**
   * Profiles, remarks or group names may have changed: rows are converted afresh, and
   * with `announce` (default) the list is announced again.
   */
  namesChanged(announce?: boolean): void;
  webMessage(m: V2TIMMessage): WebMessage;
}

/**
 * Web message ↔ core message. The app hands back the objects it got (to send, resend, or
 * as `nextReqMessageID`); a framework may wrap them in a proxy (Vue's reactive()), so
 * the ID is the fallback key. Holds the newest 10 000 IDs: enough for any open chat.
 */
export class MessageIndex {
  static readonly LIMIT = 10_000;
  readonly #byObject = new WeakMap<object, V2TIMMessage>();
  readonly #byID = new Map<string, V2TIMMessage>();

  remember(web: WebMessage, core: V2TIMMessage): void {
    this.#byObject.set(web, core);
    this.#byID.delete(web.ID);
    this.#byID.set(web.ID, core);
    if (this.#byID.size > MessageIndex.LIMIT) {
      const oldest = this.#byID.keys().next().value;
      if (oldest !== undefined) this.#byID.delete(oldest);
    }
  }

  find(web: unknown): V2TIMMessage | undefined {
    if (typeof web !== 'object' || web === null) return undefined;
    return this.#byObject.get(web) ?? this.byID((web as { ID?: unknown }).ID);
  }

  byID(id: unknown): V2TIMMessage | undefined {
    return typeof id === 'string' ? this.#byID.get(id) : undefined;
  }

  clear(): void {
    this.#byID.clear();
  }
}
