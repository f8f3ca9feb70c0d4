/**
 * The gateway's limit pieces on their own: token buckets on a driven clock, the output
 * budget of a session over a socket that never drains, the iterative NUL walk, the
 * unauthenticated-socket counts and the parsing of limits from options and environment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebSocket } from 'ws';
import { TokenBuckets } from '../src/gateway/token-buckets.js';
import { Session } from '../src/gateway/session.js';
import { containsNul } from '../src/gateway/frame-checks.js';
import { Admission } from '../src/gateway/admission.js';
import { CloseCode, DEFAULT_LIMITS, limitsFromEnv, resolveLimits } from '../src/gateway/limits.js';

test('a token bucket allows its burst at once, then its rate, per key', () => {
  const buckets = new TokenBuckets(2, 3);
  const t0 = 1_000_000;
  assert.deepEqual([1, 2, 3, 4].map(() => buckets.take('alice', t0)), [true, true, true, false]);
  assert.equal(buckets.take('bob', t0), true, 'another key has its own bucket');
  assert.equal(buckets.has('alice', t0 + 499), false, 'half a token is not a token');
  assert.equal(buckets.has('alice', t0 + 500), true);
  assert.equal(buckets.take('alice', t0 + 500), true);
  assert.equal(buckets.take('alice', t0 + 500), false);
  assert.equal(buckets.has('alice', t0 + 1_000_000), true);
  // Refilling never goes past the burst, however long the pause.
  assert.deepEqual([1, 2, 3, 4].map(() => buckets.take('alice', t0 + 1_000_000)), [true, true, true, false]);
});

test('a clock stepping back does not mint tokens', () => {
  const buckets = new TokenBuckets(1, 1);
  assert.equal(buckets.take('k', 10_000), true);
  assert.equal(buckets.take('k', 5_000), false);
  assert.equal(buckets.take('k', 10_999), false, 'the refill counts from the latest time seen');
  assert.equal(buckets.take('k', 11_000), true);
});

test('sweep forgets exactly the buckets that are full again', () => {
  const buckets = new TokenBuckets(1, 2);
  buckets.take('a', 0);
  buckets.take('b', 0);
  buckets.take('b', 0);
  buckets.sweep(1000);
  assert.equal(buckets.size, 1, 'a refilled after 1 s; b needs 2 s');
  assert.equal(buckets.take('b', 1000), true, 'b kept its state: one token back');
  assert.equal(buckets.take('b', 1000), false);
  buckets.sweep(10_000);
  assert.equal(buckets.size, 0);
});

/** A socket whose peer never reads: everything sent stays buffered. */
function stuckSocket() {
  const sock = {
    readyState: 1,
    bufferedAmount: 0,
    peak: 0,
    closes: [] as { code: number; reason: string }[],
    // ws's TCP socket: the session corks it for the rest of the event-loop turn.
    _socket: { cork() {}, uncork() {} },
    send(text: string) {
      sock.bufferedAmount += Buffer.byteLength(text) + 2;
      sock.peak = Math.max(sock.peak, sock.bufferedAmount);
    },
    close(code: number, reason: string) {
      sock.closes.push({ code, reason });
      sock.readyState = 2;
    },
  };
  return sock;
}

test('within one turn, unsent output never goes over four budgets: the session closes with 4002 instead, once', () => {
  const sock = stuckSocket();
  const overflowed: Session[] = [];
  const session = new Session('s1', sock as unknown as WebSocket, { address: '203.0.113.9', outputBudgetBytes: 10_000, onOverflow: (s) => overflowed.push(s) });
  let sent = 0;
  // Replies, refusals and pushes alike; some with multi-byte characters (3 bytes each in UTF-8).
  for (let i = 0; i < 1000; i++) {
    if (i % 3 === 0) session.reply({ id: i, ok: false, code: 60022, desc: 'wait for answers' });
    else if (i % 3 === 1) session.pushRaw(JSON.stringify({ push: 'update', body: { text: '€'.repeat(200) } }));
    else session.reply({ id: i, ok: true, body: { serverTime: i } });
    if (!session.closed) sent = i;
  }
  assert.ok(sent > 10, 'frames within the budget were sent');
  assert.ok(sock.peak <= 40_000, `peak ${sock.peak} stayed within four budgets`);
  assert.ok(sock.peak > 36_000, `the turn's allowance was used (peak ${sock.peak}), not refused early`);
  assert.deepEqual(sock.closes.map((c) => c.code), [CloseCode.OUTPUT_BUDGET]);
  assert.deepEqual(overflowed, [session]);
  assert.equal(session.closed, true);
});

