/**
 * UserSig: the reference's TLSSigAPIv2 login ticket, byte for byte, so an app back end can
 * keep using the official `tls-sig-api-v2` package (or its Go/Java/Python/PHP siblings)
 * unchanged. See docs/usersig.md.
 *
 *   sig     = base64(HMAC-SHA256(secretKey as UTF-8, "TLS.identifier:…\nTLS.sdkappid:…\nTLS.time:…\nTLS.expire:…\n"))
 *   userSig = urlsafe(base64(zlib(JSON {TLS.ver:"2.0", TLS.identifier, TLS.sdkappid, TLS.time, TLS.expire, TLS.sig})))
 *   urlsafe = `+`→`*`, `/`→`-`, `=`→`_`
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { ConfabError, ErrorCode } from '@confab/protocol';

/** The official back-end libraries' default validity: 180 days. */
export const DEFAULT_USER_SIG_EXPIRE_SECONDS = 180 * 24 * 3600;

/** A real UserSig is ~200 characters (~300 with a TRTC userbuf); anything near this is hostile. */
const MAX_USER_SIG_LENGTH = 4096;
/** Limit on the inflated JSON, so a small zlib bomb cannot allocate megabytes. */
const MAX_INFLATED_BYTES = 8 * 1024;

export interface GenUserSigOptions {
  sdkAppID: number;
  secretKey: string;
  userID: string;
  /** Validity in seconds from `now`; default 180 days. */
  expireSeconds?: number;
  /** Issue time, Unix seconds; default the current time. */
  now?: number;
}

export interface VerifyUserSigOptions {
  sdkAppID: number;
  secretKey: string;
  userID: string;
  userSig: string;
  /** Unix seconds; default the current time. */
  now?: number;
}

