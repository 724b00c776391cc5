/**
 * The changes the function makes, as data, and the two ways to write them.
 *
 * - `applyToSource` splices new text into the original YAML at the edited
 *   nodes' source ranges, so every byte the function does not change stays as
 *   it was: comments, quoting, flow style, blank lines, orchestrator
 *   annotations. It is also cheaper than re-serialising the whole document.
 * - `applyToDocument` edits the yaml Document's nodes; used for JSON input
 *   and as the fallback for a shape the splicer does not handle.
 */
import { isMap, isScalar, isSeq, Scalar, stringify, type Document, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import type { ParsedResourceList } from './resource-list.js';

export type Edit =
  /** Replace an image value. `replace` swaps the node in the Document backend. */
  | { op: 'setImage'; node: Node; value: string; replace: (node: Node) => void }
  /** Make sure the pod spec's imagePullSecrets lists `name`. */
  | { op: 'addPullSecret'; podSpec: YAMLMap; name: string; item: YAMLMap }
  | { op: 'appendItem'; value: Record<string, unknown> }
  | { op: 'removeItem'; item: YAMLMap }
  /** Set top-level fields of an existing item (an upserted Secret's type and data). */
  | { op: 'setFields'; item: YAMLMap; fields: Record<string, unknown> };

class Unsupported extends Error {}

interface Splice {
  start: number;
  end: number;
  text: string;
}

/** Writes the edited ResourceList as text; `results` replaces any results the input had. */
export function writeResourceList(rl: ParsedResourceList, edits: readonly Edit[], results: readonly object[]): string {
  if (rl.format === 'yaml') {
    try {
      return applyToSource(rl, edits, results);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
    }
  }
  applyToDocument(rl, edits, results);
  if (rl.format === 'json') return JSON.stringify(rl.doc.toJS(), null, 2) + '\n';
  // kpt sends a top-of-file comment as `- # comment`; yaml would move it above the dash and kpt would then write it twice.
  rl.itemsNode?.items.forEach((item) => {
    if (isMap(item)) item.commentBefore = undefined;
  });
  return rl.doc.toString({ lineWidth: 0, indentSeq: false, flowCollectionPadding: false });
}

// ---------------------------------------------------------------- source splicing

export function applyToSource(rl: ParsedResourceList, edits: readonly Edit[], results: readonly object[]): string {
  const src = rl.source;
  if (src.includes('\r')) throw new Unsupported('CRLF line endings');
  const splices: Splice[] = [];
  const pullSecrets = new Map<YAMLMap, string[]>();
  const appended: Record<string, unknown>[] = [];

  for (const edit of edits) {
    switch (edit.op) {
      case 'setImage': {
        const [start, end] = rangeOf(edit.node);
        splices.push({ start, end, text: scalarText(edit.node, edit.value) });
        break;
      }
      case 'addPullSecret': {
        const names = pullSecrets.get(edit.podSpec) ?? [];
        if (!names.includes(edit.name)) names.push(edit.name);
        pullSecrets.set(edit.podSpec, names);
        break;
      }
      case 'appendItem':
        appended.push(edit.value);
        break;
      case 'removeItem':
        splices.push(removeItemSplice(src, rl, edit.item));
        break;
      case 'setFields':
        splices.push(...setFieldsSplices(src, edit.item, edit.fields));
        break;
    }
  }
  for (const [podSpec, names] of pullSecrets) {
    const s = pullSecretSplice(src, podSpec, names);
    if (s) splices.push(s);
  }
  if (appended.length > 0) splices.push(appendItemsSplice(src, rl, appended));
  splices.push(...resultsSplices(src, rl, results));
  return splice(src, splices);
}

function splice(src: string, splices: Splice[]): string {
  splices.sort((a, b) => a.start - b.start || a.end - b.end);
  let out = '';
  let at = 0;
  for (const s of splices) {
    if (s.start < at) throw new Unsupported('overlapping edits');
    out += src.slice(at, s.start) + s.text;
    at = s.end;
  }
  return out + src.slice(at);
}

function rangeOf(node: Node | null | undefined): [number, number, number] {
  const r = node?.range;
  if (!r) throw new Unsupported('node without a source range');
  return r;
}

function columnOf(src: string, offset: number): number {
  return offset - (src.lastIndexOf('\n', offset - 1) + 1);
}

function lineStartOf(src: string, offset: number): number {
  return src.lastIndexOf('\n', offset - 1) + 1;
}

const PLAIN_SAFE = /^[A-Za-z0-9][A-Za-z0-9._\/:@+=-]*$/;

/** The new value in the quoting style the old one had (plain stays plain when it can). */
function scalarText(node: Node, value: string): string {
  const type = isScalar(node) ? node.type : undefined;
  if (type === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`;
  if (type === Scalar.PLAIN) return scalarOf(value);
  return JSON.stringify(value);
}

function flowText(value: unknown): string {
  return JSON.stringify(value);
}

/** A string as a YAML scalar: plain when that reads back as the same string, else double-quoted. */
function scalarOf(value: string): string {
  return PLAIN_SAFE.test(value) && !/^(true|false|null|yes|no|on|off|~|[-+.0-9][0-9.e+-]*)$/i.test(value) ? value : JSON.stringify(value);
}

/** Block YAML for an object, indented as a list item at `indent`. */
function blockItemText(value: Record<string, unknown>, indent: string): string {
  const lines = stringify(value, { lineWidth: 0, indentSeq: false }).replace(/\n$/, '').split('\n');
  return lines.map((line, i) => (i === 0 ? `${indent}- ${line}` : `${indent}  ${line}`)).join('\n') + '\n';
}

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair | undefined;
}

function pullSecretSplice(src: string, podSpec: YAMLMap, wanted: string[]): Splice | undefined {
  const pair = pairOf(podSpec, 'imagePullSecrets');
  const value = pair?.value as Node | null | undefined;
  if (pair && isSeq(value)) {
    const present = new Set(value.items.map((i) => (isMap(i) ? (i.get('name') as unknown) : undefined)));
    const missing = wanted.filter((n) => !present.has(n));
    if (missing.length === 0) return undefined;
    const [start, end] = rangeOf(value);
    if (value.flow) {
      const close = src.lastIndexOf(']', end);
      if (close < start) throw new Unsupported('flow list without ]');
      const sep = value.items.length > 0 ? ', ' : '';
      return { start: close, end: close, text: sep + missing.map((n) => `{name: ${scalarOf(n)}}`).join(', ') };
    }
    const indent = ' '.repeat(columnOf(src, start));
    const lead = src[end - 1] === '\n' ? '' : '\n';
    return { start: end, end, text: lead + missing.map((n) => `${indent}- name: ${scalarOf(n)}\n`).join('') };
  }
  const list = `[${wanted.map((n) => `{name: ${scalarOf(n)}}`).join(', ')}]`;
  if (pair) {
    // `imagePullSecrets:` with no value, or null
    if (!(value === null || value === undefined || (isScalar(value) && value.value === null))) throw new Unsupported('imagePullSecrets is not a list');
    const [start, end] = value ? rangeOf(value) : [-1, -1];
    if (start < 0) throw new Unsupported('imagePullSecrets without a value node');
    return { start, end, text: (start === end ? ' ' : '') + list };
  }
  const [mapStart, mapEnd] = rangeOf(podSpec);
  if (podSpec.flow) {
    const open = src.indexOf('{', mapStart);
    if (open < 0 || open >= mapEnd) throw new Unsupported('flow map without {');
    const sep = podSpec.items.length > 0 ? ', ' : '';
    return { start: open + 1, end: open + 1, text: `imagePullSecrets: ${list}${sep}` };
  }
  const firstKey = podSpec.items[0]?.key as Node | undefined;
  const [keyStart] = rangeOf(firstKey);
  const indent = ' '.repeat(columnOf(src, keyStart));
  // Lists in this file are written compact (`- ` under the key) or wide (`- ` two further in); follow the pod spec's own.
  const dash = indent + ' '.repeat(listIndentOf(src, podSpec));
  const lines = wanted.map((n) => `${dash}- name: ${scalarOf(n)}\n`).join('');
  return { start: keyStart, end: keyStart, text: `imagePullSecrets:\n${lines}${indent}` };
}

/** How far a block list's dashes sit right of its key in this map (0 compact, 2 wide); 0 when the map has no block list. */
function listIndentOf(src: string, map: YAMLMap): number {
  for (const pair of map.items) {
    const value = pair.value as Node | null;
    if (isSeq(value) && !value.flow && value.range) {
      return Math.max(0, columnOf(src, value.range[0]) - columnOf(src, rangeOf(pair.key as Node)[0]));
    }
  }
  return 0;
}

function appendItemsSplice(src: string, rl: ParsedResourceList, values: Record<string, unknown>[]): Splice {
  const items = rl.itemsNode;
  if (items && !items.flow && items.items.length > 0) {
    const [start, end] = rangeOf(items);
    const indent = ' '.repeat(columnOf(src, start));
    const lead = src[end - 1] === '\n' ? '' : '\n';
    return { start: end, end, text: lead + values.map((v) => blockItemText(v, indent)).join('') };
  }
  if (items && items.flow) {
    const [start, end] = rangeOf(items);
    const close = src.lastIndexOf(']', end);
    if (close < start) throw new Unsupported('flow items without ]');
    const sep = items.items.length > 0 ? ', ' : '';
    return { start: close, end: close, text: sep + values.map(flowText).join(', ') };
  }
  const pair = pairOf(rl.root, 'items');
  if (pair) {
    const [start, end] = rangeOf(pair.value as Node);
    return { start, end, text: (start === end ? ' ' : '') + flowText(values) };
  }
  return appendToRoot(src, rl, `items:\n${values.map((v) => blockItemText(v, '')).join('')}`);
}

function appendToRoot(src: string, rl: ParsedResourceList, text: string): Splice {
  if (rl.root.flow) throw new Unsupported('flow-style ResourceList');
  const [, end] = rangeOf(rl.root);
  if (columnOf(src, rangeOf(rl.root.items[0]?.key as Node)[0]) !== 0) throw new Unsupported('indented ResourceList');
  const lead = end > 0 && src[end - 1] !== '\n' ? '\n' : '';
  return { start: end, end, text: lead + text };
}

/** Removes a whole list entry: its dash line, the comment lines above it, and its body. */
function removeItemSplice(src: string, rl: ParsedResourceList, item: YAMLMap): Splice {
  const items = rl.itemsNode;
  if (!items || items.flow || item.flow) throw new Unsupported('removing from a flow list');
  const index = items.items.indexOf(item);
  // The sole item would leave `items:` empty; the Document writer says that better than a splice.
  if (index < 0 || items.items.length === 1) throw new Unsupported('removing the only item');
  const [itemsStart] = rangeOf(items);
  const from = index === 0 ? lineStartOf(src, itemsStart) : rangeOf(items.items[index - 1] as Node)[1];
  const [, end] = rangeOf(item);
  if (from > end || (from > 0 && src[from - 1] !== '\n') || (end < src.length && src[end - 1] !== '\n')) {
    throw new Unsupported('list entry not on lines of its own');
  }
  return { start: from, end, text: '' };
}

/**
 * Sets fields of an existing block map: a scalar is replaced where it stands,
 * a nested block map is edited key by key (so an updated Secret's diff is its
 * one `.dockerconfigjson` line), and missing keys go in before the first key.
 */
function setFieldsSplices(src: string, map: YAMLMap, fields: Record<string, unknown>): Splice[] {
  if (map.flow) throw new Unsupported('flow-style map');
  const out: Splice[] = [];
  const missing: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const pair = pairOf(map, key);
    if (!pair) {
      missing.push(`${scalarOf(key)}: ${flowText(value)}`);
      continue;
    }
    const node = pair.value as Node | null;
    if (node && deepEqual(node.toJSON(), value)) continue;
    if (isMap(node) && !node.flow && node.items.length > 0 && isPlainRecord(value)) {
      out.push(...setFieldsSplices(src, node, value));
      continue;
    }
    const [start, end] = rangeOf(node);
    // A flow map is merged like a block one: keys the function does not set stay.
    const merged = isMap(node) && isPlainRecord(value) ? { ...(node.toJSON() as Record<string, unknown>), ...value } : value;
    const text = typeof merged === 'string' ? scalarText(node!, merged) : flowText(merged);
    const trailing = /\n\s*$/.test(src.slice(start, end));
    out.push({ start, end, text: (start === end ? ' ' : '') + text + (trailing ? '\n' : '') });
  }
  if (missing.length > 0) {
    const [keyStart] = rangeOf(map.items[0]?.key as Node);
    const indent = ' '.repeat(columnOf(src, keyStart));
    out.push({ start: keyStart, end: keyStart, text: missing.map((m) => `${m}\n${indent}`).join('') });
  }
  return out;
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function resultsSplices(src: string, rl: ParsedResourceList, results: readonly object[]): Splice[] {
  const out: Splice[] = [];
  const pair = pairOf(rl.root, 'results');
  if (pair) {
    const key = pair.key as Node;
    const [start] = rangeOf(key);
    const value = pair.value as Node | null;
    const end = value ? rangeOf(value)[2] : rangeOf(key)[2];
    out.push({ start: lineStartOf(src, start), end: src[end - 1] === '\n' || end >= src.length ? end : end + 1, text: '' });
  }
  if (results.length > 0) {
    const text = resultsText(results);
    out.push(appendToRoot(src, rl, text));
  }
  return out;
}

/**
 * `results:` as block YAML. Results are flat records of strings and numbers
 * (one level of nesting: resourceRef, field, file, tags), so a direct writer
 * does what the general stringifier does, at a fraction of its cost on
 * thousands of results.
 */
export function resultsText(results: readonly object[]): string {
  let out = 'results:\n';
  for (const result of results) {
    let first = true;
    for (const [key, value] of Object.entries(result)) {
      if (value === undefined) continue;
      out += (first ? '- ' : '  ') + scalarOf(key) + ':';
      first = false;
      if (isPlainRecord(value)) {
        out += '\n';
        for (const [k, v] of Object.entries(value)) if (v !== undefined) out += `    ${scalarOf(k)}: ${leafText(v)}\n`;
      } else {
        out += ` ${leafText(value)}\n`;
      }
    }
  }
  return out;
}

function leafText(value: unknown): string {
  if (typeof value === 'string') return scalarOf(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return flowText(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---------------------------------------------------------------- document edits

export function applyToDocument(rl: ParsedResourceList, edits: readonly Edit[], results: readonly object[]): void {
  const doc: Document = rl.doc;
  for (const edit of edits) {
    switch (edit.op) {
      case 'setImage':
        edit.replace(doc.createNode(edit.value));
        break;
      case 'addPullSecret': {
        let list = edit.podSpec.get('imagePullSecrets', true) as YAMLSeq | undefined;
        if (!isSeq(list)) {
          list = doc.createNode([]) as YAMLSeq;
          edit.podSpec.set('imagePullSecrets', list);
        }
        if (!list.items.some((i) => isMap(i) && i.get('name') === edit.name)) list.add(doc.createNode({ name: edit.name }));
        break;
      }
      case 'appendItem':
        if (rl.itemsNode) rl.itemsNode.add(doc.createNode(edit.value));
        else rl.root.set('items', doc.createNode([edit.value]));
        break;
      case 'removeItem':
        if (rl.itemsNode) rl.itemsNode.items = rl.itemsNode.items.filter((i) => i !== edit.item);
        break;
      case 'setFields':
        setFieldsInDocument(doc, edit.item, edit.fields);
        break;
    }
  }
  if (results.length > 0) rl.root.set('results', doc.createNode(results));
  else rl.root.delete('results');
}

/** As `setFieldsSplices`: nested maps are merged key by key, so both backends keep the keys the function does not set. */
function setFieldsInDocument(doc: Document, map: YAMLMap, fields: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(fields)) {
    const node = map.get(key, true);
    if (isMap(node) && isPlainRecord(value)) setFieldsInDocument(doc, node, value);
    else map.set(key, doc.createNode(value));
  }
}
