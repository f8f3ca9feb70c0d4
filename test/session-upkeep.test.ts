/**
 * A session outliving its first UserSig (`userSigProvider` + `auth.renew`), the app's own
 * logger, and the public connection state. Three devices of one user log in with a
 * UserSig valid for 6 s: one renews it, one has a provider that fails, one has none. The
 * last two are ended by the server at expiry, which also proves the expiry check ran
 * while the renewed device stayed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { V2TIMManager, type ConnectionState } from '@confab/sdk';
import { startTestServer, waitFor } from './helpers/sdk-harness.js';
import { RawClient } from './helpers/raw-client.js';

test('a UserSig renewed through userSigProvider keeps the session past the first one\'s expiry', async () => {
  const env = await startTestServer({ heartbeatMs: 500 });
  const shortSig = () => env.server.genUserSig(env.app.sdkAppID, 'alice', 6);
  const devices: V2TIMManager[] = [];
  const make = (deviceID: string, config: Partial<Parameters<V2TIMManager['initSDK']>[1]>, listener: Parameters<V2TIMManager['initSDK']>[2]) => {
    const im = new V2TIMManager();
    im.initSDK(env.app.sdkAppID, { serverUrl: env.server.wsUrl, deviceID, logLevel: 'warn', ...config }, listener);
    devices.push(im);
    return im;
  };
  try {
    const renewedAt: number[] = [];
    const states: ConnectionState[] = [];
    let provided = 0;
    const renewing = make('renewing', {
      userSigProvider: async (userID) => {
        provided++;
        return env.server.genUserSig(env.app.sdkAppID, userID, 3600);
      },
    }, {
      onUserSigRenewed: (at) => renewedAt.push(at),
      onConnectionStateChanged: (s) => states.push(s),
    });
    const logged: string[] = [];
    let failingExpired = false;
    const failing = make('failing', {
      userSigProvider: () => Promise.reject(new Error('the app back end is down')),
      logger: { debug: () => {}, info: () => {}, warn: (m) => logged.push(m), error: (m) => logged.push(m) },
    }, { onUserSigExpired: () => { failingExpired = true; } });
    let plainExpired = false;
    const plain = make('plain', {}, { onUserSigExpired: () => { plainExpired = true; } });

    assert.equal(renewing.getConnectionState(), 'closed', 'no session before login');
    await renewing.login('alice', await shortSig());
    await failing.login('alice', await shortSig());
    await plain.login('alice', await shortSig());
    assert.equal(renewing.getConnectionState(), 'connected');
    assert.deepEqual(states, ['connecting', 'connected']);

    await waitFor(() => plainExpired && failingExpired, 'the devices without a working provider to be ended at expiry', 30_000);
    assert.ok(logged.some((line) => line.includes('could not renew the UserSig') && line.includes('back end is down')),
      `the failed renewal went to the app's logger: ${JSON.stringify(logged)}`);
    assert.equal(plain.getConnectionState(), 'closed');

    assert.equal(provided, 1, 'the provider was asked once, about halfway through the 6 s');
    assert.equal(renewedAt.length, 1);
    assert.ok(renewedAt[0]! > Date.now() + 3000 * 1000, 'the server took the 1-hour UserSig');
    assert.equal(renewing.getLoginStatus(), 1, 'still logged in past the first UserSig\'s expiry');
    assert.equal(renewing.getConnectionState(), 'connected');
    // And the session still works.
    const self = await renewing.getUsersInfo(['alice']);
    assert.equal(self[0]!.userID, 'alice');

    await renewing.logout();
    assert.equal(renewing.getConnectionState(), 'closed');
  } finally {
    for (const im of devices) await im.logout().catch(() => undefined);
    await env.stop();
  }
});

test('auth.renew refuses a UserSig of another user and keeps the session\'s own', async () => {
  const env = await startTestServer();
  const client = await RawClient.connect(env.server.wsUrl);
  try {
    await client.ok('login', {
      sdkAppID: env.app.sdkAppID, userID: 'alice', userSig: await env.sig('alice'), deviceID: 'raw', protocolVersion: 1,
    });
    const refused = await client.call('auth.renew', { userSig: await env.sig('mallory') });
    assert.equal(refused.ok, false);
    assert.equal((refused as { code: number }).code, 70013, 'the UserSig names another user');
    const ok = await client.ok('auth.renew', { userSig: await env.server.genUserSig(env.app.sdkAppID, 'alice', 7200) });
    assert.ok(ok.userSigExpireAt > Date.now() + 7000 * 1000);
  } finally {
    client.close();
    await env.stop();
  }
});
