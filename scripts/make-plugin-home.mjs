#!/usr/bin/env node
// Writes a kustomize plugin home for the legacy exec plugin form of proxy-private-images:
//   DIR/fn.proxy-private-images.dev/v1alpha1/proxyprivateimages/ProxyPrivateImages
// an executable that runs the bundle. Then:
//   KUSTOMIZE_PLUGIN_HOME=DIR kubectl kustomize --enable-alpha-plugins OVERLAY
// Usage: node scripts/make-plugin-home.mjs DIR [BUNDLE]   (BUNDLE defaults to this package's dist bundle)
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [dirArg, bundleArg] = process.argv.slice(2);
if (!dirArg || dirArg === '--help') {
  process.stderr.write('usage: make-plugin-home.mjs DIR [BUNDLE]\n');
  process.exit(dirArg ? 0 : 2);
}
const bundle = resolve(bundleArg ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'proxy-private-images.js'));
if (!existsSync(bundle)) {
  process.stderr.write(`${bundle} does not exist (run npm run build first)\n`);
  process.exit(1);
}
const pluginDir = join(resolve(dirArg), 'fn.proxy-private-images.dev', 'v1alpha1', 'proxyprivateimages');
mkdirSync(pluginDir, { recursive: true });
const exe = join(pluginDir, 'ProxyPrivateImages');
const quoted = `'${bundle.replaceAll("'", "'\\''")}'`;
writeFileSync(
  exe,
  `#!/bin/sh\n# kustomize legacy exec plugin: $1 is the config file, stdin the resources (a YAML stream)\nexec node ${quoted} "$@"\n`,
);
chmodSync(exe, 0o755);
process.stdout.write(`${exe}\n`);
