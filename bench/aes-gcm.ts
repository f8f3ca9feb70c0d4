/**
 * The cost per message of encrypting message bodies with AES-256-GCM in Node
 * (docs/design/crypto-shredding.md): encrypt and decrypt of a typical text message body
 * and of larger ones, each with a fresh 96-bit nonce, and the cost of deriving a segment
 * key with HKDF-SHA-256 (once per conversation segment, not per message).
 *
 *   node --import tsx bench/aes-gcm.ts [iterations=20000]
 *
 * Single-threaded, in this process; prints µs per operation and MB/s.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const ITERATIONS = Number(process.argv[2] ?? 20_000);
const key = randomBytes(32);
const aad = Buffer.from('1400000001|c2c:alice|bob|seq=123456');

function encrypt(plain: Buffer): { nonce: Buffer; sealed: Buffer; tag: Buffer } {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  return { nonce, sealed, tag: cipher.getAuthTag() };
}

function decrypt(box: { nonce: Buffer; sealed: Buffer; tag: Buffer }): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, box.nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(box.tag);
  return Buffer.concat([decipher.update(box.sealed), decipher.final()]);
}

function time(what: string, bytes: number, op: () => void): void {
  for (let i = 0; i < Math.min(2000, ITERATIONS); i++) op(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) op();
  const ns = Number(process.hrtime.bigint() - t0) / ITERATIONS;
  const mbs = bytes > 0 ? `${((bytes / ns) * 1e3).toFixed(0).padStart(6)} MB/s` : '';
  console.log(`${what.padEnd(40)} ${(ns / 1000).toFixed(2).padStart(8)} µs ${mbs}`);
}

console.log(`AES-256-GCM in Node ${process.version}, ${ITERATIONS} iterations each`);
for (const size of [200, 1024, 16 * 1024]) {
  const plain = Buffer.from(JSON.stringify({ type: 'text', text: 'x'.repeat(size - 24) }));
  const box = encrypt(plain);
  time(`encrypt ${plain.length} B body (fresh nonce)`, plain.length, () => encrypt(plain));
  time(`decrypt ${plain.length} B body`, plain.length, () => decrypt(box));
}
const master = randomBytes(32);
let segment = 0;
time('derive a segment key (HKDF-SHA-256)', 0, () => hkdfSync('sha256', master, Buffer.alloc(0), `segment:${segment++}`, 32));
