/**
 * Property tests across every input form, through the command line in-process (`runCli`), with a glob-only config
 * (a prober that fails the test if it is ever asked):
 *
 *   ResourceList as block YAML with LF and with CRLF, as compact and as pretty JSON, as flow-style YAML; a plain
 *   multi-document stream (`---`, `# Source:` comments) with --stream and recognised by itself; and kustomize's
 *   legacy exec plugin (KUSTOMIZE_PLUGIN_CONFIG_ROOT, the config file as the only argument).
 *
 * Generated inputs hold aliases and anchors (an image shared by two containers, an image taken from a ConfigMap, a
 * containers list shared by two workloads), merge keys (`<<`), block scalars (`|-`, `>-`), quoted scalars, numbers
 * no float can hold (9223372036854775807, -0, 1e400), kpt annotations and comments. For each:
 *
 * (a) every byte outside an edited span is unchanged: the output is walked against the input, and the only
 *     differences allowed are an image value (in its own style), an `imagePullSecrets` insertion, an appended pull
 *     Secret and the `results`; each is parsed and checked, and counted against what is expected;
 * (b) parsing the output equals applying the plan to the parsed input, computed here from the input alone (the
 *     glob decision, the proxy form, imagePullSecrets per pod spec, one Secret per namespace);
 * (c) a second run changes nothing (streams byte for byte; ResourceLists apart from their results).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Document, isAlias, isMap, isScalar, isSeq, Pair, parse, parseAllDocuments, parseDocument, Scalar, visit, YAMLMap, YAMLSeq, type Node } from 'yaml';
import { runCli } from '../../src/cli/main.js';

const LICENSE = 'prop-license-5c2e9a';
const APP = 'app';
const SECRET = 'app-registry';
const PROXY = 'proxy.replicated.com';
const HEX = 'a3f1c2d4e5b6978800112233445566778899aabbccddeeff0011223344556677';
const PRIVATE_GLOBS = ['quay.io/**', 'ghcr.io/**'];
const PUBLIC_GLOBS = ['docker.io/**', 'registry.k8s.io/**'];

type Obj = Record<string, any>;

// ------------------------------------------------------------------ decisions, computed here from the image alone

type Kind = 'private' | 'public' | 'vendor' | 'proxied' | 'anonymous';
const IMAGES: readonly [string, Kind][] = [
  ['quay.io/org/api:1', 'private'],
  ['quay.io/org/api:2', 'private'],
  [`ghcr.io/org/worker@sha256:${HEX}`, 'private'],
  [`ghcr.io/org/worker:2@sha256:${HEX}`, 'private'],
  ['docker.io/library/redis:7', 'public'],
  ['nginx:1.25', 'public'],
  ['registry.k8s.io/pause:3.10', 'public'],
  ['registry.replicated.com/app/vendor:1', 'vendor'],
  [`${PROXY}/proxy/app/quay.io/org/api:1`, 'proxied'],
  [`${PROXY}/anonymous/docker.io/library/nginx:1`, 'anonymous'],
];
const KIND_OF = new Map(IMAGES);

function decide(image: string): Kind {
  const k = KIND_OF.get(image);
  if (k) return k;
  if (image.startsWith(`${PROXY}/proxy/${APP}/`)) return 'proxied';
  throw new Error(`the generator made an image the test cannot decide: ${image}`);
}
const proxied = (image: string): string => `${PROXY}/proxy/${APP}/${image}`;
const needsSecret = (k: Kind): boolean => k === 'private' || k === 'vendor' || k === 'proxied';

const WORKLOADS: readonly [string, string, readonly string[]][] = [
  ['v1', 'Pod', ['spec']],
  ['apps/v1', 'Deployment', ['spec', 'template', 'spec']],
  ['apps/v1', 'StatefulSet', ['spec', 'template', 'spec']],
  ['batch/v1', 'Job', ['spec', 'template', 'spec']],
  ['batch/v1', 'CronJob', ['spec', 'jobTemplate', 'spec', 'template', 'spec']],
];
const LISTS = ['initContainers', 'containers', 'ephemeralContainers'];

function podSpecPathOf(o: Obj): readonly string[] | undefined {
  return WORKLOADS.find(([a, k]) => a === o['apiVersion'] && k === o['kind'])?.[2];
}

// ------------------------------------------------------------------ the generated model

type Style = 'plain' | 'single' | 'double' | 'literal' | 'folded';
interface ContainerModel {
  readonly image: string;
  readonly style: Style;
  readonly comment: boolean;
}
type Feature = 'none' | 'sharedImage' | 'fromConfigMap' | 'sharedList' | 'merge';
interface WorkloadModel {
  readonly w: (typeof WORKLOADS)[number];
  readonly ns: string | undefined;
  readonly containers: readonly ContainerModel[];
  readonly init: readonly ContainerModel[];
  readonly pullSecrets: 'absent' | 'other' | 'flowEmpty' | 'present';
  readonly feature: Feature;
  readonly kpt: boolean;
  readonly numbers: boolean;
}
interface Model {
  readonly workloads: readonly WorkloadModel[];
  readonly configMap: boolean;
  /** Block lists written compact (`- ` under the key) rather than indented. */
  readonly compact: boolean;
  /** A pull Secret already in namespace `a`: out of date (updated in place, its other keys kept) or up to date. */
  readonly existingSecret: 'none' | 'stale' | 'upToDate';
}

