/**
 * Media messages on the SDK side: the local file behind a created message, its upload
 * (a `file.uploadToken` over the WebSocket, then the bytes over HTTP to the same server,
 * with progress), and download URLs (`file.url`).
 *
 * Uploads: in browsers through XMLHttpRequest (its upload progress events); elsewhere
 * (Node) through fetch with a streamed body, whose progress is the bytes the request
 * has taken. Files by path are read with `node:fs`, loaded only when a path is sent, so
 * this module stays browser-safe.
 */
import { ConfabError, ErrorCode, MEDIA_LIMITS, type MediaElem, type MediaKind, type WireImage } from '@confab/protocol';
import { V2TIMElemType, type V2TIMMediaSource, type V2TIMMessage } from '../types.js';
import type { Session } from './core.js';

/** What `sendMessage` uploads for a message made by a create…Message call. */
export interface MediaSources {
  main: V2TIMMediaSource;
  kind: MediaKind;
  /** A video's snapshot (an image). */
  snapshot?: V2TIMMediaSource;
}

/** The local files of created media messages; weak, so a dropped message takes its entry along. */
export const mediaSources = new WeakMap<V2TIMMessage, MediaSources>();

/** The server's HTTP origin: the WebSocket URL the session is connected to, as http(s). */
function httpBase(s: Session): string {
  const ws = new URL(s.connection.url);
  return `${ws.protocol === 'wss:' ? 'https:' : 'http:'}//${ws.host}`;
}

export async function fileUrl(s: Session, uuid: string): Promise<string> {
  const { urls } = await s.connection.request('file.url', { uuids: [uuid] });
  return httpBase(s) + urls[0]!.path;
}

const CHUNK = 64 * 1024;

interface OpenedSource {
  size: number;
  name: string;
  contentType: string;
  /** A local path, kept in the message's elem. */
  path: string;
  blob?: Blob;
  chunks(): AsyncIterable<Uint8Array>;
}

const TYPES: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', bmp: 'image/bmp',
  heic: 'image/heic', avif: 'image/avif', tif: 'image/tiff', tiff: 'image/tiff',
  mp3: 'audio/mpeg', m4a: 'audio/mp4', aac: 'audio/aac', wav: 'audio/wav', ogg: 'audio/ogg', amr: 'audio/amr', silk: 'audio/silk',
  mp4: 'video/mp4', mov: 'video/quicktime', webm: 'video/webm', '3gp': 'video/3gpp',
  pdf: 'application/pdf', txt: 'text/plain', zip: 'application/zip',
};

export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

function typeOf(name: string): string {
  return TYPES[extensionOf(name)] ?? 'application/octet-stream';
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

async function* slices(read: (from: number, to: number) => Promise<Uint8Array>, size: number): AsyncIterable<Uint8Array> {
  for (let at = 0; at < size; at += CHUNK) yield await read(at, Math.min(size, at + CHUNK));
}

async function openSource(source: V2TIMMediaSource): Promise<OpenedSource> {
  if (typeof source === 'string') {
    // Built at run time: bundlers leave a non-literal specifier alone, and the browser
    // bundle (which must name no Node built-in) never reaches this line.
    const fsName = ['node', 'fs'].join(':');
    let fs: typeof import('node:fs');
    try {
      fs = (await import(fsName)) as typeof import('node:fs');
    } catch {
      throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'a file path can be sent on Node only; pass a File or Blob in a browser');
    }
    let size: number;
    try {
      const st = await fs.promises.stat(source);
      if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      size = st.size;
    } catch (err) {
      const missing = (err as { code?: string }).code === 'ENOENT';
      throw new ConfabError(missing ? ErrorCode.FILE_NOT_FOUND : ErrorCode.FILE_OPEN_FAILED, `${missing ? 'no file at' : 'cannot read'} ${source}`);
    }
    return {
      size, name: baseName(source), contentType: typeOf(source), path: source,
      chunks: () => fs.createReadStream(source, { highWaterMark: CHUNK }) as AsyncIterable<Uint8Array>,
    };
  }
  if (source instanceof Uint8Array) {
    return {
      size: source.byteLength, name: '', contentType: 'application/octet-stream', path: '',
      ...(typeof Blob !== 'undefined' ? { blob: new Blob([source as Uint8Array<ArrayBuffer>]) } : {}),
      chunks: () => slices(async (a, b) => source.subarray(a, b), source.byteLength),
    };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = (source as { name?: string }).name ?? '';
    return {
      size: source.size, name, contentType: source.type || typeOf(name), path: '', blob: source,
      chunks: () => slices(async (a, b) => new Uint8Array(await source.slice(a, b).arrayBuffer()), source.size),
    };
  }
  throw new ConfabError(ErrorCode.INVALID_PARAMETERS, 'a media source must be a file path, a Blob/File or a Uint8Array');
}

