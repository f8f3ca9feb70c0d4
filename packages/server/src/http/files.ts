import type { Router } from './router.js';
import type { HttpContext } from './areas.js';

/**
 * Uploads and downloads of media messages' files, on the server's own port:
 * `PUT /files/upload/<uuid>?…` with a path from `file.uploadToken`, and
 * `GET /files/<sdkAppID>/<uuid>?…` with one from `file.url`. Both are signed and
 * expire; see files/file-service.ts.
 */
export function registerFiles(router: Router, ctx: HttpContext): void {
  const files = ctx.domain.files;
  if (!files) return;
  router.prefix('PUT', '/files/upload/', (req, res, url) => files.handleUpload(req, res, url));
  router.prefix('GET', '/files/', (req, res, url) => files.handleDownload(req, res, url));
}