const container = fc.record({
  image: fc.constantFrom(...IMAGES.map(([i]) => i)),
  style: fc.constantFrom<Style>('plain', 'plain', 'single', 'double', 'literal', 'folded'),
  comment: fc.boolean(),
});
const model = fc.record({
  workloads: fc.array(
    fc.record({
      w: fc.constantFrom(...WORKLOADS),
      ns: fc.constantFrom(undefined, 'a', 'b'),
      containers: fc.array(container, { minLength: 1, maxLength: 3 }),
      init: fc.array(container, { maxLength: 2 }),
      pullSecrets: fc.constantFrom('absent', 'absent', 'other', 'flowEmpty', 'present'),
      feature: fc.constantFrom<Feature>('none', 'none', 'sharedImage', 'fromConfigMap', 'sharedList', 'merge'),
      kpt: fc.boolean(),
      numbers: fc.boolean(),
    }),
    { minLength: 1, maxLength: 5 },
  ),
  configMap: fc.boolean(),
  compact: fc.boolean(),
  existingSecret: fc.constantFrom<Model['existingSecret']>('none', 'none', 'stale', 'upToDate'),
});

// ------------------------------------------------------------------ the model as a yaml Document (anchors, styles)

/** Raw number texts: written as placeholders, swapped in after stringifying. */
const RAW = { '__RAW_BIG__': '9223372036854775807', '__RAW_NEGZERO__': '-0', '__RAW_HUGE__': '1e400' } as const;
const unraw = (text: string, quoted: boolean): string => {
  let out = text;
  for (const [k, v] of Object.entries(RAW)) out = out.split(quoted ? `"${k}"` : k).join(v);
  return out;
};

function scalarStyle(s: Scalar, style: Style, flow: boolean): void {
  const type = { plain: Scalar.PLAIN, single: Scalar.QUOTE_SINGLE, double: Scalar.QUOTE_DOUBLE, literal: Scalar.BLOCK_LITERAL, folded: Scalar.BLOCK_FOLDED }[style];
  // block scalars cannot stand in a flow collection
  s.type = (flow && (style === 'literal' || style === 'folded') ? Scalar.QUOTE_DOUBLE : type) as Scalar['type'];
}

