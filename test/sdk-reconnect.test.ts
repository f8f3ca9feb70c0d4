import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '@confab/server';
import { V2TIMManager } from '@confab/sdk';
import { SqliteStore } from '@confab/sdk/sqlite-store';
import { texts, waitFor } from './helpers/sdk-harness.js';

test('after the server restarts, the SDK reconnects by itself and catches up without loss or duplicates', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'confab-reconnect-'));
  let server = await startServer({ dataDir, port: 0, logLevel: 'silent' });
  const port = server.port;
  const app = await server.createApp({ name: 'reconnect' });
  const sig = (u: string) => server.genUserSig(app.sdkAppID, u);
  const alice = new V2TIMManager();
  const received: string[] = [];
  alice.initSDK(app.sdkAppID, { serverUrl: server.wsUrl, store: new SqliteStore(join(dataDir, 'alice.db')), logLevel: 'silent' });
  alice.getMessageManager().addAdvancedMsgListener({ onRecvNewMessage: (m) => received.push(m.textElem?.text ?? '') });
  const bob = new V2TIMManager();
  bob.initSDK(app.sdkAppID, { serverUrl: server.wsUrl, logLevel: 'silent' });
  try {
    await alice.login('alice', await sig('alice'));
    await bob.login('bob', await sig('bob'));
    await bob.sendC2CTextMessage('before restart', 'alice');
    await waitFor(() => received.length === 1, 'first message');

    await server.close();
    server = await startServer({ dataDir, port, logLevel: 'silent' });
    // Bob's SDK reconnects too; wait until it can send again.
    await waitFor(async () => bob.sendC2CTextMessage('after restart 1', 'alice').then(() => true, () => false), 'bob sends after restart', 30_000);
    await bob.sendC2CTextMessage('after restart 2', 'alice');
    await waitFor(() => received.length === 3, 'alice catches up', 30_000);
    assert.deepEqual(received, ['before restart', 'after restart 1', 'after restart 2']);
    const history = await alice.getMessageManager().getC2CHistoryMessageList('bob', 10, null);
    assert.deepEqual(texts(history), ['after restart 2', 'after restart 1', 'before restart']);
    assert.equal(alice.getLoginStatus(), 1);
  } finally {
    await alice.logout().catch(() => undefined);
    await bob.logout().catch(() => undefined);
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
