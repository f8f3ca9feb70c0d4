import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
// @ts-ignore -- the official package is CommonJS without type declarations; typed below.
import TLSSigAPIv2Untyped from 'tls-sig-api-v2';
import { ErrorCode } from '@confab/protocol';
import { genUserSig, verifyUserSig } from '../src/auth/usersig.js';

// The sample key of the official repository's TLSSigAPITest.js (tencent-im.md §8).
/** The part of the official package's CommonJS export used here (see its TLSSigAPIv2.js). */
interface OfficialApi {
  genSig(userid: string, expire: number, userBuf?: Buffer | null): string;
  genUserSig(userid: string, expire: number): string;
  genPrivateMapKey(userid: string, expire: number, roomid: number, privilegeMap: number): string;
}
const TLSSigAPIv2 = TLSSigAPIv2Untyped as { Api: new (sdkappid: number | string, key: string) => OfficialApi };

const KEY = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';
const APP = 1400000000;
const NOW = 1700000000;
const EXPIRE = 15552000;

/** Independent of the code under test: url-safe base64 → zlib → JSON. */
function decodeDoc(userSig: string): Record<string, unknown> {
  const b64 = userSig.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=');
  return JSON.parse(inflateSync(Buffer.from(b64, 'base64')).toString('utf8')) as Record<string, unknown>;
}

function encodeDoc(json: string, level?: number): string {
  return deflateSync(Buffer.from(json), level === undefined ? {} : { level })
    .toString('base64').replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_');
}

function hmac(key: string | Buffer, content: string): string {
  return createHmac('sha256', key).update(content).digest('base64');
}

/** Runs fn with Date.now pinned, so the official package (which reads the clock) is deterministic. */
function atTime<T>(unixSeconds: number, fn: () => T): T {
  const real = Date.now;
  Date.now = () => unixSeconds * 1000;
  try {
    return fn();
  } finally {
    Date.now = real;
  }
}

function rejectsWith(code: number, fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.equal((err as { name?: string }).name, 'ConfabError');
    assert.equal((err as { code?: number }).code, code);
    return true;
  });
}

const verifyOpts = (userSig: string, over: Partial<Parameters<typeof verifyUserSig>[0]> = {}) => ({
  sdkAppID: APP, secretKey: KEY, userID: 'xiaojun', userSig, now: NOW + 60, ...over,
});

test('deterministic vector from the reference (§8)', () => {
  const userSig = genUserSig({ sdkAppID: APP, secretKey: KEY, userID: 'xiaojun', now: NOW, expireSeconds: EXPIRE });
  const doc = decodeDoc(userSig);
  assert.equal(doc['TLS.sig'], 'LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=');
  assert.deepEqual(doc, {
    'TLS.ver': '2.0', 'TLS.identifier': 'xiaojun', 'TLS.sdkappid': APP, 'TLS.time': NOW, 'TLS.expire': EXPIRE,
    'TLS.sig': 'LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=',
  });
  assert.match(userSig, /^[A-Za-z0-9*\-_]+$/, 'only url-safe characters');
  assert.deepEqual(verifyUserSig(verifyOpts(userSig)), { issuedAt: NOW, expireAt: NOW + EXPIRE });
});

test('default validity is 180 days', () => {
  const doc = decodeDoc(genUserSig({ sdkAppID: APP, secretKey: KEY, userID: 'u1', now: NOW }));
  assert.equal(doc['TLS.expire'], 180 * 86400);
});

test('same output as the official tls-sig-api-v2 package for the same inputs', () => {
  const official = atTime(NOW, () => new TLSSigAPIv2.Api(APP, KEY).genUserSig('xiaojun', EXPIRE));
  assert.equal(genUserSig({ sdkAppID: APP, secretKey: KEY, userID: 'xiaojun', now: NOW, expireSeconds: EXPIRE }), official);
});

test('sigs from the official tls-sig-api-v2 package verify', () => {
  const api = new TLSSigAPIv2.Api(APP, KEY);
  for (const userID of ['xiaojun', 'a', 'user_1.x@y-z', 'x'.repeat(32)]) {
    const userSig = api.genUserSig(userID, 86400);
    const { issuedAt, expireAt } = verifyUserSig({ sdkAppID: APP, secretKey: KEY, userID, userSig });
    assert.equal(expireAt - issuedAt, 86400);
    assert.ok(Math.abs(issuedAt - Date.now() / 1000) < 5);
  }
  // genSig is what genUserSig calls; the app ID may be passed as a string to the official Api.
  const fromString = new TLSSigAPIv2.Api(String(APP), KEY).genSig('bob', 3600);
  verifyUserSig({ sdkAppID: APP, secretKey: KEY, userID: 'bob', userSig: fromString });
});

