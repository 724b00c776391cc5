/**
 * Property: a block ResourceList read an item at a time, with each built-in workload's images found as it is read
 * and the item then trimmed to its identity and metadata (read/input.ts, find/per-item.ts), gives exactly what
 * reading the whole text first gives: the same stdout, stderr and exit code, whatever the input holds.
 *
 * The whole-text path is forced by starting the same text with a `%YAML 1.2` directive and `---` (the
 * item-at-a-time reader reads no directives); the spliced output then starts with them too.
 *
 * Generated inputs mix: workloads of every built-in kind, block and flow style, with init containers, env and args
 * values, every shape of an existing `imagePullSecrets` (block, flow, empty, null, through a merge key), Helm hook
 * and kpt path annotations, a `&` inside a string; custom resources and built-in kinds named by `fieldSpecs`;
 * ConfigMaps an `imagesInValues` rule names; existing pull Secrets, License items, Namespaces, `v1 List` items;
 * anchors and aliases within and across items (an image, a whole container merged with `<<`, a whole item used in
 * a later List); comments between items, LF or CRLF, the list's dashes at column 0 or 2, the functionConfig
 * before or after the items, `output: kustomization`, configs with errors, items that are not maps or have no
 * kind. Images are all decided by globs: the prober fails the run if it is ever asked.
 *
 * The generator is its own (text, not yaml Documents, so that anchors can stand where forms.test.ts's cannot:
 * on a whole item, across items, before a comment); forms.test.ts's generators are not exported from that file.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { readInput } from '../../src/read/input.js';
import { LICENSE, runFn } from '../helpers/run.js';

const IMAGES = [
  'quay.io/org/api:1',
  'quay.io/org/api:2',
  'ghcr.io/org/worker:3',
  'docker.io/library/redis:7',
  'nginx:1.25',
  'registry.replicated.com/app/vendor:1',
  'proxy.replicated.com/proxy/app/quay.io/org/api:1',
] as const;

const KINDS: readonly [string, string, readonly string[]][] = [
  ['v1', 'Pod', ['spec']],
  ['apps/v1', 'Deployment', ['spec', 'template', 'spec']],
  ['apps/v1', 'StatefulSet', ['spec', 'template', 'spec']],
  ['apps/v1', 'DaemonSet', ['spec', 'template', 'spec']],
  ['apps/v1', 'ReplicaSet', ['spec', 'template', 'spec']],
  ['v1', 'ReplicationController', ['spec', 'template', 'spec']],
  ['batch/v1', 'Job', ['spec', 'template', 'spec']],
  ['batch/v1', 'CronJob', ['spec', 'jobTemplate', 'spec', 'template', 'spec']],
  ['v1', 'PodTemplate', ['template', 'spec']],
];

type Anchoring = 'plain' | 'anchor' | 'alias';
type PullSecrets = 'absent' | 'block' | 'flow' | 'empty' | 'null' | 'merge' | 'present';

interface ContainerModel {
  readonly image: string;
  readonly anchoring: Anchoring;
  readonly env: boolean;
  readonly args: boolean;
}
interface WorkloadModel {
  readonly type: 'workload';
  readonly kind: number;
  readonly ns: string | undefined;
  readonly containers: readonly ContainerModel[];
  readonly init: boolean;
  readonly pullSecrets: PullSecrets;
  readonly hook: boolean;
  readonly kpt: boolean;
  readonly amp: boolean;
  readonly flow: boolean;
  /** A second container: `<<` an inline map, or `<<: *` the first container (anchored then), setting its own image or not. */
  readonly merge: 'none' | 'inline' | 'alias' | 'aliasOwnImage';
  /** The whole item anchored (`- &item`), for a later List to use. */
  readonly itemAnchor: boolean;
  /** A `sidecar` annotation a `fieldSpecs` entry may name. */
  readonly sidecar: string | undefined;
}
type Item =
  | WorkloadModel
  | { readonly type: 'custom'; readonly image: string; readonly flow: boolean }
  | { readonly type: 'configMap'; readonly ns: string | undefined; readonly image: string; readonly anchor: boolean }
  | { readonly type: 'secret'; readonly ns: string; readonly upToDate: boolean }
  | { readonly type: 'license' }
  | { readonly type: 'namespace'; readonly name: string }
  | { readonly type: 'list'; readonly image: string; readonly aliasItem: boolean }
  | { readonly type: 'notMap'; readonly text: string }
  | { readonly type: 'noKind' };

