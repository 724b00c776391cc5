/**
 * YAML anchors and aliases, indexed once: which node each alias stands for, and how many times each anchored node
 * is seen when the documents are expanded (its own place plus every alias to it, and to anything around it).
 *
 * That count is what makes edits through aliases safe: a node seen N times can be edited in place only when all N
 * uses are ones the function found and wants edited; otherwise something else would change with it.
 * Aliases that would expand the input beyond a bound (billion laughs), that name no earlier anchor, or that sit
 * inside the node they name are errors.
 */
import { isAlias, isCollection, isMap, isPair, isScalar, isSeq, visit, type Alias, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { FnError } from '../errors.js';
import { isMergePair } from './nodes.js';

/** Aliases may be used, but not to expand the input by more than this many nodes. */
export const MAX_ALIAS_EXPANSION = 10_000;

export interface AliasIndex {
  readonly any: boolean;
  /** The anchored node an alias stands for. */
  target(alias: Alias): Node | undefined;
  /**
   * How many times `ctx` (an anchored node, or undefined for "not inside any") is reached in the expanded input.
   * With `key`, how many times the value under `key` directly in `ctx` is: an alias that merges `ctx` into a map
   * (`<<: *ctx`) that sets `key` itself does not show that value.
   */
  visits(ctx: Node | undefined, key?: string): number;
}

export const NO_ALIASES: AliasIndex = { any: false, target: () => undefined, visits: () => 1 };

interface Anchored {
  /** The innermost anchored node around this one. */
  readonly parent: Node | undefined;
  /** Each alias to this node: the innermost anchored node around it, and the map it is merged into (and its `<<` pair), if it is a merge source. */
  readonly aliases: { readonly ctx: Node | undefined; readonly mergedInto: MergedInto | undefined }[];
}

export function indexAliases(docs: readonly Document.Parsed[], source: string): AliasIndex {
  // Every alias is written `*name`: without a `*` in the text there is nothing to index.
  if (!source.includes('*')) return NO_ALIASES;
  const targets = new Map<Alias, Node>();
  const anchored = new Map<Node, Anchored>();
  const aliasList: { alias: Alias; ctx: Node | undefined }[] = [];
  for (const doc of docs) {
    const byName = new Map<string, Node>();
    visit(doc, {
      Node: (_key, node, path) => {
        const ctx = innermostAnchored(path);
        if (isAlias(node)) {
          const target = byName.get(node.source);
          if (!target) throw aliasError(source, node, 'whose anchor is not defined before it');
          if (target === ctx || (ctx && chainOf(ctx, anchored).includes(target))) throw aliasError(source, node, 'inside the node its anchor names');
          targets.set(node, target);
          anchored.get(target)!.aliases.push({ ctx, mergedInto: mergedInto(path) });
          aliasList.push({ alias: node, ctx });
          return undefined;
        }
        const anchor = (node as { anchor?: string }).anchor;
        if (anchor) {
          byName.set(anchor, node as Node);
          anchored.set(node as Node, { parent: ctx, aliases: [] });
        }
        return undefined;
      },
    });
  }
  if (aliasList.length === 0) return NO_ALIASES;

  const memo = new Map<Node, number>();
  const visits = (ctx: Node | undefined, key?: string): number => {
    if (ctx === undefined) return 1;
    if (key !== undefined) {
      const a = anchored.get(ctx);
      if (!a) return 1;
      let n = visits(a.parent);
      for (const alias of a.aliases) if (!(alias.mergedInto && setsOwnKey(alias.mergedInto, key))) n += visits(alias.ctx);
      return Math.min(n, Number.MAX_SAFE_INTEGER);
    }
    const known = memo.get(ctx);
    if (known !== undefined) return known;
    const a = anchored.get(ctx);
    if (!a) return 1;
    memo.set(ctx, Infinity); // a cycle would read as "too many"
    let n = visits(a.parent);
    for (const alias of a.aliases) n += visits(alias.ctx);
    const total = Math.min(n, Number.MAX_SAFE_INTEGER);
    memo.set(ctx, total);
    return total;
  };

  const sizes = new Map<Node, number>();
  let expansion = 0;
  for (const { alias, ctx } of aliasList) {
    const target = targets.get(alias)!;
    let size = sizes.get(target);
    if (size === undefined) sizes.set(target, (size = nodeCount(target)));
    expansion += visits(ctx) * size;
    if (expansion > MAX_ALIAS_EXPANSION) {
      throw new FnError('INPUT_YAML', `input uses YAML aliases that expand too far (more than ${MAX_ALIAS_EXPANSION} nodes)`);
    }
  }
  return { any: true, target: (alias) => targets.get(alias), visits };
}

interface MergedInto {
  readonly map: YAMLMap;
  readonly pair: Pair;
}

/**
 * The map an alias is merged into: the alias is the value of its `<<` pair, or an entry of the list there. Not
 * when that list is anchored: it may be merged elsewhere too (`<<: &l [*a]`, then `<<: *l`), where the map it goes
 * into is another.
 */
function mergedInto(path: readonly unknown[]): MergedInto | undefined {
  let i = path.length - 1;
  if (isSeq(path[i])) {
    if ((path[i] as { anchor?: string }).anchor) return undefined;
    i--;
  }
  const pair = path[i];
  const map = path[i - 1];
  if (!isPair(pair) || !isMap(map)) return undefined;
  return isMergePair(pair) ? { map, pair } : undefined;
}

/**
 * The map has a pair of its own (not a merge) with this key after the `<<` pair: what the merge would bring under
 * it is not seen. Only after it: Go's yaml.v2, which kubectl reads YAML with, applies pairs in order, so a merge
 * written after the map's own key overrides it (yaml.v3 and yaml keep the own key either way).
 */
function setsOwnKey({ map, pair }: MergedInto, key: string): boolean {
  const merge = map.items.indexOf(pair);
  return map.items.some((p, i) => i > merge && isScalar(p.key) && p.key.value === key);
}

function innermostAnchored(path: readonly unknown[]): Node | undefined {
  for (let i = path.length - 1; i >= 0; i--) {
    const p = path[i] as { anchor?: string };
    if (p && typeof p === 'object' && p.anchor && isCollection(p)) return p as Node;
  }
  return undefined;
}

function chainOf(ctx: Node, anchored: ReadonlyMap<Node, Anchored>): Node[] {
  const out: Node[] = [];
  for (let at: Node | undefined = ctx; at; at = anchored.get(at)?.parent) out.push(at);
  return out;
}

function nodeCount(node: Node): number {
  let n = 0;
  visit(node as never, { Node: () => void n++ });
  return Math.max(n, 1);
}

function aliasError(source: string, alias: Alias, what: string): FnError {
  const at = alias.range?.[0] ?? 0;
  const line = source.slice(0, at).split('\n').length;
  const column = at - source.lastIndexOf('\n', at - 1);
  // The alias's name is not repeated: it is whatever the input says, and could be anything.
  return new FnError('INPUT_YAML', `input uses an alias at line ${line}, column ${column} ${what}`);
}

/** An alias index that is known only later (`set`); until then it knows no alias. */
export interface LateAliasIndex extends AliasIndex {
  set(index: AliasIndex): void;
}

/**
 * For what is read before the whole input is: items seen while they are read hold no alias (see `read/input.ts`), so
 * nothing they lead to asks this index before `set`; what comes after asks the real one.
 */
export function lateAliasIndex(): LateAliasIndex {
  let index: AliasIndex = NO_ALIASES;
  return {
    get any() {
      return index.any;
    },
    target: (alias) => index.target(alias),
    visits: (ctx, key) => index.visits(ctx, key),
    set(i) {
      index = i;
    },
  };
}