test('official PrivateMapKey-style sigs (with TLS.userbuf) verify; a changed userbuf does not', () => {
  const api = new TLSSigAPIv2.Api(APP, KEY);
  const userSig = atTime(NOW, () => api.genPrivateMapKey('xiaojun', EXPIRE, 10000, 255));
  const doc = decodeDoc(userSig);
  assert.equal(typeof doc['TLS.userbuf'], 'string');
  assert.deepEqual(verifyUserSig(verifyOpts(userSig)), { issuedAt: NOW, expireAt: NOW + EXPIRE });

  const tampered = encodeDoc(JSON.stringify({ ...doc, 'TLS.userbuf': Buffer.from('other room').toString('base64') }));
  rejectsWith(ErrorCode.USER_SIG_KEY_MISMATCH, () => verifyUserSig(verifyOpts(tampered)));
  const { 'TLS.userbuf': _dropped, ...withoutUserbuf } = doc;
  rejectsWith(ErrorCode.USER_SIG_KEY_MISMATCH, () => verifyUserSig(verifyOpts(encodeDoc(JSON.stringify(withoutUserbuf)))));
});

test('Go-style sig verifies: zlib NoCompression, Go field order, trailing newline', () => {
  const sig = hmac(KEY, `TLS.identifier:xiaojun\nTLS.sdkappid:${APP}\nTLS.time:${NOW}\nTLS.expire:${EXPIRE}\n`);
  // encoding/json with the Go library's struct order: ver, identifier, sdkappid, expire, time, sig.
  const json = `{"TLS.ver":"2.0","TLS.identifier":"xiaojun","TLS.sdkappid":${APP},"TLS.expire":${EXPIRE},"TLS.time":${NOW},"TLS.sig":"${sig}"}\n`;
  const userSig = encodeDoc(json, 0);
  assert.ok(inflateSync(Buffer.from(userSig.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '='), 'base64')).toString().endsWith('}\n'));
  assert.deepEqual(verifyUserSig(verifyOpts(userSig)), { issuedAt: NOW, expireAt: NOW + EXPIRE });
  // Go with a userbuf: []byte is marshalled as standard base64, which is also what is signed.
  const userbuf = Buffer.from([0, 0, 7, 120, 105, 97, 111, 106, 117, 110, 255]).toString('base64');
  const sig2 = hmac(KEY, `TLS.identifier:xiaojun\nTLS.sdkappid:${APP}\nTLS.time:${NOW}\nTLS.expire:${EXPIRE}\nTLS.userbuf:${userbuf}\n`);
  const json2 = `{"TLS.ver":"2.0","TLS.identifier":"xiaojun","TLS.sdkappid":${APP},"TLS.expire":${EXPIRE},"TLS.time":${NOW},"TLS.userbuf":"${userbuf}","TLS.sig":"${sig2}"}\n`;
  verifyUserSig(verifyOpts(encodeDoc(json2, 0)));
});

test('expiry: valid at exactly time + expire, 70001 one second later', () => {
  const userSig = genUserSig({ sdkAppID: APP, secretKey: KEY, userID: 'xiaojun', now: NOW, expireSeconds: 100 });
  verifyUserSig(verifyOpts(userSig, { now: NOW + 100 }));
  rejectsWith(ErrorCode.USER_SIG_EXPIRED, () => verifyUserSig(verifyOpts(userSig, { now: NOW + 101 })));
  // Without `now`, the real clock is used: a sig issued long ago has expired.
  rejectsWith(ErrorCode.USER_SIG_EXPIRED, () => verifyUserSig({ sdkAppID: APP, secretKey: KEY, userID: 'xiaojun', userSig }));
});

test('wrong key and forged signatures are rejected with 70009', () => {
  const userSig = genUserSig({ sdkAppID: APP, secretKey: KEY, userID: 'xiaojun', now: NOW });
  rejectsWith(ErrorCode.USER_SIG_KEY_MISMATCH, () => verifyUserSig(verifyOpts(userSig, { secretKey: KEY.replace(/^5/, '6') })));
  // The key is used as UTF-8 text; the hex-decoded key must not be accepted.
  const hexKeySig = hmac(Buffer.from(KEY, 'hex'), `TLS.identifier:xiaojun\nTLS.sdkappid:${APP}\nTLS.time:${NOW}\nTLS.expire:${EXPIRE}\n`);
  const doc = decodeDoc(userSig);
  rejectsWith(ErrorCode.USER_SIG_KEY_MISMATCH, () => verifyUserSig(verifyOpts(encodeDoc(JSON.stringify({ ...doc, 'TLS.sig': hexKeySig })))));

  // Extending the validity of a genuine sig invalidates it.
  const extended = encodeDoc(JSON.stringify({ ...doc, 'TLS.expire': 999999999 }));
  rejectsWith(ErrorCode.USER_SIG_KEY_MISMATCH, () => verifyUserSig(verifyOpts(extended)));
  // Random, empty, truncated and non-base64 signatures.
  const genuine = String(doc['TLS.sig']);
  for (const sig of [hmac('guess', 'x'), '', genuine.slice(0, 43), genuine.slice(0, 43) + '!', genuine + ' ', 'A'.repeat(44)]) {
    rejectsWith(ErrorCode.USER_SIG_KEY_MISMATCH, () => verifyUserSig(verifyOpts(encodeDoc(JSON.stringify({ ...doc, 'TLS.sig': sig })))));
  }
});