test('a client that left more than the budget unread from earlier turns is closed at its next frame; one that read it is not', async () => {
  const turn = () => new Promise((r) => setImmediate(r));
  const burst = (session: Session) => { for (let i = 0; i < 30; i++) session.pushRaw(JSON.stringify({ push: 'update', body: { text: 'x'.repeat(500) } })); };

  const reader = stuckSocket();
  const reading = new Session('s1', reader as unknown as WebSocket, { address: '203.0.113.9', outputBudgetBytes: 10_000, onOverflow: () => undefined });
  burst(reading); // ~15 KB in one turn: over the budget, within the turn's allowance
  assert.equal(reading.closed, false, 'one large turn is answered in full');
  await turn();
  reader.bufferedAmount = 0; // the client read it
  reading.reply({ id: 1, ok: true, body: {} });
  assert.equal(reading.closed, false);

  const idle = stuckSocket();
  const stalled = new Session('s2', idle as unknown as WebSocket, { address: '203.0.113.9', outputBudgetBytes: 10_000, onOverflow: () => undefined });
  burst(stalled);
  assert.equal(stalled.closed, false);
  await turn(); // nothing was read: the backlog is still over the budget
  stalled.reply({ id: 1, ok: true, body: {} });
  assert.equal(stalled.closed, true);
  assert.deepEqual(idle.closes.map((c) => c.code), [CloseCode.OUTPUT_BUDGET]);
});

test('the NUL walk finds a NUL at any depth, in keys and values, without recursion', () => {
  let deep: unknown = ['\u0000'];
  for (let i = 0; i < 500_000; i++) deep = [deep];
  assert.equal(containsNul({ a: deep }), true);
  let clean: unknown = 'fine';
  for (let i = 0; i < 500_000; i++) clean = { k: clean };
  assert.equal(containsNul(clean), false);
  assert.equal(containsNul({ ['k\u0000']: 1 }), true);
  assert.equal(containsNul({ a: [1, null, true, { b: 'x' }] }), false);
});

test('unauthenticated sockets are capped on the node and per address, and released ones free a place', () => {
  const admission = new Admission(3, 2);
  assert.equal(admission.refusal('a'), undefined);
  admission.add('a');
  admission.add('a');
  assert.match(admission.refusal('a') ?? '', /this address/);
  assert.equal(admission.refusal('b'), undefined);
  admission.add('b');
  assert.match(admission.refusal('c') ?? '', /this server/);
  admission.release('a');
  assert.equal(admission.refusal('a'), undefined);
  assert.equal(admission.total, 2);
});

test('limits: defaults, overrides, environment variables, and bad values refused by name', () => {
  assert.deepEqual(resolveLimits(), { ...DEFAULT_LIMITS });
  assert.equal(resolveLimits({ maxSessionsPerUser: 3 }).maxSessionsPerUser, 3);
  assert.throws(() => resolveLimits({ loginTimeoutMs: 0 }), /loginTimeoutMs/);
  assert.throws(() => resolveLimits({ frameCeilingBytes: 1000 }), /frameCeilingBytes/);
  assert.deepEqual(limitsFromEnv({ CONFAB_MAX_SESSIONS_PER_USER: '4', CONFAB_MAX_OUTPUT_BYTES: '', CONFAB_MAX_LOGIN_WAIT_MS: '2500' }),
    { maxSessionsPerUser: 4, loginTimeoutMs: 2500 });
  assert.throws(() => limitsFromEnv({ CONFAB_MAX_USER_REQUEST_BURST: 'lots' }), /CONFAB_MAX_USER_REQUEST_BURST/);
});
