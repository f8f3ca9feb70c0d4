/**
 * The admin's user view lists a user's online sessions of every node of a cluster (the
 * presence table), not only those of the node that served the request. Two nodes on one
 * PostgreSQL schema, raw clients over loopback; skipped with a message when PostgreSQL is
 * not reachable.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startServer, type AppRecord, type ConfabServer } from '@confab/server';
import { RawClient } from './helpers/raw-client.js';
import { postgresMissing, TEST_DATABASE_URL as DATABASE_URL } from './helpers/postgres.js';



interface OnlineSession { deviceID: string; node: string; capabilities: string[]; protocolVersion: number; since: number }

describe('cluster-wide presence in the admin user view', { skip: await postgresMissing() }, () => {
  const SCHEMA = `confab_presence_${randomBytes(6).toString('hex')}`;
  const nodes: ConfabServer[] = [];
  const clients: RawClient[] = [];
  let app: AppRecord;

  before(async () => {
    nodes.push(...await Promise.all(['node-a', 'node-b'].map((nodeID) => startServer({
      port: 0, logLevel: 'silent', purge: false, nodeID, adminToken: 'op', databaseUrl: DATABASE_URL, databaseSchema: SCHEMA,
    }))));
    app = await nodes[0]!.createApp({ name: 'presence' });
  });

  after(async () => {
    for (const c of clients) await c.close();
    for (const node of nodes) await node.close();
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await admin.end();
  });

  async function login(node: ConfabServer, userID: string, deviceID: string): Promise<RawClient> {
    const c = await RawClient.connect(node.wsUrl);
    clients.push(c);
    await c.login({ sdkAppID: app.sdkAppID, userID, userSig: await node.genUserSig(app.sdkAppID, userID), deviceID, capabilities: ['conv.deletion-sync'] });
    return c;
  }

  async function online(via: ConfabServer, userID: string): Promise<OnlineSession[]> {
    const signIn = await fetch(`${via.httpUrl}/admin/api/login`, { method: 'POST', body: JSON.stringify({ operatorToken: 'op' }) });
    const { token } = (await signIn.json()) as { token: string };
    const res = await fetch(`${via.httpUrl}/admin/api/apps/${app.sdkAppID}/users/${userID}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { user: { onlineSessions: OnlineSession[] } };
    return body.user.onlineSessions;
  }

  const summary = (sessions: OnlineSession[]) => sessions.map((s) => `${s.deviceID}@${s.node}`).sort();

  test('either node lists the sessions on both; a logout and a node\'s shutdown take theirs out', async () => {
    await login(nodes[0]!, 'alice', 'phone');
    const tablet = await login(nodes[1]!, 'alice', 'tablet');
    await login(nodes[1]!, 'bob', 'pc');
    for (const via of nodes) {
      const sessions = await online(via, 'alice');
      assert.deepEqual(summary(sessions), ['phone@node-a', 'tablet@node-b']);
      assert.ok(sessions.every((s) => s.capabilities.includes('conv.deletion-sync') && s.since > 0));
    }

    await tablet.ok('logout', {});
    await tablet.closed;
    // The row leaves once the node handled the close: wait for it (never a timing assertion).
    for (let i = 0; i < 200 && summary(await online(nodes[0]!, 'alice')).length > 1; i++) await new Promise((r) => setTimeout(r, 25));
    assert.deepEqual(summary(await online(nodes[0]!, 'alice')), ['phone@node-a']);

    await nodes[1]!.close();
    assert.deepEqual(summary(await online(nodes[0]!, 'bob')), [], 'a node shutting down takes its sessions out');
  });

  test('rows of a node that died stop counting once they expire', async () => {
    const { presence } = nodes[0]!.domain.storage;
    const now = Date.now();
    // What a crashed node leaves: a row it no longer renews, with its expiry passed.
    await presence.add(app.sdkAppID, 'carol', { node: 'node-gone', sessionID: 's-gone', deviceID: 'old', capabilities: [], protocolVersion: 1, since: now - 200_000 }, now - 1);
    await login(nodes[0]!, 'carol', 'new');
    assert.deepEqual(summary(await online(nodes[0]!, 'carol')), ['new@node-a']);
  });
});
