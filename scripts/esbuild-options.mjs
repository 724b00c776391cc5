// The esbuild settings the function ships with, shared by scripts/bundle.mjs and the benchmarks that
// build variants of it (so a benchmark measures what users run, give or take the one setting it varies).
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  legalComments: 'none',
  // undici and other CommonJS dependencies call require(); give the ESM output one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module';const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
};
