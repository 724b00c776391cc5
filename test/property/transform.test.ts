/**
 * Property tests of the whole transform, in-process through `run()` with a glob-only config (a prober that fails
 * the test if it is ever asked). Generated ResourceLists of workloads, plain objects and existing Secrets, written
 * four ways: block YAML (source splicing), CRLF YAML and a flow-style root (the Document fallback), and JSON.
 *
 * - the four spellings give the same items, results and exit code (both writer paths agree);
 * - idempotent: run(run(x)) has the same items as run(x);
 * - every input item is in the output;
 * - only image fields, imagePullSecrets and the pull Secret change (parsed objects compared with those masked);
 * - every changed image points at the proxy host, and every pod spec that got a proxied image lists the Secret.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Document, isMap, isScalar, isSeq, parse, stringify, visit } from 'yaml';
import { run, type RunDeps } from '../../src/run.js';

const LICENSE = 'prop-license-7d1e';
const deps: RunDeps = {
  env: { LICENSE_ID: LICENSE },
  createProber: () => {
    throw new Error('the glob-only config must never need the probe');
  },
};

type Obj = Record<string, unknown>;

const HEX = 'a3f1c2d4e5b6978800112233445566778899aabbccddeeff0011223344556677';
const IMAGES = [
  'quay.io/org/api:1',
  'quay.io/org/api:1',
  `ghcr.io/org/worker@sha256:${HEX}`,
  `ghcr.io/org/worker:2@sha256:${HEX}`,
  'nginx',
  'nginx:1.25',
  'docker.io/library/redis:7',
  'index.docker.io/bitnami/kubectl:1.30',
  'gcr.io/public/thing:2',
  'registry.replicated.com/app/vendor:1',
  'proxy.replicated.com/proxy/app/quay.io/org/api:1',
  'proxy.replicated.com/anonymous/docker.io/library/nginx:1',
  'localhost/team/tool:dev',
  // Not here: hosts with a port (localhost:5000/..., [::1]:5000/...). Their proxy form
  // proxy.replicated.com/proxy/app/localhost:5000/... is not a valid reference (":" in a path component), so
  // the second run refuses the first run's output; see docs/failure-modes.md.
];

const WORKLOADS: [string, string, string[]][] = [
  ['v1', 'Pod', ['spec']],
  ['apps/v1', 'Deployment', ['spec', 'template', 'spec']],
  ['apps/v1', 'StatefulSet', ['spec', 'template', 'spec']],
  ['apps/v1', 'DaemonSet', ['spec', 'template', 'spec']],
  ['batch/v1', 'Job', ['spec', 'template', 'spec']],
  ['batch/v1', 'CronJob', ['spec', 'jobTemplate', 'spec', 'template', 'spec']],
  ['v1', 'PodTemplate', ['template', 'spec']],
];

const container = fc.record({ name: fc.constantFrom('a', 'b', 'c'), image: fc.constantFrom(...IMAGES), ports: fc.constant([{ containerPort: 80 }]) });
const podSpec = fc.record(
  {
    containers: fc.array(container, { minLength: 1, maxLength: 3 }),
    initContainers: fc.array(container, { minLength: 1, maxLength: 2 }),
    ephemeralContainers: fc.array(container, { minLength: 1, maxLength: 1 }),
    imagePullSecrets: fc.constantFrom([{ name: 'other' }], [{ name: 'app-registry' }], [] as { name: string }[]),
    serviceAccountName: fc.constant('sa'),
  },
  { requiredKeys: ['containers'] },
);

const namespace = fc.constantFrom(undefined, 'a', 'b');

const workload = fc.record({ w: fc.constantFrom(...WORKLOADS), ns: namespace, spec: podSpec, labels: fc.option(fc.dictionary(fc.constantFrom('app', 'tier'), fc.string({ maxLength: 5 })), { nil: undefined }) });

const other = fc.record({
  kind: fc.constantFrom('ConfigMap', 'Service', 'Namespace', 'Secret'),
  ns: namespace,
  data: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
});

function metadata(name: string, ns: string | undefined, labels?: Obj): Obj {
  return { name, ...(ns !== undefined && { namespace: ns }), ...(labels && Object.keys(labels).length > 0 && { labels }) };
}

function setIn(target: Obj, path: readonly string[], value: unknown): Obj {
  let node = target;
  for (const seg of path.slice(0, -1)) node = (node[seg] ??= {}) as Obj;
  node[path[path.length - 1]!] = value;
  return target;
}

const resourceList = fc
  .record({
    workloads: fc.array(workload, { minLength: 1, maxLength: 6 }),
    others: fc.array(other, { maxLength: 4 }),
    existingSecret: fc.boolean(),
    proxyPublic: fc.boolean(),
    order: fc.nat(),
  })
  .map(({ workloads, others, existingSecret, proxyPublic, order }) => {
    const items: Obj[] = [];
    workloads.forEach(({ w: [apiVersion, kind, path], ns, spec, labels }, i) => {
      items.push(setIn({ apiVersion, kind, metadata: metadata(`w${i}`, ns, labels) }, path, structuredClone(spec)));
    });
    others.forEach(({ kind, ns, data }, i) => {
      if (kind === 'Namespace') items.push({ apiVersion: 'v1', kind, metadata: { name: `ns${i}` } });
      else if (kind === 'Secret') items.push({ apiVersion: 'v1', kind, metadata: metadata(`s${i}`, ns), type: 'Opaque', data: { k: 'dg==' } });
      else items.push({ apiVersion: 'v1', kind, metadata: metadata(`o${i}`, ns), ...(kind === 'ConfigMap' ? { data } : { spec: { ports: [{ port: 80 }] } }) });
    });
    if (existingSecret) items.push({ apiVersion: 'v1', kind: 'Secret', metadata: metadata('app-registry', 'a'), type: 'kubernetes.io/dockerconfigjson', data: { old: 'eA==' } });
    // a deterministic shuffle
    const shuffled = items.map((it, i) => ({ it, k: (i * 7919 + order) % 104729 })).sort((x, y) => x.k - y.k).map((x) => x.it);
    return {
      apiVersion: 'config.kubernetes.io/v1',
      kind: 'ResourceList',
      items: shuffled,
      functionConfig: {
        apiVersion: 'fn.proxy-private-images.dev/v1alpha1',
        kind: 'ProxyPrivateImages',
        metadata: { name: 'fn' },
        appSlug: 'app',
        proxyPublicImages: proxyPublic,
        images: { private: ['quay.io/**', 'ghcr.io/**', 'localhost/**'], public: ['docker.io/**', 'gcr.io/**'] },
      },
    } as Obj;
  });

/** Flow style for every `containers` list and `metadata` map, block elsewhere (as hand-written manifests mix them). */
function mixedFlow(rl: Obj): string {
  const doc = new Document(rl);
  visit(doc, {
    Pair(_, pair) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if ((key === 'containers' || key === 'metadata' || key === 'imagePullSecrets') && (isSeq(pair.value) || isMap(pair.value))) pair.value.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

function spellings(rl: Obj): Record<string, string> {
  const block = stringify(rl, { lineWidth: 0 });
  return {
    wide: stringify(rl, { lineWidth: 0, indent: 4, indentSeq: true }),
    doubleQuoted: stringify(rl, { lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' }),
    singleQuoted: stringify(rl, { lineWidth: 0, defaultStringType: 'QUOTE_SINGLE', defaultKeyType: 'PLAIN' }),
    markers: `---\n${block}...\n`,
    mixedFlow: mixedFlow(rl),
    block,
    commented: `# rendered by a test\n${block.replace(/^(items:)$/m, '$1 # the items').replace(/^( {2}kind: .*)$/gm, '$1 # kind')}`,
    crlf: block.replace(/\n/g, '\r\n'),
    flowRoot: `# flow style\n${stringify(rl, { collectionStyle: 'flow', lineWidth: 0 })}`,
    json: JSON.stringify(rl),
  };
}

function idOf(item: Obj): string {
  const m = (item['metadata'] ?? {}) as Obj;
  return `${String(item['apiVersion'])}/${String(item['kind'])}/${String(m['namespace'] ?? '')}/${String(m['name'])}`;
}

function podSpecOf(item: Obj): Obj | undefined {
  const w = WORKLOADS.find(([a, k]) => a === item['apiVersion'] && k === item['kind']);
  if (!w) return undefined;
  let node: unknown = item;
  for (const seg of w[2]) node = (node as Obj | undefined)?.[seg];
  return node as Obj | undefined;
}

const LISTS = ['containers', 'initContainers', 'ephemeralContainers'];

/** The item with image values, imagePullSecrets and (for the pull Secret) type and data taken out. */
function masked(item: Obj): Obj {
  const copy = structuredClone(item);
  const spec = podSpecOf(copy);
  if (spec) {
    for (const l of LISTS) for (const c of (spec[l] as Obj[] | undefined) ?? []) delete c['image'];
    delete spec['imagePullSecrets'];
  }
  if (copy['kind'] === 'Secret' && (copy['metadata'] as Obj)['name'] === 'app-registry') {
    delete copy['type'];
    delete copy['data'];
  }
  return copy;
}

function images(item: Obj): string[] {
  const spec = podSpecOf(item);
  if (!spec) return [];
  return LISTS.flatMap((l) => ((spec[l] as Obj[] | undefined) ?? []).map((c) => String(c['image'])));
}

async function transform(text: string): Promise<{ out: Obj; exitCode: number; stdout: string }> {
  const r = await run(text, deps);
  assert.equal(r.exitCode, 0, r.stderr);
  const out = (r.stdout.trimStart().startsWith('{') ? JSON.parse(r.stdout) : parse(r.stdout)) as Obj;
  return { out, exitCode: r.exitCode, stdout: r.stdout };
}

const items = (o: Obj): Obj[] => (o['items'] as Obj[] | undefined) ?? [];

describe('property: the whole transform (run() with a glob-only config)', function () {
  this.timeout(120_000);

  it('every spelling (block, wide, quoted, markers, mixed flow: splice; CRLF and flow root: fallback; JSON) gives the same items and results', async () => {
    await fc.assert(
      fc.asyncProperty(resourceList, async (rl) => {
        const s = spellings(rl);
        const block = await transform(s['block']!);
        for (const [name, text] of Object.entries(s)) {
          if (name === 'block') continue;
          const other = await transform(text);
          assert.deepEqual(items(other.out), items(block.out), `${name} items differ`);
          assert.deepEqual(other.out['results'], block.out['results'], `${name} results differ`);
        }
        assert.ok(s['json']!.startsWith('{'));
        assert.ok(!s['crlf']!.includes('\n') || s['crlf']!.includes('\r\n'));
      }),
      { numRuns: 60 },
    );
  });

  it('is idempotent: run(run(x)) has the items of run(x), for every spelling', async () => {
    await fc.assert(
      fc.asyncProperty(resourceList, fc.constantFrom('block', 'commented', 'crlf', 'flowRoot', 'json', 'wide', 'doubleQuoted', 'singleQuoted', 'markers', 'mixedFlow'), async (rl, spelling) => {
        const once = await transform(spellings(rl)[spelling]!);
        const twice = await transform(once.stdout);
        assert.deepEqual(items(twice.out), items(once.out));
        // and the second run rewrites nothing
        assert.ok(!((twice.out['results'] as Obj[] | undefined) ?? []).some((r) => /->/.test(String(r['message']))), 'the second run rewrote an image');
      }),
      { numRuns: 80 },
    );
  });

  it('keeps every input item, and changes only image fields, imagePullSecrets and the pull Secret', async () => {
    await fc.assert(
      fc.asyncProperty(resourceList, fc.constantFrom('block', 'crlf', 'json', 'wide', 'mixedFlow', 'singleQuoted'), async (rl, spelling) => {
        const { out } = await transform(spellings(rl)[spelling]!);
        const before = new Map(items(rl).map((i) => [idOf(i), i]));
        const after = new Map(items(out).map((i) => [idOf(i), i]));
        for (const [id, item] of before) {
          const o = after.get(id);
          assert.ok(o, `${id} is missing from the output`);
          assert.deepEqual(masked(o), masked(item), `${id} changed outside image fields and imagePullSecrets`);
          const [bi, ai] = [images(item), images(o)];
          assert.equal(ai.length, bi.length);
          ai.forEach((img, k) => {
            if (img !== bi[k]) assert.match(img, /^proxy\.replicated\.com\/(proxy\/app|anonymous)\//, `${bi[k]} -> ${img}`);
          });
          const spec = podSpecOf(o);
          if (spec && ai.some((img) => img.startsWith('proxy.replicated.com/proxy/') || img.startsWith('registry.replicated.com/'))) {
            const names = ((spec['imagePullSecrets'] as Obj[] | undefined) ?? []).map((x) => x['name']);
            assert.ok(names.includes('app-registry'), `${id} uses a private image but has no imagePullSecrets entry`);
            assert.equal(new Set(names).size, names.length, `${id} has a duplicate imagePullSecrets entry`);
          }
          if (spec && !ai.some((img) => img.startsWith('proxy.replicated.com/proxy/') || img.startsWith('registry.replicated.com/'))) {
            assert.deepEqual(spec['imagePullSecrets'], podSpecOf(item)!['imagePullSecrets'], `${id}: all-public workload got imagePullSecrets`);
          }
        }
        for (const [id, o] of after) {
          if (before.has(id)) continue;
          assert.equal(o['kind'], 'Secret', `unexpected new item ${id}`);
          assert.equal((o['metadata'] as Obj)['name'], 'app-registry');
          assert.equal(o['type'], 'kubernetes.io/dockerconfigjson');
        }
        // the license id never shows in plain text
        assert.ok(!JSON.stringify(out).includes(LICENSE));
      }),
      { numRuns: 80 },
    );
  });
});
