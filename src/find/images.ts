/**
 * Finds every image field of every item: the containers, initContainers and
 * ephemeralContainers of each pod template, plus user fieldSpecs for custom
 * resources. Yields the field's node so the rewrite can edit it in place.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type Node, type Scalar, type YAMLMap } from 'yaml';
import { scalarString } from '../io/resource-list.js';
import type { ResourceRef } from '../results.js';
import { CONTAINER_LISTS, groupOf, podSpecPath, versionOf } from './workloads.js';

export interface FieldSpec {
  readonly group?: string;
  readonly version?: string;
  readonly kind: string;
  /** kustomize style: `spec/template/spec/containers[]/image`; lists are walked whether or not `[]` is written. */
  readonly path: string;
}

export interface ImageField {
  readonly item: YAMLMap;
  readonly itemIndex: number;
  readonly ref: ResourceRef;
  /** Field path for results: `spec.template.spec.containers[0].image`. */
  readonly path: string;
  /** The node to replace (a scalar, or an alias to one). */
  readonly node: Node;
  /** The value found there; a non-string value is reported, not rewritten. */
  readonly value: unknown;
  /** Puts a new node in this field's place (the Document backend's edit). */
  readonly replace: (node: Node) => void;
  /** The pod spec that uses this image, where `imagePullSecrets` belongs; absent for custom fields outside a pod spec. */
  readonly podSpec?: YAMLMap;
  readonly namespace: string;
}

export function resourceRefOf(item: YAMLMap): ResourceRef {
  const meta = item.get('metadata', true);
  const ref: ResourceRef = {
    apiVersion: scalarString(item.get('apiVersion', true)) ?? '',
    kind: scalarString(item.get('kind', true)) ?? '',
  };
  if (isMap(meta)) {
    const name = scalarString(meta.get('name', true));
    const namespace = scalarString(meta.get('namespace', true));
    if (name !== undefined) ref.name = name;
    if (namespace !== undefined && namespace !== '') ref.namespace = namespace;
  }
  return ref;
}

export function findImages(doc: Document, items: readonly YAMLMap[], fieldSpecs: readonly FieldSpec[]): ImageField[] {
  const out: ImageField[] = [];
  items.forEach((item, itemIndex) => {
    const ref = resourceRefOf(item);
    const namespace = ref.namespace ?? '';
    const base = { item, itemIndex, ref, namespace };
    const specPath = podSpecPath(ref.apiVersion!, ref.kind!);
    if (specPath) {
      const podSpec = item.getIn(specPath, true);
      if (isMap(podSpec)) collectPodSpec(doc, podSpec, specPath.join('.'), base, out);
    }
    for (const spec of fieldSpecs) {
      if (!matchesSpec(spec, ref)) continue;
      walkPath(doc, item, spec.path.split('/'), '', undefined, base, out);
    }
  });
  return out;
}

type Base = Pick<ImageField, 'item' | 'itemIndex' | 'ref' | 'namespace'>;

function collectPodSpec(doc: Document, podSpec: YAMLMap, prefix: string, base: Base, out: ImageField[]): void {
  for (const list of CONTAINER_LISTS) {
    const containers = podSpec.get(list, true);
    if (!isSeq(containers)) continue;
    containers.items.forEach((container, i) => {
      if (!isMap(container)) return;
      const pair = container.items.find((p) => scalarKey(p.key) === 'image');
      if (!pair || pair.value === null || pair.value === undefined) return;
      const node = pair.value as Node;
      out.push({ ...base, path: `${prefix}.${list}[${i}].image`, node, value: valueOf(doc, node), podSpec, replace: (n) => { pair.value = n; } });
    });
  }
}

function matchesSpec(spec: FieldSpec, ref: ResourceRef): boolean {
  if (spec.kind !== ref.kind) return false;
  if (spec.group !== undefined && spec.group !== groupOf(ref.apiVersion!)) return false;
  if (spec.version !== undefined && spec.version !== versionOf(ref.apiVersion!)) return false;
  return true;
}

/**
 * Walks a kustomize field path. A list met on the way is walked item by item;
 * the map that holds a `containers`/`initContainers`/`ephemeralContainers`
 * list on the way is taken as the pod spec.
 */
function walkPath(doc: Document, node: unknown, segments: string[], shown: string, podSpec: YAMLMap | undefined, base: Base, out: ImageField[]): void {
  if (isSeq(node)) {
    node.items.forEach((child, i) => walkPath(doc, child, segments, `${shown}[${i}]`, podSpec, base, out));
    return;
  }
  if (segments.length === 0) return;
  if (!isMap(node)) return;
  const [head, ...rest] = segments as [string, ...string[]];
  const key = head.endsWith('[]') ? head.slice(0, -2) : head;
  const pair = node.items.find((p) => scalarKey(p.key) === key);
  if (!pair || pair.value === null || pair.value === undefined) return;
  const path = shown ? `${shown}.${key}` : key;
  const spec = (CONTAINER_LISTS as readonly string[]).includes(key) ? node : podSpec;
  if (rest.length === 0) {
    const value = pair.value as Node;
    if (isSeq(value)) {
      value.items.forEach((v, i) => {
        if (isScalar(v) || isAlias(v)) {
          const replace = (n: Node): void => { value.items[i] = n; };
          out.push({ ...base, path: `${path}[${i}]`, node: v as Node, value: valueOf(doc, v as Node), replace, ...(spec && { podSpec: spec }) });
        }
      });
      return;
    }
    const replace = (n: Node): void => { pair.value = n; };
    out.push({ ...base, path, node: value, value: valueOf(doc, value), replace, ...(spec && { podSpec: spec }) });
    return;
  }
  walkPath(doc, pair.value, rest, path, spec, base, out);
}

function scalarKey(key: unknown): unknown {
  return isScalar(key) ? key.value : key;
}

function valueOf(doc: Document, node: Node): unknown {
  if (isAlias(node)) {
    const target = node.resolve(doc);
    return isScalar(target) ? (target as Scalar).value : target;
  }
  if (isScalar(node)) return node.value;
  return node;
}
