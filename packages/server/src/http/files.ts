import type { ServerResponse } from 'node:http';
import type { Router } from './router.js';
import type { HttpContext } from './areas.js';

/**
 * Uploads and downloads of media messages' files, on the server's own port:
 * `PUT /files/upload/<uuid>?…` with a path from `file.uploadToken`, and
 * `GET /files/<sdkAppID>/<uuid>?…` with one from `file.url`. Both are signed and
 * expire; see files/file-service.ts. Open to every origin (CORS), so a browser app on
 * another host can upload with progress and fetch what it may see.
 */
export function registerFiles(router: Router, ctx: HttpContext): void {
  const files = ctx.domain.files;
  if (!files) return;
  // Any origin: a web app is usually served from elsewhere than the chat server, and
  // these URLs carry their own authorisation (a signature), never a cookie.
  const cors = (res: ServerResponse) => res.setHeader('access-control-allow-origin', '*');
  router.prefix('OPTIONS', '/files/', (_req, res) => {
    cors(res);
    res.writeHead(204, {
      'access-control-allow-methods': 'GET, PUT', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600',
    }).end();
  });
  router.prefix('PUT', '/files/upload/', (req, res, url) => { cors(res); return files.handleUpload(req, res, url); });
  router.prefix('GET', '/files/', (req, res, url) => { cors(res); return files.handleDownload(req, res, url); });
}
