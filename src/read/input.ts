/**
 * The input text -> the objects to work on, in one of two forms:
 *
 * - `resource-list`: one `config.kubernetes.io/v1` ResourceList (YAML with LF or CRLF line ends, or JSON), as kpt
 *   and kustomize send it;
 * - `stream`: a plain multi-document manifest stream (`--stream`, kustomize's legacy exec plugin, Helm's
 *   post-renderer); recognised by itself when the input is not a ResourceList.
 *
 * Parsing is strict (yaml's composer: syntax, duplicate keys, tags), bounded (size, nesting depth, alias
 * expansion) and keeps every node's source range, so the output can be written by splicing edits into this text.
 * A block ResourceList is composed one item at a time (`block-list.ts`), a stream one document at a time, so the
 * whole input's CST (about 35 times its size) never exists at once; anything else is parsed whole.
 */
import { Composer, isMap, isScalar, isSeq, Parser, type Document, type Node, type YAMLMap, type YAMLSeq } from 'yaml';
import type { CST } from 'yaml';
import { FnError } from '../errors.js';
import type { ResourceRef } from '../results.js';
import { indexAliases, NO_ALIASES, type AliasIndex } from './aliases.js';
import { readBlockResourceList } from './block-list.js';
import { describeYamlError } from './yaml-errors.js';

export const RESOURCE_LIST_VERSIONS = ['config.kubernetes.io/v1', 'config.kubernetes.io/v1alpha1'];
/**
 * Inputs above this are refused before parsing. Parsed whole, a Document and its CST take about 70-100 times the
 * input's size in memory for ordinary manifests (a block ResourceList read an item at a time, about 35 times):
 * 16 MiB stays within Node's default heap, and is about ten times the largest real application seen (Argo CD HA,
 * 1.9 MB).
 */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;
/** Kubernetes objects nest a few dozen levels at most; yaml's composer recurses per level. */
export const MAX_DEPTH = 256;

export const PARSE_OPTIONS = { uniqueKeys: true, strict: true, prettyErrors: true, stringKeys: false, merge: true, logLevel: 'error' } as const;

export type Form = 'resource-list' | 'stream';

/** One Kubernetes object of the input. */
export interface InputObject {
  /** Position among the input's objects (items, or documents of a stream). */
  readonly index: number;
  readonly node: YAMLMap;
  readonly ref: ResourceRef;
  /** The stream document that holds it (stream form). */
  readonly doc?: Document.Parsed;
  /**
   * An `ItemVisitor` saw it while it was read and is done with its contents: `node` keeps only its `apiVersion`,
   * `kind` and `metadata` (what later stages read of an object other than its images), the rest was let go.
   */
  readonly trimmed?: true;
}

/**
 * Sees each item of a block ResourceList as soon as it is composed, before the next is read (`ReadOptions.visitItems`).
 * `visit` returns true when nothing but the item's identity and metadata is needed any more: the item is then
 * trimmed, so its nodes die young instead of living until the output is written (most of the time and memory of a
 * large run was the garbage collector copying them). Items whose text holds an alias or an anchor are not visited.
 */
export interface ItemVisitor {
  visit(object: InputObject): boolean;
}

/** What a trimmed item keeps. */
const KEPT_WHEN_TRIMMED: ReadonlySet<unknown> = new Set(['apiVersion', 'kind', 'metadata']);

export interface Input {
  readonly form: Form;
  /** JSON input: what the splicer inserts must be JSON too. */
  readonly json: boolean;
  readonly eol: '\n' | '\r\n';
  readonly source: string;
  readonly docs: readonly Document.Parsed[];
  readonly objects: readonly InputObject[];
  readonly aliases: AliasIndex;
  /** resource-list form only */
  readonly root?: YAMLMap;
  readonly itemsSeq?: YAMLSeq;
  readonly functionConfig?: YAMLMap;
  /** The visitor `ReadOptions.visitItems` gave, when it saw every item (the input took the item-at-a-time path). */
  readonly visitor?: ItemVisitor;
}

