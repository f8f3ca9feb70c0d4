import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfabError, ErrorCode, errorCodeName, isConfabError } from '../src/errors.js';

// packages/protocol/test/ → repo root
const DOC_PATH = fileURLToPath(new URL('../../../docs/errors.md', import.meta.url));

/** Rows of the form `| 6017 | `INVALID_PARAMETERS` | … |`, in document order. */
function docRows(): { code: number; name: string; line: number }[] {
  const rows: { code: number; name: string; line: number }[] = [];
  readFileSync(DOC_PATH, 'utf8').split('\n').forEach((text, i) => {
    const m = /^\|\s*(\d+)\s*\|\s*`?([A-Za-z0-9_]+)`?\s*\|/.exec(text);
    if (m) rows.push({ code: Number(m[1]), name: m[2]!, line: i + 1 });
  });
  return rows;
}

const entries = Object.entries(ErrorCode) as [keyof typeof ErrorCode, number][];

test('no two names share one number in ErrorCode', () => {
  const seen = new Map<number, string>();
  for (const [name, code] of entries) {
    assert.ok(!seen.has(code), `${name} and ${seen.get(code)} are both ${code}`);
    seen.set(code, name);
  }
});

test('docs/errors.md lists every code of ErrorCode, under the same name, once, in source order', () => {
  const rows = docRows();
  assert.ok(rows.length > 0, `no code rows found in ${DOC_PATH}`);
  const docByCode = new Map<number, string>();
  for (const { code, name, line } of rows) {
    assert.ok(!docByCode.has(code), `docs/errors.md:${line}: ${code} is listed twice`);
    docByCode.set(code, name);
  }

  for (const [name, code] of entries) {
    assert.ok(docByCode.has(code), `${name} (${code}) is missing from docs/errors.md`);
    assert.equal(docByCode.get(code), name, `docs/errors.md names ${code} differently from ErrorCode`);
  }
  const known = new Set(entries.map(([, code]) => code));
  for (const { code, name, line } of rows) {
    assert.ok(known.has(code), `docs/errors.md:${line}: ${code} (${name}) is not in ErrorCode`);
  }
  assert.deepEqual(rows.map((r) => r.code), entries.map(([, code]) => code), 'docs/errors.md is not in source order');
});

test('errorCodeName round-trips', () => {
  for (const [name, code] of entries) {
    assert.equal(errorCodeName(code), name);
    assert.equal(ErrorCode[errorCodeName(code)!], code);
  }
  assert.equal(errorCodeName(0), undefined);
  assert.equal(errorCodeName(123456789), undefined);
});

test('ConfabError carries code and desc and serialises with toJSON', () => {
  const cause = new Error('disk full');
  const err = new ConfabError(ErrorCode.INVALID_PARAMETERS, 'count must be 1..100', { cause });
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'ConfabError');
  assert.equal(err.code, 6017);
  assert.equal(err.desc, 'count must be 1..100');
  assert.equal(err.message, 'count must be 1..100 (6017)');
  assert.equal(err.cause, cause);
  assert.deepEqual(err.toJSON(), { code: 6017, desc: 'count must be 1..100' });
  assert.equal(JSON.stringify(err), '{"code":6017,"desc":"count must be 1..100"}');
  assert.deepEqual(JSON.parse(JSON.stringify({ ok: false, error: err })), { ok: false, error: { code: 6017, desc: 'count must be 1..100' } });

  assert.ok(isConfabError(err));
  // An error that crossed a boundary as a plain object with the same shape still counts.
  assert.ok(isConfabError({ name: 'ConfabError', code: 70001, desc: 'x' }));
  assert.ok(!isConfabError(new Error('x')));
  assert.ok(!isConfabError({ code: 70001 }));
  assert.ok(!isConfabError(null));
});
