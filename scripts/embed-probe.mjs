// esbuild plugin that keeps the executable ONE file without giving up its fast start.
//
// src/main.ts loads the registry probe (undici: three quarters of the code) with `import('./probe/index.js')`,
// only when an image really needs probing. Code splitting would put it in a chunk file beside the executable,
// and a copy of the executable alone (a sidecar's COPY, a kustomize exec path, `ln -s`, a Helm post-renderer)
// then fails to start. Instead, that import resolves to a small module inside the bundle that carries the probe,
// bundled on its own as CommonJS, as a string, and compiles it with `vm.compileFunction` the first time it is
// imported. A run decided by globs or by the decision cache only scans the string and never compiles the probe.
// (A `data:` URL import was measured too: about 10 ms slower on first use, from parsing the long URL several times.)
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { BUNDLE_OPTIONS } from './esbuild-options.mjs';

/** Specifiers that may name the probe's entry (`./probe/index.js` from src/main.ts, or from elsewhere). */
const LAZY_SPECIFIER = /(^|\/)probe\/index(\.[jt]s)?$/;
const NAMESPACE = 'proxy-private-images-embedded-probe';

/**
 * @param {{ entry: string, buildOptions?: object }} options
 *   entry: the module the specifier names (src/probe/index.ts); buildOptions: esbuild settings the probe shares
 *   with the executable (minify, define, alias).
 */
export function embedLazyProbe({ entry, buildOptions = {} }) {
  const entryNoExt = entry.replace(/\.[jt]s$/, '');
  return {
    name: 'embed-lazy-probe',
    setup(pluginBuild) {
      let embedded = false;
      pluginBuild.onResolve({ filter: LAZY_SPECIFIER }, (args) => {
        if (args.kind !== 'dynamic-import' || resolve(args.resolveDir, args.path).replace(/\.[jt]s$/, '') !== entryNoExt) return undefined;
        embedded = true;
        return { path: entry, namespace: NAMESPACE };
      });
      // A refactor that drops the lazy import, or imports undici statically, would make every start compile the
      // probe: fail the build instead of shipping a slow start unnoticed.
      pluginBuild.onEnd((result) => {
        if (result.errors.length > 0) return;
        const problems = [];
        if (!embedded) problems.push(`nothing imports ${entry} with a dynamic import(), so the probe is not loaded lazily`);
        const eager = Object.keys(result.metafile?.inputs ?? {}).filter((i) => /node_modules\/undici\//.test(i));
        if (eager.length > 0) problems.push(`undici is in the startup code (${eager.length} modules, e.g. ${eager[0]}): some module imports the probe statically`);
        return { errors: problems.map((text) => ({ text })) };
      });
      pluginBuild.onLoad({ filter: /.*/, namespace: NAMESPACE }, async (args) => ({
        contents: await embeddedModule(args.path, buildOptions),
        loader: 'js',
        resolveDir: process.cwd(),
      }));
    },
  };
}

const builtin = (s) => s.startsWith('node:') || builtinModules.includes(s);

async function embeddedModule(entry, buildOptions) {
  const common = { ...BUNDLE_OPTIONS, ...buildOptions, entryPoints: [entry], write: false, metafile: true, outfile: 'probe.js' };
  // The ESM build only tells which names the module exports; the CommonJS build is what gets carried.
  const [esm, cjs] = await Promise.all([
    build({ ...common, minify: false }),
    build({ ...common, format: 'cjs', banner: {} }),
  ]);
  const names = Object.values(esm.metafile.outputs).flatMap((o) => o.exports);
  if (names.length === 0) throw new Error(`embedding the probe: ${entry} exports nothing`);
  // Everything must be inside: the carried code gets a require() that is only used for Node's built-ins.
  const imports = Object.values(cjs.metafile.outputs).flatMap((o) => o.imports);
  const foreign = imports.filter((i) => !builtin(i.path)).map((i) => `${i.path} (${i.kind})`);
  if (foreign.length > 0) throw new Error(`the embedded probe imports ${[...new Set(foreign)].join(', ')}: it must be self-contained`);
  const code = cjs.outputFiles.find((f) => f.path.endsWith('.js')).text;
  return [
    "import { createRequire } from 'node:module';",
    "import { compileFunction } from 'node:vm';",
    `const code = ${JSON.stringify(code)};`,
    'const module = { exports: {} };',
    "compileFunction(code, ['exports', 'require', 'module'], { filename: 'proxy-private-images/probe.js' })(module.exports, createRequire(import.meta.url), module);",
    ...names.map((n) => `export const ${n} = module.exports.${n};`),
    '',
  ].join('\n');
}