/** The objects of the input as yaml nodes of one Document; `flow` writes every collection in flow style. */
function modelDocument(m: Model, flow: boolean): { doc: Document; objects: Node[] } {
  const doc = new Document(undefined, { merge: true });
  const objects: Node[] = [];
  let n = 0;
  let sharedList: Node | undefined;
  const containerNode = (c: ContainerModel, i: number): YAMLMap => {
    const map = doc.createNode({ name: `c${i}`, image: c.image, ports: [{ containerPort: 80 + i }] }) as YAMLMap;
    const image = map.get('image', true) as Scalar;
    scalarStyle(image, c.style, flow);
    if (c.comment && !flow) image.comment = ' pinned';
    return map;
  };
  for (const [wi, w] of m.workloads.entries()) {
    const [apiVersion, kind, path] = w.w;
    const meta: Obj = { name: `w${wi}`, ...(w.ns !== undefined && { namespace: w.ns }) };
    if (w.kpt) meta['annotations'] = { 'config.kubernetes.io/index': '0', 'internal.config.kubernetes.io/path': `w${wi}.yaml`, 'config.kubernetes.io/path': `w${wi}.yaml` };
    const obj = doc.createNode({ apiVersion, kind, metadata: meta }) as YAMLMap;
    // the pod spec, built inside out
    const spec = new YAMLMap();
    if (w.pullSecrets === 'other') spec.set('imagePullSecrets', doc.createNode([{ name: 'other' }]));
    if (w.pullSecrets === 'present') spec.set('imagePullSecrets', doc.createNode([{ name: SECRET }]));
    if (w.pullSecrets === 'flowEmpty') {
      const empty = doc.createNode([]) as Node & { flow?: boolean };
      empty.flow = true;
      spec.set('imagePullSecrets', empty);
    }
    if (w.init.length > 0) spec.set('initContainers', doc.createNode(w.init.map((c, i) => containerNode(c, i))));
    const containers = doc.createNode([]) as Node & { items: Node[] };
    w.containers.forEach((c, i) => containers.items.push(containerNode(c, i)));
    const first = containers.items[0] as YAMLMap;
    switch (w.feature) {
      case 'sharedImage': {
        // the first container's image anchored, a second container using it through an alias
        const img = first.get('image', true) as Scalar;
        const second = doc.createNode({ name: 'alias-user' }) as YAMLMap;
        second.set('image', doc.createAlias(img, `img${n++}`));
        containers.items.push(second);
        break;
      }
      case 'fromConfigMap': {
        // an image written in a ConfigMap (not an image field), used through an alias: rewritten where it is used
        const cm = doc.createNode({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `images${wi}`, ...(w.ns !== undefined && { namespace: w.ns }) }, data: { image: first.get('image') } }) as YAMLMap;
        const value = (cm.get('data', true) as unknown as YAMLMap).get('image', true) as Scalar;
        first.set('image', doc.createAlias(value, `cm${n++}`));
        objects.push(cm);
        break;
      }
      case 'merge': {
        // a second container that takes everything but its name from the first through a merge key
        const base = doc.createAlias(first, `base${n++}`);
        const merged = new YAMLMap();
        merged.items.push(new Pair(doc.createNode('<<'), base));
        merged.set('name', 'merged');
        containers.items.push(merged);
        break;
      }
      case 'sharedList':
        break;
    }
    if (w.feature === 'sharedList' && sharedList) spec.set('containers', doc.createAlias(sharedList as YAMLMap));
    else {
      if (w.feature === 'sharedList') {
        (containers as { anchor?: string }).anchor = `list${n++}`;
        sharedList = containers;
      }
      spec.set('containers', containers);
    }
    spec.set('restartPolicy', 'Always');
    let node: Node = spec;
    for (const seg of [...path].reverse().slice(0, -1)) {
      const parent = new YAMLMap();
      if (seg === 'spec' && w.numbers) {
        parent.set('revisionHistoryLimit', '__RAW_BIG__');
        parent.set('minReadySeconds', '__RAW_NEGZERO__');
      }
      parent.set(seg, node);
      node = parent;
    }
    obj.set(path[0]!, node);
    if (w.numbers) obj.set('x-scale', doc.createNode({ huge: '__RAW_HUGE__', big: '__RAW_BIG__' }));
    (obj as { commentBefore?: string }).commentBefore = flow ? undefined : ` workload ${wi}`;
    objects.push(obj);
  }
  if (m.existingSecret !== 'none') {
    const data = m.existingSecret === 'stale' ? { '.dockerconfigjson': 'e30=', other: 'eA==' } : { '.dockerconfigjson': PAYLOAD };
    objects.push(doc.createNode({ apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRET, namespace: 'a' }, type: 'kubernetes.io/dockerconfigjson', data }));
  }
  if (m.configMap) objects.push(doc.createNode({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { big: '__RAW_BIG__', quoted: 'yes', multi: 'line one\nline two\n' } }));
  if (flow) {
    visit(doc, {
      Map: (_k, node) => void ((node as { flow?: boolean }).flow = true),
      Seq: (_k, node) => void ((node as { flow?: boolean }).flow = true),
      Scalar: (_k, node) => {
        if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) node.type = Scalar.QUOTE_DOUBLE;
      },
    });
  } else {
    visit(doc, {
      Scalar: (_k, node) => {
        if (typeof node.value === 'string' && node.value.includes('\n')) node.type = Scalar.BLOCK_LITERAL;
      },
    });
  }
  return { doc, objects };
}

const FUNCTION_CONFIG = {
  apiVersion: 'fn.proxy-private-images.dev/v1alpha1',
  kind: 'ProxyPrivateImages',
  metadata: { name: 'fn', annotations: { 'config.kubernetes.io/local-config': 'true' } },
  appSlug: APP,
  images: { private: PRIVATE_GLOBS, public: PUBLIC_GLOBS },
};
const CONFIG_FILE = 'fn-config.yaml';

type Form = 'rl-lf' | 'rl-crlf' | 'rl-json' | 'rl-json-pretty' | 'rl-flow' | 'stream' | 'stream-auto' | 'legacy-plugin';
const FORMS: readonly Form[] = ['rl-lf', 'rl-crlf', 'rl-json', 'rl-json-pretty', 'rl-flow', 'stream', 'stream-auto', 'legacy-plugin'];
const isStream = (f: Form): boolean => f === 'stream' || f === 'stream-auto' || f === 'legacy-plugin';

