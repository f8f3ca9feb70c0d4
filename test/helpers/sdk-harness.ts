import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type ConfabServer, type ServerOptions } from '@confab/server';
import { V2TIMManager, type LocalStore, type V2TIMConversation, type V2TIMMessage } from '@confab/sdk';

/** A real server on port 0 in a temp folder, with one app. */
export async function startTestServer(options: ServerOptions = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'confab-test-'));
  const server: ConfabServer = await startServer({ dataDir, port: 0, logLevel: 'silent', ...options });
  const app = await server.createApp({ name: 'test' });
  return {
    server, app, dataDir,
    sig: (userID: string) => server.genUserSig(app.sdkAppID, userID),
    async stop() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Everything an SDK instance told its listeners, in order. */
export interface DeviceEvents {
  received: V2TIMMessage[];
  newConversations: V2TIMConversation[];
  changed: V2TIMConversation[];
  deleted: string[];
  totals: number[];
  sdk: string[];
}

/** An SDK instance for `env`'s app; `serverUrl` overrides the server's own URL (e.g. the nodes of a cluster). */
export function device(env: { server: Pick<ConfabServer, 'wsUrl'>; app: { sdkAppID: number } },
  opts: { store?: LocalStore; deviceID?: string; capabilities?: string[]; serverUrl?: string | string[] } = {}) {
  const im = new V2TIMManager();
  const events: DeviceEvents = { received: [], newConversations: [], changed: [], deleted: [], totals: [], sdk: [] };
  im.initSDK(env.app.sdkAppID, { serverUrl: opts.serverUrl ?? env.server.wsUrl, store: opts.store, deviceID: opts.deviceID, capabilities: opts.capabilities, logLevel: 'silent' }, {
    onKickedOffline: () => events.sdk.push('kicked'),
    onConnectSuccess: () => events.sdk.push('connected'),
  });
  im.getMessageManager().addAdvancedMsgListener({ onRecvNewMessage: (m) => events.received.push(m) });
  im.getConversationManager().addConversationListener({
    onNewConversation: (l) => events.newConversations.push(...l),
    onConversationChanged: (l) => events.changed.push(...l),
    onConversationDeleted: (ids) => events.deleted.push(...ids),
    onTotalUnreadMessageCountChanged: (t) => events.totals.push(t),
  });
  return { im, events };
}

/** Polls until `check` returns truthy; fails (not hangs) after `guardMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, guardMs = 10_000): Promise<NonNullable<T>> {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() - start > guardMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const texts = (messages: V2TIMMessage[]) => messages.map((m) => m.textElem?.text);