interface ConfigModel {
  readonly after: boolean;
  readonly output: boolean;
  readonly fieldSpecsBuiltIn: boolean;
  readonly fieldSpecsCustom: boolean;
  readonly values: boolean;
  readonly detect: boolean;
  readonly error: 'none' | 'badName' | 'unknownKey';
  readonly namespaces: boolean;
}
interface Model {
  readonly items: readonly Item[];
  readonly config: ConfigModel;
  readonly comments: readonly boolean[];
  readonly crlf: boolean;
  readonly indent: 0 | 2;
}

const image = fc.constantFrom(...IMAGES);
const ns = fc.constantFrom(undefined, 'a', 'b');
const workload: fc.Arbitrary<WorkloadModel> = fc.record({
  type: fc.constant('workload' as const),
  kind: fc.integer({ min: 0, max: KINDS.length - 1 }),
  ns,
  containers: fc.array(
    fc.record({ image, anchoring: fc.constantFrom<Anchoring>('plain', 'plain', 'plain', 'anchor', 'alias'), env: fc.boolean(), args: fc.boolean() }),
    { minLength: 1, maxLength: 2 },
  ),
  init: fc.boolean(),
  pullSecrets: fc.constantFrom<PullSecrets>('absent', 'absent', 'block', 'flow', 'empty', 'null', 'merge', 'present'),
  hook: fc.boolean(),
  kpt: fc.constantFrom(false, false, false, true),
  amp: fc.boolean(),
  flow: fc.boolean(),
  merge: fc.constantFrom('none', 'none', 'none', 'inline', 'alias', 'aliasOwnImage'),
  itemAnchor: fc.boolean(),
  sidecar: fc.option(image, { nil: undefined }),
});
const item: fc.Arbitrary<Item> = fc.oneof(
  { weight: 8, arbitrary: workload },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('custom' as const), image, flow: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('configMap' as const), ns, image, anchor: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('secret' as const), ns: fc.constantFrom('a', 'b'), upToDate: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('license' as const) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('namespace' as const), name: fc.constantFrom('a', 'c') }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('list' as const), image, aliasItem: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('notMap' as const), text: fc.constantFrom('just a string', '42', '[a, b]', 'null') }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('noKind' as const) }) },
);
const model: fc.Arbitrary<Model> = fc
  .record({
    items: fc.array(item, { minLength: 1, maxLength: 6 }),
    config: fc.record({
      after: fc.boolean(),
      output: fc.constantFrom(false, false, false, true),
      fieldSpecsBuiltIn: fc.boolean(),
      fieldSpecsCustom: fc.boolean(),
      values: fc.boolean(),
      detect: fc.boolean(),
      error: fc.constantFrom('none', 'none', 'none', 'none', 'none', 'none', 'none', 'none', 'badName', 'unknownKey'),
      namespaces: fc.boolean(),
    }),
    comments: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
    crlf: fc.boolean(),
    indent: fc.constantFrom<0 | 2>(0, 2),
  })
  // rare shapes are rarer still: most runs should get past reading
  .filter((m) => m.items.filter((i) => i.type === 'notMap' || i.type === 'noKind').length <= (m.items.length > 4 ? 1 : 0));

// ------------------------------------------------------------------ the model as text