/** The input text of a model in a form. */
function write(m: Model, form: Form): string {
  if (form === 'rl-json' || form === 'rl-json-pretty') {
    // JSON has no anchors: the objects as a workload sees them
    const { doc, objects } = modelDocument(m, true);
    // one list, so that aliases from one object to an earlier one resolve
    const all = new YAMLSeq();
    all.items.push(...objects);
    doc.contents = all;
    const items = doc.toJS({ maxAliasCount: -1 }) as unknown[];
    const rl = { apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items, functionConfig: FUNCTION_CONFIG };
    return unraw(form === 'rl-json' ? JSON.stringify(rl) : JSON.stringify(rl, null, 2) + '\n', true);
  }
  const flow = form === 'rl-flow';
  const { doc, objects } = modelDocument(m, flow);
  if (isStream(form)) {
    const docs = objects.map((o, i) => {
      const d = new Document();
      d.contents = o;
      return `# Source: chart/templates/object-${i}.yaml\n${d.toString({ lineWidth: 0, indentSeq: !m.compact })}`;
    });
    // anchors are per document in a stream: only what each document defines itself
    return unraw(`---\n${docs.join('---\n')}`, false);
  }
  const root = doc.createNode({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList' }) as YAMLMap;
  root.set('items', doc.createNode(objects));
  root.set('functionConfig', doc.createNode(FUNCTION_CONFIG));
  if (flow) {
    root.flow = true;
    visit(root, { Map: (_k, n) => void ((n as { flow?: boolean }).flow = true), Seq: (_k, n) => void ((n as { flow?: boolean }).flow = true) });
  }
  doc.contents = root;
  const text = unraw(`${flow ? '# flow style\n' : ''}${doc.toString({ lineWidth: 0, indentSeq: !m.compact })}`, false);
  return form === 'rl-crlf' ? text.replace(/\n/g, '\r\n') : text;
}

/** In a stream every document has its own anchors: aliases across objects become plain copies there. */
function forForm(m: Model, form: Form): Model {
  if (!isStream(form)) return m;
  return { ...m, workloads: m.workloads.map((w) => (w.feature === 'sharedList' || w.feature === 'fromConfigMap' ? { ...w, feature: 'none' as const } : w)) };
}

// ------------------------------------------------------------------ running it

async function runForm(form: Form, stdin: string): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const configText = new Document(FUNCTION_CONFIG).toString();
  const argv = form === 'stream' ? ['--stream', '--config', CONFIG_FILE] : form === 'stream-auto' ? ['--config', CONFIG_FILE] : form === 'legacy-plugin' ? [CONFIG_FILE] : [];
  const env: Record<string, string> = { LICENSE_ID: LICENSE, ...(form === 'legacy-plugin' && { KUSTOMIZE_PLUGIN_CONFIG_ROOT: '/kustomize/plugins' }) };
  return runCli(argv, {
    env,
    readStdin: () => stdin,
    readFile: (path) => {
      if (path !== CONFIG_FILE) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return configText;
    },
    createProber: () => {
      throw new Error('a glob-only config must never need the probe');
    },
  });
}

const PARSE = { merge: true, intAsBigInt: true, maxAliasCount: -1 } as const;

function objectsOf(text: string, form: Form): Obj[] {
  const docs = (isStream(form) ? parseAllDocuments(text, PARSE) : [parseDocument(text, PARSE)]) as Document.Parsed[];
  for (const d of docs) assert.deepEqual(d.errors.map((e) => e.message), [], `${form}: not valid YAML:\n${text}`);
  if (isStream(form)) return docs.map((d) => d.toJS(PARSE) as Obj).filter((o) => o !== null);
  return ((docs[0]!.toJS(PARSE) as Obj)['items'] as Obj[]) ?? [];
}

// ------------------------------------------------------------------ (b): the plan, applied here to the parsed input

/** The `.dockerconfigjson` the function writes, byte for byte (hosts in the order proxy, vendor registry). */
const PAYLOAD = (() => {
  const auth = Buffer.from(`${LICENSE}:${LICENSE}`).toString('base64');
  const entry = { username: LICENSE, password: LICENSE, auth };
  return Buffer.from(JSON.stringify({ auths: { [PROXY]: entry, 'registry.replicated.com': entry } })).toString('base64');
})();

function expectedSecret(namespace: string): Obj {
  const auth = Buffer.from(`${LICENSE}:${LICENSE}`).toString('base64');
  const entry = { username: LICENSE, password: LICENSE, auth };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: SECRET, ...(namespace && { namespace }) },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': { auths: { [PROXY]: entry, 'registry.replicated.com': entry } } },
  };
}

