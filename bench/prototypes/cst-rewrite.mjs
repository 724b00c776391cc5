// PROTOTYPE, not the function: proves that working on yaml's CST (Parser tokens)
// instead of a composed Document is cheaper in time and peak memory, with the
// untouched bytes identical. Handles the block-style ResourceLists the bench
// generates (glob decisions only): rewrites image fields of pod specs, adds
// imagePullSecrets, appends one pull Secret per namespace and one result per
// rewritten field. Flow-style (JSON) input, fieldSpecs, probing and the other
// cases the real function handles are left out.
//
// Built by bench/prototypes/compare.mjs into one file with esbuild, like the
// function, and run with the ResourceList on stdin.
import { Parser, CST } from 'yaml';
import { parseReference, formatReference, repositoryName } from '../../src/reference/parse.ts';
import { compileGlobs } from '../../src/decide/glob.ts';
import { CONTAINER_LISTS, POD_SPEC_PATHS } from '../../src/find/workloads.ts';

const PROXY = 'proxy.replicated.com';
const LICENSE = process.env.LICENSE_ID ?? 'bench-license';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const text = Buffer.concat(chunks).toString('utf8');

const docs = [];
for (const tok of new Parser().parse(text)) {
  if (tok.type === 'document') docs.push(tok);
  else if (tok.type === 'error') fail(`YAML error at ${tok.offset}: ${tok.message}`);
}
if (docs.length !== 1) fail(`expected one YAML document, got ${docs.length}`);
const root = docs[0].value;
if (root?.type !== 'block-map') fail('prototype handles a block-style ResourceList only');

function fail(msg) {
  process.stderr.write(`cst-rewrite: ${msg}\n`);
  process.exit(1);
}

/** Key -> pair of a block or flow map token. */
function pairOf(map, key) {
  if (!map || (map.type !== 'block-map' && map.type !== 'flow-collection')) return undefined;
  for (const it of map.items) {
    if (it.key && scalar(it.key) === key) return it;
  }
  return undefined;
}
const get = (map, key) => pairOf(map, key)?.value;
function scalar(tok) {
  if (!tok) return undefined;
  if (tok.type === 'scalar' || tok.type === 'single-quoted-scalar' || tok.type === 'double-quoted-scalar' || tok.type === 'block-scalar') {
    return CST.resolveAsScalar(tok).value;
  }
  return undefined;
}
const getIn = (tok, path) => path.reduce((t, k) => get(t, k), tok);

const fc = get(root, 'functionConfig');
const appSlug = scalar(get(fc, 'appSlug'));
const images = get(fc, 'images');
const listOf = (seq) => (seq?.items ?? []).map((it) => scalar(it.value)).filter((v) => v !== undefined);
const isPrivate = compileGlobs(listOf(get(images, 'private')));
const isPublic = compileGlobs(listOf(get(images, 'public')));
const secretName = `${appSlug}-registry`;

const SPEC_PATHS = POD_SPEC_PATHS;
const LISTS = CONTAINER_LISTS;

const edits = []; // [offset, deleteLength, insertText]
const results = [];
const namespaces = new Set();
const decisions = new Map();
const publicSeen = [];

function decide(image) {
  let d = decisions.get(image);
  if (d) return d;
  const ref = parseReference(image);
  const name = repositoryName(ref);
  d = isPrivate(name)
    ? { private: true, to: `${PROXY}/proxy/${appSlug}/${formatReference(ref)}` }
    : isPublic(name)
      ? { private: false }
      : fail(`no glob decides ${image} (the prototype does not probe)`);
  decisions.set(image, d);
  return d;
}

function replaceScalar(tok, value) {
  // Keep the scalar's style: plain stays plain, quoted stays quoted.
  const text = tok.type === 'double-quoted-scalar' ? JSON.stringify(value) : tok.type === 'single-quoted-scalar' ? `'${value.replace(/'/g, "''")}'` : value;
  edits.push([tok.offset, tok.source.length, text]);
}

