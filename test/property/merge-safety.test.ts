/**
 * Property: whatever anchors, aliases and merge keys (`<<`) a pod spec holds, an edit never changes anything a
 * reader of the output sees that is not an image field, and every pod spec that ends up running a proxied image
 * has the pull Secret in its `imagePullSecrets`. Checked on the expanded YAML as two readers expand it:
 *
 * - yaml.v3 and the `yaml` package: a map's own keys win over merged ones, earlier merge sources over later ones;
 * - Go's yaml.v2, which kubectl (sigs.k8s.io/yaml) reads YAML with: pairs apply in order, a merge overwrites the
 *   keys before it, and of a merge list the earlier entries win.
 *
 * Generated pods hold anchored containers, aliases to them, containers that merge one (`<<: *a`), a merge list
 * (`<<: [*a, *b]`), an anchored merge list and its alias (`<<: &l [*a]`, `<<: *l`), merged containers that are
 * anchored and merged again, an own `image` before or after the `<<`, and maps that are no container (a
 * nodeSelector, labels) merging the same anchors; env entries of the first container anchored, aliased and merged
 * into entries with or without a name the `imagesInValues.env` rule names and their own value before or after. A run may refuse (`FIELD_SHARED`); it may never edit unsafely.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { run } from '../../src/run.js';
import { LICENSE } from '../helpers/run.js';

const PRIVATE = ['quay.io/org/a:1', 'quay.io/org/b:2', 'ghcr.io/org/c:3'];
const PUBLIC = ['docker.io/library/redis:7', 'nginx:1.25'];
const PROXY = 'proxy.replicated.com/proxy/app/';
const SECRET = 'app-registry';

type Source = { k: 'alias'; a: number } | { k: 'list'; a: number; b: number } | { k: 'anchoredList'; a: number } | { k: 'listAlias'; l: number };
type Op =
  | { k: 'anchor'; image: string }
  | { k: 'plain'; image: string }
  | { k: 'alias'; a: number }
  | { k: 'merge'; src: Source; own: 'none' | 'before' | 'after'; image: string; anchor: boolean };
/** An env entry of the first container: an anchored one a rule names, an alias to one, or one merging one. */
type EnvOp =
  | { k: 'anchor'; image: string }
  | { k: 'alias'; e: number }
  | { k: 'merge'; e: number; name: 'rule' | 'other' | 'none'; own: 'none' | 'before' | 'after'; image: string };
interface PodModel {
  readonly ops: readonly Op[];
  readonly env: readonly EnvOp[];
  readonly selector: Source | undefined;
  readonly labels: Source | undefined;
}

const img = fc.constantFrom(...PRIVATE, ...PUBLIC);
const idx = fc.nat(7);
const source: fc.Arbitrary<Source> = fc.oneof(
  fc.record({ k: fc.constant('alias' as const), a: idx }),
  fc.record({ k: fc.constant('list' as const), a: idx, b: idx }),
  fc.record({ k: fc.constant('anchoredList' as const), a: idx }),
  fc.record({ k: fc.constant('listAlias' as const), l: idx }),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('anchor' as const), image: img }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('plain' as const), image: img }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('alias' as const), a: idx }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('merge' as const), src: source, own: fc.constantFrom('none', 'before', 'after'), image: img, anchor: fc.boolean() }) },
);
const envOp: fc.Arbitrary<EnvOp> = fc.oneof(
  fc.record({ k: fc.constant('anchor' as const), image: img }),
  fc.record({ k: fc.constant('alias' as const), e: idx }),
  fc.record({ k: fc.constant('merge' as const), e: idx, name: fc.constantFrom('rule', 'other', 'none'), own: fc.constantFrom('none', 'before', 'after'), image: img }),
);
const pod: fc.Arbitrary<PodModel> = fc.record({
  ops: fc.array(op, { minLength: 1, maxLength: 6 }),
  env: fc.array(envOp, { maxLength: 4 }),
  selector: fc.option(source, { nil: undefined }),
  labels: fc.option(source, { nil: undefined }),
});

/** Anchors defined so far, in text order: maps (containers) and lists (merge lists). */
interface Names {
  envs: string[];
  maps: string[];
  lists: string[];
  n: number;
}