/** A created Secret with its payload decoded, to compare with `expectedSecret`. */
function decoded(secret: Obj): Obj {
  const s = structuredClone(secret);
  s['data']['.dockerconfigjson'] = JSON.parse(Buffer.from(String(s['data']['.dockerconfigjson']), 'base64').toString('utf8'));
  return s;
}

interface Expectation {
  readonly objects: Obj[];
  readonly namespaces: string[];
  /** Pod specs that get `{name: app-registry}` added. */
  readonly wirings: number;
}

function applyPlan(input: Obj[]): Expectation {
  const objects = structuredClone(input);
  const namespaces = new Set<string>();
  let wirings = 0;
  for (const o of objects) {
    const path = podSpecPathOf(o);
    if (!path) continue;
    let spec: Obj | undefined = o;
    for (const seg of path) spec = spec?.[seg];
    if (!spec) continue;
    let secret = false;
    for (const list of LISTS) {
      for (const c of (spec[list] as Obj[] | undefined) ?? []) {
        const kind = decide(String(c['image']));
        // a list shared through an alias is one object here: the second workload sees it rewritten already
        if (kind === 'private') c['image'] = proxied(String(c['image']));
        if (needsSecret(kind)) secret = true;
      }
    }
    if (!secret) continue;
    namespaces.add(String(o['metadata']?.['namespace'] ?? ''));
    const present = ((spec['imagePullSecrets'] as Obj[] | undefined) ?? []).map((e) => e['name']);
    if (!present.includes(SECRET)) {
      spec['imagePullSecrets'] = [...((spec['imagePullSecrets'] as Obj[] | undefined) ?? []), { name: SECRET }];
      wirings++;
    }
  }
  // a pull Secret already there is updated in place (its other keys kept), not created again
  for (const o of objects) {
    if (o['kind'] !== 'Secret' || o['metadata']?.['name'] !== SECRET) continue;
    const ns = String(o['metadata']?.['namespace'] ?? '');
    if (!namespaces.delete(ns)) continue;
    o['data'] = { ...o['data'], '.dockerconfigjson': PAYLOAD };
  }
  return { objects, namespaces: [...namespaces].sort(), wirings };
}

// ------------------------------------------------------------------ (a): the walk

/** An image value the output must show rewritten: its span in the input and what may stand there instead. */
interface ImageEdit {
  readonly start: number;
  readonly end: number;
  readonly texts: readonly string[];
}

/** The spans of the input's image values that must change, found with yaml's parser (not the function's). */
function imageEdits(input: string, form: Form): ImageEdit[] {
  const docs = isStream(form) ? parseAllDocuments(input, { merge: true }) : [parseDocument(input, { merge: true })];
  const nodes = new Map<Node, ImageEdit>();
  for (const doc of docs as Document.Parsed[]) {
    const resolve = (n: unknown): Node | undefined => (isAlias(n) ? (n.resolve(doc) as Node | undefined) : (n as Node | undefined));
    const objects = isStream(form) ? [doc.contents] : ((doc.get('items', true) as { items: unknown[] } | undefined)?.items ?? []);
    for (const o of objects) {
      if (!isMap(o)) continue;
      const js = { apiVersion: o.get('apiVersion'), kind: o.get('kind') };
      const path = podSpecPathOf(js);
      if (!path) continue;
      let spec: Node | undefined = o;
      for (const seg of path) spec = isMap(spec) ? resolve(spec.get(seg, true)) : undefined;
      if (!isMap(spec)) continue;
      for (const list of LISTS) {
        const seq = resolve(spec.get(list, true));
        if (!isSeq(seq)) continue;
        for (const el of seq.items) {
          let c = resolve(el);
          if (!isMap(c)) continue;
          let raw = c.items.find((p) => isScalar(p.key) && p.key.value === 'image')?.value as Node | undefined;
          if (raw === undefined) {
            // through a merge key: the image of the map merged in
            const merge = c.items.find((p) => isScalar(p.key) && (p.key as { source?: string }).source === '<<');
            c = resolve(merge?.value);
            raw = isMap(c) ? (c.items.find((p) => isScalar(p.key) && p.key.value === 'image')?.value as Node | undefined) : undefined;
          }
          if (raw === undefined) continue;
          // an alias of a ConfigMap value is rewritten where it stands; an alias of another image field is not (its anchor is)
          const target = isAlias(raw) && String(raw.source).startsWith('cm') ? raw : resolve(raw);
          if (!target || nodes.has(target)) continue;
          const value = isAlias(target) ? String((resolve(target) as Scalar).value) : String((target as Scalar).value);
          if (decide(value) !== 'private') continue;
          const [start, end] = target.range!;
          const old = input.slice(start, end);
          const next = proxied(value);
          nodes.set(target, { start, end, texts: isAlias(target) ? [next, JSON.stringify(next)] : [old.replace(value, next)] });
        }
      }
    }
  }
  // an existing pull Secret whose namespace needs it gets the new payload, in the style its old one had
  const needed = new Set(applyPlanNamespaces(input, form));
  for (const doc of docs as Document.Parsed[]) {
    const objects = isStream(form) ? [doc.contents] : ((doc.get('items', true) as { items: unknown[] } | undefined)?.items ?? []);
    for (const o of objects) {
      if (!isMap(o) || o.get('kind') !== 'Secret' || o.getIn(['metadata', 'name']) !== SECRET || !needed.has(String(o.getIn(['metadata', 'namespace']) ?? ''))) continue;
      const value = (o.get('data', true) as unknown as YAMLMap).get('.dockerconfigjson', true) as Scalar;
      if (value.value === PAYLOAD) continue;
      const [start, end] = value.range!;
      nodes.set(value, { start, end, texts: [input.slice(start, end).replace(String(value.value), PAYLOAD)] });
    }
  }
  return [...nodes.values()].sort((a, b) => a.start - b.start);
}

