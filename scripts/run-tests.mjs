#!/usr/bin/env node
// Finds every *.test.ts under test/ and packages/*/test/ and runs them with node's test
// runner through tsx. Node 20's `--test` does not expand globs itself.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const roots = [join(root, 'test'), ...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'test'))];
const only = process.argv.slice(2);

function walk(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

let files = roots.flatMap((dir) => walk(dir, [])).sort();
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
console.log(`running ${files.length} test files:\n  ${files.map((f) => relative(root, f)).join('\n  ')}`);
// In CI a skipped test is a failure: the suites skip (naming what is missing) when
// PostgreSQL, NATS or Chromium cannot be reached, which on a developer's machine is a
// convenience but in CI would pass a run that never tested those backends. The runner's
// TAP output is passed through line by line and every `# SKIP` directive (a skipped test
// or a skipped suite, which the closing "# skipped N" does not count) is counted.
const strict = Boolean(process.env.CI) && process.env.CONFAB_ALLOW_SKIPS !== '1';
const child = spawn(process.execPath, [
  '--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files,
], { stdio: ['inherit', 'pipe', 'inherit'], cwd: root });
let skipped = 0;
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const text = tail + chunk.toString();
  const lines = text.split('\n');
  tail = lines.pop() ?? '';
  for (const line of lines) {
    if (/^\s*ok \d+ .*# SKIP\b/.test(line)) skipped++;
  }
});
child.on('close', (code) => {
  if (/^\s*ok \d+ .*# SKIP\b/.test(tail)) skipped++;
  if (code === 0 && strict && skipped > 0) {
    console.error(`\n${skipped} test(s) skipped: in CI every backend must be reachable (PostgreSQL, NATS, Chromium); see the skip reasons above.`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