export interface ReadOptions {
  /** `--stream` and the legacy plugin: the input is a stream even when it is one ResourceList-looking document. */
  readonly stream?: boolean;
  /**
   * Called with the functionConfig (a mapping, `doc` to read it with) before any item of a block ResourceList is
   * composed; the visitor it returns sees every item as it is read. Not called for other inputs, and an attempt
   * that falls back to reading the whole text at once drops its visitor: `Input.visitor` says which it was.
   */
  readonly visitItems?: (functionConfig: YAMLMap | undefined, doc: Document.Parsed) => ItemVisitor | undefined;
}

export function readInput(source: string, options: ReadOptions = {}): Input {
  if (source.length > MAX_INPUT_BYTES) throw tooLarge(Buffer.byteLength(source));
  // A stream may hold no object at all (Helm renders a chart with nothing in it); a ResourceList may not.
  if (source.trim() === '' && options.stream) return { form: 'stream', json: false, eol: '\n', source, docs: [], objects: [], aliases: indexAliases([], source) };
  if (source.trim() === '') {
    throw new FnError('INPUT_EMPTY', 'no input: expected a ResourceList (config.kubernetes.io/v1) or a manifest stream on stdin');
  }
  const json = /^\s*[{[]/.test(source);
  const eol = /\r\n/.test(source) ? '\r\n' : '\n';
  const check = (token: CST.Token, baseDepth: number): boolean => checkTokens(token, source, baseDepth);
  if (!options.stream && !json) {
    let visits: Visits | undefined;
    const mayHoldAnchor = finderOf(source, '&');
    const items = (root: YAMLMap, doc: Document.Parsed): ((entry: unknown, index: number, aliased: boolean, start: number) => void) | undefined => {
      const fc = root.get('functionConfig', true);
      const { visitItems } = options;
      if (!visitItems || kindOf(root) !== 'ResourceList' || (fc !== undefined && !isMap(fc) && !(isScalar(fc) && fc.value === null))) return undefined;
      const v = (visits = new Visits(() => visitItems(isMap(fc) ? fc : undefined, doc)));
      if (!v.ready()) return undefined;
      return (entry, index, aliased, start) => {
        if (isMap(entry)) v.see(entry, index, aliased || mayHoldAnchor(entry, start));
      };
    };
    const fast = readBlockResourceList(source, { options: PARSE_OPTIONS, check, items });
    if (fast && kindOf(fast.root) === 'ResourceList') {
      const input = readResourceList(source, json, eol, [fast.doc], fast.root, fast.aliases ? indexAliases([fast.doc], source) : NO_ALIASES, visits?.seen);
      return visits?.withVisitor(input) ?? input;
    }
  }
  // One document at a time: its CST is checked, composed and dropped before the next is parsed. The documents of
  // a stream are shown to the visitor as they come, as a block ResourceList's items are.
  const docs: Document.Parsed[] = [];
  let anyAlias = false;
  const { visitItems } = options;
  // a stream's config comes from the command line: no functionConfig
  const visits = visitItems && new Visits(() => visitItems(undefined, docs[0]!));
  const showDoc = visits && streamDocVisitor(source, visits);
  try {
    const composer = new Composer(PARSE_OPTIONS);
    const take = (doc: Document.Parsed): void => {
      docs.push(doc);
      showDoc?.(doc);
    };
    for (const token of new Parser().parse(source)) {
      if (check(token, 0)) anyAlias = true;
      for (const doc of composer.next(token)) take(doc as Document.Parsed);
    }
    for (const doc of composer.end()) take(doc as Document.Parsed);
  } catch (e) {
    if (e instanceof RangeError) throw new FnError('INPUT_TOO_DEEP', 'input is not valid YAML: it is nested too deeply for the YAML parser');
    throw e;
  }
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0) {
      const problems = doc.errors.slice(0, 5).map((e) => describeYamlError(e, source));
      if (docs.length > 1) throw new FnError('INPUT_YAML', `input stream, document ${i + 1}, is not valid YAML: ${problems.join('; ')}`);
      throw new FnError('INPUT_YAML', 'input is not valid YAML', problems);
    }
  }
  const aliases = anyAlias ? indexAliases(docs, source) : NO_ALIASES;
  const content = docs.filter((d) => !isEmptyDocument(d));
  const visited = (input: Input): Input => visits?.withVisitor(input) ?? input;
  if (content.length === 0 && options.stream) return visited(readStream(source, json, eol, docs, aliases, visits?.seen));
  if (content.length === 0) {
    throw new FnError('INPUT_EMPTY', 'no input: expected a ResourceList (config.kubernetes.io/v1) or a manifest stream on stdin, got only comments or empty documents');
  }
  if (content.length === 1 && !isMap(content[0]!.contents)) {
    throw new FnError(
      'INPUT_NOT_RESOURCE_LIST',
      `input is not a ResourceList or a Kubernetes manifest stream: expected a mapping with kind: ResourceList, got ${describeNode(content[0]!.contents)}`,
    );
  }
  if (!options.stream && content.length === 1 && isMap(content[0]!.contents) && kindOf(content[0]!.contents) === 'ResourceList') {
    return readResourceList(source, json, eol, docs, content[0]!.contents as YAMLMap, aliases);
  }
  return visited(readStream(source, json, eol, docs, aliases, visits?.seen));
}

