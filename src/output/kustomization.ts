/**
 * `output: kustomization`: instead of mutated resources, a kustomize
 * Kustomization with one `images:` entry per distinct original name spelling
 * and a patch per workload that needs imagePullSecrets, plus the Secrets: a
 * reviewable change, like the reference installer's midstream/kustomization.yaml.
 */
import { isScalar, stringify } from 'yaml';
import { POD_SPEC_PATHS } from '../find/workloads.js';
import { resourceRefOf } from '../find/images.js';
import type { Edit } from '../io/edits.js';
import type { ParsedResourceList } from '../io/resource-list.js';
import type { Result } from '../results.js';

export function kustomizationOutput(rl: ParsedResourceList, edits: readonly Edit[], results: readonly Result[]): string {
  const images = new Map<string, { name: string; newName: string }>();
  const patches = new Map<string, object>();
  const secrets: object[] = [];
  for (const edit of edits) {
    if (edit.op === 'setImage') {
      const old = isScalar(edit.node) ? String(edit.node.value) : undefined;
      if (old === undefined) continue;
      const name = stripVersion(old);
      if (!images.has(name)) images.set(name, { name, newName: stripVersion(edit.value) });
    } else if (edit.op === 'addPullSecret') {
      const ref = resourceRefOf(edit.item);
      const path = POD_SPEC_PATHS[ref.kind!];
      if (!path) continue;
      const key = `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
      if (patches.has(key)) continue;
      let body: Record<string, unknown> = { imagePullSecrets: [{ name: edit.name }] };
      for (const seg of [...path].reverse()) body = { [seg]: body };
      const metadata = { name: ref.name, ...(ref.namespace && { namespace: ref.namespace }) };
      const target = { kind: ref.kind, name: ref.name, ...(ref.namespace && { namespace: ref.namespace }) };
      patches.set(key, { target, patch: stringify({ apiVersion: ref.apiVersion, kind: ref.kind, metadata, ...body }, { lineWidth: 0 }) });
    } else if (edit.op === 'appendItem') {
      secrets.push(edit.value);
    }
  }
  const kustomization: Record<string, unknown> = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    metadata: { name: 'proxy-private-images' },
    images: [...images.values()].sort((a, b) => a.name.localeCompare(b.name)),
  };
  if (patches.size > 0) kustomization['patches'] = [...patches.values()];
  const apiVersion = (rl.root.get('apiVersion') as string | undefined) ?? 'config.kubernetes.io/v1';
  return stringify({ apiVersion, kind: 'ResourceList', items: [kustomization, ...secrets], results }, { lineWidth: 0, indentSeq: false });
}

/** `quay.io/org/api:v1@sha256:...` -> `quay.io/org/api`, as written (no normalisation: kustomize matches the spelling). */
function stripVersion(image: string): string {
  let name = image;
  const at = name.indexOf('@');
  if (at >= 0) name = name.slice(0, at);
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/') && !name.slice(colon).includes(']')) name = name.slice(0, colon);
  return name;
}
