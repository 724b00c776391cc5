/**
 * `output: kustomization`: instead of the changed objects, a kustomize Kustomization that makes the same change,
 * plus the new Secrets: a reviewable change, like the reference installer's midstream kustomization.
 *
 * - images in pod specs -> an `images:` entry per name (kustomize matches names, not tags), unless another field
 *   with that name stays as it is; then, and for every other field (custom resources, values), a JSON 6902
 *   `replace` patch on the exact path;
 * - imagePullSecrets -> JSON 6902 `add` patches;
 * - an updated Secret -> a JSON 6902 patch of its type and data.
 * Refused when the objects come from a kpt package (kpt would delete every package file and write this instead).
 */
import { stringify } from 'yaml';
import { FnError } from '../errors.js';
import type { ImageField, Segment } from '../find/images.js';
import type { Input, InputObject } from '../read/input.js';
import type { Plan } from '../plan/plan.js';
import type { Result } from '../results.js';
import { hasPathAnnotation } from '../plan/objects.js';

interface Patch {
  target: Record<string, string>;
  ops: object[];
}

export function renderKustomization(input: Input, plan: Plan, results: readonly Result[], keptNames: ReadonlySet<string>): string {
  if (input.objects.some((o) => hasPathAnnotation(o.node))) {
    throw new FnError(
      'OUTPUT_UNSUPPORTED',
      'output: kustomization cannot run on a kpt package: kpt would delete every package file and write the Kustomization in their place; use output: resources with kpt',
    );
  }
  const images = new Map<string, { name: string; newName: string }>();
  const patches = new Map<string, Patch>();
  const patch = (object: InputObject, op: object): void => {
    const key = `${object.index}/${JSON.stringify(object.ref)}`;
    const p = patches.get(key) ?? { target: targetOf(object), ops: [] };
    p.ops.push(op);
    patches.set(key, p);
  };
  for (const r of plan.rewrites) {
    for (const use of r.uses) {
      const name = stripVersion(r.from);
      const newName = stripVersion(r.value);
      const byName =
        use.source === 'container' && use.prefix === undefined && !keptNames.has(name) && sameVersion(r.from, r.value) && (images.get(name)?.newName ?? newName) === newName;
      if (byName) images.set(name, { name, newName });
      else patch(use.object, { op: 'replace', path: pointer(use.segments), value: r.value });
    }
  }
  for (const w of plan.wirings) {
    for (const use of w.uses) {
      const at = [...use.segments, 'imagePullSecrets'];
      if (w.op === 'append') for (const name of w.add) patch(use.object, { op: 'add', path: `${pointer(at)}/-`, value: { name } });
      else patch(use.object, { op: 'add', path: pointer(at), value: [...w.keep, ...w.add].map((name) => ({ name })) });
    }
  }
  for (const u of plan.updates) {
    for (const [key, value] of Object.entries(u.fields)) {
      if (key === 'data' && typeof value === 'object' && value !== null) {
        for (const [k, v] of Object.entries(value)) patch(u.object, { op: 'add', path: pointer(['data', k]), value: v });
      } else {
        patch(u.object, { op: 'add', path: pointer([key]), value });
      }
    }
  }
  const kustomization: Record<string, unknown> = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    metadata: { name: 'proxy-private-images' },
    images: [...images.values()].sort((a, b) => a.name.localeCompare(b.name)),
  };
  if (patches.size > 0) {
    kustomization['patches'] = [...patches.values()].map((p) => ({ target: p.target, patch: stringify(p.ops, { lineWidth: 0, aliasDuplicateObjects: false }) }));
  }
  const apiVersion = (input.root?.get('apiVersion') as string | undefined) ?? 'config.kubernetes.io/v1';
  const items = [kustomization, ...plan.creates.map((c) => c.object)];
  // A stream in, a stream out (the results go to stderr, as for every stream).
  if (input.form === 'stream') return items.map((i) => stringify(i, { lineWidth: 0, indentSeq: false, aliasDuplicateObjects: false })).join('---\n');
  return stringify({ apiVersion, kind: 'ResourceList', items, results }, { lineWidth: 0, indentSeq: false, aliasDuplicateObjects: false });
}

/** Image names of fields the plan leaves as they are: an `images:` entry for such a name would change them too. */
export function keptImageNames(fields: readonly ImageField[], plan: Plan): Set<string> {
  const rewritten = new Set<ImageField>(plan.rewrites.flatMap((r) => r.uses));
  return new Set(fields.filter((f) => !rewritten.has(f) && f.image !== undefined).map((f) => stripVersion(f.image!)));
}

function targetOf(object: InputObject): Record<string, string> {
  const [group, version] = object.ref.apiVersion!.includes('/') ? object.ref.apiVersion!.split('/', 2) : ['', object.ref.apiVersion!];
  return {
    ...(group && { group }),
    version: version!,
    kind: object.ref.kind!,
    ...(object.ref.name && { name: object.ref.name }),
    ...(object.ref.namespace && { namespace: object.ref.namespace }),
  };
}

/** JSON pointer (RFC 6901) for a field path. */
function pointer(segments: readonly Segment[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** kustomize `images:` changes names only; a rewrite that changes the tag or digest needs a patch. */
function sameVersion(from: string, to: string): boolean {
  return from.slice(stripVersion(from).length) === to.slice(stripVersion(to).length);
}

/** `quay.io/org/api:v1@sha256:...` -> `quay.io/org/api`, as written (no normalisation: kustomize matches the spelling). */
function stripVersion(image: string): string {
  let name = image;
  const at = name.indexOf('@');
  if (at >= 0) name = name.slice(0, at);
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) name = name.slice(0, colon);
  return name;
}
