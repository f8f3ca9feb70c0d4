/**
 * The plugin objects of the reference's `@tencentcloud/lite-chat`
 * (`@tencentcloud/lite-chat/plugins/<name>`), which an app hands to `chat.use(plugin)`.
 * The reference's lite build lacks each module until its plugin is registered (calls
 * reject with 2998 NO_MODULE meanwhile). `@confab/chat` has every module built in, so a
 * plugin is a marker and `use` is a no-op: an app aliasing `@tencentcloud/lite-chat` to
 * `@confab/chat` runs unchanged. What a module's methods do is in docs/web-sdk.md (for
 * signaling, topics, follows, cloud search and AVChatRoom: 3122).
 */
export interface LiteChatPlugin {
  readonly name: string;
  readonly confab: true;
}

export function litePlugin(name: string): LiteChatPlugin {
  return Object.freeze({ name, confab: true as const });
}
