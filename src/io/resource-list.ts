/**
 * ResourceList text <-> yaml Document. Parsing is strict (duplicate keys,
 * alias bombs, wrong shapes are errors naming where); the Document keeps the
 * source ranges that `edits.ts` uses to write only what changed.
 */
import { Document, isAlias, isMap, isScalar, isSeq, parseAllDocuments, parseDocument, visit, type YAMLMap, type YAMLSeq } from 'yaml';
import { FnError } from '../errors.js';

export const RESOURCE_LIST_VERSIONS = ['config.kubernetes.io/v1', 'config.kubernetes.io/v1alpha1'];
/**
 * Inputs above this are refused before parsing. The parsed Document takes about 70-100 times the input's size in
 * memory for ordinary manifests (more for long flow lists of tiny scalars): 16 MiB stays within Node's default heap
 * on an 8 GB machine, and is about ten times the largest real application seen (Argo CD HA, 1.9 MB).
 */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;
/** Aliases may be used, but not to expand the document beyond this many nodes (billion laughs). */
const MAX_ALIAS_EXPANSION = 10_000;

export type Format = 'yaml' | 'json';

export interface ParsedResourceList {
  readonly source: string;
  readonly format: Format;
  readonly doc: Document.Parsed;
  readonly root: YAMLMap;
  /** The `items` sequence, absent when the input has no items key or `items: null`. */
  readonly itemsNode: YAMLSeq | undefined;
  readonly items: readonly YAMLMap[];
  readonly functionConfig: YAMLMap | undefined;
}

