import type { FileStoreConfig } from './open.js';

/** The file store from the CLI's environment (docs/operations.md, "Files"); empty for the default. */
export function fileStoreFromEnv(env: NodeJS.ProcessEnv): { fileStore?: FileStoreConfig } {
  const kind = env.CONFAB_FILE_STORE || undefined;
  if (kind === undefined) return env.CONFAB_FILE_DIR ? { fileStore: { kind: 'disk', dir: env.CONFAB_FILE_DIR } } : {};
  if (kind === 'disk') return { fileStore: { kind: 'disk', ...(env.CONFAB_FILE_DIR ? { dir: env.CONFAB_FILE_DIR } : {}) } };
  if (kind === 'postgres') return { fileStore: { kind: 'postgres' } };
  if (kind === 's3') {
    if (!env.CONFAB_S3_BUCKET) throw new Error('CONFAB_FILE_STORE=s3 needs CONFAB_S3_BUCKET');
    return {
      fileStore: {
        kind: 's3', bucket: env.CONFAB_S3_BUCKET,
        ...(env.CONFAB_S3_ENDPOINT ? { endpoint: env.CONFAB_S3_ENDPOINT } : {}),
        ...(env.CONFAB_S3_REGION ? { region: env.CONFAB_S3_REGION } : {}),
        ...(env.CONFAB_S3_ACCESS_KEY_ID ? { accessKeyId: env.CONFAB_S3_ACCESS_KEY_ID } : {}),
        ...(env.CONFAB_S3_SECRET_ACCESS_KEY ? { secretAccessKey: env.CONFAB_S3_SECRET_ACCESS_KEY } : {}),
        ...(env.CONFAB_S3_FORCE_PATH_STYLE ? { forcePathStyle: ['1', 'true', 'yes'].includes(env.CONFAB_S3_FORCE_PATH_STYLE) } : {}),
        ...(env.CONFAB_S3_PREFIX ? { prefix: env.CONFAB_S3_PREFIX } : {}),
      },
    };
  }
  throw new Error(`CONFAB_FILE_STORE must be disk, postgres or s3, not ${JSON.stringify(kind)}`);
}
