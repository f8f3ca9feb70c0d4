/**
 * Group fan-out off the writer, over loopback: a real server on a SQLite file, raw
 * WebSocket clients. Ordering is asserted through events, never through times.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type AppRecord, type ConfabServer, type ServerOptions } from '@confab/server';
import { GroupType, type UserUpdate, type WireMessage } from '@confab/protocol';
import { RawClient } from './helpers/raw-client.js';

const dirs: string[] = [];
const servers: ConfabServer[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const server of servers.splice(0)) await server.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function start(options: ServerOptions = {}, dir = mkdtempSync(join(tmpdir(), 'confab-fanout-'))): Promise<{ server: ConfabServer; dir: string }> {
  if (!dirs.includes(dir)) dirs.push(dir);
  const server = await startServer({ dataDir: dir, port: 0, logLevel: 'silent', ...options });
  servers.push(server);
  return { server, dir };
}

async function login(server: ConfabServer, app: AppRecord, userID: string, deviceID = `dev-${userID}`): Promise<RawClient> {
  const client = await RawClient.connect(server.wsUrl);
  clients.push(client);
  await client.login({ sdkAppID: app.sdkAppID, userID, userSig: await server.genUserSig(app.sdkAppID, userID), deviceID });
  return client;
}

/** A group straight in storage (the setup is not under test): `owner` plus `members`. */
async function group(server: ConfabServer, app: AppRecord, groupID: string, owner: string, members: string[]): Promise<void> {
  const storage = server.domain.storage;
  for (const id of [owner, ...members]) await storage.accounts.ensure(app.sdkAppID, id, Date.now());
  await storage.groups.create(app.sdkAppID, {
    groupID, groupType: GroupType.WORK, groupName: groupID, faceUrl: '', introduction: '', notification: '', owner, createdAt: Date.now(),
  }, members, Date.now());
}

function text(t: string) {
  return { type: 'text' as const, text: t };
}

const ids = (n: number, prefix = 'm') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

