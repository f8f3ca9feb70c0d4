import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfabError, ErrorCode, isConfabError, isValidUserID } from '@confab/protocol';
import { z } from 'zod';
import type { AppRecord } from '../../storage/types.js';
import { toDeletionStatus } from '../../services/conversations.js';
import type { HttpContext } from '../areas.js';
import { readBody, sendJson, type Router } from '../router.js';
import { userView } from './user-view.js';
import { canManage, issueToken, safeEqual, verifyToken, type AdminScope } from './auth.js';

/**
 * The admin API under `/admin/api/`, JSON in and out; errors are `{ code, desc }` with
 * an HTTP status. The console is an ordinary client of it.
 */
const loginBody = z.union([
  z.object({ operatorToken: z.string().min(1) }).strict(),
  z.object({ sdkAppID: z.number().int().positive(), secretKey: z.string().min(1) }).strict(),
]);
const settingsPatch = z.object({
  syncConversationDeletion: z.boolean().optional(),
  deletionUndoSeconds: z.number().int().min(0).max(600).optional(),
  revokeWindowSeconds: z.number().int().min(0).max(7 * 24 * 3600).optional(),
  maxMessageBytes: z.number().int().min(256).max(1024 * 1024).optional(),
  // Lists bounded by these caps are read in batches (services/bounded.ts), so a larger
  // cap costs more batches, not one longer read.
  maxFriends: z.number().int().min(1).max(100_000).optional(),
  maxJoinedGroups: z.number().int().min(1).max(100_000).optional(),
  maxGroupMembers: z.number().int().min(1).max(100_000).optional(),
}).strict();
const createApp = z.object({ name: z.string().min(1).max(64) }).strict();

class HttpError extends ConfabError {
  constructor(readonly status: number, code: number, desc: string) {
    super(code, desc);
  }
}

export function publicApp(app: AppRecord, withSecret: boolean) {
  return { sdkAppID: app.sdkAppID, name: app.name, adminUserID: app.adminUserID, createdAt: app.createdAt, settings: app.settings,
    ...(withSecret ? { secretKey: app.secretKey } : {}) };
}

export function registerAdminApi(router: Router, ctx: HttpContext): void {
  for (const method of ['GET', 'POST', 'PATCH']) router.prefix(method, '/admin/api/', (req, res, url) => handle(req, res, url, ctx));
}

async function handle(req: IncomingMessage, res: ServerResponse, url: URL, ctx: HttpContext): Promise<void> {
  try {
    const body = await route(req, url, ctx);
    sendJson(res, 200, body);
  } catch (err) {
    if (err instanceof HttpError) sendJson(res, err.status, { code: err.code, desc: err.desc });
    else if (isConfabError(err)) sendJson(res, err.code === ErrorCode.REST_ADMIN_REQUIRED ? 401 : 400, { code: err.code, desc: err.desc });
    else if ((err as { tooLarge?: boolean }).tooLarge) sendJson(res, 413, { code: ErrorCode.PACKET_TOO_LARGE, desc: 'request body too large' });
    else {
      ctx.logger.error({ err }, 'admin request failed');
      sendJson(res, 500, { code: ErrorCode.SERVER_INTERNAL, desc: 'internal server error' });
    }
  }
}

async function jsonBody<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  let value: unknown;
  try {
    value = JSON.parse(await readBody(req, 64 * 1024));
  } catch (err) {
    if ((err as { tooLarge?: boolean }).tooLarge) throw err;
    throw new HttpError(400, ErrorCode.REST_INVALID_JSON, 'the body is not valid JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, ErrorCode.INVALID_PARAMETERS, issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid body');
  }
  return parsed.data;
}