/** The fields of a decoded UserSig document that take part in verification. */
interface SigDoc {
  identifier: string;
  sdkappid: number;
  time: number;
  expire: number;
  /** Present only in TRTC PrivateMapKey-style sigs; it is part of the signed string. */
  userbuf: string | undefined;
  sig: string;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * The HMAC exactly as the reference computes it. The key is the console's secret key used as
 * UTF-8 text — not hex-decoded, even though it looks like hex. `userbuf` (already base64, as it
 * appears in the document) adds a fifth line; without it a PrivateMapKey-style sig would never verify.
 */
function hmacSha256(
  secretKey: string, identifier: string, sdkappid: number, time: number, expire: number, userbuf?: string,
): string {
  let content = `TLS.identifier:${identifier}\nTLS.sdkappid:${sdkappid}\nTLS.time:${time}\nTLS.expire:${expire}\n`;
  if (userbuf !== undefined) content += `TLS.userbuf:${userbuf}\n`;
  return createHmac('sha256', secretKey).update(content, 'utf8').digest('base64');
}

function invalidParam(desc: string): ConfabError {
  return new ConfabError(ErrorCode.INVALID_PARAMETERS, desc);
}

/** Issues a UserSig. Meant for app back ends, tests and development tools — never for a client. */
export function genUserSig(opts: GenUserSigOptions): string {
  const { sdkAppID, secretKey, userID } = opts;
  const expire = opts.expireSeconds ?? DEFAULT_USER_SIG_EXPIRE_SECONDS;
  const time = opts.now ?? nowSeconds();
  if (!Number.isSafeInteger(sdkAppID) || sdkAppID <= 0) throw invalidParam('sdkAppID must be a positive integer');
  if (!secretKey) throw invalidParam('secretKey is empty');
  if (!userID) throw invalidParam('userID is empty');
  if (!Number.isSafeInteger(expire) || expire <= 0) throw invalidParam('expireSeconds must be a positive integer');
  if (!Number.isSafeInteger(time) || time < 0) throw invalidParam('now must be Unix seconds');

  // Same field order and zlib level as the official Node package, so for equal inputs the
  // output is the same string it would produce.
  const doc = {
    'TLS.ver': '2.0',
    'TLS.identifier': userID,
    'TLS.sdkappid': sdkAppID,
    'TLS.time': time,
    'TLS.expire': expire,
    'TLS.sig': hmacSha256(secretKey, userID, sdkAppID, time, expire),
  };
  return deflateSync(Buffer.from(JSON.stringify(doc), 'utf8'))
    .toString('base64')
    .replace(/\+/g, '*')
    .replace(/\//g, '-')
    .replace(/=/g, '_');
}

/**
 * Checks a UserSig for this app and user. Returns its issue and expiry times (Unix seconds);
 * throws ConfabError 70002 / 70003 / 70014 / 70013 / 70001 / 70009, in that check order.
 *
 * The order reports the most useful error first (a sig for another app or user says more than
 * "bad signature"); it is safe because nothing is accepted until the signature check passes.
 */
export function verifyUserSig(opts: VerifyUserSigOptions): { issuedAt: number; expireAt: number } {
  const { sdkAppID, secretKey, userID, userSig } = opts;
  if (typeof userSig !== 'string' || userSig.length === 0) {
    throw new ConfabError(ErrorCode.USER_SIG_EMPTY, 'UserSig is empty');
  }
  const doc = decode(userSig);

  if (doc.sdkappid !== sdkAppID) {
    throw new ConfabError(ErrorCode.USER_SIG_SDKAPPID_MISMATCH, `UserSig was issued for SDKAppID ${doc.sdkappid}`);
  }
  if (doc.identifier !== userID) {
    throw new ConfabError(ErrorCode.USER_SIG_IDENTIFIER_MISMATCH, 'UserSig was issued for another user');
  }
  // The reference's rule: still valid at exactly time + expire, expired one second later.
  const now = opts.now ?? nowSeconds();
  const expireAt = doc.time + doc.expire;
  if (now > expireAt) {
    throw new ConfabError(ErrorCode.USER_SIG_EXPIRED, `UserSig expired at ${expireAt}`);
  }

  // Compare the base64 strings as the Go library does, but in constant time. Lengths are
  // public (every genuine sig is 44 characters), so checking them first leaks nothing.
  const expected = Buffer.from(hmacSha256(secretKey, doc.identifier, doc.sdkappid, doc.time, doc.expire, doc.userbuf));
  const actual = Buffer.from(doc.sig);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new ConfabError(ErrorCode.USER_SIG_KEY_MISMATCH, 'UserSig signature does not match the app key');
  }
  return { issuedAt: doc.time, expireAt };
}

/** url-safe base64 → zlib → JSON, accepting what every official generator emits. */
function decode(userSig: string): SigDoc {
  const invalid = (why: string, cause?: unknown): ConfabError =>
    new ConfabError(ErrorCode.USER_SIG_INVALID, `UserSig is invalid: ${why}`, { cause });

  if (userSig.length > MAX_USER_SIG_LENGTH) throw invalid('too long');
  const b64 = userSig.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=');
  // Buffer.from(…, 'base64') silently skips bad characters; reject them instead, so that
  // e.g. a sig mangled by URL-decoding (`+` turned into a space) is reported as invalid.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw invalid('not base64');

  let json: string;
  try {
    // Handles every zlib level: Node's official package uses the default, Go's uses NoCompression.
    json = inflateSync(Buffer.from(b64, 'base64'), { maxOutputLength: MAX_INFLATED_BYTES }).toString('utf8');
  } catch (err) {
    throw invalid('not a zlib stream or too large', err);
  }

  let raw: unknown;
  try {
    raw = JSON.parse(json); // tolerates Go's trailing newline and any field order
  } catch (err) {
    throw invalid('not JSON', err);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('not a JSON object');
  const o = raw as Record<string, unknown>;

  const str = (k: string): string => {
    const v = o[k];
    if (typeof v !== 'string') throw invalid(`${k} missing`);
    return v;
  };
  // Integers only: the signed string prints them in decimal, and 1.5 or 1e21 would print
  // differently from what the issuer signed.
  const int = (k: string): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalid(`${k} missing`);
    return v;
  };
  const userbuf = o['TLS.userbuf'];
  if (userbuf !== undefined && typeof userbuf !== 'string') throw invalid('TLS.userbuf is not a string');

  // TLS.ver is not checked, as in the reference: the signature is what authenticates.
  return {
    identifier: str('TLS.identifier'),
    sdkappid: int('TLS.sdkappid'),
    time: int('TLS.time'),
    expire: int('TLS.expire'),
    userbuf,
    sig: str('TLS.sig'),
  };
}
