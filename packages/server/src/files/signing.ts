import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Upload and download URLs are signed with the app's secret key (HMAC-SHA256), so any
 * node of a cluster checks a URL another node issued, with nothing shared but the
 * database. A URL names its user and expiry; changing either breaks the signature.
 */
export function signParts(secretKey: string, parts: (string | number)[]): string {
  return createHmac('sha256', secretKey).update(parts.map(String).join('\n')).digest('base64url');
}

export function signatureMatches(secretKey: string, parts: (string | number)[], signature: string): boolean {
  const expected = Buffer.from(signParts(secretKey, parts));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
