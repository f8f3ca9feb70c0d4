import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import {
  ConfabError, ErrorCode, MEDIA_LIMITS, type MediaElem, type MediaKind, type WireImage,
} from '@confab/protocol';
import type { Caller } from '../services/context.js';
import type { AppRecord, FileRecord, Storage } from '../storage/types.js';
import { imageList, imageSizes } from './images.js';
import { signatureMatches, signParts } from './signing.js';
import type { FileStore } from './types.js';

export interface FileServiceOptions {
  /** How long an upload path from `file.uploadToken` is valid (default 10 min). */
  uploadTtlMs?: number;
  /** How long a download path from `file.url` is valid (default 1 h). */
  downloadTtlMs?: number;
  /** Uploaded files not sent in a message within this time are deleted (default 24 h). */
  unsentTtlMs?: number;
}

const KINDS: readonly MediaKind[] = ['image', 'sound', 'video', 'file'];
/** A file uuid, or an image's derived size (`<uuid>-1` thumbnail, `<uuid>-2` large). */
const FILE_ID = /^([0-9a-f-]{36})(?:-([12]))?$/;
/** Files whose bytes are deleted per batch, between which the event loop runs. */
const COLLECT_BATCH = 100;

function fail(res: ServerResponse, status: number, err: ConfabError): void {
  const text = JSON.stringify(err.toJSON());
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** The uuids a media element names, with the kind each file must have been uploaded as. */
export function mediaFiles(elem: MediaElem): { uuid: string; kind: MediaKind }[] {
  switch (elem.type) {
    case 'image': {
      const origin = elem.imageList.find((i) => i.type === 0) ?? elem.imageList[0];
      return origin ? [{ uuid: origin.uuid, kind: 'image' }] : [];
    }
    case 'sound': return [{ uuid: elem.UUID, kind: 'sound' }];
    case 'file': return [{ uuid: elem.UUID, kind: 'file' }];
    case 'video': return [{ uuid: elem.videoUUID, kind: 'video' }, ...(elem.snapshotUUID ? [{ uuid: elem.snapshotUUID, kind: 'image' as const }] : [])];
  }
}

export function isMediaElem(elem: { type: string }): elem is MediaElem {
  return elem.type === 'image' || elem.type === 'sound' || elem.type === 'video' || elem.type === 'file';
}

/**
 * Files of image, sound, video and file messages: upload tokens, the upload and
 * download endpoints (`/files/…` on the server's port), download URLs for those who can
 * see the message, and the collection of files whose messages were purged or that were
 * never sent.
 */
export class FileService {
  readonly store: FileStore;
  readonly #storage: Storage;
  readonly #apps: { get(sdkAppID: number): Promise<AppRecord | undefined> };
  readonly #logger: Logger;
  readonly #uploadTtlMs: number;
  readonly #downloadTtlMs: number;
  readonly #unsentTtlMs: number;

  constructor(store: FileStore, storage: Storage, apps: { get(sdkAppID: number): Promise<AppRecord | undefined> }, logger: Logger, options: FileServiceOptions = {}) {
    this.store = store;
    this.#storage = storage;
    this.#apps = apps;
    this.#logger = logger;
    this.#uploadTtlMs = options.uploadTtlMs ?? 10 * 60_000;
    this.#downloadTtlMs = options.downloadTtlMs ?? 3600_000;
    this.#unsentTtlMs = options.unsentTtlMs ?? 24 * 3600_000;
  }

  uploadToken(caller: Caller, req: { kind: MediaKind; fileSize: number; fileName?: string; contentType?: string }): { uuid: string; uploadPath: string; expiresAt: number } {
    if (!KINDS.includes(req.kind)) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, `kind must be one of ${KINDS.join(', ')}`);
    if (req.fileSize <= 0) throw new ConfabError(ErrorCode.FILE_SIZE_EMPTY, 'the file is empty');
    if (req.fileSize > MEDIA_LIMITS[req.kind]) {
      throw new ConfabError(ErrorCode.FILE_TOO_LARGE, `a ${req.kind} may be at most ${MEDIA_LIMITS[req.kind]} bytes; this one is ${req.fileSize}`);
    }
    const uuid = randomUUID();
    const expiresAt = Date.now() + this.#uploadTtlMs;
    const fileName = req.fileName ?? '';
    const contentType = req.contentType ?? '';
    const app = caller.app.sdkAppID;
    const sig = signParts(caller.app.secretKey, ['up', app, uuid, caller.userID, req.kind, req.fileSize, fileName, contentType, expiresAt]);
    const q = new URLSearchParams({ a: String(app), u: caller.userID, k: req.kind, s: String(req.fileSize), n: fileName, t: contentType, e: String(expiresAt), sig });
    return { uuid, uploadPath: `/files/upload/${uuid}?${q}`, expiresAt };
  }

  /** `PUT /files/upload/<uuid>?…`: the bytes of one file, as announced in its token. */
  async handleUpload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const uuid = url.pathname.slice('/files/upload/'.length);
    const p = url.searchParams;
    const appID = Number(p.get('a'));
    const userID = p.get('u') ?? '';
    const kind = p.get('k') as MediaKind;
    const size = Number(p.get('s'));
    const fileName = p.get('n') ?? '';
    const contentType = p.get('t') || req.headers['content-type'] || 'application/octet-stream';
    const expiresAt = Number(p.get('e'));
    const app = Number.isSafeInteger(appID) ? await this.#apps.get(appID) : undefined;
    if (!app || !FILE_ID.test(uuid) || !signatureMatches(app.secretKey,
      ['up', appID, uuid, userID, kind, p.get('s') ?? '', fileName, p.get('t') ?? '', p.get('e') ?? ''], p.get('sig') ?? '')) {
      req.resume();
      return fail(res, 403, new ConfabError(ErrorCode.FILE_TRANS_AUTH_FAILED, 'bad upload signature'));
    }
    if (!(expiresAt > Date.now())) {
      req.resume();
      return fail(res, 403, new ConfabError(ErrorCode.FILE_TRANS_AUTH_FAILED, 'the upload token expired; ask for a new one'));
    }
    if ((await this.#storage.files.get(appID, [uuid])).length > 0) {
      req.resume();
      return fail(res, 409, new ConfabError(ErrorCode.FILE_TRANS_AUTH_FAILED, 'this upload token was used already'));
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > size) {
      req.resume();
      return fail(res, 413, new ConfabError(ErrorCode.FILE_TOO_LARGE, `the body is ${declared} bytes; the token allows ${size}`));
    }
    const key = `${appID}/${uuid}`;
    let received = 0;
    let tooLarge = false;
    // Counts as the bytes stream into the store and stops the upload at the announced size.
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > size) {
          tooLarge = true;
          done(new Error('body larger than announced'));
        } else done(null, chunk);
      },
    });
    const keys = [key];
    let meta = '{}';
    try {
      if (kind === 'image') {
        const parts: Buffer[] = [];
        for await (const chunk of req.pipe(counter)) parts.push(chunk as Buffer);
        const original = Buffer.concat(parts);
        if (original.length !== size) return fail(res, 400, new ConfabError(ErrorCode.INVALID_PARAMETERS, `the body is ${original.length} bytes; the token announced ${size}`));
        const sizes = await imageSizes(original);
        if (!sizes) return fail(res, 400, new ConfabError(ErrorCode.IMAGE_UPLOAD_FAILED_NOTIMAGE, 'the upload is not an image the server can read'));
        await this.store.put(key, original, contentType);
        keys.push(`${key}-1`, `${key}-2`);
        await this.store.put(`${key}-1`, sizes.thumb.data, contentType);
        await this.store.put(`${key}-2`, sizes.large.data, contentType);
        meta = JSON.stringify({ imageList: imageList(uuid, size, sizes) });
      } else {
        await this.store.put(key, req.pipe(counter) as Readable, contentType);
        if (received !== size) {
          await this.store.delete(key);
          return fail(res, 400, new ConfabError(ErrorCode.INVALID_PARAMETERS, `the body is ${received} bytes; the token announced ${size}`));
        }
      }
      const now = Date.now();
      await this.#storage.files.create({
        app: appID, uuid, owner: userID, kind, size, fileName, contentType, keys, meta, createdAt: now, touchedAt: now,
        convKey: null, clientMsgID: null, seq: null, doomedAt: null,
      });
    } catch (err) {
      await Promise.all(keys.map((k) => this.store.delete(k).catch(() => undefined)));
      if (tooLarge) return fail(res, 413, new ConfabError(ErrorCode.FILE_TOO_LARGE, `the body is larger than the ${size} bytes the token allows`));
      this.#logger.error({ err, key }, 'upload failed');
      return fail(res, 500, new ConfabError(ErrorCode.FILE_TRANS_UPLOAD_FAILED, 'the upload could not be stored'));
    }
    const body = JSON.stringify({ uuid, size, ...(kind === 'image' ? JSON.parse(meta) as { imageList: WireImage[] } : {}) });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
  }

  /**
   * Download paths for files the caller may see: their own uploads, and files of
   * messages within the caller's visible range of the conversation (the same rule as
   * history: from the caller's watermark to their last seq).
   */
  async urls(caller: Caller, ids: string[]): Promise<{ uuid: string; path: string; expiresAt: number }[]> {
    if (ids.length > 100) throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'at most 100 uuids per call');
    const app = caller.app.sdkAppID;
    const bases = ids.map((id) => {
      const m = FILE_ID.exec(id);
      if (!m) throw new ConfabError(ErrorCode.FILE_TRANS_AUTH_FAILED, `no file ${id} you can see`);
      return m[1]!;
    });
    const records = new Map((await this.#storage.files.get(app, [...new Set(bases)])).map((r) => [r.uuid, r]));
    const expiresAt = Date.now() + this.#downloadTtlMs;
    const out = [];
    for (let i = 0; i < ids.length; i++) {
      const record = records.get(bases[i]!);
      if (!record || record.doomedAt !== null || !(await this.#visible(caller, record))
        || !record.keys.includes(`${app}/${ids[i]}`)) {
        throw new ConfabError(ErrorCode.FILE_TRANS_AUTH_FAILED, `no file ${ids[i]} you can see`);
      }
      const sig = signParts(caller.app.secretKey, ['down', app, ids[i]!, caller.userID, expiresAt]);
      const q = new URLSearchParams({ u: caller.userID, e: String(expiresAt), sig });
      out.push({ uuid: ids[i]!, path: `/files/${app}/${ids[i]}?${q}`, expiresAt });
    }
    return out;
  }

  async #visible(caller: Caller, record: FileRecord): Promise<boolean> {
    if (record.owner === caller.userID) return true;
    if (record.convKey === null || record.seq === null) return false;
    const row = await this.#storage.conversations.get(caller.app.sdkAppID, caller.userID, record.convKey);
    return !!row && record.seq >= Math.max(1, row.visibleFromSeq) && record.seq <= row.lastSeq;
  }

  /** `GET /files/<app>/<uuid>[-1|-2]?u=&e=&sig=`: the bytes, to the holder of a valid download path. */
  async handleDownload(_req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const [appText, id] = url.pathname.slice('/files/'.length).split('/');
    const appID = Number(appText);
    const p = url.searchParams;
    const app = Number.isSafeInteger(appID) ? await this.#apps.get(appID) : undefined;
    if (!app || !id || !FILE_ID.test(id)
      || !signatureMatches(app.secretKey, ['down', appID, id, p.get('u') ?? '', p.get('e') ?? ''], p.get('sig') ?? '')) {
      return fail(res, 403, new ConfabError(ErrorCode.FILE_TRANS_AUTH_FAILED, 'bad download signature'));
    }
    if (!(Number(p.get('e')) > Date.now())) {
      return fail(res, 403, new ConfabError(ErrorCode.FILE_TRANS_AUTH_FAILED, 'the download URL expired; ask for a new one'));
    }
    const record = (await this.#storage.files.get(appID, [FILE_ID.exec(id)![1]!]))[0];
    const found = record && record.doomedAt === null ? await this.store.get(`${appID}/${id}`) : undefined;
    if (!record || !found) return fail(res, 404, new ConfabError(ErrorCode.FILE_TRANS_DOWNLOAD_FAILED, 'the file does not exist (any more)'));
    const headers: Record<string, string | number> = {
      'content-type': record.contentType || 'application/octet-stream', 'content-length': found.size,
      'cache-control': 'private, max-age=3600',
    };
    if (record.kind === 'file' && record.fileName) headers['content-disposition'] = `attachment; filename*=UTF-8''${encodeURIComponent(record.fileName)}`;
    res.writeHead(200, headers);
    found.stream.on('error', (err) => res.destroy(err));
    found.stream.pipe(res);
  }

  /**
   * Before a media message is appended: checks that every file it names is the
   * sender's own upload of the right kind, ties them to the message (6016 otherwise),
   * and returns the element with the sizes the server measured.
   */
  async prepareSend(caller: Caller, convKey: string, clientMsgID: string, elem: MediaElem): Promise<MediaElem> {
    const app = caller.app.sdkAppID;
    const wanted = mediaFiles(elem);
    if (wanted.length === 0) throw new ConfabError(ErrorCode.INVALID_MSG_ELEM, 'the media element names no file');
    const records = new Map((await this.#storage.files.get(app, wanted.map((w) => w.uuid))).map((r) => [r.uuid, r]));
    for (const w of wanted) {
      const r = records.get(w.uuid);
      if (!r || r.owner !== caller.userID || r.kind !== w.kind || r.doomedAt !== null) {
        throw new ConfabError(ErrorCode.INVALID_MSG_ELEM, `file ${w.uuid} is not a ${w.kind} you uploaded`);
      }
    }
    if (!(await this.#storage.files.claim(app, wanted.map((w) => w.uuid), caller.userID, convKey, clientMsgID, Date.now()))) {
      throw new ConfabError(ErrorCode.INVALID_MSG_ELEM, 'a file of this message was sent in another message or deleted');
    }
    const rec = (uuid: string) => records.get(uuid)!;
    switch (elem.type) {
      case 'image': {
        const origin = rec(wanted[0]!.uuid);
        return { type: 'image', imageList: (JSON.parse(origin.meta) as { imageList: WireImage[] }).imageList };
      }
      case 'sound': return { type: 'sound', UUID: elem.UUID, dataSize: rec(elem.UUID).size, duration: elem.duration };
      case 'file': return { type: 'file', UUID: elem.UUID, fileName: elem.fileName || rec(elem.UUID).fileName, fileSize: rec(elem.UUID).size };
      case 'video': {
        const snap = elem.snapshotUUID ? (JSON.parse(rec(elem.snapshotUUID).meta) as { imageList: WireImage[] }).imageList[0] : undefined;
        return {
          type: 'video', videoUUID: elem.videoUUID, videoSize: rec(elem.videoUUID).size, videoType: elem.videoType, duration: elem.duration,
          snapshotUUID: elem.snapshotUUID, snapshotSize: snap?.size ?? 0, snapshotWidth: snap?.width ?? 0, snapshotHeight: snap?.height ?? 0,
        };
      }
    }
  }

  /** After the append: the files learn their message's seq (read from the message if this is lost). */
  async sent(app: number, convKey: string, sender: string, clientMsgID: string, seq: number): Promise<void> {
    await this.#storage.files.setSeq(app, convKey, sender, clientMsgID, seq)
      .catch((err: unknown) => this.#logger.warn({ err, convKey, seq }, 'could not record a message seq on its files; it is read from the message'));
  }

  /**
   * Deletes one message's files (for a revoke or any removal of a single message): they
   * are marked doomed, their bytes deleted, their records forgotten. Returns how many.
   */
  async purgeMessageFiles(app: number, convKey: string, sender: string, clientMsgID: string): Promise<number> {
    const doomed = await this.#storage.files.doomMessage(app, convKey, sender, clientMsgID, Date.now());
    if (doomed > 0) await this.collect();
    return doomed;
  }

  /**
   * Deletes the bytes of doomed files, then their records, in batches; first dooms
   * files left unsent past their time. Run by the purge worker (on the lease holder).
   */
  async collect(now = Date.now()): Promise<number> {
    let total = 0;
    while ((await this.#storage.files.doomUnsent(now - this.#unsentTtlMs, now, COLLECT_BATCH)) > 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (;;) {
      const batch = await this.#storage.files.doomed(COLLECT_BATCH);
      if (batch.length === 0) break;
      for (const r of batch) for (const key of r.keys) await this.store.delete(key);
      const byApp = new Map<number, string[]>();
      for (const r of batch) byApp.set(r.app, [...(byApp.get(r.app) ?? []), r.uuid]);
      for (const [app, uuids] of byApp) await this.#storage.files.forget(app, uuids);
      total += batch.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (total > 0) this.#logger.info({ files: total }, 'deleted files of purged or unsent messages');
    return total;
  }
}
