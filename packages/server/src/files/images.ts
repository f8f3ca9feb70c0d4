import sharp from 'sharp';
import { ImageType, type WireImage } from '@confab/protocol';

/** The reference's sizes: a thumbnail's shorter side is 198 px, a large image's 720 px (never enlarged). */
export const THUMB_SIDE = 198;
export const LARGE_SIDE = 720;

export interface ImageSizes {
  width: number;
  height: number;
  thumb: { data: Buffer; width: number; height: number };
  large: { data: Buffer; width: number; height: number };
}

/**
 * Reads an uploaded image and makes its thumbnail and large sizes, in the original's
 * format. sharp decodes on libuv's thread pool, so a 28 MB photo does not hold the event
 * loop. Undefined when the bytes are not an image sharp can read.
 */
export async function imageSizes(original: Buffer): Promise<ImageSizes | undefined> {
  let width: number;
  let height: number;
  try {
    const meta = await sharp(original).metadata();
    if (!meta.width || !meta.height) return undefined;
    // EXIF orientation 5-8 is a quarter turn: the shown width is the stored height.
    [width, height] = (meta.orientation ?? 1) >= 5 ? [meta.height, meta.width] : [meta.width, meta.height];
  } catch {
    return undefined;
  }
  const resized = async (side: number) => {
    const { data, info } = await sharp(original).rotate()
      .resize({ width: side, height: side, fit: 'outside', withoutEnlargement: true })
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  };
  return { width, height, thumb: await resized(THUMB_SIDE), large: await resized(LARGE_SIDE) };
}

/** The `imageList` of an image message: original, thumbnail and large, by the file's uuid. */
export function imageList(uuid: string, size: number, sizes: ImageSizes): WireImage[] {
  return [
    { uuid, type: ImageType.ORIGIN, size, width: sizes.width, height: sizes.height },
    { uuid: `${uuid}-${ImageType.THUMB}`, type: ImageType.THUMB, size: sizes.thumb.data.length, width: sizes.thumb.width, height: sizes.thumb.height },
    { uuid: `${uuid}-${ImageType.LARGE}`, type: ImageType.LARGE, size: sizes.large.data.length, width: sizes.large.width, height: sizes.large.height },
  ];
}