/** The part of the browser's XMLHttpRequest an upload uses (the SDK compiles without DOM types). */
interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  upload: { onprogress: ((e: { loaded: number }) => void) | null };
  onerror: (() => void) | null;
  onload: (() => void) | null;
  status: number;
  responseText: string;
  send(body: Blob): void;
}

interface UploadAnswer {
  uuid: string;
  size: number;
  imageList?: WireImage[];
}

async function failure(status: number, text: string): Promise<ConfabError> {
  try {
    const body = JSON.parse(text) as { code?: number; desc?: string };
    if (typeof body.code === 'number') return new ConfabError(body.code, body.desc ?? `upload failed (${status})`);
  } catch { /* not JSON */ }
  return new ConfabError(ErrorCode.FILE_TRANS_UPLOAD_FAILED, `upload failed with HTTP ${status}`);
}

/** Uploads one file; `onBytes` hears how many bytes went out so far. */
async function upload(s: Session, kind: MediaKind, file: OpenedSource, fileName: string, onBytes: (sent: number) => void): Promise<UploadAnswer> {
  if (file.size === 0) throw new ConfabError(ErrorCode.FILE_SIZE_EMPTY, 'the file is empty');
  if (file.size > MEDIA_LIMITS[kind]) throw new ConfabError(ErrorCode.FILE_TOO_LARGE, `a ${kind} may be at most ${MEDIA_LIMITS[kind]} bytes; this one is ${file.size}`);
  const token = await s.connection.request('file.uploadToken', { kind, fileSize: file.size, fileName, contentType: file.contentType });
  const url = httpBase(s) + token.uploadPath;
  const XHR = (globalThis as { XMLHttpRequest?: new () => XhrLike }).XMLHttpRequest;
  if (XHR) {
    return new Promise<UploadAnswer>((resolve, reject) => {
      const xhr = new XHR();
      xhr.open('PUT', url);
      xhr.setRequestHeader('content-type', file.contentType);
      xhr.upload.onprogress = (e: { loaded: number }) => onBytes(e.loaded);
      xhr.onerror = () => reject(new ConfabError(ErrorCode.FILE_TRANS_UPLOAD_FAILED, 'the upload failed (network)'));
      xhr.onload = () => {
        if (xhr.status === 200) resolve(JSON.parse(xhr.responseText) as UploadAnswer);
        else void failure(xhr.status, xhr.responseText).then(reject);
      };
      xhr.send(file.blob ?? new Blob([new Uint8Array(0)]));
    });
  }
  const source = file.chunks()[Symbol.asyncIterator]();
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await source.next();
      if (next.done) {
        controller.close();
        return;
      }
      sent += next.value.byteLength;
      controller.enqueue(next.value);
      onBytes(sent);
    },
  });
  let res: Response;
  try {
    res = await fetch(url, { method: 'PUT', body, headers: { 'content-type': file.contentType }, duplex: 'half' } as RequestInit);
  } catch (err) {
    throw new ConfabError(ErrorCode.FILE_TRANS_UPLOAD_FAILED, `the upload failed: ${(err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) throw await failure(res.status, text);
  return JSON.parse(text) as UploadAnswer;
}

/** Whether the message's files are on the server already (a resend does not upload again). */
function uploaded(m: V2TIMMessage): boolean {
  return !!(m.imageElem?.imageList.length || m.soundElem?.UUID || m.fileElem?.UUID || m.videoElem?.videoUUID);
}

/**
 * Uploads a created media message's files and writes their uuids and sizes into its
 * elem; `onProgress` gets 0-100 as the bytes go out (a video counts its snapshot too).
 */
export async function uploadMessageMedia(s: Session, m: V2TIMMessage, onProgress: ((progress: number) => void) | undefined): Promise<void> {
  const sources = mediaSources.get(m);
  if (!sources || uploaded(m)) return;
  const main = await openSource(sources.main);
  const snapshot = sources.snapshot !== undefined ? await openSource(sources.snapshot) : undefined;
  const total = main.size + (snapshot?.size ?? 0);
  let last = -1;
  const report = (bytes: number) => {
    // Whole percents, rising; 100 only once the server has answered.
    const p = Math.min(99, Math.floor((bytes * 100) / Math.max(1, total)));
    if (p > last) {
      last = p;
      try { onProgress?.(p); } catch (err) { console.error('[confab] onProgress threw:', err); }
    }
  };
  report(0);
  const fileName = m.fileElem?.fileName || main.name;
  const first = await upload(s, sources.kind, main, fileName, report);
  let second: UploadAnswer | undefined;
  if (snapshot) second = await upload(s, 'image', snapshot, snapshot.name, (b) => report(main.size + b));
  if (m.elemType === V2TIMElemType.IMAGE) {
    m.imageElem = { path: main.path, imageList: (first.imageList ?? []).map((i) => ({ ...i, url: '' }) as never) };
  } else if (m.elemType === V2TIMElemType.SOUND) {
    Object.assign(m.soundElem!, { path: main.path, UUID: first.uuid, dataSize: first.size });
  } else if (m.elemType === V2TIMElemType.FILE) {
    Object.assign(m.fileElem!, { path: main.path, UUID: first.uuid, fileSize: first.size, fileName });
  } else if (m.elemType === V2TIMElemType.VIDEO) {
    const snap = second?.imageList?.[0];
    Object.assign(m.videoElem!, {
      videoPath: main.path, videoUUID: first.uuid, videoSize: first.size, videoType: m.videoElem!.videoType || extensionOf(main.name),
      snapshotPath: snapshot?.path ?? '', snapshotUUID: second?.uuid ?? '', snapshotSize: snap?.size ?? 0,
      snapshotWidth: snap?.width ?? 0, snapshotHeight: snap?.height ?? 0,
    });
  }
  last = 99;
  try { onProgress?.(100); } catch (err) { console.error('[confab] onProgress threw:', err); }
}

/** The wire element of an uploaded media message, or undefined for other kinds. */
export function mediaElemOf(m: V2TIMMessage): MediaElem | undefined {
  const missing = () => new ConfabError(ErrorCode.INVALID_MSG_ELEM, 'the media message has no uploaded file; create it with create…Message and send it with sendMessage');
  switch (m.elemType) {
    case V2TIMElemType.IMAGE:
      if (!m.imageElem?.imageList.length) throw missing();
      return { type: 'image', imageList: m.imageElem.imageList.map((i) => ({ uuid: i.uuid, type: i.type, size: i.size, width: i.width, height: i.height })) };
    case V2TIMElemType.SOUND:
      if (!m.soundElem?.UUID) throw missing();
      return { type: 'sound', UUID: m.soundElem.UUID, dataSize: m.soundElem.dataSize, duration: Math.max(0, Math.round(m.soundElem.duration || 0)) };
    case V2TIMElemType.FILE:
      if (!m.fileElem?.UUID) throw missing();
      return { type: 'file', UUID: m.fileElem.UUID, fileName: m.fileElem.fileName, fileSize: m.fileElem.fileSize };
    case V2TIMElemType.VIDEO: {
      const v = m.videoElem;
      if (!v?.videoUUID || !v.snapshotUUID) throw missing();
      return {
        type: 'video', videoUUID: v.videoUUID, videoSize: v.videoSize, videoType: v.videoType.slice(0, 16),
        duration: Math.max(0, Math.round(v.duration || 0)), snapshotUUID: v.snapshotUUID, snapshotSize: v.snapshotSize,
        snapshotWidth: v.snapshotWidth, snapshotHeight: v.snapshotHeight,
      };
    }
    default:
      return undefined;
  }
}

/** The local paths of a sent message's elem, which the server's copy does not carry. */
export function localPaths(m: V2TIMMessage): () => void {
  const image = m.imageElem?.path;
  const sound = m.soundElem?.path;
  const file = m.fileElem?.path;
  const video = m.videoElem && { videoPath: m.videoElem.videoPath, snapshotPath: m.videoElem.snapshotPath };
  return () => {
    if (image !== undefined && m.imageElem) m.imageElem.path = image;
    if (sound !== undefined && m.soundElem) m.soundElem.path = sound;
    if (file !== undefined && m.fileElem) m.fileElem.path = file;
    if (video && m.videoElem) Object.assign(m.videoElem, video);
  };
}
