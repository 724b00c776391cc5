// The fair floor for throughput: the least any YAML-preserving KRM function in Node can do, done the way the
// function does it. stdin is read at once (readFileSync(0), as src/main.ts does), yaml's parseDocument composes
// it, toString writes it back, stdout gets it. bench/run.mjs bundles this exactly as scripts/bundle.mjs bundles the
// function (BUNDLE_OPTIONS, minified, yaml's ESM build), so neither side pays for module loading the other does not.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';

const text = readFileSync(0).toString('utf8');
const doc = parseDocument(text);
if (doc.errors.length > 0) {
  process.stderr.write(`floor: ${doc.errors[0].message}\n`);
  process.exit(1);
}
process.stdout.write(doc.toString(), () => process.exit(0));