function sourceText(s: Source, names: Names): string | undefined {
  const map = (i: number): string | undefined => (names.maps.length === 0 ? undefined : `*${names.maps[i % names.maps.length]}`);
  switch (s.k) {
    case 'alias':
      return map(s.a);
    case 'list': {
      const a = map(s.a);
      const b = map(s.b);
      return a && b ? `[${a}, ${b}]` : a;
    }
    case 'anchoredList': {
      const a = map(s.a);
      if (!a) return undefined;
      const name = `l${names.n++}`;
      const text = `&${name} [${a}]`;
      names.lists.push(name);
      return text;
    }
    case 'listAlias':
      return names.lists.length === 0 ? map(s.l) : `*${names.lists[s.l % names.lists.length]}`;
  }
}

function podText(p: PodModel, i: number, names: Names): string {
  const extra = (key: string, s: Source | undefined): string => {
    const src = s && sourceText(s, names);
    return src ? `    ${key}: {<<: ${src}, extra: x}\n` : '';
  };
  // labels come before the containers in the text: they may only name anchors of earlier pods
  const labels = extra('labels', p.labels);
  const lines: string[] = [];
  for (const o of p.ops) {
    if (o.k === 'anchor') {
      const name = `a${names.n++}`;
      lines.push(`&${name} {name: ${name}, image: "${o.image}"}`);
      names.maps.push(name);
    } else if (o.k === 'plain' || (o.k === 'alias' && names.maps.length === 0)) {
      lines.push(`{name: p${names.n++}, image: "${'image' in o ? o.image : PUBLIC[0]}"}`);
    } else if (o.k === 'alias') {
      lines.push(`*${names.maps[o.a % names.maps.length]}`);
    } else {
      const src = sourceText(o.src, names);
      const name = `m${names.n++}`;
      if (!src) {
        lines.push(`{name: ${name}, image: "${o.image}"}`);
        continue;
      }
      const own = `image: "${o.image}"`;
      const body = o.own === 'before' ? `name: ${name}, ${own}, <<: ${src}` : o.own === 'after' ? `<<: ${src}, name: ${name}, ${own}` : `<<: ${src}, name: ${name}`;
      lines.push(o.anchor ? `&${name} {${body}}` : `{${body}}`);
      if (o.anchor) names.maps.push(name);
    }
  }
  const env: string[] = [];
  for (const e of p.env) {
    const anchored = names.envs.length > 0 ? names.envs[('e' in e ? e.e : 0) % names.envs.length] : undefined;
    if (e.k === 'anchor' || !anchored) {
      const name = `e${names.n++}`;
      env.push(`&${name} {name: RELATED_IMAGE_${name.toUpperCase()}, value: "${'image' in e ? e.image : PUBLIC[0]}"}`);
      names.envs.push(name);
    } else if (e.k === 'alias') {
      env.push(`*${anchored}`);
    } else {
      const name = e.name === 'rule' ? 'name: RELATED_IMAGE_M, ' : e.name === 'other' ? 'name: OTHER, ' : '';
      const own = `value: "${e.image}"`;
      env.push(e.own === 'before' ? `{${name}${own}, <<: *${anchored}}` : e.own === 'after' ? `{<<: *${anchored}, ${name}${own}}` : `{<<: *${anchored}${name ? `, ${name.slice(0, -2)}` : ''}}`);
    }
  }
  // the env list goes on the first container when it is written as a map of its own (not an alias)
  const first = lines.findIndex((l) => l.endsWith('}') && !l.startsWith('*'));
  if (env.length > 0 && first >= 0) lines[first] = `${lines[first]!.slice(0, -1)}, env: [${env.join(', ')}]}`;
  return (
    `- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: pod${i}\n    namespace: ns\n${labels}` +
    `  spec:\n    containers:\n${lines.map((l) => `    - ${l}\n`).join('')}${extra('nodeSelector', p.selector)}`
  );
}

function write(pods: readonly PodModel[]): string {
  const names: Names = { envs: [], maps: [], lists: [], n: 0 };
  const items = pods.map((p, i) => podText(p, i, names)).join('');
  return (
    `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${items}` +
    'functionConfig: {apiVersion: fn.proxy-private-images.dev/v1alpha1, kind: ProxyPrivateImages, appSlug: app, images: {private: ["quay.io/**", "ghcr.io/**"], public: ["docker.io/**", "nginx"]}, imagesInValues: {env: ["RELATED_IMAGE_*"]}}\n'
  );
}

// ------------------------------------------------------------------ two readers' expansions

type Value = unknown;