/** Placeholders (plain scalars stringify writes as they are), swapped for anchors, aliases and merges after. */
class Marks {
  private n = 0;
  readonly swaps = new Map<string, string>();
  mark(text: string): string {
    const key = `zzmark${this.n++}zz`;
    this.swaps.set(key, text);
    return key;
  }
  /** Marks may hold marks: swapped until none is left. */
  apply(text: string): string {
    let out = text;
    for (let round = 0; round < 5 && out.includes('zzmark'); round++) for (const [k, v] of this.swaps) out = out.split(k).join(v);
    assert.ok(!out.includes('zzmark'), 'every mark is swapped');
    return out;
  }
}

const FC_BASE = {
  apiVersion: 'fn.proxy-private-images.dev/v1alpha1',
  kind: 'ProxyPrivateImages',
  appSlug: 'app',
  images: { private: ['quay.io/**', 'ghcr.io/**'], public: ['docker.io/**', 'nginx'] },
};

function configText(c: ConfigModel): string {
  const body: Record<string, unknown> = { ...FC_BASE };
  if (c.output) body['output'] = 'kustomization';
  const specs = [
    ...(c.fieldSpecsBuiltIn ? [{ kind: 'Deployment', path: 'metadata/annotations/sidecar' }] : []),
    ...(c.fieldSpecsCustom ? [{ group: 'acme.io', kind: 'App', path: 'spec/image' }] : []),
  ];
  if (specs.length > 0) body['fieldSpecs'] = specs;
  if (c.values || c.detect) {
    body['imagesInValues'] = {
      ...(c.values && { env: ['RELATED_IMAGE_*'], args: ['--helper-image'], configMaps: [{ name: 'images*', key: 'worker' }] }),
      ...(c.detect && { detect: 'warn' }),
    };
  }
  if (c.namespaces) body['pullSecret'] = { namespaces: ['c'] };
  if (c.error === 'badName') body['pullSecret'] = { name: 'Not A Name' };
  if (c.error === 'unknownKey') body['colour'] = 'blue';
  return stringify({ functionConfig: body }, { lineWidth: 0 });
}

function containerObj(c: ContainerModel, i: number, marks: Marks, anchors: string[]): Record<string, unknown> {
  let value: string = c.image;
  if (c.anchoring === 'anchor') {
    const name = `img${anchors.length}`;
    anchors.push(name);
    value = marks.mark(`&${name} ${c.image}`);
  } else if (c.anchoring === 'alias' && anchors.length > 0) {
    value = marks.mark(`*${anchors[anchors.length - 1]}`);
  }
  return {
    name: `c${i}`,
    image: value,
    ...(c.env && { env: [{ name: 'RELATED_IMAGE_DB', value: c.image }, { name: 'OTHER', value: 'ghcr.io/org/other:1' }] }),
    ...(c.args && { args: [`--helper-image=${c.image}`, '--verbose'] }),
  };
}

interface State {
  readonly marks: Marks;
  /** Image anchors defined so far. */
  readonly images: string[];
  /** Whole-item anchors defined so far. */
  readonly items: string[];
  n: number;
}

