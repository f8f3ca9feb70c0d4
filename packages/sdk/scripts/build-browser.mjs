#!/usr/bin/env node
/**
 * Bundles the SDK's main entry, with @confab/protocol, into one browser ES module:
 * packages/sdk/dist/browser/confab-sdk.js (+ .map). Run by the root `npm run build` after
 * tsc; on its own: `node packages/sdk/scripts/build-browser.mjs`.
 *
 * - Sources, not dist: the SDK and protocol are bundled from their TypeScript sources, so
 *   the bundle does not depend on tsc having run first.
 * - `ws`: the SDK imports it lazily and only when there is no `globalThis.WebSocket`,
 *   which never happens in a browser. It is replaced by a stub module that rejects with a
 *   clear message, so the bundle holds no bare `ws` specifier (an app's bundler would try
 *   to resolve it) and none of ws's Node code.
 * - Any `node:` or other Node built-in import fails the build (platform: browser), and the
 *   output is checked afterwards for `require(` and `node:`.
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const sdkDir = fileURLToPath(new URL('..', import.meta.url));
const protocolEntry = join(sdkDir, '..', 'protocol', 'src', 'index.ts');
const outfile = join(sdkDir, 'dist', 'browser', 'confab-sdk.js');

/** packages/sdk/test/indexeddb.test.ts bundles its browser test entry with the same rules. */
const browserOnly = {
  name: 'confab-browser-only',
  setup(b) {
    b.onResolve({ filter: /^@confab\/protocol$/ }, () => ({ path: protocolEntry }));
    b.onResolve({ filter: /^ws$/ }, () => ({ path: 'ws', namespace: 'confab-ws-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'confab-ws-stub' }, () => ({
      // An ES module (the `export {}`), so esbuild adds no CommonJS wrapper for it.
      contents: "export {};\nthrow new Error('ws is not bundled for browsers: pass a WebSocket constructor in the SDK config, or use a browser with globalThis.WebSocket');\n",
      loader: 'js',
    }));
    b.onResolve({ filter: /^node:/ }, (args) => ({
      errors: [{ text: `Node built-in "${args.path}" imported by ${relative(sdkDir, args.importer)}: the browser bundle must not use Node built-ins` }],
    }));
  },
};

const result = await build({
  entryPoints: [join(sdkDir, 'src', 'index.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  plugins: [browserOnly],
});

const code = readFileSync(outfile, 'utf8');
const problems = [];
if (/require\s*\(/.test(code)) problems.push('contains require( (a CommonJS module or wrapper was bundled)');
if (/node:/.test(code)) problems.push('contains a node: reference');
if (/(?:from|import)\s*\(?\s*["']ws["']/.test(code)) problems.push('still imports ws');
const fromNodeModules = Object.keys(result.metafile.inputs).filter((p) => p.includes('node_modules'));
if (fromNodeModules.length) problems.push(`bundles files from node_modules: ${fromNodeModules.join(', ')}`);
if (problems.length) {
  console.error(`build-browser: ${relative(process.cwd(), outfile)} ${problems.join('; ')}`);
  process.exit(1);
}
const kb = (Buffer.byteLength(code) / 1024).toFixed(1);
console.log(`build-browser: ${relative(process.cwd(), outfile)} (${kb} KiB, ${Object.keys(result.metafile.inputs).length} modules)`);
