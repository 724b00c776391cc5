// Bundles the function for shipping: dist/proxy-private-images.js is the executable (shebang, exec bit) and the
// whole function in ONE file: copied alone to any path, or linked, it runs as the kpt and kustomize exec form, the
// legacy kustomize plugin, a Helm post-renderer, an Argo CD plugin's command and the container's entry point.
// The registry probe (undici, three quarters of the code) is carried inside it and compiled only when an image
// really needs probing (scripts/embed-probe.mjs), so a run decided by globs does not pay for it on every start.
import { build } from 'esbuild';
import { BUNDLE_OPTIONS } from './esbuild-options.mjs';
import { embedLazyProbe } from './embed-probe.mjs';
import fs from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(fs.readFileSync(`${root}package.json`, 'utf8'));
const outdir = `${root}dist`;
const shared = {
  minify: true,
  define: { __VERSION__: JSON.stringify(pkg.version) },
  // yaml's Node build reads process.env.LOG_TOKENS for every token it parses (a C++ property lookup each
  // time); its ESM build for other platforms is the same code without those reads.
  alias: { yaml: `${root}node_modules/yaml/browser/index.js` },
};
fs.rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { 'proxy-private-images': `${root}src/main.ts` },
  outdir,
  entryNames: '[name]',
  ...BUNDLE_OPTIONS,
  ...shared,
  splitting: false,
  metafile: true,
  plugins: [embedLazyProbe({ entry: `${root}src/probe/index.ts`, buildOptions: shared })],
});
const written = Object.keys(result.metafile.outputs);
if (written.length !== 1) throw new Error(`the bundle must be one file, esbuild wrote: ${written.join(', ')}`);
const main = `${outdir}/proxy-private-images.js`;
fs.writeFileSync(main, `#!/usr/bin/env node\n${fs.readFileSync(main, 'utf8')}`);
fs.chmodSync(main, 0o755);