/** One item's text as a list entry at column 0 (`- ` then two-space continuation lines). */
function itemText(it: Item, s: State): string {
  const i = s.n++;
  const entry = (obj: unknown, flow: boolean, anchor?: string): string => {
    const text = stringify(obj, { lineWidth: 0, ...(flow && { collectionStyle: 'flow' as const }) }).replace(/\n$/, '');
    const lines = text.split('\n');
    if (anchor && flow) return `- &${anchor} ${lines.join('\n  ')}\n`;
    if (anchor) return `- &${anchor}\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
    return `- ${lines.join('\n  ')}\n`;
  };
  const meta = (name: string, namespace: string | undefined, annotations?: Record<string, string>): Record<string, unknown> => ({
    name,
    ...(namespace !== undefined && { namespace }),
    ...(annotations && Object.keys(annotations).length > 0 && { annotations }),
  });
  switch (it.type) {
    case 'workload': {
      const [apiVersion, kind, path] = KINDS[it.kind]!;
      const annotations: Record<string, string> = {};
      if (it.hook) annotations['helm.sh/hook'] = 'pre-install';
      if (it.kpt) Object.assign(annotations, { 'internal.config.kubernetes.io/path': `w${i}.yaml`, 'config.kubernetes.io/path': `w${i}.yaml` });
      if (it.amp) annotations['team'] = 'R&D';
      if (it.sidecar) annotations['sidecar'] = it.sidecar;
      const containers: unknown[] = it.containers.map((c, k) => containerObj(c, k, s.marks, s.images));
      if (it.merge === 'inline') containers.push({ '<<': { name: 'merged', image: it.containers[0]!.image }, ports: [{ containerPort: 80 }] });
      if (it.merge === 'alias' || it.merge === 'aliasOwnImage') {
        // the first container is anchored as a whole (written in flow style); a second one merges it
        const name = `base${i}`;
        containers[0] = s.marks.mark(`&${name} ${stringify(containers[0], { lineWidth: 0, collectionStyle: 'flow' }).trim()}`);
        containers.push({
          '<<': s.marks.mark(`*${name}`),
          name: 'merged',
          ...(it.merge === 'aliasOwnImage' && { image: 'quay.io/org/api:2' }),
        });
      }
      const podSpec: Record<string, unknown> = {};
      if (it.pullSecrets === 'block') podSpec['imagePullSecrets'] = [{ name: 'other' }];
      if (it.pullSecrets === 'present') podSpec['imagePullSecrets'] = [{ name: 'app-registry' }];
      if (it.pullSecrets === 'empty') podSpec['imagePullSecrets'] = [];
      if (it.pullSecrets === 'null') podSpec['imagePullSecrets'] = null;
      if (it.pullSecrets === 'merge') podSpec['<<'] = { imagePullSecrets: [{ name: 'other' }] };
      if (it.init) podSpec['initContainers'] = [{ name: 'init', image: 'docker.io/library/busybox:1' }];
      podSpec['containers'] = containers;
      let inner: unknown = podSpec;
      if (it.pullSecrets === 'flow') inner = { ...podSpec, imagePullSecrets: s.marks.mark('[{name: other}]') };
      for (const key of [...path].reverse()) inner = { [key]: inner };
      const obj = { apiVersion, kind, metadata: meta(`w${i}`, it.ns, annotations), ...(inner as object) };
      let anchor: string | undefined;
      if (it.itemAnchor) {
        anchor = `item${s.items.length}`;
        if (kind === 'Pod' || kind === 'Deployment') s.items.push(anchor);
      }
      return entry(obj, it.flow, anchor);
    }
    case 'custom':
      return entry({ apiVersion: 'acme.io/v1', kind: 'App', metadata: meta(`app${i}`, 'a'), spec: { image: it.image } }, it.flow);
    case 'configMap': {
      const value = it.anchor ? s.marks.mark(`&img${s.images.length} ${it.image}`) : it.image;
      if (it.anchor) s.images.push(`img${s.images.length}`);
      return entry({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(`images${i}`, it.ns), data: { worker: value, other: 'plain text' } }, false);
    }
    case 'secret':
      return entry(
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: meta('app-registry', it.ns),
          type: 'kubernetes.io/dockerconfigjson',
          data: { '.dockerconfigjson': it.upToDate ? 'e30=' : 'c3RhbGU=' },
        },
        false,
      );
    case 'license':
      return entry({ apiVersion: 'kots.io/v1beta1', kind: 'License', metadata: { name: 'license' }, spec: { licenseID: LICENSE } }, false);
    case 'namespace':
      return entry({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: it.name } }, false);
    case 'list': {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: meta(`lp${i}`, 'b'), spec: { containers: [{ name: 'c', image: it.image }] } };
      const items: unknown[] = [pod];
      if (it.aliasItem && s.items.length > 0) items.push(s.marks.mark(`*${s.items[s.items.length - 1]}`));
      return entry({ apiVersion: 'v1', kind: 'List', metadata: { name: `list${i}` }, items }, false);
    }
    case 'notMap':
      return `- ${it.text}\n`;
    case 'noKind':
      return entry({ apiVersion: 'v1', metadata: { name: `nokind${i}` } }, false);
  }
}

function write(m: Model): string {
  const s: State = { marks: new Marks(), images: [], items: [], n: 0 };
  const pad = ' '.repeat(m.indent);
  let items = '';
  m.items.forEach((it, k) => {
    if (m.comments[k]) items += `${pad}# item ${k}: R&D's *notes* & more\n`;
    items += itemText(it, s)
      .split('\n')
      .map((l) => (l === '' ? l : pad + l))
      .join('\n');
  });
  if (m.comments[6]) items += `${pad}# the end & all\n`;
  const head = 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n';
  const config = configText(m.config);
  const text = s.marks.apply(m.config.after ? `${head}items:\n${items}${config}` : `${head}${config}items:\n${items}`);
  return m.crlf ? text.replace(/\n/g, '\r\n') : text;
}

