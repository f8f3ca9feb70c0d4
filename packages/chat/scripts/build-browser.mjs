#!/usr/bin/env node
/**
 * Bundles `@confab/chat` with the SDK core and @confab/protocol into one browser ES
 * module, packages/chat/dist/browser/confab-chat.js (+ .map), exported as
 * `@confab/chat/browser` — what a page without a bundler imports, and the proof that the
 * Web SDK face stays browser-safe. Same rules as packages/sdk/scripts/build-browser.mjs:
 * sources rather than dist, `ws` replaced by a stub (browsers have a WebSocket), and any
 * Node built-in fails the build. Run by the root `npm run build` after tsc.
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const chatDir = fileURLToPath(new URL('..', import.meta.url));
const packages = join(chatDir, '..');
const sources = {
  '@confab/protocol': join(packages, 'protocol', 'src', 'index.ts'),
  '@confab/sdk': join(packages, 'sdk', 'src', 'index.ts'),
  '@confab/sdk/internal': join(packages, 'sdk', 'src', 'internal.ts'),
};
const outfile = join(chatDir, 'dist', 'browser', 'confab-chat.js');

const browserOnly = {
  name: 'confab-chat-browser-only',
  setup(b) {
    b.onResolve({ filter: /^@confab\/(protocol|sdk|sdk\/internal)$/ }, (args) => ({ path: sources[args.path] }));
    b.onResolve({ filter: /^ws$/ }, () => ({ path: 'ws', namespace: 'confab-ws-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'confab-ws-stub' }, () => ({
      contents: "export {};\nthrow new Error('ws is not bundled for browsers: pass a WebSocket constructor, or use a browser with globalThis.WebSocket');\n",
      loader: 'js',
    }));
    b.onResolve({ filter: /^node:/ }, (args) => ({
      errors: [{ text: `Node built-in "${args.path}" imported by ${relative(chatDir, args.importer)}: the browser bundle must not use Node built-ins` }],
    }));
  },
};

const result = await build({
  entryPoints: [join(chatDir, 'src', 'index.ts')],
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
const fromNodeModules = Object.keys(result.metafile.inputs).filter((p) => p.includes('node_modules'));
if (fromNodeModules.length) problems.push(`bundles files from node_modules: ${fromNodeModules.join(', ')}`);
if (problems.length) {
  console.error(`build-browser: ${relative(process.cwd(), outfile)} ${problems.join('; ')}`);
  process.exit(1);
}
const kb = (Buffer.byteLength(code) / 1024).toFixed(1);
console.log(`build-browser: ${relative(process.cwd(), outfile)} (${kb} KiB, ${Object.keys(result.metafile.inputs).length} modules)`);
