/**
 * Finds a WebSocket constructor. Order: the one passed in config, `globalThis.WebSocket`
 * (browsers, Deno, Node ≥ 22), else the `ws` package. `ws` is imported lazily so a browser
 * bundle never evaluates it (bundlers map `ws` to its tiny `browser.js` stub anyway).
 */
import type { WebSocketConstructor } from '../types.js';

let cached: Promise<WebSocketConstructor> | undefined;

export function resolveWebSocket(injected?: WebSocketConstructor): Promise<WebSocketConstructor> {
  if (injected) return Promise.resolve(injected);
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return Promise.resolve(global);
  // `ws` is an optional peer dependency: a Node app without a global WebSocket installs it.
  cached ??= import('ws').then((mod) => (mod.WebSocket ?? mod.default) as unknown as WebSocketConstructor, (err: unknown) => {
    cached = undefined;
    throw new Error(`no WebSocket: this runtime has no globalThis.WebSocket and the ws package cannot be loaded (${(err as Error).message}); `
      + 'install it (npm install ws) or pass a WebSocket constructor in the SDK config');
  });
  return cached;
}