/** The namespaces whose workloads need the pull Secret, from the parsed input. */
function applyPlanNamespaces(input: string, form: Form): string[] {
  const before = objectsOf(input, form);
  const probe = structuredClone(before).filter((o) => !(o['kind'] === 'Secret' && o['metadata']?.['name'] === SECRET));
  return applyPlan(probe).namespaces;
}

/**
 * Insertions of the pull Secret's name the output may hold, at any place (what they say, and where they stand,
 * is checked by (b)): `eol` is the input's line end, and `indent` the spaces that start the output's line at the
 * insertion (a new block pair must leave the next key where it was, and put its entries under itself).
 */
function pullSecretInserts(eol: string, indent: string): RegExp[] {
  const nl = eol === '\r\n' ? '\\r\\n' : '\\n';
  return [
    // a new pair at the start of a block pod spec: entries compact or indented by two, the key's line restored
    new RegExp(`imagePullSecrets:${nl}${indent}(?:  )?- name: app-registry${nl}${indent}(?! )`, 'y'),
    // a new pair at the start of a flow pod spec, or a pretty JSON one
    /"?imagePullSecrets"?: \[\{"?name"?: ?"?app-registry"?\}\],? ?/y,
    new RegExp(`${nl}[ ]*"imagePullSecrets": \\[${nl}[ ]*\\{${nl}[ ]*"name": "app-registry"${nl}[ ]*\\}${nl}[ ]*\\],`, 'y'),
    // an entry at the end of an existing block list, at the column of the entries before it (checked by (b))
    new RegExp(`[ ]*- name: app-registry${nl}`, 'y'),
    /, ?\{"?name"?: ?"?app-registry"?\}/y,
    /\{"?name"?: ?"?app-registry"?\}/y,
  ];
}

/** The end of a flow or JSON value that starts at `at` (`{` or `[`), strings respected. */
function flowEnd(text: string, at: number): number {
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (--depth === 0) return i + 1;
    }
  }
  throw new Error('unbalanced flow value');
}

interface Walked {
  images: number;
  wirings: number;
  secrets: Obj[];
  results: unknown[] | undefined;
}

function where(text: string, at: number): string {
  const line = text.slice(0, at).split('\n').length;
  return `line ${line}: ${JSON.stringify(text.slice(Math.max(0, at - 60), at))} | ${JSON.stringify(text.slice(at, at + 60))}`;
}