/** Go's yaml.v2: pairs in order, a merge overwrites what is there, a merge list applied last to first. */
function expandV2(node: unknown, doc: Document): Value {
  if (isAlias(node)) return expandV2(node.resolve(doc), doc);
  if (isScalar(node)) return node.value;
  if (isSeq(node)) return node.items.map((i) => expandV2(i, doc));
  if (isMap(node)) {
    const out: Record<string, Value> = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key : undefined;
      if (key && key.type === 'PLAIN' && (key.value === '<<' || (key as { source?: string }).source === '<<')) {
        const src = isAlias(pair.value) ? pair.value.resolve(doc) : (pair.value as Node);
        const sources = isSeq(src) ? [...src.items].reverse() : [src];
        for (const s of sources) Object.assign(out, expandV2(s, doc) as Record<string, Value>);
        continue;
      }
      out[String(key?.value)] = expandV2(pair.value, doc);
    }
    return out;
  }
  return node;
}

function readers(text: string): { v3: any; v2: any } {
  const doc = parseDocument(text, { merge: true });
  assert.equal(doc.errors.length, 0, `the text parses:\n${text}`);
  return { v3: doc.toJS({ maxAliasCount: -1 }), v2: expandV2(doc.contents, doc) };
}

const RULE = /^RELATED_IMAGE_/;

/** What a reader sees, minus what an edit may change: container images, values of env vars a rule names, imagePullSecrets. */
function strip(podItem: any): any {
  const copy = structuredClone(podItem);
  delete copy.spec.imagePullSecrets;
  for (const c of copy.spec.containers ?? []) {
    if (!c || typeof c !== 'object') continue;
    delete c.image;
    for (const e of c.env ?? []) if (e && RULE.test(String(e.name))) delete e.value;
  }
  return copy;
}

function checkReader(name: string, before: any, after: any, text: string, out: string): void {
  const pods = before.items.length;
  const ctx = `(${name} reading)\n--- input:\n${text}--- output:\n${out}`;
  for (let i = 0; i < pods; i++) {
    const b = before.items[i];
    const a = after.items[i];
    assert.deepEqual(strip(a), strip(b), `pod${i}: only images and imagePullSecrets may change ${ctx}`);
    const containers = a.spec.containers as any[];
    containers.forEach((c, j) => {
      const was = b.spec.containers[j].image;
      assert.ok(c.image === was || c.image === PROXY + was, `pod${i} containers[${j}]: ${was} became ${c.image} ${ctx}`);
      (c.env ?? []).forEach((e: any, k: number) => {
        const before = b.spec.containers[j].env[k].value;
        assert.ok(e.value === before || e.value === PROXY + before, `pod${i} containers[${j}].env[${k}]: ${before} became ${e.value} ${ctx}`);
      });
    });
    if (containers.some((c) => String(c.image).startsWith(PROXY))) {
      const secrets = (a.spec.imagePullSecrets ?? []) as { name: string }[];
      assert.ok(secrets.some((s) => s.name === SECRET), `pod${i} runs a proxied image without the pull Secret ${ctx}`);
    }
  }
}

describe('property: merge keys and aliases never let an edit reach what is not an image field', () => {
  it('the expanded output differs from the expanded input only in image fields and imagePullSecrets, under yaml.v3 and yaml.v2 reading', async function () {
    this.timeout(60_000);
    const seen = { rewritten: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(pod, { minLength: 1, maxLength: 2 }), async (pods) => {
        const text = write(pods);
        const before = readers(text);
        const out = await run(text, { env: { LICENSE_ID: LICENSE }, createProber: () => assert.fail('globs decide every image') });
        if (out.exitCode !== 0) {
          assert.match(out.stderr, /FIELD_SHARED|shared through a YAML alias/, `a refusal says why:\n${out.stderr}\n${text}`);
          seen.refused++;
          return;
        }
        const after = readers(out.stdout);
        checkReader('yaml.v3', before.v3, after.v3, text, out.stdout);
        checkReader('yaml.v2', before.v2, after.v2, text, out.stdout);
        if (out.stdout.includes(PROXY)) seen.rewritten++;
      }),
      { numRuns: Number(process.env['MERGE_SAFETY_RUNS'] ?? 200), endOnFailure: true },
    );
    assert.ok(seen.rewritten > 20 && seen.refused > 20, `rewritten ${seen.rewritten}, refused ${seen.refused}`);
  });
});
