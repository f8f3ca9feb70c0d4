import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfabError, ErrorCode } from '@confab/protocol';
import { withCallback } from '../src/callback.js';

describe('withCallback', () => {
  it('without a callback: resolves the value, rejects with ConfabError', async () => {
    assert.equal(await withCallback<number>(undefined, async () => 42), 42);
    await assert.rejects(withCallback(undefined, async () => { throw new ConfabError(9508, 'down'); }), { name: 'ConfabError', code: 9508 });
    // A synchronous throw (validation) becomes a rejection too.
    await assert.rejects(withCallback(undefined, () => { throw new ConfabError(ErrorCode.INVALID_IDENTIFIER, 'bad'); }), { code: 7003 });
    // A foreign error is wrapped so callers always get a code.
    await assert.rejects(withCallback(undefined, () => { throw new TypeError('boom'); }), (e: ConfabError) => e instanceof ConfabError && e.cause instanceof TypeError);
  });

  it('with a callback: calls onSuccess/onError and never rejects', async () => {
    const calls: unknown[] = [];
    const ok = await withCallback<string>({ onSuccess: (v) => calls.push(['ok', v]) }, async () => 'v');
    assert.equal(ok, 'v');
    const failed = await withCallback<string>({ onError: (code, desc) => calls.push(['err', code, desc]) }, () => {
      throw new ConfabError(6017, 'text is empty');
    });
    assert.equal(failed, undefined);
    assert.deepEqual(calls, [['ok', 'v'], ['err', 6017, 'text is empty']]);
  });

  it('a throwing callback does not turn into a rejection; it is logged', async (t) => {
    const logged = t.mock.method(console, 'error', () => {});
    const result = await withCallback<number>({ onSuccess: () => { throw new Error('app bug'); } }, async () => 1);
    assert.equal(result, 1);
    assert.equal((logged.mock.calls[0]?.arguments[1] as Error)?.message, 'app bug');
  });
});