/**
 * Whether a node's text may hold `char`: an anchor is written `&name` and an alias `*name`, so a node without a `&`
 * (or `*`) in its text holds none (one with it in a string may too). The text is the node's from `start` on (its
 * range by default): an anchor on a whole item or document (`- &a` above its first key, `--- &a`) stands before the
 * map's range. For nodes in text order: the text is searched once, not once per node.
 */
function finderOf(source: string, char: '&' | '*'): (node: unknown, start?: number) => boolean {
  let next = -1; // the first `char` at or after the last node asked about; Infinity: none
  return (node, start) => {
    const range = (node as Node | null)?.range;
    if (!range) return true;
    const from = start ?? range[0];
    if (next < from) {
      const at = source.indexOf(char, from);
      next = at < 0 ? Infinity : at;
    }
    return next < range[1];
  };
}

/**
 * One read's visitor and what it saw. The visitor is asked for once (`ready`: before a ResourceList's first item, at
 * a stream's first object), and every object it is shown is kept by index: the readers build their objects from
 * these, so the image fields it found point to the objects every later stage sees.
 */
class Visits {
  readonly seen: InputObject[] = [];
  private visitor: ItemVisitor | undefined;
  private asked = false;

  constructor(private readonly ask: () => ItemVisitor | undefined) {}

  /**
   * An item or document as soon as it is composed: shown to the visitor, and trimmed if the visitor is done with it.
   * Not when its text may hold an alias or an anchor (`skip`): an alias elsewhere may lead into it (the alias index
   * is built once the whole input is read), and what it leads to must still be there.
   */
  see(node: YAMLMap, index: number, skip: boolean, doc?: Document.Parsed, ref: ResourceRef = resourceRefOf(node)): void {
    if (!this.ready() || skip) return;
    const visitor = this.visitor!;
    const object: { -readonly [K in keyof InputObject]: InputObject[K] } = { index, node, ref, ...(doc && { doc }) };
    this.seen[index] = object;
    if (!visitor.visit(object)) return;
    node.items = node.items.filter((pair) => KEPT_WHEN_TRIMMED.has(isScalar(pair.key) ? pair.key.value : undefined));
    object.trimmed = true;
  }

  /** Asks for the visitor the first time; whether there is one. */
  ready(): boolean {
    if (!this.asked) {
      this.asked = true;
      this.visitor = this.ask();
    }
    return this.visitor !== undefined;
  }

  /** The input, with the visitor when there was one (it then saw every item). */
  withVisitor(input: Input): Input {
    return this.visitor ? { ...input, visitor: this.visitor } : input;
  }
}

