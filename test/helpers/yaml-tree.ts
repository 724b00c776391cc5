/** Compares two yaml node trees: kinds, ranges, styles, anchors, tags and values, node by node. */
import { isAlias, isCollection, isNode, isPair, isScalar } from 'yaml';

/** The first difference between two trees, as `path: what`, or undefined when they are the same. */
export function treeDiff(a: unknown, b: unknown, path = '$'): string | undefined {
  if (isNode(a) !== isNode(b)) return `${path}: a node on one side only`;
  if (!isNode(a) || !isNode(b)) return a === b || (a == null && b == null) ? undefined : `${path}: ${String(a)} vs ${String(b)}`;
  const kind = (n: unknown): string => (isScalar(n) ? 'scalar' : isAlias(n) ? 'alias' : isCollection(n) ? (n as { constructor: { name: string } }).constructor.name : 'other');
  if (kind(a) !== kind(b)) return `${path}: ${kind(a)} vs ${kind(b)}`;
  if (JSON.stringify(a.range) !== JSON.stringify(b.range)) return `${path}: range ${JSON.stringify(a.range)} vs ${JSON.stringify(b.range)}`;
  for (const k of ['type', 'anchor', 'tag', 'flow', 'format'] as const) {
    const [x, y] = [(a as unknown as Record<string, unknown>)[k], (b as unknown as Record<string, unknown>)[k]];
    if (x !== y) return `${path}: ${k} ${String(x)} vs ${String(y)}`;
  }
  if (isScalar(a)) return Object.is(a.value, (b as typeof a).value) || (typeof a.value === 'symbol' && String(a.value) === String((b as typeof a).value)) ? undefined : `${path}: value ${String(a.value)} vs ${String((b as typeof a).value)}`;
  if (isAlias(a)) return a.source === (b as typeof a).source ? undefined : `${path}: alias ${a.source} vs ${(b as typeof a).source}`;
  const [ia, ib] = [(a as { items: unknown[] }).items, (b as { items: unknown[] }).items];
  if (ia.length !== ib.length) return `${path}: ${ia.length} vs ${ib.length} entries`;
  for (let i = 0; i < ia.length; i++) {
    const [x, y] = [ia[i], ib[i]];
    if (isPair(x) !== isPair(y)) return `${path}[${i}]: a pair on one side only`;
    const d = isPair(x) && isPair(y) ? (treeDiff(x.key, y.key, `${path}[${i}].key`) ?? treeDiff(x.value, y.value, `${path}[${i}].value`)) : treeDiff(x, y, `${path}[${i}]`);
    if (d) return d;
  }
  return undefined;
}