export function parseResourceList(source: string): ParsedResourceList {
  if (source.length > MAX_INPUT_BYTES) throw tooLarge(Buffer.byteLength(source));
  if (source.trim() === '') {
    throw new FnError('INPUT_EMPTY', 'no input: expected a ResourceList (config.kubernetes.io/v1) on stdin');
  }
  const format: Format = /^\s*[{[]/.test(source) ? 'json' : 'yaml';
  const doc = parseDocument(source, { uniqueKeys: true, prettyErrors: true, strict: true, stringKeys: false });
  if (doc.errors.length > 0) {
    if (doc.errors.some((e) => e.code === 'MULTIPLE_DOCS')) {
      const n = parseAllDocuments(source, { prettyErrors: false });
      const count = Array.isArray(n) ? n.length : 'several';
      throw new FnError(
        'INPUT_NOT_RESOURCE_LIST',
        `input is a stream of ${count} YAML documents, expected one ResourceList (use --stream for a plain multi-document stream)`,
      );
    }
    throw new FnError('INPUT_YAML', 'input is not valid YAML', doc.errors.slice(0, 5).map(describeYamlError));
  }
  checkAliases(doc, source);

  const root = doc.contents;
  if (!isMap(root)) {
    throw new FnError('INPUT_NOT_RESOURCE_LIST', `input is not a ResourceList: expected a mapping with kind: ResourceList, got ${describeNode(root)}`);
  }
  const kind = scalarString(root.get('kind', true));
  const apiVersion = scalarString(root.get('apiVersion', true));
  if (kind !== 'ResourceList') {
    throw new FnError('INPUT_NOT_RESOURCE_LIST', `input is not a ResourceList: kind is ${kind === undefined ? 'missing' : JSON.stringify(kind)}`);
  }
  if (apiVersion === undefined || !RESOURCE_LIST_VERSIONS.includes(apiVersion)) {
    throw new FnError(
      'INPUT_NOT_RESOURCE_LIST',
      `unsupported ResourceList apiVersion ${apiVersion === undefined ? '(missing)' : JSON.stringify(apiVersion)}: expected ${RESOURCE_LIST_VERSIONS.join(' or ')}`,
    );
  }

  const rawItems = root.get('items', true);
  let itemsNode: YAMLSeq | undefined;
  if (rawItems !== undefined && !(isScalar(rawItems) && rawItems.value === null)) {
    if (!isSeq(rawItems)) throw new FnError('INPUT_NOT_RESOURCE_LIST', `ResourceList.items must be a list, got ${describeNode(rawItems)}`);
    itemsNode = rawItems;
  }
  const items: YAMLMap[] = [];
  itemsNode?.items.forEach((item, index) => {
    if (!isMap(item)) throw new FnError('INPUT_ITEM', `items[${index}] must be a mapping (a Kubernetes object), got ${describeNode(item)}`);
    for (const field of ['apiVersion', 'kind']) {
      const value = scalarString(item.get(field, true));
      if (value === undefined || value === '') {
        throw new FnError('INPUT_ITEM', `items[${index}]${itemLabel(item)} has no ${field}`);
      }
    }
    items.push(item);
  });

  const fc = root.get('functionConfig', true);
  let functionConfig: YAMLMap | undefined;
  if (fc !== undefined && !(isScalar(fc) && fc.value === null)) {
    if (!isMap(fc)) throw new FnError('CONFIG_INVALID', `functionConfig must be a mapping, got ${describeNode(fc)}`);
    functionConfig = fc;
  }
  return { source, format, doc, root, itemsNode, items, functionConfig };
}

export function tooLarge(bytes: number | undefined): FnError {
  const size = bytes === undefined ? 'more than 2 GiB' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return new FnError(
    'INPUT_TOO_LARGE',
    `input is ${size}, more than the ${MAX_INPUT_BYTES / 1024 / 1024} MiB this function reads: run it on smaller packages (split the kustomization or kpt package)`,
  );
}

/** The string value of a scalar node, or undefined for anything else. */
export function scalarString(node: unknown): string | undefined {
  if (isScalar(node) && typeof node.value === 'string') return node.value;
  return undefined;
}

function itemLabel(item: YAMLMap): string {
  const meta = item.get('metadata', true);
  const name = isMap(meta) ? scalarString(meta.get('name', true)) : undefined;
  return name ? ` (metadata.name ${JSON.stringify(name)})` : '';
}

function describeNode(node: unknown): string {
  if (node === undefined || node === null) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'null' : `${typeof node.value} ${JSON.stringify(node.value)}`.slice(0, 80);
  if (isAlias(node)) return 'an alias';
  return 'an unexpected node';
}

export function describeYamlError(e: { message: string }): string {
  // yaml's pretty errors carry "at line L, column C" and a source excerpt; keep the first line and the location.
  const line = (e.message.split('\n')[0] ?? e.message).replace(/:$/, '');
  const at = / at line \d+, column \d+$/.exec(line);
  let what = at ? line.slice(0, at.index) : line;
  // Some messages quote the input (a token, a tag, or the whole rest of the stream): it may hold anything, even a
  // license id, and may be megabytes long. Keep the parser's words and the position only.
  what = what
    .replace(/^(Not a YAML token|Unresolved tag|Block scalar header includes extra characters|Unexpected \S+ token in YAML (?:stream|document)): .*$/s, '$1')
    .replace(/^Invalid escape sequence .*$/s, 'Invalid escape sequence')
    .replace(/^Unexpected (?![,\]}:?-] )\S.* in /s, 'Unexpected token in ')
    // The parser recurses per nesting level; thousands of levels exhaust the stack.
    .replace(/^Maximum call stack size exceeded/, 'nested too deeply (the YAML parser ran out of stack)');
  if (what.length > 120) what = `${what.slice(0, 120)}...`;
  return what + (at?.[0] ?? '');
}

/** Rejects alias bombs: counts the nodes that aliases would expand to, without expanding them. */
function checkAliases(doc: Document.Parsed, source: string): void {
  // Every alias is written `*name`: without a `*` in the text there is nothing to walk for.
  if (!source.includes('*')) return;
  let hasAlias = false;
  let unresolved: number | undefined;
  const anchors = new Set<string>();
  // One pass in document order: an alias may only refer to an anchor set before it.
  visit(doc, {
    Node: (_, node) => {
      if (isAlias(node)) {
        hasAlias = true;
        if (anchors.has(node.source)) return undefined;
        unresolved = node.range?.[0] ?? 0;
        return visit.BREAK;
      }
      if (node.anchor) anchors.add(node.anchor);
      return undefined;
    },
  });
  if (unresolved !== undefined) {
    // The alias's name is not repeated: it is whatever the input says, and could be anything.
    const line = source.slice(0, unresolved).split('\n').length;
    const column = unresolved - source.lastIndexOf('\n', unresolved - 1);
    throw new FnError('INPUT_YAML', `input uses an alias at line ${line}, column ${column} whose anchor is not defined before it`);
  }
  if (!hasAlias) return;
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
  } catch (e) {
    throw new FnError('INPUT_YAML', `input uses YAML aliases that expand too far (more than ${MAX_ALIAS_EXPANSION} nodes): ${(e as Error).message.split('\n')[0]}`);
  }
}
