/**
 * Media elements (image, sound, video, file) from the wire into the reference's V2TIM
 * objects, with their URL methods. The methods are non-enumerable so the objects still
 * compare, copy and serialise as plain data.
 */
import type { MediaElem } from '@confab/protocol';
import { withCallback, type V2TIMValueCallback } from './callback.js';
import {
  V2TIMElemType,
  type V2TIMFileElem, type V2TIMImage, type V2TIMImageElem, type V2TIMMessage, type V2TIMSoundElem, type V2TIMVideoElem,
} from './types.js';

/** Turns a file uuid into a signed download URL for the logged-in user (`file.url`). */
export type FileUrlResolver = (uuid: string) => Promise<string>;

const noResolver: FileUrlResolver = () => Promise.reject(new Error('not logged in'));

function method<T extends object>(target: T, name: string, get: () => Promise<string>, remember?: (url: string) => void): void {
  Object.defineProperty(target, name, {
    enumerable: false, configurable: true, writable: true,
    value: (cb?: V2TIMValueCallback<string>) => withCallback(cb, async () => {
      const url = await get();
      remember?.(url);
      return url;
    }),
  });
}

export function setMediaElem(out: V2TIMMessage, elem: MediaElem, resolve: FileUrlResolver = noResolver): void {
  switch (elem.type) {
    case 'image': {
      out.elemType = V2TIMElemType.IMAGE;
      const imageElem: V2TIMImageElem = {
        path: '',
        imageList: elem.imageList.map((i) => {
          const image = { uuid: i.uuid, type: i.type, size: i.size, width: i.width, height: i.height, url: '' } as V2TIMImage;
          method(image, 'getUrl', () => resolve(i.uuid), (url) => { image.url = url; });
          return image;
        }),
      };
      out.imageElem = imageElem;
      return;
    }
    case 'sound': {
      out.elemType = V2TIMElemType.SOUND;
      const soundElem = { path: '', UUID: elem.UUID, dataSize: elem.dataSize, duration: elem.duration } as V2TIMSoundElem;
      method(soundElem, 'getUrl', () => resolve(elem.UUID));
      out.soundElem = soundElem;
      return;
    }
    case 'video': {
      out.elemType = V2TIMElemType.VIDEO;
      const videoElem = {
        videoPath: '', videoUUID: elem.videoUUID, videoSize: elem.videoSize, videoType: elem.videoType, duration: elem.duration,
        snapshotPath: '', snapshotUUID: elem.snapshotUUID, snapshotSize: elem.snapshotSize,
        snapshotWidth: elem.snapshotWidth, snapshotHeight: elem.snapshotHeight,
      } as V2TIMVideoElem;
      method(videoElem, 'getVideoUrl', () => resolve(elem.videoUUID));
      method(videoElem, 'getSnapshotUrl', () => resolve(elem.snapshotUUID));
      out.videoElem = videoElem;
      return;
    }
    case 'file': {
      out.elemType = V2TIMElemType.FILE;
      const fileElem = { path: '', fileName: elem.fileName, UUID: elem.UUID, fileSize: elem.fileSize } as V2TIMFileElem;
      method(fileElem, 'getUrl', () => resolve(elem.UUID));
      out.fileElem = fileElem;
      return;
    }
  }
}
