/**
 * A small stand-in for `node:assert/strict` (which cannot be bundled for browsers), used
 * ONLY by the browser test bundle: the bundler maps `node:assert/strict` here. Covers what
 * the store conformance suite uses — equal, deepEqual (strict semantics: Object.is,
 * same prototypes, same own keys, undefined-valued keys count), ok, rejects/throws with
 * an object/RegExp/class/predicate matcher — plus their not- and strict- aliases.
 */

export class AssertionError extends Error {
  readonly actual: unknown;
  readonly expected: unknown;
  readonly operator: string;
  constructor(message: string, actual: unknown, expected: unknown, operator: string) {
    super(message);
    this.name = 'AssertionError';
    this.actual = actual;
    this.expected = expected;
    this.operator = operator;
  }
}

function show(v: unknown): string {
  const seen = new WeakSet<object>();
  try {
    const s = JSON.stringify(v, (_k, x: unknown) => {
      if (x === undefined) return '<undefined>';
      if (typeof x === 'number' && !Number.isFinite(x)) return String(x);
      if (typeof x === 'bigint') return `${x}n`;
      if (typeof x === 'function') return `<function ${x.name}>`;
      if (x instanceof Map) return { '<Map>': [...x] };
      if (x instanceof Set) return { '<Set>': [...x] };
      if (typeof x === 'object' && x !== null) {
        if (seen.has(x)) return '<circular>';
        seen.add(x);
      }
      return x;
    });
    return s === undefined ? String(v) : s.length > 2000 ? `${s.slice(0, 2000)}…` : s;
  } catch {
    return String(v);
  }
}

export function isDeepStrictEqual(a: unknown, b: unknown, seen = new Map<object, object>()): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (seen.get(a) === b) return true;
  seen.set(a, b);
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (a instanceof RegExp) return String(a) === String(b);
  if (a instanceof Error && (a.message !== (b as Error).message || a.name !== (b as Error).name)) return false;
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return false;
  if (a instanceof Map) {
    const m = b as Map<unknown, unknown>;
    if (a.size !== m.size) return false;
    for (const [k, v] of a) if (!m.has(k) || !isDeepStrictEqual(v, m.get(k), seen)) return false;
    return true;
  }
  if (a instanceof Set) {
    const s = b as Set<unknown>;
    if (a.size !== s.size) return false;
    outer: for (const v of a) {
      if (s.has(v)) continue;
      if (typeof v === 'object' && v !== null) for (const w of s) if (isDeepStrictEqual(v, w, seen)) continue outer;
      return false;
    }
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!isDeepStrictEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], seen)) return false;
  }
  return true;
}

function fail(message: string | Error | undefined, fallback: string, actual: unknown, expected: unknown, operator: string): never {
  if (message instanceof Error) throw message;
  throw new AssertionError(message ?? fallback, actual, expected, operator);
}

export function ok(value: unknown, message?: string | Error): asserts value {
  if (!value) fail(message, `Expected a truthy value, got ${show(value)}`, value, true, '==');
}

export function equal(actual: unknown, expected: unknown, message?: string | Error): void {
  if (!Object.is(actual, expected)) fail(message, `Expected values to be strictly equal:\n  actual:   ${show(actual)}\n  expected: ${show(expected)}`, actual, expected, 'strictEqual');
}

export function notEqual(actual: unknown, expected: unknown, message?: string | Error): void {
  if (Object.is(actual, expected)) fail(message, `Expected "actual" to be strictly unequal to: ${show(expected)}`, actual, expected, 'notStrictEqual');
}

export function deepEqual(actual: unknown, expected: unknown, message?: string | Error): void {
  if (!isDeepStrictEqual(actual, expected)) {
    fail(message, `Expected values to be strictly deep-equal:\n  actual:   ${show(actual)}\n  expected: ${show(expected)}`, actual, expected, 'deepStrictEqual');
  }
}

export function notDeepEqual(actual: unknown, expected: unknown, message?: string | Error): void {
  if (isDeepStrictEqual(actual, expected)) fail(message, `Expected "actual" not to be strictly deep-equal to: ${show(expected)}`, actual, expected, 'notDeepStrictEqual');
}

export function match(value: string, re: RegExp, message?: string | Error): void {
  if (typeof value !== 'string' || !re.test(value)) fail(message, `The input did not match ${re}: ${show(value)}`, value, re, 'match');
}

type ErrorClass = abstract new (...args: never[]) => unknown;
type Expected = RegExp | ErrorClass | ((err: unknown) => boolean) | Record<string, unknown> | undefined;

function checkError(err: unknown, expected: Expected, message: string | Error | undefined, operator: string): void {
  if (expected === undefined) return;
  if (expected instanceof RegExp) {
    if (!expected.test(String(err))) fail(message, `The error did not match ${expected}: ${show(String(err))}`, err, expected, operator);
    return;
  }
  if (typeof expected === 'function') {
    if (expected === Error || (expected as { prototype?: unknown }).prototype instanceof Error) {
      if (!(err instanceof (expected as ErrorClass))) fail(message, `The error is not an instance of ${expected.name}: ${show(String(err))}`, err, expected, operator);
      return;
    }
    if ((expected as (e: unknown) => boolean)(err) !== true) fail(message, `The error validation function did not return true for ${show(String(err))}`, err, expected, operator);
    return;
  }
  const got = err as Record<string, unknown>;
  for (const [key, want] of Object.entries(expected)) {
    const have = got?.[key];
    const same = want instanceof RegExp && typeof have === 'string' ? want.test(have) : isDeepStrictEqual(have, want);
    if (!same) {
      fail(message, `The error's "${key}" is ${show(have)}, expected ${show(want)} (error: ${show(String(err))})`, err, expected, operator);
    }
  }
}

export async function rejects(block: Promise<unknown> | (() => Promise<unknown>), expected?: Expected, message?: string | Error): Promise<void> {
  let threw = false;
  let error: unknown;
  try {
    await (typeof block === 'function' ? block() : block);
  } catch (err) {
    threw = true;
    error = err;
  }
  if (!threw) fail(message, 'Missing expected rejection.', undefined, expected, 'rejects');
  checkError(error, expected, message, 'rejects');
}

export async function doesNotReject(block: Promise<unknown> | (() => Promise<unknown>), message?: string | Error): Promise<void> {
  try {
    await (typeof block === 'function' ? block() : block);
  } catch (err) {
    fail(message, `Got unwanted rejection: ${show(String(err))}`, err, undefined, 'doesNotReject');
  }
}

export function throws(block: () => unknown, expected?: Expected, message?: string | Error): void {
  try {
    block();
  } catch (err) {
    checkError(err, expected, message, 'throws');
    return;
  }
  fail(message, 'Missing expected exception.', undefined, expected, 'throws');
}

export function doesNotThrow(block: () => unknown, message?: string | Error): void {
  try {
    block();
  } catch (err) {
    fail(message, `Got unwanted exception: ${show(String(err))}`, err, undefined, 'doesNotThrow');
  }
}

export function failNow(message = 'Failed'): never {
  throw new AssertionError(message, undefined, undefined, 'fail');
}

const assert = Object.assign((value: unknown, message?: string | Error) => ok(value, message), {
  ok, equal, notEqual, deepEqual, notDeepEqual, match, rejects, doesNotReject, throws, doesNotThrow,
  strictEqual: equal, notStrictEqual: notEqual, deepStrictEqual: deepEqual, notDeepStrictEqual: notDeepEqual,
  fail: failNow, AssertionError, isDeepStrictEqual,
});

export default assert;
