/**
 * Just enough of `node:test` to run the shared store conformance suite in a browser
 * bundle (the bundler maps `node:test` here; see packages/sdk/test/indexeddb.test.ts).
 * describe/it/test and the four hooks register into a tree; `run()` walks it in order,
 * one test at a time, and returns a flat list of results for the Node side to turn back
 * into node:test subtests. Options objects are accepted; only `skip`/`todo` are honoured.
 */

type Fn = () => unknown;
interface Options { skip?: boolean | string; todo?: boolean | string; timeout?: number }

interface Case { kind: 'test'; name: string; fn: Fn; options: Options }
interface Suite {
  kind: 'suite';
  name: string;
  options: Options;
  children: (Suite | Case)[];
  before: Fn[];
  after: Fn[];
  beforeEach: Fn[];
  afterEach: Fn[];
}

export interface BrowserTestResult {
  /** Suite names then the test name, outermost first. */
  path: string[];
  status: 'pass' | 'fail' | 'skip';
  ms: number;
  error?: { name: string; message: string; stack?: string };
}

const newSuite = (name: string, options: Options = {}): Suite =>
  ({ kind: 'suite', name, options, children: [], before: [], after: [], beforeEach: [], afterEach: [] });

const root = newSuite('');
let current = root;

function args(a: unknown, b: unknown): [Options, Fn | undefined] {
  if (typeof a === 'function') return [{}, a as Fn];
  return [(a as Options | undefined) ?? {}, b as Fn | undefined];
}

export function describe(name: string, a?: Options | Fn, b?: Fn): void {
  const [options, fn] = args(a, b);
  const suite = newSuite(name, options);
  current.children.push(suite);
  const parent = current;
  current = suite;
  try {
    const r = fn?.();
    if (r && typeof (r as Promise<unknown>).then === 'function') throw new Error(`describe('${name}') callback must be synchronous in the browser shim`);
  } finally {
    current = parent;
  }
}

export function test(name: string, a?: Options | Fn, b?: Fn): void {
  const [options, fn] = args(a, b);
  current.children.push({ kind: 'test', name, fn: fn ?? (() => {}), options });
}

export const it = test;
export const suite = describe;
export const before = (fn: Fn): void => void current.before.push(fn);
export const after = (fn: Fn): void => void current.after.push(fn);
export const beforeEach = (fn: Fn): void => void current.beforeEach.push(fn);
export const afterEach = (fn: Fn): void => void current.afterEach.push(fn);

function toError(err: unknown): NonNullable<BrowserTestResult['error']> {
  if (err instanceof Error) {
    const extra = Object.entries(err as unknown as Record<string, unknown>)
      .filter(([k, v]) => k !== 'stack' && k !== 'message' && k !== 'name' && (typeof v === 'string' || typeof v === 'number'))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    return { name: err.name, message: err.message + (extra.length ? ` (${extra.join(', ')})` : ''), ...(err.stack ? { stack: err.stack } : {}) };
  }
  return { name: 'Error', message: `non-Error thrown: ${String(err)}` };
}

async function withTimeout(fn: Fn, ms: number, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(fn),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RunOptions {
  /** Per test (and per hook) limit. Default 15 s. */
  timeoutMs?: number;
  /** Called after each test, e.g. to show progress on the page. */
  onResult?: (r: BrowserTestResult) => void;
}

/** Runs everything registered so far, in registration order. */
export async function run(options: RunOptions = {}): Promise<BrowserTestResult[]> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const results: BrowserTestResult[] = [];
  const report = (r: BrowserTestResult) => {
    results.push(r);
    options.onResult?.(r);
  };

  async function walk(suite: Suite, path: string[], eachBefore: Fn[], eachAfter: Fn[], skip: boolean): Promise<void> {
    const skipped = skip || !!suite.options.skip || !!suite.options.todo;
    const beforeEachAll = [...eachBefore, ...suite.beforeEach];
    const afterEachAll = [...suite.afterEach, ...eachAfter];
    let setupError: unknown;
    if (!skipped) {
      for (const hook of suite.before) {
        try {
          await withTimeout(hook, timeoutMs, 'before hook');
        } catch (err) {
          setupError = err;
          break;
        }
      }
    }
    for (const child of suite.children) {
      const childPath = [...path, child.name];
      if (child.kind === 'suite') {
        await walk(child, childPath, beforeEachAll, afterEachAll, skipped);
        continue;
      }
      if (skipped || child.options.skip || child.options.todo) {
        report({ path: childPath, status: 'skip', ms: 0 });
        continue;
      }
      if (setupError !== undefined) {
        report({ path: childPath, status: 'fail', ms: 0, error: toError(setupError) });
        continue;
      }
      const started = performance.now();
      let error: unknown;
      try {
        for (const hook of beforeEachAll) await withTimeout(hook, timeoutMs, 'beforeEach hook');
        await withTimeout(child.fn, child.options.timeout ?? timeoutMs, 'test');
      } catch (err) {
        error = err;
      }
      for (const hook of afterEachAll) {
        try {
          await withTimeout(hook, timeoutMs, 'afterEach hook');
        } catch (err) {
          error ??= err;
        }
      }
      const ms = Math.round(performance.now() - started);
      report(error === undefined ? { path: childPath, status: 'pass', ms } : { path: childPath, status: 'fail', ms, error: toError(error) });
    }
    if (!skipped) {
      for (const hook of suite.after) {
        try {
          await withTimeout(hook, timeoutMs, 'after hook');
        } catch (err) {
          report({ path: [...path, '(after hook)'], status: 'fail', ms: 0, error: toError(err) });
        }
      }
    }
  }

  await walk(root, [], [], [], false);
  return results;
}
