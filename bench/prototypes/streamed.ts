// PROTOTYPE (kept only for the commit that measured it; see bench/README.md): the function's work on a block
// ResourceList, one item at a time, keeping nothing of an item's Document but the image scalars and the offsets an
// insertion needs. Validation is the function's: yaml's Parser and Composer on every item, the depth and alias
// check on its CST. Handles what the bench input holds (no aliases, no imagePullSecrets, no existing Secret, no
// fieldSpecs, globs only) and exits 3 on anything else, so it is never mistaken for the function.
import { readFileSync } from 'node:fs';
import { Composer, isMap, isScalar, isSeq, Parser, type Document, type Node, type Scalar, type YAMLMap } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { createPolicy } from '../../src/decide/policy.js';
import { NO_ALIASES } from '../../src/read/aliases.js';
import { checkTokens, PARSE_OPTIONS, resourceRefOf } from '../../src/read/input.js';
import { findImages } from '../../src/find/images.js';
import { parseReference, formatReference } from '../../src/reference/parse.js';
import { targetReference, needsPullSecret } from '../../src/rewrite/proxy-ref.js';
import { fieldResult, messages } from '../../src/plan/messages.js';
import { replacementText, blockText, keyText, scalarOf } from '../../src/render/text.js';
import { resultsText } from '../../src/render/results-text.js';
import { dockerConfigJson, pullSecretObject } from '../../src/secret/dockerconfig.js';
import { secretHosts } from '../../src/plan/secrets.js';

const bail = (why: string): never => {
  process.stderr.write(`prototype: ${why}\n`);
  process.exit(3);
};
const src = readFileSync(0).toString('utf8');

// the layout: `items:` at column 0, entries `- ` at column 0, the root's other keys after the list
const itemsAt = src.indexOf('\nitems:\n');
if (itemsAt < 0) bail('no items: line');
const listStart = itemsAt + 8;
const entries: number[] = [];
let listEnd = src.length;
for (let at = listStart; at < src.length; ) {
  const nl = src.indexOf('\n', at);
  const c = src.charCodeAt(at);
  if (c === 0x2d) entries.push(at);
  else if (c !== 0x20 && c !== 0x23 && c !== 0x0a) {
    listEnd = at;
    break;
  }
  at = nl < 0 ? src.length : nl + 1;
}

function parseAt(from: number, to: number, base: number): Document.Parsed {
  const parser = new Parser();
  parser.offset = from;
  const composer = new Composer(PARSE_OPTIONS);
  const docs: Document.Parsed[] = [];
  for (const token of parser.parse(src.slice(from, to))) {
    if (token.type === 'document' && checkTokens(token, src, base)) bail('an alias');
    for (const d of composer.next(token)) docs.push(d as Document.Parsed);
  }
  for (const d of composer.end()) docs.push(d as Document.Parsed);
  if (docs.length !== 1 || docs[0]!.errors.length > 0) bail('not one valid document');
  return docs[0]!;
}

