// The floor for throughput: the least any YAML-preserving KRM function in Node can do.
// Read the ResourceList from stdin, yaml parseDocument, toString, write stdout.
// bench/run.mjs bundles this with esbuild (like the function) so module loading is
// not counted against the floor.
import { parseDocument } from 'yaml';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const text = Buffer.concat(chunks).toString('utf8');
const doc = parseDocument(text);
if (doc.errors.length > 0) {
  process.stderr.write(`floor: ${doc.errors[0].message}\n`);
  process.exit(1);
}
process.stdout.write(doc.toString());