async function route(req: IncomingMessage, url: URL, ctx: HttpContext): Promise<unknown> {
  const { domain } = ctx;
  let parts: string[];
  try {
    parts = url.pathname.slice('/admin/api/'.length).split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new HttpError(400, ErrorCode.REST_BAD_URL, 'the path has a malformed %-escape');
  }
  const method = req.method ?? 'GET';

  if (method === 'POST' && parts.length === 1 && parts[0] === 'login') {
    const creds = await jsonBody(req, loginBody);
    if ('operatorToken' in creds) {
      if (!ctx.adminToken || !safeEqual(creds.operatorToken, ctx.adminToken)) throw new HttpError(401, ErrorCode.REST_ADMIN_REQUIRED, 'wrong operator token');
      return { scope: 'operator', ...issueToken({ kind: 'operator' }, ctx.adminToken) };
    }
    const app = await domain.apps.get(creds.sdkAppID);
    if (!app || !safeEqual(creds.secretKey, app.secretKey)) throw new HttpError(401, ErrorCode.REST_ADMIN_REQUIRED, 'wrong SDKAppID or secret key');
    return { scope: app.sdkAppID, ...issueToken({ kind: 'app', sdkAppID: app.sdkAppID }, app.secretKey) };
  }

  const header = req.headers.authorization;
  const scope = await verifyToken(header?.startsWith('Bearer ') ? header.slice(7) : undefined, ctx.adminToken, domain.apps);

  if (parts[0] !== 'apps') throw new HttpError(404, ErrorCode.REST_BAD_URL, `no admin route ${method} ${url.pathname}`);
  if (parts.length === 1 && method === 'GET') {
    const apps = scope.kind === 'operator' ? await domain.apps.list() : [await requireApp(ctx, scope, scope.sdkAppID)];
    return { apps: apps.map((a) => publicApp(a, false)) };
  }
  if (parts.length === 1 && method === 'POST') {
    if (scope.kind !== 'operator') throw new HttpError(403, ErrorCode.REST_ADMIN_REQUIRED, 'only the operator creates apps');
    const { name } = await jsonBody(req, createApp);
    return { app: publicApp(await domain.apps.create({ name, now: Date.now() }), true) };
  }
  const sdkAppID = Number(parts[1]);
  const app = await requireApp(ctx, scope, sdkAppID);

  if (parts.length === 2 && method === 'GET') return { app: publicApp(app, false) };
  if (parts.length === 3 && parts[2] === 'settings' && method === 'PATCH') {
    const patch = await jsonBody(req, settingsPatch);
    return { app: publicApp(await domain.apps.updateSettings(sdkAppID, patch), false) };
  }
  if (parts.length === 3 && parts[2] === 'rotate-secret' && method === 'POST') {
    const rotated = await domain.apps.rotateSecret(sdkAppID);
    // A session opened with the app's key was signed with the old one and ends here;
    // the caller gets a session signed with the new key so the console stays signed in.
    return { app: publicApp(rotated, true), ...(scope.kind === 'app' ? { session: issueToken(scope, rotated.secretKey) } : {}) };
  }
  if (parts.length === 3 && parts[2] === 'deletions' && method === 'GET') {
    const userID = url.searchParams.get('userID') ?? undefined;
    const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 50) || 50, 1), 500);
    const before = Number(url.searchParams.get('before') ?? 0) || undefined;
    const records = await domain.storage.deletions.list(sdkAppID, { userID, limit, beforeID: before });
    const devicesByUser = await domain.storage.devices.listMany(sdkAppID, records.map((r) => r.userID));
    // `storage` says what `erasedAt` means: which backend's files the bytes left.
    return { storage: domain.storage.kind, deletions: records.map((r) => ({ ...r, ...toDeletionStatus(r, devicesByUser.get(r.userID) ?? [], app) })) };
  }
  if (parts.length === 4 && parts[2] === 'users' && method === 'GET') {
    const userID = parts[3]!;
    if (!isValidUserID(userID)) throw new HttpError(400, ErrorCode.INVALID_IDENTIFIER, 'malformed user ID');
    const [account] = await domain.storage.accounts.get(sdkAppID, [userID]);
    if (!account) throw new HttpError(404, ErrorCode.ACCOUNT_NOT_FOUND, `user ${userID} does not exist`);
    return userView(ctx, sdkAppID, account, url.searchParams);
  }
  throw new HttpError(404, ErrorCode.REST_BAD_URL, `no admin route ${method} ${url.pathname}`);
}

async function requireApp(ctx: HttpContext, scope: AdminScope, sdkAppID: number): Promise<AppRecord> {
  if (!Number.isSafeInteger(sdkAppID) || !canManage(scope, sdkAppID)) throw new HttpError(403, ErrorCode.REST_ADMIN_REQUIRED, `you may not manage app ${sdkAppID}`);
  const app = await ctx.domain.apps.get(sdkAppID);
  if (!app) throw new HttpError(404, ErrorCode.SDKAPPID_NOT_FOUND, `SDKAppID ${sdkAppID} does not exist`);
  return app;
}