const itemsSeq = get(root, 'items');
for (const entry of itemsSeq?.items ?? []) {
  const item = entry.value;
  const kind = scalar(get(item, 'kind'));
  const path = SPEC_PATHS[kind];
  if (!path) continue;
  const podSpec = getIn(item, path);
  if (podSpec?.type !== 'block-map') continue;
  const meta = get(item, 'metadata');
  const name = scalar(get(meta, 'name'));
  const ns = scalar(get(meta, 'namespace')) ?? '';
  let touched = false;
  for (const list of LISTS) {
    const seq = get(podSpec, list);
    seq?.items?.forEach((c, i) => {
      const tok = get(c.value, 'image');
      const image = scalar(tok);
      if (image === undefined) return;
      const d = decide(image);
      if (!d.private) {
        if (!d.reported) {
          d.reported = true;
          publicSeen.push(image);
        }
        return;
      }
      replaceScalar(tok, d.to);
      touched = true;
      results.push({ image, to: d.to, apiVersion: scalar(get(item, 'apiVersion')), kind, name, ns, path: `${path.join('.')}.${list}[${i}].image` });
    });
  }
  if (touched) {
    namespaces.add(ns);
    if (!pairOf(podSpec, 'imagePullSecrets')) {
      const ind = ' '.repeat(podSpec.indent);
      edits.push([podSpec.offset, 0, `imagePullSecrets:\n${ind}- name: ${secretName}\n${ind}`]);
    }
  }
}

// Pull Secrets: appended after the last item (before the next top-level key).
const auth = Buffer.from(`${LICENSE}:${LICENSE}`).toString('base64');
const cfg = Buffer.from(JSON.stringify({ auths: { [PROXY]: { username: LICENSE, password: LICENSE, auth }, 'registry.replicated.com': { username: LICENSE, password: LICENSE, auth } } })).toString('base64');
const secrets = [...namespaces]
  .sort()
  .map((ns) => `- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: ${secretName}\n${ns ? `    namespace: ${ns}\n` : ''}  type: kubernetes.io/dockerconfigjson\n  data:\n    .dockerconfigjson: ${cfg}\n`)
  .join('');
const rootItems = root.items;
const itemsIdx = rootItems.findIndex((p) => scalar(p.key) === 'items');
const next = rootItems[itemsIdx + 1];
const secretAt = next ? lineStart(next.start?.[0]?.offset ?? next.key.offset) : text.length;
edits.push([secretAt, 0, secrets]);

function lineStart(off) {
  return text.lastIndexOf('\n', off - 1) + 1;
}

// Results: appended at the end of the root mapping.
const q = (s) => (/^[\w./:@-]+$/.test(s) && !/^[-:]/.test(s) ? s : JSON.stringify(s));
const out = [];
for (const r of results) {
  out.push(
    `- severity: info\n  message: ${JSON.stringify(`private image (matches images.private): ${r.image} -> ${r.to}`)}\n  resourceRef:\n    apiVersion: ${q(r.apiVersion)}\n    kind: ${r.kind}\n    name: ${q(r.name)}\n${r.ns ? `    namespace: ${q(r.ns)}\n` : ''}  field:\n    path: ${q(r.path)}\n    currentValue: ${q(r.image)}\n    proposedValue: ${q(r.to)}\n`,
  );
}
for (const image of publicSeen) out.push(`- severity: info\n  message: ${JSON.stringify(`${image} left as is: public (matches images.public)`)}\n`);
for (const ns of [...namespaces].sort()) {
  out.push(`- severity: info\n  message: pull Secret ${secretName} created for ${PROXY}, registry.replicated.com\n  resourceRef:\n    apiVersion: v1\n    kind: Secret\n    name: ${secretName}\n${ns ? `    namespace: ${ns}\n` : ''}`);
}
edits.push([text.length, 0, (text.endsWith('\n') ? '' : '\n') + 'results:\n' + out.join('')]);

// Splice: untouched bytes are copied as they are.
edits.sort((a, b) => a[0] - b[0]);
const parts = [];
let at = 0;
for (const [off, del, ins] of edits) {
  parts.push(text.slice(at, off), ins);
  at = off + del;
}
parts.push(text.slice(at));
process.stdout.write(parts.join(''));