test('a 1:1 message commits and is acknowledged while a 2,000-member fan-out is in progress', async () => {
  // Small chunks so the fan-out has many yields; the assertion is about order, not speed.
  const { server } = await start({ fanout: { chunkMembers: 20 } });
  const app = await server.createApp();
  const members = ids(2000);
  await group(server, app, 'big', 'owner', members);
  const owner = await login(server, app, 'owner');
  const last = await login(server, app, members[members.length - 1]!);
  const alice = await login(server, app, 'alice');
  await login(server, app, 'bob');

  const events: string[] = [];
  let chunks = 0;
  const finished = new Promise<void>((resolve) => {
    server.domain.fanout.onChunk = (info) => {
      if (info.convKey !== 'group:big') return;
      chunks += 1;
      events.push('chunk');
      if (info.done) {
        events.push('fan-out done');
        resolve();
      }
    };
  });
  const groupSend = owner.ok('msg.send', { conversationID: 'group_big', clientMsgID: 'g1', elem: text('to everyone') }).then((r) => {
    events.push('group ack');
    return r;
  });
  await groupSend;
  await alice.ok('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'c1', elem: text('meanwhile') });
  events.push('1:1 ack');
  await finished;

  assert.ok(chunks >= 100, `2,000 members in chunks of 20 (${chunks} chunks)`);
  const ack = events.indexOf('1:1 ack');
  assert.ok(events.indexOf('group ack') < events.indexOf('fan-out done'), 'the sender is acknowledged before the fan-out completes');
  assert.ok(ack > 0 && ack < events.indexOf('fan-out done'), `the 1:1 message was acknowledged before the fan-out completed: ${events.filter((e) => e !== 'chunk').join(', ')}`);
  const push = await last.nextPush('update', (u) => u.messages.some((m) => m.clientMsgID === 'g1'));
  assert.equal(push.conversations[0]?.unreadCount, 1, 'the last member in the fan-out order gets the message');
  const row = await server.domain.storage.conversations.get(app.sdkAppID, members[977]!, 'group:big');
  assert.deepEqual([row?.lastSeq, row?.unreadCount], [1, 1]);
});

test('members online, offline, removed before and removed after the send each end as the eager path left them', async () => {
  const { server } = await start({ fanout: { paused: true } });
  const app = await server.createApp();
  await group(server, app, 'g', 'owner', ['online', 'offline', 'leftBefore', 'leftAfter', 'replier']);
  const owner = await login(server, app, 'owner');
  const online = await login(server, app, 'online');
  const replier = await login(server, app, 'replier');

  await server.domain.storage.groups.removeMember(app.sdkAppID, 'g', 'leftBefore', Date.now());
  await owner.ok('msg.send', { conversationID: 'group_g', clientMsgID: 'm1', elem: text('one') });
  await owner.ok('msg.send', { conversationID: 'group_g', clientMsgID: 'm2', elem: text('two') });
  // Removed after the sends committed, before the fan-out reached anyone: still a recipient.
  await server.domain.storage.groups.removeMember(app.sdkAppID, 'g', 'leftAfter', Date.now());
  // The replier sends before the fan-out reached it: its reply hands it m1 and m2 too.
  const reply = await replier.ok('msg.send', { conversationID: 'group_g', clientMsgID: 'r1', elem: text('reply') });
  assert.deepEqual(reply.update?.messages.map((m: WireMessage) => m.clientMsgID), ['m1', 'm2'], 'what its row moved past travels with its own update');
  assert.equal(reply.message.seq, 3);

  await server.domain.fanout.runOnce();
  const pushed = await online.nextPush('update', (u) => u.messages.length > 0);
  assert.deepEqual(pushed.messages.map((m) => m.clientMsgID), ['m1', 'm2', 'r1'], 'the online member gets the three in one update, in order');
  assert.deepEqual([pushed.conversations[0]?.lastSeq, pushed.conversations[0]?.unreadCount], [3, 3]);
  assert.deepEqual(pushed.conversations[0]?.lastMessage?.clientMsgID, 'r1');

  const expected: Record<string, [number, number] | undefined> = {
    offline: [3, 3], leftAfter: [2, 2], leftBefore: [0, 0], owner: [3, 1], replier: [3, 0],
  };
  for (const [userID, want] of Object.entries(expected)) {
    const client = await login(server, app, userID, `second-${userID}`);
    const sync = await client.ok('conv.sync', { sinceVersion: 0 });
    const row = sync.conversations.find((c) => c.conversationID === 'group_g');
    assert.deepEqual(row && [row.lastSeq, row.unreadCount], want, `${userID} after a sync`);
  }
  const history = await (await login(server, app, 'leftAfter', 'h')).ok('msg.history', { conversationID: 'group_g' });
  assert.deepEqual(history.messages.map((m) => m.clientMsgID), ['m1', 'm2'], 'a member removed after the send reads it, and nothing after');
});

test('a fan-out stopped between chunks resumes after a restart on the same file; every member converges once', async () => {
  const first = await start({ fanout: { chunkMembers: 3, paused: true } });
  const app = await first.server.createApp();
  const members = ids(10);
  await group(first.server, app, 'g', 'owner', members);
  const versions = new Map<string, number>();
  for (const id of members) versions.set(id, await first.server.domain.storage.accounts.syncVersion(app.sdkAppID, id));
  const owner = await login(first.server, app, 'owner');
  await owner.ok('msg.send', { conversationID: 'group_g', clientMsgID: 'm1', elem: text('one') });
  await owner.ok('msg.send', { conversationID: 'group_g', clientMsgID: 'm2', elem: text('two') });
  assert.equal(await first.server.domain.fanout.runOnce(2), 6, 'two chunks of three members');
  // The server goes away between chunks: each chunk is its own transaction, so the
  // queue holds exactly what a crash at this point would leave.
  await clients.splice(0)[0]!.close();
  await first.server.close();
  servers.splice(servers.indexOf(first.server), 1);

  const second = await start({ fanout: { chunkMembers: 3 } }, first.dir);
  // The restarted worker looks at the queue when it starts; this waits for that run.
  await second.server.domain.fanout.runOnce();
  for (const id of members) {
    const row = await second.server.domain.storage.conversations.get(app.sdkAppID, id, 'group:g');
    assert.deepEqual([row?.lastSeq, row?.unreadCount], [2, 2], id);
    assert.equal(await second.server.domain.storage.accounts.syncVersion(app.sdkAppID, id), versions.get(id)! + 1,
      `${id}: one version step, whether reached before or after the restart`);
  }
  assert.deepEqual(await second.server.domain.storage.fanout.pending(10), []);
});

test('reply bytes per message do not grow with the requests in flight; the batch update travels once', async () => {
  const { server } = await start();
  const app = await server.createApp();
  const peers = ids(32, 'peer');
  for (const id of peers) await server.domain.storage.accounts.ensure(app.sdkAppID, id, Date.now());
  const alice = await login(server, app, 'alice');

  const replyBytes = async (n: number, tag: string): Promise<{ bytes: number; updates: number; messages: number }> => {
    const sent = peers.slice(0, n).map((peer, i) => alice.send('msg.send', { conversationID: `c2c_${peer}`, clientMsgID: `${tag}${i}`, elem: text('x'.repeat(200)) }));
    const replies = await Promise.all(sent.map((id) => alice.reply(id)));
    let bytes = 0;
    let updates = 0;
    let messages = 0;
    for (const r of replies) {
      assert.ok(r.ok);
      bytes += JSON.stringify(r).length;
      const update = (r.body as { update?: UserUpdate }).update;
      if (update) {
        updates += 1;
        messages += update.messages.length;
      }
    }
    return { bytes, updates, messages };
  };
  const one = await replyBytes(1, 'a');
  const many = await replyBytes(32, 'b');
  assert.ok(many.updates >= 1, 'the batch update is in a reply');
  assert.ok(many.messages <= 31, `the update's messages are not copied per reply (${many.messages})`);
  assert.ok(many.bytes <= 32 * one.bytes * 2.5, `32 replies cost ${many.bytes} bytes; one costs ${one.bytes}`);
  // Every one of the 32 messages reached the store, and the device's view is complete.
  const sync = await alice.ok('conv.sync', { sinceVersion: 0 });
  assert.equal(sync.conversations.length, 32);
});