/** Shows a stream's documents that are Kubernetes objects to `visits`, in order; aliases never cross documents. */
function streamDocVisitor(source: string, visits: Visits): (doc: Document.Parsed) => void {
  const hasAnchor = finderOf(source, '&');
  const hasAlias = finderOf(source, '*');
  let index = 0; // as readStream counts objects: documents that are not empty
  return (doc) => {
    if (isEmptyDocument(doc)) return;
    const at = index++;
    const node = doc.contents;
    if (doc.errors.length > 0 || !isMap(node)) return;
    const ref = resourceRefOf(node);
    if (!ref.apiVersion || !ref.kind || ref.kind === 'ResourceList' || ref.apiVersion.startsWith('config.kubernetes.io/')) return;
    const start = Math.min(doc.range[0], node.range?.[0] ?? doc.range[0]);
    visits.see(node, at, hasAnchor(node, start) || hasAlias(node, start), doc, ref);
  };
}

function readResourceList(
  source: string,
  json: boolean,
  eol: Input['eol'],
  docs: Document.Parsed[],
  root: YAMLMap,
  aliases: AliasIndex,
  seen: readonly (InputObject | undefined)[] = [],
): Input {
  const apiVersion = scalarString(root.get('apiVersion', true));
  if (apiVersion === undefined || !RESOURCE_LIST_VERSIONS.includes(apiVersion)) {
    throw new FnError(
      'INPUT_NOT_RESOURCE_LIST',
      `unsupported ResourceList apiVersion ${apiVersion === undefined ? '(missing)' : JSON.stringify(apiVersion).slice(0, 80)}: expected ${RESOURCE_LIST_VERSIONS.join(' or ')}`,
    );
  }
  const rawItems = root.get('items', true);
  let itemsSeq: YAMLSeq | undefined;
  if (rawItems !== undefined && !(isScalar(rawItems) && rawItems.value === null)) {
    if (!isSeq(rawItems)) throw new FnError('INPUT_NOT_RESOURCE_LIST', `ResourceList.items must be a list, got ${describeNode(rawItems)}`);
    itemsSeq = rawItems;
  }
  const objects: InputObject[] = [];
  itemsSeq?.items.forEach((item, index) => {
    if (!isMap(item)) throw new FnError('INPUT_ITEM', `items[${index}] must be a mapping (a Kubernetes object), got ${describeNode(item)}`);
    const ref = checkedRef(item, `items[${index}]`);
    objects.push(seen[index] ?? { index, node: item, ref });
  });
  const fc = root.get('functionConfig', true);
  let functionConfig: YAMLMap | undefined;
  if (fc !== undefined && !(isScalar(fc) && fc.value === null)) {
    if (!isMap(fc)) throw new FnError('CONFIG_INVALID', `functionConfig must be a mapping, got ${describeNode(fc)}`);
    functionConfig = fc;
  }
  return { form: 'resource-list', json, eol, source, docs, objects, aliases, root, ...(itemsSeq && { itemsSeq }), ...(functionConfig && { functionConfig }) };
}

function readStream(source: string, json: boolean, eol: Input['eol'], docs: Document.Parsed[], aliases: AliasIndex, seen: readonly (InputObject | undefined)[] = []): Input {
  const objects: InputObject[] = [];
  docs.forEach((doc, i) => {
    if (isEmptyDocument(doc)) return;
    const where = `document ${i + 1} of the stream`;
    if (!isMap(doc.contents)) throw new FnError('INPUT_ITEM', `${where} must be a mapping (a Kubernetes object), got ${describeNode(doc.contents)}`);
    const node = doc.contents;
    if (kindOf(node) === 'ResourceList') throw new FnError('INPUT_ITEM', `${where} is a ResourceList: a stream holds Kubernetes objects, one per document`);
    const apiVersion = scalarString(node.get('apiVersion', true));
    if (apiVersion?.startsWith('config.kubernetes.io/')) {
      // a misspelt ResourceList, not an object to deploy
      throw new FnError('INPUT_NOT_RESOURCE_LIST', `input is not a ResourceList: kind is ${JSON.stringify(kindOf(node) ?? 'missing').slice(0, 80)} (apiVersion ${JSON.stringify(apiVersion).slice(0, 80)})`);
    }
    const ref = checkedRef(node, where);
    objects.push(seen[objects.length] ?? { index: objects.length, node, ref, doc });
  });
  return { form: 'stream', json, eol, source, docs, objects, aliases };
}