/** Walks output against input; returns what it found between equal bytes, or throws at the first other difference. */
function walk(input: string, output: string, edits: readonly ImageEdit[]): Walked {
  const found: Walked = { images: 0, wirings: 0, secrets: [], results: undefined };
  let i = 0;
  let o = 0;
  let e = 0;
  /** Bytes matched since the last edit: an insertion may start inside them (`imagePullSecrets:` before `initContainers:`). */
  let run = 0;
  const at = (re: RegExp, from: number): string | undefined => {
    re.lastIndex = from;
    const m = re.exec(output);
    return m && m.index === from ? m[0] : undefined;
  };
  /** An insertion the output holds at `oo` while the input is at `ii`: its length, or undefined. `take` records it. */
  const eol = input.includes('\r\n') ? '\r\n' : '\n';
  const insertion = (ii: number, oo: number, take: boolean): number | undefined => {
    const n = insertionAt(ii, oo, take);
    // what is inserted into a CRLF file has CRLF line ends too
    if (n !== undefined && eol === '\r\n' && /(?<!\r)\n/.test(output.slice(oo, oo + n))) return undefined;
    return n;
  };
  const insertionAt = (ii: number, oo: number, take: boolean): number | undefined => {
    const indent = /[ ]*$/.exec(output.slice(output.lastIndexOf('\n', oo - 1) + 1, oo))![0];
    const ins = pullSecretInserts(eol, indent).map((re) => at(re, oo)).find((m) => m !== undefined && !input.startsWith(m, ii));
    if (ins) {
      if (take) found.wirings++;
      return ins.length;
    }
    // an appended Secret: a stream document, a block list entry, or a flow/JSON object after a comma
    const doc = at(/(?:\r?\n)?---\r?\n(?=apiVersion: v1\r?\nkind: Secret\r?\n)/y, oo);
    if (doc && ii === input.length) {
      const next = output.indexOf('\n---', oo + doc.length);
      const end = next < 0 ? output.length : next + 1;
      if (take) found.secrets.push(parse(output.slice(oo + doc.length, end)) as Obj);
      return end - oo;
    }
    const entry = at(/( *)- apiVersion: v1\r?\n\1  kind: Secret\r?\n/y, oo);
    if (entry && !input.startsWith(entry, ii)) {
      const indent = /^ */.exec(entry)![0] + '  ';
      let end = oo + entry.length;
      while (end < output.length && output.startsWith(indent, end)) end = output.indexOf('\n', end) + 1 || output.length;
      if (take) found.secrets.push((parse(output.slice(oo, end)) as Obj[])[0]!);
      return end - oo;
    }
    const comma = at(/,\s*(?=\{\s*"?apiVersion"?:\s*"?v1"?,\s*"?kind"?:\s*"?Secret"?)/y, oo);
    if (comma) {
      const end = flowEnd(output, oo + comma.length);
      if (take) found.secrets.push(parse(output.slice(oo + comma.length, end)) as Obj);
      return end - oo;
    }
    // results: a block pair at the end, or a flow/JSON pair before the closing brace
    if (at(/results:\r?\n/y, oo) && ii === input.length) {
      if (take) found.results = parse(output.slice(oo)).results as unknown[];
      return output.length - oo;
    }
    const pair = at(/,\s*"?results"?: ?(?=\[)/y, oo);
    if (pair && !input.startsWith(pair, ii)) {
      const end = flowEnd(output, oo + pair.length);
      if (take) found.results = JSON.parse(output.slice(oo + pair.length, end)) as unknown[];
      return end - oo;
    }
    return undefined;
  };
  while (i < input.length || o < output.length) {
    const edit = edits[e];
    if (edit && edit.start === i) {
      const text = edit.texts.find((t) => output.startsWith(t, o));
      assert.ok(text !== undefined, `the image at input ${where(input, i)} is not rewritten as ${JSON.stringify(edit.texts)}; output ${where(output, o)}`);
      i = edit.end;
      o += text.length;
      e++;
      found.images++;
      run = 0;
      continue;
    }
    if (i < input.length && o < output.length && input[i] === output[o]) {
      i++;
      o++;
      run++;
      continue;
    }
    // a difference: an insertion here, or starting a few matched bytes back, after which input and output agree
    // (or another insertion follows: two Secrets, a Secret then the results)
    const agrees = (ii: number, oo: number, depth: number): boolean => {
      const next = edits[e]?.start ?? input.length;
      const span = Math.min(24, next - ii, output.length - oo);
      if (input.slice(ii, ii + span) === output.slice(oo, oo + span) && (span > 0 || next === ii || oo === output.length)) return true;
      const n = depth < 6 ? insertion(ii, oo, false) : undefined;
      return n !== undefined && agrees(ii, oo + n, depth + 1);
    };
    let taken = false;
    for (let k = 0; k <= Math.min(run, 64) && !taken; k++) {
      const n = insertion(i - k, o - k, false);
      if (n === undefined) continue;
      const [ii, oo] = [i - k, o - k + n];
      if (!agrees(ii, oo, 0)) continue;
      insertion(ii, o - k, true);
      i = ii;
      o = oo;
      run = 0;
      taken = true;
    }
    assert.ok(taken, `the output differs from the input outside an edit: input ${where(input, i)}; output ${where(output, o)}`);
  }
  assert.equal(e, edits.length, 'image edits left over');
  return found;
}

// ------------------------------------------------------------------ the properties

function check(form: Form, input: string, out: { stdout: string; stderr: string; exitCode: number }): void {
  assert.equal(out.exitCode, 0, `${form}: ${out.stderr}\n--- input:\n${input}`);
  // (b) the parsed output is the plan applied to the parsed input
  const before = objectsOf(input, form);
  const after = objectsOf(out.stdout, form);
  const want = applyPlan(before);
  assert.deepStrictEqual(after.slice(0, before.length), want.objects, `${form}: the objects are not the plan applied to the input`);
  const created = after.slice(before.length).map(decoded);
  assert.deepStrictEqual(
    created.sort((a, b) => String(a['metadata']['namespace'] ?? '').localeCompare(String(b['metadata']['namespace'] ?? ''))),
    want.namespaces.map(expectedSecret),
    `${form}: the created Secrets`,
  );
  if (!isStream(form)) {
    assert.deepStrictEqual((parse(out.stdout, PARSE) as Obj)['functionConfig'], (parse(input, PARSE) as Obj)['functionConfig'], `${form}: functionConfig changed`);
  }
  // (a) nothing changed but the edits
  const edits = imageEdits(input, form);
  const walked = walk(input, out.stdout, edits);
  assert.equal(walked.wirings, want.wirings, `${form}: imagePullSecrets insertions`);
  assert.deepStrictEqual(walked.secrets.map(decoded).sort((a, b) => String(a['metadata']['namespace'] ?? '').localeCompare(String(b['metadata']['namespace'] ?? ''))), want.namespaces.map(expectedSecret), `${form}: appended Secrets`);
  if (isStream(form)) assert.equal(walked.results, undefined, `${form}: a stream has no results`);
  else {
    assert.ok(Array.isArray(walked.results), `${form}: no results`);
    assert.ok(!(walked.results as Obj[]).some((r) => r['severity'] === 'error'), `${form}: error results`);
  }
  // the license id only inside the Secrets' (base64) data
  assert.ok(!out.stdout.includes(LICENSE) && !out.stderr.includes(LICENSE), `${form}: the license id in plain text`);
}

function withoutResults(text: string): string {
  const doc = parseDocument(text);
  const root = doc.contents;
  if (!isMap(root)) return text;
  const pair = root.items.find((p) => isScalar(p.key) && p.key.value === 'results');
  if (!pair) return text;
  return text.slice(0, (pair.key as Scalar).range![0]) + text.slice((pair.value as Node).range![2]);
}

if (process.env['FORMS_SAMPLE']) {
  const m: Model = { workloads: [{ w: WORKLOADS[1]!, ns: 'a', containers: [{ image: 'quay.io/org/api:1', style: 'literal', comment: true }, { image: 'nginx:1.25', style: 'single', comment: false }], init: [{ image: 'ghcr.io/org/worker:2@sha256:' + HEX, style: 'folded', comment: false }], pullSecrets: 'other', feature: 'merge', kpt: true, numbers: true }, { w: WORKLOADS[0]!, ns: undefined, containers: [{ image: 'quay.io/org/api:2', style: 'double', comment: false }], init: [], pullSecrets: 'absent', feature: 'fromConfigMap', kpt: false, numbers: false }, { w: WORKLOADS[4]!, ns: 'b', containers: [{ image: 'quay.io/org/api:2', style: 'plain', comment: false }], init: [], pullSecrets: 'flowEmpty', feature: 'sharedImage', kpt: false, numbers: false }], configMap: true, compact: false, existingSecret: 'stale' };
  for (const f of FORMS) console.log(`===== ${f}\n${write(forForm(m, f), f)}`);
}

describe('property: every input form (runCli, glob-only config)', function () {
  this.timeout(300_000);

  for (const form of FORMS) {
    it(`${form}: bytes outside edits unchanged, output = plan applied to input, a second run is a no-op`, async () => {
      await fc.assert(
        fc.asyncProperty(model, async (generated) => {
          const m = forForm(generated, form);
          const input = write(m, form);
          const first = await runForm(form, input);
          check(form, input, first);
          // (c) a second run changes nothing
          const second = await runForm(form, first.stdout);
          assert.equal(second.exitCode, 0, `${form} second run: ${second.stderr}`);
          if (isStream(form)) assert.equal(second.stdout, first.stdout, `${form}: the second run changed the output`);
          else assert.equal(withoutResults(second.stdout), withoutResults(first.stdout), `${form}: the second run changed the output`);
        }),
        { numRuns: Number(process.env['FORMS_RUNS'] ?? 100), seed: Number(process.env['FORMS_SEED'] ?? 0x5eed0000) + FORMS.indexOf(form) },
      );
    });
  }
});
