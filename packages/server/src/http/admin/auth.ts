import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfabError, ErrorCode } from '@confab/protocol';
import type { AppService } from '../../services/domain.js';

/**
 * Admin sessions. Two kinds of credentials sign in to the admin API (and so the
 * console):
 * - the server's operator token (`adminToken`), which manages every app;
 * - an app's SDKAppID with its secret key, which manages that app only.
 * A session token is `<payload>.<HMAC>`, signed with the credential it came from, so
 * every node that knows the same operator token and app keys accepts it; no session
 * table is needed, and changing a key ends its sessions.
 */
export type AdminScope = { kind: 'operator' } | { kind: 'app'; sdkAppID: number };

const SESSION_SECONDS = 12 * 3600;

interface Payload {
  s: 'op' | number;
  e: number;
}

function sign(key: string, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

export function issueToken(scope: AdminScope, key: string, now = Date.now()): { token: string; expiresAt: number } {
  const expiresAt = now + SESSION_SECONDS * 1000;
  const payload = Buffer.from(JSON.stringify({ s: scope.kind === 'operator' ? 'op' : scope.sdkAppID, e: expiresAt } satisfies Payload)).toString('base64url');
  return { token: `${payload}.${sign(key, payload)}`, expiresAt };
}

export async function verifyToken(token: string | undefined, operatorToken: string | undefined, apps: AppService, now = Date.now()): Promise<AdminScope> {
  const unauthorized = new ConfabError(ErrorCode.REST_ADMIN_REQUIRED, 'sign in to the admin API first');
  if (!token) throw unauthorized;
  const [payload, mac] = token.split('.');
  if (!payload || !mac) throw unauthorized;
  let parsed: Payload;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Payload;
  } catch {
    throw unauthorized;
  }
  if (typeof parsed !== 'object' || parsed === null) throw unauthorized;
  if (typeof parsed.e !== 'number' || parsed.e < now) throw new ConfabError(ErrorCode.REST_ADMIN_REQUIRED, 'the admin session expired; sign in again');
  let key: string | undefined;
  let scope: AdminScope;
  if (parsed.s === 'op') {
    key = operatorToken;
    scope = { kind: 'operator' };
  } else if (typeof parsed.s === 'number') {
    key = (await apps.get(parsed.s))?.secretKey;
    scope = { kind: 'app', sdkAppID: parsed.s };
  } else {
    throw unauthorized;
  }
  if (!key || !safeEqual(sign(key, payload), mac)) throw unauthorized;
  return scope;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function canManage(scope: AdminScope, sdkAppID: number): boolean {
  return scope.kind === 'operator' || scope.sdkAppID === sdkAppID;
}
