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
import { insertionOf, type Insertion } from '../read/insertion.js';
import { asMap, asSeq, deref, lookup, lookupPath, type Found, type Reached } from '../read/nodes.js';
import { CONTAINER_LISTS, groupOf, podSpecPath, versionOf } from './workloads.js';

export interface FieldSpec {
  readonly group?: string;
  readonly version?: string;
  readonly kind: string;
  /** kustomize style: `spec/template/spec/containers[]/image`; lists are walked whether or not `[]` is written. */
  readonly path: string;
}

export type Segment = string | number;

/** A pod spec an image field belongs to, and its path in the object that reached it. */
export interface PodSpecUse {
  readonly site: PodSpecSite;
  readonly segments: readonly Segment[];
}

/**
 * One pod spec node (one for every object that reaches it through an alias): what wiring `imagePullSecrets` into
 * it needs, read when it was found, so that nothing later holds on to the pod spec's nodes.
 */
export interface PodSpecSite {
  /** The innermost anchored node on the way to the pod spec. */
  readonly ctx: Node | undefined;
  /** Its `imagePullSecrets`, when it has one (its own, or through a merge key). */
  readonly pullSecrets: Omit<Found, 'holder' | 'holderCtx'> | undefined;
  /** Where a new `imagePullSecrets` pair goes. */
  readonly insertion: Insertion;
}

/** One site per pod spec node, for every field found in one `findImages` call. */
type Sites = Map<YAMLMap, PodSpecSite>;

function siteOf(sites: Sites, podSpec: Reached<YAMLMap>, aliases: AliasIndex): PodSpecSite {
  let site = sites.get(podSpec.node);
  if (!site) {
    const found = lookup(podSpec.node, 'imagePullSecrets', podSpec.ctx, aliases);
    const pullSecrets = found && { node: found.node, ctx: found.ctx, pair: found.pair, viaMerge: found.viaMerge };
    site = { ctx: podSpec.ctx, pullSecrets, insertion: insertionOf(podSpec.node) };
    sites.set(podSpec.node, site);
  }
  return site;
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
  /** The key `node` sits under when it is directly in `ctx`: a map that merges `ctx` and sets this key itself does not see it. */
  readonly key?: string;
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

/** Told of every container of a pod spec as the walk reaches it, image or not (`find/values.ts` scans it there). */
export type ContainerVisitor = (object: InputObject, container: Reached<YAMLMap>, list: readonly Segment[], index: number) => void;

export function findImages(objects: readonly InputObject[], fieldSpecs: readonly FieldSpec[], aliases: AliasIndex, onContainer?: ContainerVisitor): ImageField[] {
  const out: ImageField[] = [];
  const sites: Sites = new Map();
  for (const object of objects) {
    const { ref } = object;
    const specPath = podSpecPath(ref.apiVersion!, ref.kind!);
    // an object that is itself anchored may be seen again through an alias
    const root = deref(object.node, undefined, aliases)!;
    if (specPath) {
      const podSpec = asMap(lookupPath(object.node, specPath, root.ctx, aliases));
      if (podSpec) collectPodSpec(object, podSpec, specPath, aliases, sites, out, onContainer);
    }
    for (const spec of fieldSpecs) {
      if (matchesSpec(spec, ref.apiVersion!, ref.kind!)) walkPath(object, root, spec.path.split('/'), [], undefined, aliases, sites, out);
    }
  }
  return out;
}

export function displayPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out;
}

function collectPodSpec(
  object: InputObject,
  podSpec: Reached<YAMLMap>,
  prefix: readonly Segment[],
  aliases: AliasIndex,
  sites: Sites,
  out: ImageField[],
  onContainer?: ContainerVisitor,
): void {
  const use: PodSpecUse = { site: siteOf(sites, podSpec, aliases), segments: prefix };
  for (const list of CONTAINER_LISTS) {
    const containers = asSeq(lookup(podSpec.node, list, podSpec.ctx, aliases));
    const listPath = onContainer && containers ? [...prefix, list] : undefined;
    containers?.node.items.forEach((el, i) => {
      const container = asMap(deref(el, containers.ctx, aliases));
      if (!container) return;
      if (listPath) onContainer!(object, container, listPath, i);
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
  const holder = (at as Partial<Found>).holder;
  const pairKey = (at as Partial<Found>).pair?.key;
  const key = holder !== undefined && holder === at.ctx && isScalar(pairKey) && typeof pairKey.value === 'string' ? pairKey.value : undefined;
  return {
    object,
    path: displayPath(segments),
    segments,
    node: at.node,
    ctx: at.ctx,
    ...(key !== undefined && { key }),
    ...(alias && { alias }),
    value,
    ...(typeof value === 'string' && { image: value }),
    source,
    ...(podSpec && { podSpec }),
  };
}

export function matchesSpec(spec: FieldSpec, apiVersion: string, kind: string): boolean {
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
  sites: Sites,
  out: ImageField[],
): void {
  if (isSeq(at.node)) {
    at.node.items.forEach((child, i) => {
      const r = deref(child, at.ctx, aliases);
      if (r) walkPath(object, r, segments, [...shown, i], podSpec, aliases, sites, out);
    });
    return;
  }
  if (segments.length === 0 || !isMap(at.node)) return;
  const [head, ...rest] = segments as [string, ...string[]];
  const key = head.endsWith('[]') ? head.slice(0, -2) : head;
  const found = lookup(at.node, key, at.ctx, aliases);
  if (!found || (isScalar(found.node) && found.node.value === null)) return;
  const path = [...shown, key];
  const spec = (CONTAINER_LISTS as readonly string[]).includes(key) ? { site: siteOf(sites, at as Reached<YAMLMap>, aliases), segments: shown } : podSpec;
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
  walkPath(object, found, rest, path, spec, aliases, sites, out);
}
