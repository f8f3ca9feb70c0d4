/**
 * The published packages as a user gets them: each is packed with `npm pack` (from the
 * build `npm test` just made) and the tarball is checked by publint (package.json and
 * files agree) and by Are the Types Wrong (`attw`: the types resolve for ESM consumers
 * under node16 and bundler resolution; the packages are ES modules only). Each tarball
 * holds its README and MIT LICENSE and names its types at the top level; the SDK's Node
 * dependencies are optional peers that its browser entry never imports.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'node_modules', '.bin');
const PACKAGES = ['protocol', 'server', 'sdk'] as const;
const out = mkdtempSync(join(tmpdir(), 'confab-packs-'));
const tarballs = new Map<string, string>();

before(() => {
  for (const name of PACKAGES) {
    const json = execFileSync('npm', ['pack', '-w', `@confab/${name}`, '--pack-destination', out, '--json'], { cwd: ROOT, encoding: 'utf8' });
    const [{ filename }] = JSON.parse(json) as [{ filename: string }];
    tarballs.set(name, join(out, filename));
  }
});
after(() => rmSync(out, { recursive: true, force: true }));

function run(bin: string, args: string[]) {
  const r = spawnSync(join(BIN, bin), args, { cwd: out, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

const files = (name: string) => execFileSync('tar', ['-tzf', tarballs.get(name)!], { encoding: 'utf8' }).split('\n').filter(Boolean);
const manifest = (name: string) => JSON.parse(execFileSync('tar', ['-xzOf', tarballs.get(name)!, 'package/package.json'], { encoding: 'utf8' })) as Record<string, unknown>;

for (const name of PACKAGES) {
  describe(`@confab/${name} as packed`, () => {
    test('publint finds nothing (warnings count as errors)', () => {
      const r = run('publint', ['run', tarballs.get(name)!, '--strict']);
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /All good!/);
    });

    test('attw: the types resolve for ESM consumers (node16, bundler)', () => {
      const r = run('attw', [tarballs.get(name)!, '--profile', 'esm-only', '--format', 'ascii', '--no-emoji']);
      assert.equal(r.code, 0, r.output);
    });

    test('README, LICENSE (MIT) and top-level types', () => {
      const list = files(name);
      assert.ok(list.includes('package/README.md'), 'README.md');
      assert.ok(list.includes('package/LICENSE'), 'LICENSE');
      const license = execFileSync('tar', ['-xzOf', tarballs.get(name)!, 'package/LICENSE'], { encoding: 'utf8' });
      assert.match(license, /^MIT License/);
      const pkg = manifest(name);
      assert.equal(pkg.license, 'MIT');
      assert.equal(typeof pkg.types, 'string');
      assert.ok(list.includes(`package/${String(pkg.types).replace(/^\.\//, '')}`), `${String(pkg.types)} is in the tarball`);
    });
  });
}

describe('@confab/sdk dependencies', () => {
  test('better-sqlite3 and ws are optional peer dependencies, not dependencies', () => {
    const pkg = manifest('sdk') as {
      dependencies?: Record<string, string>; peerDependencies?: Record<string, string>;
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    };
    for (const dep of ['better-sqlite3', 'ws']) {
      assert.equal(pkg.dependencies?.[dep], undefined, `${dep} is not a dependency`);
      assert.ok(pkg.peerDependencies?.[dep], `${dep} is a peer dependency`);
      assert.equal(pkg.peerDependenciesMeta?.[dep]?.optional, true, `${dep} is optional`);
    }
  });

  test('the browser entry never imports them: no static import in the main entry\'s graph, none in the bundle', () => {
    const dist = join(ROOT, 'packages', 'sdk', 'dist');
    const seen = new Set<string>();
    const bare = new Set<string>();
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(file, 'utf8');
      // Static imports and re-exports only: `import('ws')` (lazy, and only without a global WebSocket) is allowed.
      for (const m of code.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith('.')) walk(resolve(dirname(file), spec));
        else bare.add(spec);
      }
    };
    walk(join(dist, 'index.js'));
    assert.ok(seen.size > 10, `walked ${seen.size} modules`);
    assert.deepEqual([...bare].filter((s) => s === 'ws' || s === 'better-sqlite3' || s.startsWith('node:')), []);
    const bundle = readFileSync(join(dist, 'browser', 'confab-sdk.js'), 'utf8');
    assert.doesNotMatch(bundle, /better-sqlite3|from\s*["']ws["']|import\(\s*["']ws["']\s*\)/);
  });
});
