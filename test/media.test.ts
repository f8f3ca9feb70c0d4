/**
 * Image, sound, video and file messages end to end over loopback: the SDK uploads with
 * progress, the server stores the bytes in its file store (here the data folder's), the
 * receiver gets a signed URL and downloads the same bytes. Also: who may get a URL,
 * what a bad or expired URL gets, the size and type limits with their codes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { ErrorCode, MEDIA_LIMITS } from '@confab/protocol';
import { ConfabError, GroupType, V2TIMElemType, V2TIMImageType, type V2TIMMessage } from '@confab/sdk';
import { purgeMessageFiles } from '@confab/server';
import { device, startTestServer, waitFor } from './helpers/sdk-harness.js';
import { RawClient } from './helpers/raw-client.js';

type Env = Awaited<ReturnType<typeof startTestServer>>;

async function download(env: Env, url: string): Promise<Buffer> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}: ${res.status} ${await res.clone().text()}`);
  return Buffer.from(await res.arrayBuffer());
}

async function png(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 90 } } })
    .composite([{ input: randomBytes(64 * 64 * 3), raw: { width: 64, height: 64, channels: 3 }, left: 10, top: 10 }])
    .png().toBuffer();
}

async function pair(env: Env) {
  const alice = device(env);
  const bob = device(env);
  await alice.im.login('alice', await env.sig('alice'));
  await bob.im.login('bob', await env.sig('bob'));
  return { alice, bob };
}

async function received(bob: ReturnType<typeof device>, clientMsgID: string): Promise<V2TIMMessage> {
  return waitFor(() => bob.events.received.find((m) => m.clientMsgID === clientMsgID), 'the message at bob');
}

function filesUnder(root: string): string[] {
  try {
    return readdirSync(root).flatMap((name) => {
      const p = join(root, name);
      return statSync(p).isDirectory() ? filesUnder(p) : [p];
    });
  } catch {
    return [];
  }
}

describe('media messages', () => {
  let env: Env;
  let users: Awaited<ReturnType<typeof pair>>;
  before(async () => {
    env = await startTestServer({ purge: false });
    users = await pair(env);
  });
  after(async () => {
    await users.alice.im.logout();
    await users.bob.im.logout();
    await env.stop();
  });

  test('an image: progress, three sizes made by the server, the same bytes downloaded by the receiver', async () => {
    const original = await png(1600, 1000);
    const progress: number[] = [];
    const msg = users.alice.im.getMessageManager().createImageMessage(original);
    assert.equal(msg.elemType, V2TIMElemType.IMAGE);
    let succeeded = false;
    await users.alice.im.getMessageManager().sendMessage(msg, 'bob', null, 0, false, null, {
      onProgress: (p) => progress.push(p), onSuccess: () => { succeeded = true; },
    });
    assert.ok(succeeded, 'onSuccess was called');
    assert.equal(progress[0], 0);
    assert.equal(progress.at(-1), 100);
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'progress only rises');
    const got = await received(users.bob, msg.clientMsgID);
    assert.equal(got.elemType, V2TIMElemType.IMAGE);
    const list = got.imageElem!.imageList;
    assert.deepEqual(list.map((i) => i.type), [V2TIMImageType.ORIGIN, V2TIMImageType.THUMB, V2TIMImageType.LARGE]);
    assert.deepEqual([list[0]!.width, list[0]!.height, list[0]!.size], [1600, 1000, original.length]);
    assert.deepEqual([list[1]!.width, list[1]!.height], [317, 198], 'thumbnail: shorter side 198');
    assert.deepEqual([list[2]!.width, list[2]!.height], [1152, 720], 'large: shorter side 720');
    assert.ok((await download(env, await list[0]!.getUrl())).equals(original), 'original bytes');
    const thumb = await download(env, await list[1]!.getUrl());
    assert.equal(thumb.length, list[1]!.size);
    assert.deepEqual((await sharp(thumb).metadata()).width, 317);
    assert.ok(list[1]!.url.startsWith(env.server.httpUrl), 'getUrl remembers the URL in `url`');
  });

  test('a sound from a file path, a file from a Buffer, a video with its snapshot: each round-trips', async () => {
    const mm = users.alice.im.getMessageManager();
    const soundBytes = randomBytes(300 * 1024);
    const soundPath = join(env.dataDir, 'voice.m4a');
    writeFileSync(soundPath, soundBytes);
    const sound = mm.createSoundMessage(soundPath, 7);
    const soundProgress: number[] = [];
    await mm.sendMessage(sound, 'bob', null, 0, false, null, { onProgress: (p) => soundProgress.push(p) });
    assert.ok(soundProgress.length >= 3, `several progress steps for 300 KiB: ${soundProgress}`);
    assert.equal(sound.soundElem!.path, soundPath, 'the sender keeps its local path');
    const gotSound = await received(users.bob, sound.clientMsgID);
    assert.equal(gotSound.elemType, V2TIMElemType.SOUND);
    assert.deepEqual([gotSound.soundElem!.dataSize, gotSound.soundElem!.duration], [soundBytes.length, 7]);
    assert.ok((await download(env, await gotSound.soundElem!.getUrl())).equals(soundBytes));

    const fileBytes = randomBytes(1024 * 1024 + 17);
    const file = mm.createFileMessage(fileBytes, 'report.pdf');
    await mm.sendMessage(file, 'bob', null);
    const gotFile = await received(users.bob, file.clientMsgID);
    assert.equal(gotFile.elemType, V2TIMElemType.FILE);
    assert.deepEqual([gotFile.fileElem!.fileName, gotFile.fileElem!.fileSize], ['report.pdf', fileBytes.length]);
    const fileUrl = await gotFile.fileElem!.getUrl();
    const res = await fetch(fileUrl);
    assert.match(res.headers.get('content-disposition') ?? '', /report\.pdf/);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(fileBytes));

    const videoBytes = randomBytes(500 * 1024);
    const snapshot = await png(640, 360);
    const video = mm.createVideoMessage(new Blob([videoBytes], { type: 'video/mp4' }), 'mp4', 12, snapshot);
    const videoProgress: number[] = [];
    await mm.sendMessage(video, 'bob', null, 0, false, null, { onProgress: (p) => videoProgress.push(p) });
    assert.equal(videoProgress.at(-1), 100);
    const gotVideo = await received(users.bob, video.clientMsgID);
    const v = gotVideo.videoElem!;
    assert.equal(gotVideo.elemType, V2TIMElemType.VIDEO);
    assert.deepEqual([v.videoSize, v.videoType, v.duration, v.snapshotWidth, v.snapshotHeight, v.snapshotSize],
      [videoBytes.length, 'mp4', 12, 640, 360, snapshot.length]);
    assert.ok((await download(env, await v.getVideoUrl())).equals(videoBytes));
    assert.ok((await download(env, await v.getSnapshotUrl())).equals(snapshot));

    // History served later carries the same elements, with working URL methods.
    const history = await users.bob.im.getMessageManager().getC2CHistoryMessageList('alice', 20, null);
    const fromHistory = history.find((m) => m.clientMsgID === sound.clientMsgID)!;
    assert.ok((await download(env, await fromHistory.soundElem!.getUrl())).equals(soundBytes));
  });

  test('a group file: members get it through the fan-out and can download it; a non-member cannot', async () => {
    const groupID = await users.alice.im.getGroupManager().createGroup({ groupType: GroupType.WORK, groupID: null, groupName: 'media' }, [{ userID: 'bob' }]);
    const mm = users.alice.im.getMessageManager();
    const bytes = randomBytes(70 * 1024);
    const msg = mm.createFileMessage(bytes, 'plan.bin');
    await mm.sendMessage(msg, null, groupID);
    const got = await received(users.bob, msg.clientMsgID);
    assert.equal(got.groupID, groupID);
    assert.ok((await download(env, await got.fileElem!.getUrl())).equals(bytes));
    const dave = await RawClient.connect(env.server.wsUrl);
    try {
      await dave.login({ sdkAppID: env.app.sdkAppID, userID: 'dave', userSig: await env.sig('dave') });
      assert.equal((await dave.fail('file.url', { uuids: [msg.fileElem!.UUID] })).code, ErrorCode.FILE_TRANS_AUTH_FAILED);
    } finally {
      await dave.close();
    }
  });

  test('downloads need a valid, unexpired signature for the file; others get no URL (6006)', async () => {
    const mm = users.alice.im.getMessageManager();
    const msg = mm.createFileMessage(Buffer.from('private bytes'), 'secret.txt');
    await mm.sendMessage(msg, 'bob', null);
    const url = new URL(await msg.fileElem!.getUrl());
    const bare = `${url.origin}${url.pathname}`;
    for (const bad of [bare, `${bare}?u=alice&e=${url.searchParams.get('e')}&sig=AAAA`,
      `${bare}?u=carol&e=${url.searchParams.get('e')}&sig=${url.searchParams.get('sig')}`,
      `${bare}?u=alice&e=${Number(url.searchParams.get('e')) + 1000}&sig=${url.searchParams.get('sig')}`]) {
      const res = await fetch(bad);
      assert.equal(res.status, 403, bad);
      assert.equal(((await res.json()) as { code: number }).code, ErrorCode.FILE_TRANS_AUTH_FAILED);
    }
    // Another file's path with this signature.
    const other = url.toString().replace(/\/files\/(\d+)\/[0-9a-f-]{36}/, `/files/$1/${crypto.randomUUID()}`);
    assert.equal((await fetch(other)).status, 403);

    const carol = await RawClient.connect(env.server.wsUrl);
    try {
      await carol.login({ sdkAppID: env.app.sdkAppID, userID: 'carol', userSig: await env.sig('carol') });
      const uuid = msg.fileElem!.UUID;
      const refused = await carol.fail('file.url', { uuids: [uuid] });
      assert.equal(refused.code, ErrorCode.FILE_TRANS_AUTH_FAILED, 'a non-participant gets no URL');
      // Nor can carol send alice's file in a message of her own.
      const stolen = await carol.fail('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'steal-1', elem: { type: 'file', UUID: uuid, fileName: 'x', fileSize: 1 } });
      assert.equal(stolen.code, ErrorCode.INVALID_MSG_ELEM);
    } finally {
      await carol.close();
    }
    // Bob, after deleting the conversation, cannot get a URL for its files any more.
    await users.bob.im.getConversationManager().deleteConversation('c2c_alice');
    const raw = await RawClient.connect(env.server.wsUrl);
    try {
      await raw.login({ sdkAppID: env.app.sdkAppID, userID: 'bob', userSig: await env.sig('bob'), deviceID: 'raw-bob' });
      assert.equal((await raw.fail('file.url', { uuids: [msg.fileElem!.UUID] })).code, ErrorCode.FILE_TRANS_AUTH_FAILED);
    } finally {
      await raw.close();
    }
  });

  test('limits: too large 7005, empty 7006, missing path 7004, not an image 6031, body over the token 7005', async () => {
    const mm = users.alice.im.getMessageManager();
    const code = async (p: Promise<unknown>) => (await p.then(() => assert.fail('expected a failure'), (e: ConfabError) => e)).code;
    assert.equal(await code(mm.sendMessage(mm.createFileMessage(new Uint8Array(0), 'empty'), 'bob', null)), ErrorCode.FILE_SIZE_EMPTY);
    assert.equal(await code(mm.sendMessage(mm.createSoundMessage(join(env.dataDir, 'nope.m4a'), 1), 'bob', null)), ErrorCode.FILE_NOT_FOUND);
    const notImage = mm.createImageMessage(Buffer.from('this is not an image at all'));
    assert.equal(await code(mm.sendMessage(notImage, 'bob', null)), ErrorCode.IMAGE_UPLOAD_FAILED_NOTIMAGE);
    assert.equal(notImage.status, 3, 'SEND_FAIL');
    const big = mm.createImageMessage(new Uint8Array(MEDIA_LIMITS.image + 1));
    assert.equal(await code(mm.sendMessage(big, 'bob', null)), ErrorCode.FILE_TOO_LARGE);

    const raw = await RawClient.connect(env.server.wsUrl);
    try {
      await raw.login({ sdkAppID: env.app.sdkAppID, userID: 'alice', userSig: await env.sig('alice'), deviceID: 'raw-alice' });
      assert.equal((await raw.fail('file.uploadToken', { kind: 'video', fileSize: MEDIA_LIMITS.video + 1 })).code, ErrorCode.FILE_TOO_LARGE);
      assert.equal((await raw.fail('file.uploadToken', { kind: 'file', fileSize: 0 })).code, ErrorCode.FILE_SIZE_EMPTY);
      const token = await raw.ok('file.uploadToken', { kind: 'file', fileSize: 10 });
      const res = await fetch(env.server.httpUrl + token.uploadPath, { method: 'PUT', body: randomBytes(11) });
      assert.equal(res.status, 413);
      assert.equal(((await res.json()) as { code: number }).code, ErrorCode.FILE_TOO_LARGE);
      const tampered = token.uploadPath.replace('s=10', 's=1000');
      assert.equal((await fetch(env.server.httpUrl + tampered, { method: 'PUT', body: randomBytes(1000) })).status, 403);
      // Nothing was kept of the refused uploads.
      assert.deepEqual(filesUnder(join(env.dataDir, 'files')).filter((f) => f.includes(token.uuid)), []);
    } finally {
      await raw.close();
    }
  });
});

describe('media files: expiry and collection', () => {
  test('purgeMessageFiles deletes one message\'s files at once (for a revoke)', async () => {
    const env = await startTestServer({ purge: false });
    const { alice, bob } = await pair(env);
    try {
      const mm = alice.im.getMessageManager();
      const image = mm.createImageMessage(await png(300, 300));
      await mm.sendMessage(image, 'bob', null);
      const kept = mm.createFileMessage(Buffer.from('another message'), 'k.txt');
      await mm.sendMessage(kept, 'bob', null);
      const dir = join(env.dataDir, 'files');
      const uuid = image.imageElem!.imageList[0]!.uuid;
      assert.equal(filesUnder(dir).filter((f) => f.includes(uuid)).length, 3, 'original, thumbnail, large');
      const url = await image.imageElem!.imageList[1]!.getUrl();
      assert.equal(await purgeMessageFiles(env.server.domain, env.app.sdkAppID, 'c2c:alice|bob', 'alice', image.clientMsgID), 1);
      assert.deepEqual(filesUnder(dir).filter((f) => f.includes(uuid)), []);
      assert.equal((await fetch(url)).status, 404, 'an issued URL finds nothing');
      assert.equal(await purgeMessageFiles(env.server.domain, env.app.sdkAppID, 'c2c:alice|bob', 'alice', image.clientMsgID), 0, 'idempotent');
      assert.ok(filesUnder(dir).some((f) => f.endsWith(kept.fileElem!.UUID)), 'the other message keeps its file');
    } finally {
      await alice.im.logout();
      await bob.im.logout();
      await env.stop();
    }
  });

  test('recalling an image message deletes its files from the file store', async () => {
    const env = await startTestServer({ purge: false });
    const { alice, bob } = await pair(env);
    try {
      const mm = alice.im.getMessageManager();
      const image = mm.createImageMessage(await png(200, 120));
      await mm.sendMessage(image, 'bob', null);
      const kept = mm.createFileMessage(Buffer.from('not recalled'), 'k.txt');
      await mm.sendMessage(kept, 'bob', null);
      const dir = join(env.dataDir, 'files');
      const uuid = image.imageElem!.imageList[0]!.uuid;
      assert.equal(filesUnder(dir).filter((f) => f.includes(uuid)).length, 3, 'original, thumbnail, large');
      const url = await image.imageElem!.imageList[0]!.getUrl();
      await mm.revokeMessage(image);
      assert.deepEqual(filesUnder(dir).filter((f) => f.includes(uuid)), [], 'the recall took the bytes with it');
      assert.equal((await fetch(url)).status, 404, 'a URL issued before the recall finds nothing');
      assert.ok(filesUnder(dir).some((f) => f.endsWith(kept.fileElem!.UUID)), 'the other message keeps its file');
    } finally {
      await alice.im.logout();
      await bob.im.logout();
      await env.stop();
    }
  });

  test('a download URL past its expiry is refused (6006)', async () => {
    const env = await startTestServer({ purge: false, files: { downloadTtlMs: 1 } });
    const { alice, bob } = await pair(env);
    try {
      const msg = alice.im.getMessageManager().createFileMessage(Buffer.from('soon gone'), 'a.txt');
      await alice.im.getMessageManager().sendMessage(msg, 'bob', null);
      const url = await msg.fileElem!.getUrl();
      const expiresAt = Number(new URL(url).searchParams.get('e'));
      await waitFor(() => Date.now() > expiresAt + 5, 'the expiry to pass');
      const res = await fetch(url);
      assert.equal(res.status, 403);
      assert.equal(((await res.json()) as { code: number }).code, ErrorCode.FILE_TRANS_AUTH_FAILED);
    } finally {
      await alice.im.logout();
      await bob.im.logout();
      await env.stop();
    }
  });

  test('an upload never sent is deleted by the purge worker after its time; a sent one is kept', async () => {
    const env = await startTestServer({ purge: false, files: { unsentTtlMs: 50 } });
    const { alice, bob } = await pair(env);
    const raw = await RawClient.connect(env.server.wsUrl);
    try {
      await raw.login({ sdkAppID: env.app.sdkAppID, userID: 'alice', userSig: await env.sig('alice'), deviceID: 'raw-alice' });
      const token = await raw.ok('file.uploadToken', { kind: 'file', fileSize: 5, fileName: 'x.bin' });
      assert.equal((await fetch(env.server.httpUrl + token.uploadPath, { method: 'PUT', body: Buffer.from('12345') })).status, 200);
      const sent = alice.im.getMessageManager().createFileMessage(Buffer.from('kept bytes'), 'k.txt');
      await alice.im.getMessageManager().sendMessage(sent, 'bob', null);
      const dir = join(env.dataDir, 'files', String(env.app.sdkAppID));
      assert.ok(filesUnder(dir).some((f) => f.endsWith(token.uuid)), 'the unsent upload is on disk');
      const start = Date.now();
      await waitFor(() => Date.now() > start + 100, 'the unsent time to pass');
      await env.server.purgeNow();
      assert.ok(!filesUnder(dir).some((f) => f.endsWith(token.uuid)), 'the unsent upload is gone');
      assert.ok(filesUnder(dir).some((f) => f.endsWith(sent.fileElem!.UUID)), 'the sent file is kept');
      // Sending the collected upload now fails: it is no longer the sender's file.
      const late = await raw.fail('msg.send', { conversationID: 'c2c_bob', clientMsgID: 'late-1', elem: { type: 'file', UUID: token.uuid, fileName: 'x.bin', fileSize: 5 } });
      assert.equal(late.code, ErrorCode.INVALID_MSG_ELEM);
    } finally {
      await raw.close();
      await alice.im.logout();
      await bob.im.logout();
      await env.stop();
    }
  });
});