interface Use {
  readonly node: Scalar;
  readonly image: string;
  readonly field: Parameters<typeof fieldResult>[0];
  /** Where `imagePullSecrets` goes in its pod spec: the first key's offset, its indentation, the list indent. */
  readonly podSpec: number;
}
const uses: Use[] = [];
const podSpecs = new Map<number, { at: number; indent: string; dash: string; ns: string }>();
const head = parseAt(0, listStart, 0);
for (let i = 0; i < entries.length; i++) {
  const doc = parseAt(entries[i]!, i + 1 < entries.length ? entries[i + 1]! : listEnd, 1);
  const item = (doc.contents as { items: Node[] }).items[0];
  if (!isMap(item)) bail('an item that is not a mapping');
  const object = { index: i, node: item as YAMLMap, ref: resourceRefOf(item as YAMLMap) };
  for (const f of findImages([object], [], NO_ALIASES)) {
    if (f.image === undefined || !isScalar(f.node) || !f.podSpec) bail('an odd image field');
    const spec = f.podSpec!.node;
    if (spec.items.some((p) => isScalar(p.key) && p.key.value === 'imagePullSecrets')) bail('imagePullSecrets already there');
    const first = spec.items[0]!.key as Node;
    const at = first.range![0];
    if (!podSpecs.has(at)) {
      const column = at - (src.lastIndexOf('\n', at - 1) + 1);
      const seq = spec.items.find((p) => isSeq(p.value) && !(p.value as { flow?: boolean }).flow);
      const dashCol = seq ? (seq.value as Node).range![0] - (src.lastIndexOf('\n', (seq.value as Node).range![0] - 1) + 1) : column;
      podSpecs.set(at, { at, indent: ' '.repeat(column), dash: ' '.repeat(Math.max(column, dashCol)), ns: object.ref.namespace ?? '' });
    }
    // a field for results without the object's node, so nothing keeps the item's Document alive
    uses.push({ node: f.node as Scalar, image: f.image!, field: { object: { ref: object.ref }, path: f.path } as never, podSpec: at });
  }
  // the item's Document, nodes and CST are garbage from here on: only the image scalars stay
}
const tail = parseAt(listEnd, src.length, 0);
const fcNode = (tail.contents as YAMLMap).get('functionConfig', true) as unknown as YAMLMap;
const config = loadConfig(fcNode.toJS(tail) as Record<string, unknown>);
void head;

// decide, rewrite, results: as the function does for glob-only decisions
const policy = createPolicy(config);
const results: object[] = [];
const splices: { start: number; end: number; text: string }[] = [];
const needing = new Set<number>();
const namespaces = new Set<string>();
const reported = new Set<string>();
const decided = new Map<string, ReturnType<typeof policy.decide>>();
for (const u of uses) {
  const ref = parseReference(u.image);
  const key = formatReference(ref);
  let d = decided.get(key);
  if (!decided.has(key)) decided.set(key, (d = policy.decide(ref)));
  if (!d) bail(`${u.image} needs a probe`);
  const target = targetReference(ref, d!, config);
  if (target === undefined || target === u.image) {
    if (!reported.has(key)) {
      reported.add(key);
      results.push(fieldResult(u.field, 'info', messages.keptAsIs(u.image, d!)));
    }
  } else {
    splices.push({ start: u.node.range![0], end: u.node.range![1], text: replacementText(u.node, target, src, false) });
    results.push({ ...fieldResult(u.field, 'info', messages.rewritten(d!, u.image, target)), field: { path: u.field.path, currentValue: u.image, proposedValue: target } });
  }
  if (needsPullSecret(d!)) {
    needing.add(u.podSpec);
    namespaces.add(podSpecs.get(u.podSpec)!.ns);
  }
}
for (const at of needing) {
  const p = podSpecs.get(at)!;
  splices.push({ start: at, end: at, text: `${keyText('imagePullSecrets', false)}:\n${p.dash}- name: ${scalarOf(config.pullSecretName)}\n${p.indent}` });
}
const hosts = secretHosts(config);
const payload = dockerConfigJson(hosts, process.env['LICENSE_ID'] ?? bail('no LICENSE_ID'));
const secrets = [...namespaces].sort().map((ns) => {
  results.push({ severity: 'info', message: messages.secretCreated(config.pullSecretName, hosts), resourceRef: { apiVersion: 'v1', kind: 'Secret', name: config.pullSecretName, ...(ns && { namespace: ns }) } });
  return blockText(pullSecretObject(config.pullSecretName, ns, payload), '');
});
splices.push({ start: listEnd, end: listEnd, text: secrets.join('') });
splices.push({ start: src.length, end: src.length, text: resultsText(results) });
splices.sort((a, b) => a.start - b.start || a.end - b.end);
const parts: string[] = [];
let at = 0;
for (const s of splices) {
  parts.push(src.slice(at, s.start), s.text);
  at = s.end;
}
parts.push(src.slice(at));
process.stdout.write(parts.join(''), () => process.exit(0));
