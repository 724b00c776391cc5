/**
 * Reading yaml nodes the way Kubernetes tools see them: aliases resolved, merge keys (`<<`) applied, scalars as
 * their values. Every lookup also says through which anchored node it went, so later stages can tell whether an
 * edit at that node is seen by anything else (see `aliases.ts`).
 */
import { isAlias, isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import type { AliasIndex } from './aliases.js';

/** A node reached from an item, with the innermost anchored node on the way (undefined: reached only once). */
export interface Reached<N extends Node = Node> {
  readonly node: N;
  readonly ctx: Node | undefined;
}

/** Where a key of a map was found: in the map itself, or in a map merged into it with `<<`. */
export interface Found extends Reached {
  readonly pair: Pair;
  /** The map that holds the pair (the map asked, or a merge source). */
  readonly holder: YAMLMap;
  /** The innermost anchored node around the holder. */
  readonly holderCtx: Node | undefined;
  readonly viaMerge: boolean;
}

export const MERGE_KEY = '<<';

export function keyOf(pair: Pair): unknown {
  const k = pair.key as unknown;
  return isScalar(k) ? k.value : k;
}

export function isMergePair(pair: Pair): boolean {
  const k = pair.key as unknown;
  // with yaml's `merge` option the key's value is a symbol; its source is `<<`
  return isScalar(k) && k.type === 'PLAIN' && (k.value === MERGE_KEY || (typeof k.value === 'symbol' && (k as { source?: string }).source === MERGE_KEY));
}

/** Follows an alias to its anchor; the anchored node becomes the context. */
export function deref(node: unknown, ctx: Node | undefined, aliases: AliasIndex): Reached | undefined {
  if (node === null || node === undefined) return undefined;
  if (isAlias(node)) {
    const target = aliases.target(node);
    return target ? { node: target, ctx: target } : undefined;
  }
  const n = node as Node;
  return { node: n, ctx: (n as { anchor?: string }).anchor ? n : ctx };
}

/** The value of `key` in `map`: its own pairs first, then the maps merged in, in order (as yaml and Go's yaml.v3 do). */
export function lookup(map: YAMLMap, key: string, ctx: Node | undefined, aliases: AliasIndex, depth = 0): Found | undefined {
  let merges = false;
  for (const pair of map.items) {
    if (isMergePair(pair)) merges = true;
    else if (keyOf(pair) === key) {
      const r = deref(pair.value, ctx, aliases);
      // built field by field: an object spread here costs microseconds (yaml's nodes have many shapes)
      return r && { node: r.node, ctx: r.ctx, pair, holder: map, holderCtx: ctx, viaMerge: false };
    }
  }
  // most maps merge nothing: a key they lack is absent, without a second look
  if (!merges || depth > 32) return undefined;
  for (const source of mergeSources(map, ctx, aliases)) {
    const found = lookup(source.node, key, source.ctx, aliases, depth + 1);
    if (found) return { node: found.node, ctx: found.ctx, pair: found.pair, holder: found.holder, holderCtx: found.holderCtx, viaMerge: true };
  }
  return undefined;
}

/** The maps a `<<` key merges into `map`, in precedence order. */
export function mergeSources(map: YAMLMap, ctx: Node | undefined, aliases: AliasIndex): Reached<YAMLMap>[] {
  const out: Reached<YAMLMap>[] = [];
  for (const pair of map.items) {
    if (!isMergePair(pair)) continue;
    const v = deref(pair.value, ctx, aliases);
    if (!v) continue;
    if (isMap(v.node)) out.push(v as Reached<YAMLMap>);
    else if (isSeq(v.node)) {
      for (const el of v.node.items) {
        const r = deref(el, v.ctx, aliases);
        if (r && isMap(r.node)) out.push(r as Reached<YAMLMap>);
      }
    }
  }
  return out;
}

export function asMap(r: Reached | undefined): Reached<YAMLMap> | undefined {
  return r && isMap(r.node) ? (r as Reached<YAMLMap>) : undefined;
}

export function asSeq(r: Reached | undefined): Reached<YAMLSeq> | undefined {
  return r && isSeq(r.node) ? (r as Reached<YAMLSeq>) : undefined;
}

/** A scalar's value as a string, or undefined for anything else (numbers included: names and kinds are strings). */
export function stringAt(r: Reached | undefined): string | undefined {
  return r && isScalar(r.node) && typeof r.node.value === 'string' ? r.node.value : undefined;
}

/** Path lookup through maps, with aliases and merge keys. */
export function lookupPath(map: YAMLMap, path: readonly string[], ctx: Node | undefined, aliases: AliasIndex): Reached | undefined {
  let at: Reached = { node: map, ctx };
  for (const key of path) {
    const m = asMap(at);
    if (!m) return undefined;
    const next = lookup(m.node, key, m.ctx, aliases);
    if (!next) return undefined;
    at = next;
  }
  return at;
}
