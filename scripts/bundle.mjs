// Bundles the function for shipping: dist/proxy-private-images.js is the executable (shebang, exec bit),
// used as the exec form for kpt and kustomize and as the container's entry point. The registry probe
// (undici, three quarters of the code) is split into dist/chunks/ and loaded only when an image
// really needs probing, so a run decided by globs does not pay to compile it on every start.
// Ship the dist/ folder whole.
import { build } from 'esbuild';
import { BUNDLE_OPTIONS } from './esbuild-options.mjs';
import fs from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(fs.readFileSync(`${root}package.json`, 'utf8'));
const outdir = `${root}dist`;
fs.rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { 'proxy-private-images': `${root}src/main.ts` },
  outdir,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  ...BUNDLE_OPTIONS,
  splitting: true,
  minify: true,
  define: { __VERSION__: JSON.stringify(pkg.version) },
  // yaml's Node build reads process.env.LOG_TOKENS for every token it parses (a C++ property lookup each
  // time); its ESM build for other platforms is the same code without those reads.
  alias: { yaml: `${root}node_modules/yaml/browser/index.js` },
});
const main = `${outdir}/proxy-private-images.js`;
fs.writeFileSync(main, `#!/usr/bin/env node\n${fs.readFileSync(main, 'utf8')}`);
fs.chmodSync(main, 0o755);
