/**
 * The one writer for every input form: the plan's edits are spliced into the original text at the edited nodes'
 * source ranges, so every byte outside an edited span stays as it was (comments, quoting, numbers as written,
 * line ends, orchestrator annotations, the stream's `---` and `# Source:` lines). What cannot be spliced safely
 * is refused with `SpliceError`, never written half-right.
 */
import { isMap, isScalar, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import type { Input, InputObject } from '../read/input.js';
import { insertionOf, type Insertion } from '../read/insertion.js';
import type { Plan, PullSecretWiring } from '../plan/plan.js';
import type { Result } from '../results.js';
import { resultsText } from './results-text.js';
import { blockText, flowOf, flowText, jsonText, keyText, nameEntry, replacementText, scalarOf } from './text.js';

export class SpliceError extends Error {
  override readonly name = 'SpliceError';
}

interface Splice {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** The output text: the input with the plan applied; for a ResourceList, with `results` in place of any it had. */
export function renderSplice(input: Input, plan: Plan, results: readonly Result[]): string {
  return new Splicer(input).render(plan, results);
}

class Splicer {
  private readonly src: string;
  private readonly json: boolean;
  private readonly splices: Splice[] = [];
  /** Items dropped, and whether new objects are appended (then a list that loses its last item is no `[]`). */
  private readonly dropped = new Set<unknown>();
  private creating = false;

  constructor(private readonly input: Input) {
    this.src = input.source;
    this.json = input.json;
  }

  render(plan: Plan, results: readonly Result[]): string {
    for (const r of plan.rewrites) {
      const [start, end] = rangeOf(r.node);
      this.add(start, end, replacementText(r.node, r.value, this.src, this.json));
    }
    for (const w of plan.wirings) this.wire(w);
    for (const u of plan.updates) this.setFields(u.object.node, u.fields);
    this.creating = plan.creates.length > 0;
    for (const d of plan.drops) this.drop(d);
    if (plan.creates.length > 0) this.append(plan.creates.map((c) => c.object));
    if (this.input.form === 'resource-list') this.results(results);
    return this.apply();
  }

  // ------------------------------------------------------------ primitives

  private add(start: number, end: number, text: string): void {
    this.splices.push({ start, end, text: this.input.eol === '\r\n' ? text.replace(/\r?\n/g, '\r\n') : text });
  }

  private apply(): string {
    const sorted = [...this.splices].sort((a, b) => a.start - b.start || a.end - b.end);
    const parts: string[] = [];
    let at = 0;
    for (const s of sorted) {
      if (s.start < at) throw new SpliceError('two edits overlap');
      parts.push(this.src.slice(at, s.start), s.text);
      at = s.end;
    }
    parts.push(this.src.slice(at));
    return parts.join('');
  }

  private column(offset: number): number {
    return offset - (this.src.lastIndexOf('\n', offset - 1) + 1);
  }

  private lineStart(offset: number): number {
    return this.src.lastIndexOf('\n', offset - 1) + 1;
  }

  /** Where a new line can start after `offset` (the offset itself when it already is a line start). */
  private lineBreakBefore(offset: number): string {
    return offset === 0 || this.src[offset - 1] === '\n' ? '' : '\n';
  }

  // ------------------------------------------------------------ imagePullSecrets

  private wire(w: PullSecretWiring): void {
    const names = [...w.keep, ...w.add.filter((n) => !w.keep.includes(n))];
    switch (w.op) {
      case 'append':
        return this.appendToSeq(w.list!, w.add.map((n) => ({ name: n })), (indent) => w.add.map((n) => `${indent}- name: ${scalarOf(n)}\n`).join(''));
      case 'set':
        return this.setPairValue(w.pair!, `[${names.map((n) => nameEntry(n, this.json)).join(', ')}]`);
      case 'insert':
        return this.insertPair(w.podSpec.insertion, 'imagePullSecrets', names.map((n) => ({ name: n })), (dash) => names.map((n) => `${dash}- name: ${scalarOf(n)}\n`).join(''));
    }
  }

  /** Adds entries at the end of a list: block lists get lines at the list's own indentation, flow lists `, x`. */
  private appendToSeq(seq: YAMLSeq, values: readonly object[], blockLines: (indent: string) => string): void {
    const [start, end] = rangeOf(seq);
    if (seq.flow) {
      const close = this.src.lastIndexOf(']', end - 1);
      if (close < start) throw new SpliceError('a flow list without its closing ]');
      const last = seq.items[seq.items.length - 1] as Node | undefined;
      const between = last?.range ? this.src.slice(last.range[1], close) : '';
      const sep = seq.items.every((i) => this.dropped.has(i)) || between.includes(',') ? '' : ', ';
      this.add(close, close, sep + values.map((v) => flowOf(v, this.json)).join(', '));
      return;
    }
    const indent = ' '.repeat(this.column(start));
    const at = this.seqEnd(seq);
    this.add(at, at, this.lineBreakBefore(at) + blockLines(indent));
  }

  /** The end of a block list's last entry, before any comment lines that follow it. */
  private seqEnd(seq: YAMLSeq): number {
    const last = seq.items[seq.items.length - 1] as Node | undefined;
    return this.lineEnd(last?.range ? last.range[1] : rangeOf(seq)[1]);
  }

  /** Where the line that `offset` ends on ends: `offset` itself when it already starts a line. */
  private lineEnd(offset: number): number {
    if (offset > 0 && this.src[offset - 1] === '\n') return offset;
    const nl = this.src.indexOf('\n', offset);
    return nl < 0 ? this.src.length : nl + 1;
  }

  private setPairValue(pair: Pair, text: string): void {
    const value = pair.value as Node | null;
    if (value?.range) {
      const [start, end] = value.range;
      this.add(start, end, (start === end && !/[ \t]$/.test(this.src.slice(0, start)) ? ' ' : '') + text);
      return;
    }
    const [, keyEnd] = rangeOf(pair.key as Node);
    const colon = this.src.indexOf(':', keyEnd);
    if (colon < 0) throw new SpliceError('a pair without its colon');
    this.add(colon + 1, colon + 1, ' ' + text);
  }

  /** Adds `key: value` to a map: block maps before their first key, flow maps right after `{`. */
  private insertPair(at: Insertion, key: string, value: unknown, blockLines: (dash: string) => string): void {
    if (at.flow) {
      const open = this.src.indexOf('{', at.start);
      if (open < 0 || open >= at.end) throw new SpliceError('a flow map without its {');
      const sep = at.empty ? '' : ',';
      if (at.firstKey !== undefined && this.src.slice(open, at.firstKey).includes('\n')) {
        const indent = ' '.repeat(this.column(at.firstKey));
        this.add(open + 1, open + 1, `\n${indent}${keyText(key, this.json)}: ${this.json ? jsonText(value, indent) : flowOf(value, false)}${sep}`);
      } else {
        this.add(open + 1, open + 1, `${keyText(key, this.json)}: ${flowOf(value, this.json)}${sep}${sep ? ' ' : ''}`);
      }
      return;
    }
    if (at.firstKey === undefined) throw new SpliceError('an empty block map');
    const indent = ' '.repeat(this.column(at.firstKey));
    // Lists in this file are written compact (`- ` under the key) or wide (`- ` two further in); follow the map's own.
    const wide = at.list ? Math.max(0, this.column(at.list.dash) - this.column(at.list.key)) : 0;
    this.add(at.firstKey, at.firstKey, `${keyText(key, false)}:\n${blockLines(indent + ' '.repeat(wide))}${indent}`);
  }

  // ------------------------------------------------------------ Secret updates

  /** Sets fields of an existing map: a nested block map is edited key by key (an updated Secret's diff is one line). */
  private setFields(map: YAMLMap, fields: Readonly<Record<string, unknown>>): void {
    const missing: [string, unknown][] = [];
    for (const [key, value] of Object.entries(fields)) {
      const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
      if (!pair) {
        missing.push([key, value]);
        continue;
      }
      const node = pair.value as Node | null;
      if (node && JSON.stringify(node.toJSON()) === JSON.stringify(value)) continue;
      // A nested map, block or flow (JSON too), is edited key by key: keys the function does not set stay as written.
      if (isMap(node) && node.items.length > 0 && isRecord(value)) {
        this.setFields(node, value);
        continue;
      }
      const merged = isMap(node) && isRecord(value) ? { ...(node.toJSON() as Record<string, unknown>), ...value } : value;
      const text = typeof merged === 'string' && node ? replacementText(node, merged, this.src, this.json) : flowText(merged);
      this.setPairValue(pair, text);
    }
    if (missing.length === 0) return;
    if (map.flow) {
      const at = insertionOf(map);
      for (const [key, value] of missing) this.insertPair(at, key, value, () => '');
      return;
    }
    const firstKey = map.items[0]?.key as Node | undefined;
    if (!firstKey?.range) throw new SpliceError('an empty block map');
    const indent = ' '.repeat(this.column(firstKey.range[0]));
    this.add(firstKey.range[0], firstKey.range[0], missing.map(([k, v]) => `${scalarOf(k)}: ${flowText(v)}\n${indent}`).join(''));
  }

  // ------------------------------------------------------------ objects

  private drop(object: InputObject): void {
    if (this.input.form === 'stream') {
      const doc = object.doc!;
      const i = this.input.docs.indexOf(doc);
      const next = this.input.docs[i + 1];
      this.add(doc.range[0], next ? next.range[0] : this.src.length, '');
      return;
    }
    const items = this.input.itemsSeq!;
    const index = items.items.indexOf(object.node);
    if (index < 0) throw new SpliceError('the object to drop is not an item');
    this.dropped.add(object.node);
    if (items.items.length === 1 && !this.creating) {
      const [start, end] = rangeOf(items);
      // a block list may stand at its key's column (`items:` then `- ` under it); a flow `[]` may not
      const key = this.input.root?.items.find((p) => p.value === items)?.key as Node | undefined;
      const under = !items.flow && key?.range && this.column(start) <= this.column(key.range[0]) ? ' '.repeat(this.column(key.range[0]) + 2 - this.column(start)) : '';
      this.add(start, end, under + '[]' + (items.flow ? '' : this.src.slice(start, end).match(/\r?\n$/)?.[0] ?? ''));
      return;
    }
    if (items.flow) {
      const [start, end] = rangeOf(object.node);
      const next = items.items[index + 1] as Node | undefined;
      if (next?.range) this.add(start, next.range[0], '');
      else if (index > 0) this.add((items.items[index - 1] as Node).range![1], end, '');
      else this.add(start, end, ''); // the only item, new objects take its place
      return;
    }
    // A whole block entry: its dash line, the comment lines above it, and its body.
    const from = index === 0 ? this.lineStart(rangeOf(items)[0]) : this.lineEnd(rangeOf(items.items[index - 1] as Node)[1]);
    const to = this.lineEnd(rangeOf(object.node)[1]);
    if (from > to) throw new SpliceError('a list entry not on lines of its own');
    this.add(from, to, '');
  }

  /** New objects: after the last item of a ResourceList, or as new documents at the end of a stream. */
  private append(objects: readonly object[]): void {
    if (this.input.form === 'stream') {
      const end = this.src.length;
      const lead = this.lineBreakBefore(end);
      this.add(end, end, lead + objects.map((o) => `---\n${blockText(o, null)}`).join(''));
      return;
    }
    const items = this.input.itemsSeq;
    if (items && items.items.length > 0) {
      if (items.flow) {
        const first = items.items[0] as Node;
        const last = items.items[items.items.length - 1] as Node;
        if (first.range && last.range && this.src.slice(rangeOf(items)[0], first.range[0]).includes('\n')) {
          const indent = ' '.repeat(this.column(first.range[0]));
          if (items.items.every((i) => this.dropped.has(i))) this.add(first.range[0], first.range[0], objects.map((o) => jsonText(o, indent)).join(`,\n${indent}`));
          else this.add(last.range[1], last.range[1], objects.map((o) => `,\n${indent}${jsonText(o, indent)}`).join(''));
          return;
        }
        return this.appendToSeq(items, objects, () => '');
      }
      const indent = ' '.repeat(this.column(rangeOf(items)[0]));
      const at = this.seqEnd(items);
      this.add(at, at, this.lineBreakBefore(at) + objects.map((o) => blockText(o, indent)).join(''));
      return;
    }
    const root = this.input.root!;
    const pair = root.items.find((p) => isScalar(p.key) && p.key.value === 'items');
    if (pair) return this.setPairValue(pair, this.json ? jsonText(objects, '  ') : flowText(objects));
    this.appendToRoot('items', objects, `items:\n${objects.map((o) => blockText(o, '')).join('')}`);
  }

  // ------------------------------------------------------------ results

  private results(results: readonly Result[]): void {
    const root = this.input.root!;
    const pair = root.items.find((p) => isScalar(p.key) && p.key.value === 'results');
    if (pair) this.removePair(root, pair);
    if (results.length === 0) return;
    this.appendToRoot('results', results, resultsText(results));
  }

  private removePair(map: YAMLMap, pair: Pair): void {
    const key = pair.key as Node;
    const value = pair.value as Node | null;
    const [keyStart] = rangeOf(key);
    const end = value?.range ? value.range[1] : rangeOf(key)[1];
    if (map.flow) {
      const index = map.items.indexOf(pair);
      const next = map.items[index + 1]?.key as Node | undefined;
      if (next?.range) this.add(keyStart, next.range[0], '');
      else if (index > 0) this.add(endOf(map.items[index - 1]!), end, '');
      else this.add(keyStart, end, '');
      return;
    }
    const from = this.lineStart(keyStart);
    const nodeEnd = value?.range ? value.range[2] : end;
    this.add(from, this.lineEnd(nodeEnd), '');
  }

  /** A new top-level key at the end of the ResourceList. */
  private appendToRoot(key: string, value: unknown, blockTextValue: string): void {
    const root = this.input.root!;
    const [, end] = rangeOf(root);
    if (root.flow) {
      const close = this.src.lastIndexOf('}', end - 1);
      if (close < 0) throw new SpliceError('a flow ResourceList without its closing }');
      const last = root.items[root.items.length - 1];
      const sep = root.items.length > 0 ? ',' : '';
      const firstKey = root.items[0]?.key as Node | undefined;
      const multiline = firstKey?.range ? this.src.slice(rangeOf(root)[0], firstKey.range[0]).includes('\n') : false;
      const at = last ? endOf(last) : close;
      if (multiline) {
        const indent = ' '.repeat(this.column(firstKey!.range![0]));
        this.add(at, at, `${sep}\n${indent}${keyText(key, this.json)}: ${this.json ? jsonText(value, indent) : flowText(value)}`);
      } else {
        this.add(at, at, `${sep} ${keyText(key, this.json)}: ${flowText(value)}`);
      }
      return;
    }
    const firstKey = root.items[0]?.key as Node | undefined;
    if (firstKey?.range && this.column(firstKey.range[0]) !== 0) throw new SpliceError('an indented ResourceList');
    const at = Math.max(end, ...root.items.map((p) => (p.value as Node | null)?.range?.[2] ?? 0));
    this.add(at, at, this.lineBreakBefore(at) + blockTextValue);
  }
}

function endOf(pair: Pair): number {
  const v = pair.value as Node | null;
  return v?.range ? v.range[1] : rangeOf(pair.key as Node)[1];
}

function rangeOf(node: Node | null | undefined): [number, number, number] {
  const r = node?.range;
  if (!r) throw new SpliceError('a node without a source range');
  return r;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
