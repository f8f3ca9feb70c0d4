import type { NodeConfig } from '../config.js';
import type { FileStoreConfig } from './open.js';

/** The file store from the node's configuration (docs/operations.md, "Files"); empty for the default. */
export function fileStoreFromConfig(config: Pick<NodeConfig, 'fileStore' | 'fileDir' | 's3'>): { fileStore?: FileStoreConfig } {
  const kind = config.fileStore;
  if (kind === undefined) return config.fileDir ? { fileStore: { kind: 'disk', dir: config.fileDir } } : {};
  if (kind === 'disk') return { fileStore: { kind: 'disk', ...(config.fileDir ? { dir: config.fileDir } : {}) } };
  if (kind === 'postgres') return { fileStore: { kind: 'postgres' } };
  const s3 = config.s3 ?? {};
  return {
    fileStore: {
      kind: 's3', bucket: s3.bucket ?? '',
      ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
      ...(s3.region ? { region: s3.region } : {}),
      ...(s3.accessKeyId ? { accessKeyId: s3.accessKeyId } : {}),
      ...(s3.secretAccessKey ? { secretAccessKey: s3.secretAccessKey } : {}),
      ...(s3.forcePathStyle !== undefined ? { forcePathStyle: s3.forcePathStyle } : {}),
      ...(s3.prefix ? { prefix: s3.prefix } : {}),
    },
  };
}
