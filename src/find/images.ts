/**
 * Finds every image field of every object: the containers, initContainers and ephemeralContainers of each pod
 * template, plus user fieldSpecs for custom resources. What a workload really runs counts: aliases are followed
 * and merge keys applied, and each field says through which anchored node it was reached, so the plan can tell
 * when one node is shared.
 */
import { isAlias, isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml';
import type { InputObject } from '../read/input.js';
import { resourceRefOf } from '../read/input.js';
import type { AliasIndex } from '../read/aliases.js';
import { asMap, asSeq, deref, lookup, lookupPath, type Reached } from '../read/nodes.js';
import { CONTAINER_LISTS, groupOf, podSpecPath, versionOf } from './workloads.js';

export interface FieldSpec {
  readonly group?: string;
  readonly version?: string;
  readonly kind: string;
  /** kustomize style: `spec/template/spec/containers[]/image`; lists are walked whether or not `[]` is written. */
  readonly path: string;
}

export type Segment = string | number;

/** A pod spec an image field belongs to: where `imagePullSecrets` goes. */
export interface PodSpecUse {
  readonly node: YAMLMap;
  readonly ctx: Node | undefined;
  readonly segments: readonly Segment[];
}

export interface ImageField {
  readonly object: InputObject;
  /** Field path for results: `spec.template.spec.containers[0].image`. */
  readonly path: string;
  readonly segments: readonly Segment[];
  /** The node that holds the value, aliases followed (the node an edit changes). */
  readonly node: Node;
  /** The innermost anchored node on the way to `node` (undefined: the node is not shared through an alias). */
  readonly ctx: Node | undefined;
  /** When the field itself is written as an alias (`image: *img`): that alias, and the anchored node around it. */
  readonly alias?: { readonly node: Node; readonly ctx: Node | undefined };
  /** The whole value found there; a non-string value is reported, not rewritten. */
  readonly value: unknown;
  /** The image inside the value: the whole value, or the part after `--flag=`. */
  readonly image?: string;
  /** Text around the image in the value (`--flag=` before it), kept when the image is rewritten. */
  readonly prefix?: string;
  /** What found it: an image field of a pod spec, a fieldSpec, or a rule of imagesInValues. */
  readonly source: 'container' | 'fieldSpec' | 'value';
  /** The pod spec that uses this image; absent for custom fields outside a pod spec. */
  readonly podSpec?: PodSpecUse;
}

/** The objects to look into: the input's, with the entries of `v1` `List` objects in their place. */
export function expandLists(objects: readonly InputObject[], aliases: AliasIndex): InputObject[] {
  const out: InputObject[] = [];
  for (const o of objects) {
    out.push(o);
    if (o.ref.kind !== 'List' || o.ref.apiVersion !== 'v1') continue;
    const items = asSeq(lookup(o.node, 'items', undefined, aliases));
    items?.node.items.forEach((el) => {
      const entry = asMap(deref(el, items.ctx, aliases));
      if (entry) out.push({ ...o, node: entry.node, ref: resourceRefOf(entry.node) });
    });
  }
  return out;
}

export function findImages(objects: readonly InputObject[], fieldSpecs: readonly FieldSpec[], aliases: AliasIndex): ImageField[] {
  const out: ImageField[] = [];
  for (const object of objects) {
    const { ref } = object;
    const specPath = podSpecPath(ref.apiVersion!, ref.kind!);
    if (specPath) {
      const podSpec = asMap(lookupPath(object.node, specPath, undefined, aliases));
      if (podSpec) collectPodSpec(object, podSpec, specPath, aliases, out);
    }
    for (const spec of fieldSpecs) {
      if (matchesSpec(spec, ref.apiVersion!, ref.kind!)) walkPath(object, { node: object.node, ctx: undefined }, spec.path.split('/'), [], undefined, aliases, out);
    }
  }
  return out;
}

export function displayPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out;
}

function collectPodSpec(object: InputObject, podSpec: Reached<YAMLMap>, prefix: readonly Segment[], aliases: AliasIndex, out: ImageField[]): void {
  const use: PodSpecUse = { node: podSpec.node, ctx: podSpec.ctx, segments: prefix };
  for (const list of CONTAINER_LISTS) {
    const containers = asSeq(lookup(podSpec.node, list, podSpec.ctx, aliases));
    containers?.node.items.forEach((el, i) => {
      const container = asMap(deref(el, containers.ctx, aliases));
      if (!container) return;
      const found = lookup(container.node, 'image', container.ctx, aliases);
      if (!found) return;
      const segments = [...prefix, list, i, 'image'];
      out.push(field(object, segments, found, 'container', use, aliasAt(found.pair.value, found.holderCtx)));
    });
  }
}

/** The alias written at a field's place, if it is one. */
export function aliasAt(raw: unknown, ctx: Node | undefined): ImageField['alias'] {
  return isAlias(raw) ? { node: raw, ctx } : undefined;
}

export function field(
  object: InputObject,
  segments: readonly Segment[],
  at: Reached,
  source: ImageField['source'],
  podSpec?: PodSpecUse,
  alias?: ImageField['alias'],
): ImageField {
  const value = isScalar(at.node) ? at.node.value : at.node;
  return {
    object,
    path: displayPath(segments),
    segments,
    node: at.node,
    ctx: at.ctx,
    ...(alias && { alias }),
    value,
    ...(typeof value === 'string' && { image: value }),
    source,
    ...(podSpec && { podSpec }),
  };
}

function matchesSpec(spec: FieldSpec, apiVersion: string, kind: string): boolean {
  if (spec.kind !== kind) return false;
  if (spec.group !== undefined && spec.group !== groupOf(apiVersion)) return false;
  if (spec.version !== undefined && spec.version !== versionOf(apiVersion)) return false;
  return true;
}

/**
 * Walks a kustomize field path. A list met on the way is walked item by item; the map that holds a
 * `containers`/`initContainers`/`ephemeralContainers` list on the way is taken as the pod spec.
 */
function walkPath(
  object: InputObject,
  at: Reached,
  segments: readonly string[],
  shown: readonly Segment[],
  podSpec: PodSpecUse | undefined,
  aliases: AliasIndex,
  out: ImageField[],
): void {
  if (isSeq(at.node)) {
    at.node.items.forEach((child, i) => {
      const r = deref(child, at.ctx, aliases);
      if (r) walkPath(object, r, segments, [...shown, i], podSpec, aliases, out);
    });
    return;
  }
  if (segments.length === 0 || !isMap(at.node)) return;
  const [head, ...rest] = segments as [string, ...string[]];
  const key = head.endsWith('[]') ? head.slice(0, -2) : head;
  const found = lookup(at.node, key, at.ctx, aliases);
  if (!found || (isScalar(found.node) && found.node.value === null)) return;
  const path = [...shown, key];
  const spec = (CONTAINER_LISTS as readonly string[]).includes(key) ? { node: at.node, ctx: at.ctx, segments: shown } : podSpec;
  if (rest.length === 0) {
    const value = found.node;
    if (isSeq(value)) {
      value.items.forEach((v, i) => {
        const r = deref(v, found.ctx, aliases);
        if (r && isScalar(r.node)) out.push(field(object, [...path, i], r, 'fieldSpec', spec, aliasAt(v, found.ctx)));
      });
      return;
    }
    out.push(field(object, path, found, 'fieldSpec', spec, aliasAt(found.pair.value, found.holderCtx)));
    return;
  }
  walkPath(object, found, rest, path, spec, aliases, out);
}
