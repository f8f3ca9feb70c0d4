/**
 * The `confab` command as an operator runs it: the built CLI in a child process, a temp
 * data folder. Configuration errors name the flag, variable or file key and exit with 2;
 * a first start on a busy port creates nothing, and the start that then succeeds prints
 * the app's secret key, which `app show --secret` prints again at any time; SIGTERM
 * drains and exits 0.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../packages/server/dist/cli.js', import.meta.url));
const GUARD_MS = 30_000;
const dir = mkdtempSync(join(tmpdir(), 'confab-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The environment without the operator's own CONFAB_ settings. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CONFAB_')) env[k] = v;
  return { ...env, ...extra };
}

function confab(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, env: cleanEnv(env), encoding: 'utf8', timeout: GUARD_MS });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('configuration errors name the setting and exit with 2', () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ['a port that is not a number', ['start', '--port', 'abc'], {}, /^confab: --port abc: must be a whole number from 0 to 65535$/m],
    ['a port out of range', ['start', '--port', '70000'], {}, /--port 70000: must be at most 65535/],
    ['an unknown log level', ['start'], { CONFAB_LOG_LEVEL: 'loud' }, /CONFAB_LOG_LEVEL=loud: must be one of trace, debug, info/],
    ['a limit of zero', ['start'], { CONFAB_MAX_IN_FLIGHT: '0' }, /CONFAB_MAX_IN_FLIGHT=0: must be a positive number/],
    ['a malformed database URL', ['start'], { CONFAB_DATABASE_URL: 'mysql://x' }, /CONFAB_DATABASE_URL=mysql:\/\/x: must be a postgres:\/\/ URL/],
    ['an unknown flag', ['start', '--prot', '1'], {}, /Unknown option '--prot'/],
    ['a missing config file', ['start', '--config', 'missing.json'], {}, /--config missing.json: cannot read it \(ENOENT\)/],
  ];
  for (const [what, args, env, message] of cases) {
    test(what, () => {
      const run = confab(args, env);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, /at .*\.js:\d+/, 'no stack trace');
    });
  }

  test('a config file: a misspelt key and a bad value are named with the file', () => {
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ prot: 8080 }));
    const typo = confab(['config', 'print', '--config', 'typo.json']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /--config typo.json: unknown setting "prot"/);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ limits: { maxInFlight: -1 } }));
    const bad = confab(['config', 'print'], { CONFAB_CONFIG: 'bad.json' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"limits.maxInFlight" in bad.json \(-1\): must be a positive number/);
  });
});

test('config print: flags over environment over file over defaults, secrets masked', () => {
  writeFileSync(join(dir, 'conf.json'), JSON.stringify({ port: 9000, host: '0.0.0.0', logLevel: 'warn', adminToken: 'file-token', limits: { maxInFlight: 8 } }));
  const run = confab(['config', 'print', '--config', 'conf.json', '--port', '9100'], {
    CONFAB_PORT: '9050', CONFAB_HOST: '10.0.0.1', CONFAB_DATABASE_URL: 'postgres://confab:hunter2@db:5432/confab', CONFAB_NATS_URL: 'nats://u:natspw@n1:4222',
  });
  assert.equal(run.code, 0, run.stderr);
  const printed = JSON.parse(run.stdout) as Record<string, unknown> & { limits: Record<string, number> };
  assert.equal(printed.port, 9100, 'the flag wins');
  assert.equal(printed.host, '10.0.0.1', 'the environment beats the file');
  assert.equal(printed.logLevel, 'warn', 'the file beats the default');
  assert.equal(printed.dataDir, '.confab-data', 'the default');
  assert.equal(printed.limits.maxInFlight, 8);
  assert.equal(printed.limits.maxSessionsPerUser, 10);
  assert.equal(printed.adminToken, '***');
  assert.equal(printed.databaseUrl, 'postgres://confab:***@db:5432/confab');
  assert.equal(printed.natsUrl, 'nats://u:***@n1:4222');
  assert.doesNotMatch(run.stdout, /hunter2|natspw|file-token/);
});

/** A running `confab start`: its output so far, and its exit. */
function startNode(args: string[]) {
  const child = spawn(process.execPath, [CLI, 'start', ...args], { cwd: dir, env: cleanEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child, exited,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
      const deadline = Date.now() + GUARD_MS;
      for (;;) {
        const match = stdout.match(pattern);
        if (match) return match;
        if (Date.now() > deadline || child.exitCode !== null) assert.fail(`no ${pattern} in the output:\n${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

describe('the first app\'s secret is never lost', () => {
  let blocker: Server;
  after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  test('a start on a busy port creates no app; the next start prints the secret; app show prints it again', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as { port: number }).port;
    const data = join(dir, 'first');

    const failed = startNode(['--port', String(busy), '--data', data]);
    assert.equal(await failed.exited, 1);
    assert.match(failed.stderr, new RegExp(`port ${busy} on 127.0.0.1 is already in use \\(port from --port`));
    assert.doesNotMatch(failed.stdout, /secret key/);
    assert.equal(confab(['app', 'list', '--data', data]).stdout, '', 'no app was created');

    const node = startNode(['--port', '0', '--data', data]);
    const [, id, secret] = await node.waitFor(/SDKAppID:\s+(\d+)\n\s+secret key: ([0-9a-f]{64})/);
    await node.waitFor(/app show \d+ --secret/);
    // Readiness on the node the CLI started.
    const [, url] = await node.waitFor(/listening on (http:\/\/\S+)/);
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200);
    node.child.kill('SIGTERM');
    assert.equal(await node.exited, 0, `a drain with no clients is clean:\n${node.stderr}`);
    // Standard output is a pipe here, not a terminal: the log is JSON lines.
    assert.match(node.stdout, /^\{"level":30,.*"msg":"drained"\}$/m);

    const shown = confab(['app', 'show', id!, '--secret', '--data', data]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).secretKey, secret);
    assert.equal(JSON.parse(confab(['app', 'show', id!, '--data', data]).stdout).secretKey, undefined, 'only with --secret');

    // A second start creates nothing more and prints no key; its log is for a person.
    const again = startNode(['--port', '0', '--data', data, '--log-format', 'pretty']);
    await again.waitFor(new RegExp(`Apps: ${id} \\(default\\)`));
    assert.doesNotMatch(again.stdout, /secret key:/);
    again.child.kill('SIGTERM');
    assert.equal(await again.exited, 0);
    assert.match(again.stdout, /INFO.*drained/);
    assert.doesNotMatch(again.stdout, /^\{"level"/m);

    const rotated = confab(['app', 'rotate-secret', id!, '--data', data]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const newSecret = JSON.parse(rotated.stdout).secretKey as string;
    assert.match(newSecret, /^[0-9a-f]{64}$/);
    assert.notEqual(newSecret, secret);
    assert.equal(JSON.parse(confab(['app', 'show', id!, '--secret', '--data', data]).stdout).secretKey, newSecret);
    const missing = confab(['app', 'show', '1400000000', '--data', data]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no app 1400000000/);
  });
});