test('another app (70014) and another user (70013)', () => {
  const userSig = genUserSig({ sdkAppID: APP, secretKey: KEY, userID: 'xiaojun', now: NOW });
  rejectsWith(ErrorCode.USER_SIG_SDKAPPID_MISMATCH, () => verifyUserSig(verifyOpts(userSig, { sdkAppID: APP + 1 })));
  rejectsWith(ErrorCode.USER_SIG_IDENTIFIER_MISMATCH, () => verifyUserSig(verifyOpts(userSig, { userID: 'xiaoming' })));
  rejectsWith(ErrorCode.USER_SIG_IDENTIFIER_MISMATCH, () => verifyUserSig(verifyOpts(userSig, { userID: 'Xiaojun' })));
  // Check order: app before user before expiry.
  rejectsWith(ErrorCode.USER_SIG_SDKAPPID_MISMATCH, () =>
    verifyUserSig(verifyOpts(userSig, { sdkAppID: APP + 1, userID: 'xiaoming', now: NOW + 10 ** 9 })));
  rejectsWith(ErrorCode.USER_SIG_IDENTIFIER_MISMATCH, () =>
    verifyUserSig(verifyOpts(userSig, { userID: 'xiaoming', now: NOW + 10 ** 9 })));
});

test('empty UserSig: 70002', () => {
  rejectsWith(ErrorCode.USER_SIG_EMPTY, () => verifyUserSig(verifyOpts('')));
  rejectsWith(ErrorCode.USER_SIG_EMPTY, () => verifyUserSig(verifyOpts(undefined as unknown as string)));
});

test('garbage: 70003', () => {
  const good = genUserSig({ sdkAppID: APP, secretKey: KEY, userID: 'xiaojun', now: NOW });
  const cases = [
    'not a sig',                                   // characters outside the alphabet
    'abc%2B',                                      // URL-encoded
    good.replace(/\*/g, ' '),                      // `*` mangled by form-decoding into spaces
    'eJyrVkrOz0vJTFGyUlAqKVEoKUosqQQA',            // bogus zlib
    'AAAA',                                        // base64 but not zlib
    good.slice(0, 40),                             // truncated zlib stream
    encodeDoc('not json'),
    encodeDoc('[1,2,3]'),
    encodeDoc('null'),
    encodeDoc('{}'),
    encodeDoc(JSON.stringify({ ...decodeDoc(good), 'TLS.sig': undefined })),
    encodeDoc(JSON.stringify({ ...decodeDoc(good), 'TLS.time': '1700000000' })),
    encodeDoc(JSON.stringify({ ...decodeDoc(good), 'TLS.expire': 1.5 })),
    encodeDoc(JSON.stringify({ ...decodeDoc(good), 'TLS.identifier': 42 })),
    encodeDoc(JSON.stringify({ ...decodeDoc(good), 'TLS.userbuf': 7 })),
  ];
  for (const userSig of cases) {
    rejectsWith(ErrorCode.USER_SIG_INVALID, () => verifyUserSig(verifyOpts(userSig)));
  }
});

test('oversize: 70003 for a long sig and for a small zlib bomb', () => {
  rejectsWith(ErrorCode.USER_SIG_INVALID, () => verifyUserSig(verifyOpts('A'.repeat(4097))));
  // ~1 MiB of JSON whitespace compresses to about 1 KiB, well under the length cap.
  const doc = decodeDoc(genUserSig({ sdkAppID: APP, secretKey: KEY, userID: 'xiaojun', now: NOW }));
  const bomb = encodeDoc(' '.repeat(1 << 20) + JSON.stringify(doc), 9);
  assert.ok(bomb.length < 4096, `bomb is ${bomb.length} chars`);
  rejectsWith(ErrorCode.USER_SIG_INVALID, () => verifyUserSig(verifyOpts(bomb)));
});

test('genUserSig rejects unusable input', () => {
  rejectsWith(ErrorCode.INVALID_PARAMETERS, () => genUserSig({ sdkAppID: APP, secretKey: KEY, userID: '' }));
  rejectsWith(ErrorCode.INVALID_PARAMETERS, () => genUserSig({ sdkAppID: APP, secretKey: '', userID: 'a' }));
  rejectsWith(ErrorCode.INVALID_PARAMETERS, () => genUserSig({ sdkAppID: 0, secretKey: KEY, userID: 'a' }));
  rejectsWith(ErrorCode.INVALID_PARAMETERS, () => genUserSig({ sdkAppID: APP, secretKey: KEY, userID: 'a', expireSeconds: 0 }));
});