/** A document with nothing in it (`---` alone, comments only, or `{}`) carries no object. */
function isEmptyDocument(doc: Document.Parsed): boolean {
  const c = doc.contents as Node | null;
  if (c === null || c === undefined) return true;
  if (isScalar(c) && (c.value === null || c.value === undefined)) return true;
  return isMap(c) && c.items.length === 0;
}

function kindOf(node: unknown): string | undefined {
  return isMap(node) ? scalarString(node.get('kind', true)) : undefined;
}

function checkedRef(node: YAMLMap, where: string): ResourceRef {
  const ref = resourceRefOf(node);
  for (const field of ['apiVersion', 'kind'] as const) {
    if (!ref[field]) throw new FnError('INPUT_ITEM', `${where}${ref.name ? ` (metadata.name ${JSON.stringify(ref.name).slice(0, 80)})` : ''} has no ${field}`);
  }
  return ref;
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

/** The string value of a scalar node, or undefined for anything else. */
export function scalarString(node: unknown): string | undefined {
  return isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
}

export function tooLarge(bytes: number | undefined): FnError {
  const size = bytes === undefined ? 'more than 2 GiB' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return new FnError(
    'INPUT_TOO_LARGE',
    `input is ${size}, more than the ${MAX_INPUT_BYTES / 1024 / 1024} MiB this function reads: run it on smaller packages (split the kustomization or kpt package)`,
  );
}

export function describeNode(node: unknown): string {
  if (node === undefined || node === null) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'null' : `${typeof node.value} ${JSON.stringify(node.value)}`.slice(0, 80);
  return 'an alias';
}

/**
 * Refuses input nested deeper than MAX_DEPTH before yaml's composer (which recurses once per level) sees it, and
 * says whether the tokens hold an alias (`*name`): only then is there an alias index to build. One top-level
 * token (a document) at a time, `baseDepth` levels down (a run of ResourceList items sits one level down).
 * Walks with an explicit stack, so the check itself cannot run out of stack.
 */
export function checkTokens(token: CST.Token, source: string, baseDepth: number): boolean {
  let alias = false;
  // two parallel stacks: no tuple per token
  const tokens: unknown[] = [token];
  const depths: number[] = [baseDepth];
  while (tokens.length > 0) {
    const t = tokens.pop() as { type?: string; value?: unknown; items?: { key?: unknown; value?: unknown }[]; offset?: number } | undefined;
    const depth = depths.pop()!;
    if (!t) continue;
    switch (t.type) {
      case 'block-map':
      case 'block-seq':
      case 'flow-collection': {
        const d = depth + 1;
        if (d > MAX_DEPTH) {
          const at = t.offset ?? 0;
          const line = source.slice(0, at).split('\n').length;
          throw new FnError('INPUT_TOO_DEEP', `input is not valid YAML here: it nests more than ${MAX_DEPTH} levels deep (at line ${line})`);
        }
        for (const it of t.items!) {
          const { key, value } = it;
          if (key) {
            if ((key as { type?: string }).type === 'alias') alias = true;
            else if (typeof key === 'object' && (key as { items?: unknown }).items) {
              tokens.push(key);
              depths.push(d);
            }
          }
          if (value) {
            if ((value as { type?: string }).type === 'alias') alias = true;
            else if ((value as { items?: unknown }).items) {
              tokens.push(value);
              depths.push(d);
            }
          }
        }
        break;
      }
      case 'document':
        tokens.push(t.value);
        depths.push(depth);
        break;
      case 'alias':
        alias = true;
        break;
    }
  }
  return alias;
}