// ------------------------------------------------------------------ the property

/** More runs for a longer hunt: `ITEMS_WHILE_READ_RUNS=5000 npx mocha ... this file`. */
const RUNS = Number(process.env['ITEMS_WHILE_READ_RUNS'] ?? 150);

const wholeFor = (text: string): string => (text.includes('\r\n') ? '%YAML 1.2\r\n---\r\n' : '%YAML 1.2\n---\n');

/** Whether the item-at-a-time reader took the text, and how many items it trimmed (undefined: the reader refuses it). */
function fastPath(text: string): { taken: boolean; trimmed: number } | undefined {
  try {
    const input = readInput(text, { visitItems: () => ({ visit: (o) => o.ref.kind !== 'List' }) });
    return { taken: input.visitor !== undefined, trimmed: input.objects.filter((o) => o.trimmed).length };
  } catch {
    return undefined;
  }
}

describe('property: items found while they are read give what reading the whole text gives', () => {
  it('same stdout, stderr and exit code for generated block ResourceLists', async function () {
    this.timeout(Math.max(60_000, RUNS * 100));
    const seen = { cases: 0, taken: 0, trimmedItems: 0, succeeded: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(model, async (m) => {
        const text = write(m);
        const path = fastPath(text);
        seen.cases++;
        if (path) {
          assert.ok(path.taken, `the item-at-a-time path reads this input:\n${text}`);
          seen.taken++;
          seen.trimmedItems += path.trimmed;
        }
        const fast = await runFn(text);
        const prefix = wholeFor(text);
        const whole = await runFn(prefix + text);
        assert.equal(fast.exitCode, whole.exitCode, `exit codes differ\n--- item at a time:\n${fast.stderr}--- whole:\n${whole.stderr}--- input:\n${text}`);
        assert.equal(fast.stderr, whole.stderr, `input:\n${text}`);
        assert.equal(fast.stdout, whole.stdout.startsWith(prefix) ? whole.stdout.slice(prefix.length) : whole.stdout, `input:\n${text}`);
        if (fast.exitCode === 0) seen.succeeded++;
        else seen.refused++;
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    // the property must exercise what it is about: trimmed workloads, runs that succeed and runs that fail
    assert.ok(seen.taken > seen.cases / 2, `the item-at-a-time path was taken in ${seen.taken} of ${seen.cases} cases`);
    assert.ok(seen.trimmedItems > seen.cases / 2, `only ${seen.trimmedItems} items were trimmed in ${seen.cases} cases`);
    assert.ok(seen.succeeded > 10 && seen.refused > 10, `succeeded ${seen.succeeded}, refused ${seen.refused}`);
  });
});
