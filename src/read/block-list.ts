/**
 * The fast way to read the commonest input, a block-style ResourceList (what kpt and kustomize send): the
 * `items` list is cut at its entries' `- ` lines and each run of entries is parsed and composed on its own by
 * yaml's Parser and Composer (so it is validated exactly as a whole parse would), with the parser's offsets
 * starting where the run starts in the text, so every node's range is its range in the whole input. Only one
 * run's CST exists at a time: the whole input's CST, about 35 times the input's size, is never built.
 *
 * It applies only where cutting provably cannot change the meaning: the root is a block map at column 0 with a
 * plain `items:` key whose value is a block list, every line of that list is blank, a comment, more indented than
 * its dashes, or a new entry at their column, and the text before and after it parse as one block map each,
 * without shared keys or merge keys. Anything else, and any error or warning-level oddity, gives `undefined`: the
 * caller then parses the whole text, which reports errors with their exact wording. An alias may name an anchor of
 * an earlier run: yaml's composer leaves aliases unresolved, and the alias index (`aliases.ts`) resolves them over
 * the whole list.
 */
import { Composer, isMap, isScalar, isSeq, Parser, YAMLSeq, type CST, type Document, type YAMLMap } from 'yaml';

/**
 * Entries composed at once. One is fastest (measured at 1,000 and 10,000 workloads against 4, 16 and 64, see
 * bench/README.md): a run's CST then dies young, before the garbage collector has to copy it.
 */
export const ENTRIES_PER_RUN = 1;

export interface BlockListParts {
  /** One Document whose contents is the whole root map (the items list is a YAMLSeq of the runs' entries). */
  readonly doc: Document.Parsed;
  readonly root: YAMLMap;
  readonly itemsSeq: YAMLSeq.Parsed;
  /** The parser saw an alias somewhere (anchors alone do not count). */
  readonly aliases: boolean;
}

export interface ParseHooks {
  readonly options: ConstructorParameters<typeof Composer>[0];
  /** Checks one document's CST (nesting depth) at `baseDepth` levels down; returns whether it holds an alias; throws to refuse. */
  readonly check: (token: CST.Token, baseDepth: number) => boolean;
  /**
   * Called once the root's other keys are read (`root` holds them all, `items` still empty) and before any entry is
   * composed; the callback it returns is given each entry as soon as it is composed, with whether its run holds an
   * alias and where the entry's text starts (its `- ` line; an anchor or tag on the entry stands before its range).
   * The entry is in the list as the callback leaves it. An attempt that gives `undefined` in the end may have called
   * it for some entries: the caller must then drop what it learnt.
   */
  readonly items?: (root: YAMLMap, doc: Document.Parsed) => ((entry: unknown, index: number, aliased: boolean, start: number) => void) | undefined;
}

const ITEMS_LINE = /^items:[ \t]*(?:#[^\n]*)?$/;

export function readBlockResourceList(source: string, hooks: ParseHooks): BlockListParts | undefined {
  const layout = layoutOf(source);
  if (!layout) return undefined;
  try {
    return compose(source, layout, hooks);
  } catch {
    // a depth the check refuses, or anything else unexpected: the whole parse says what it is
    return undefined;
  }
}

interface Layout {
  /** Start of the line after `items:`. */
  readonly listStart: number;
  /** Start of the first line after the list (a root key at column 0), or the text's length. */
  readonly listEnd: number;
  /** Offsets of every entry's line. */
  readonly entries: readonly number[];
}

/** Where the items list and its entries are, by lines; undefined when the text is not laid out as expected. */
function layoutOf(src: string): Layout | undefined {
  const len = src.length;
  // the root: block keys at column 0 up to `items:`; no directives, document markers or BOM (whole parse handles those)
  let at = 0;
  let listStart = -1;
  while (at < len) {
    const nl = src.indexOf('\n', at);
    const end = nl < 0 ? len : nl;
    const c = src.charCodeAt(at);
    if (c === 0x25 /* % */ || c === 0xfeff || (c === 0x2d /* - */ && src.startsWith('---', at)) || (c === 0x2e && src.startsWith('...', at))) return undefined;
    if (c !== 0x20 && c !== 0x23 && c !== 0x0d && at !== end) {
      if (c === 0x2d) return undefined; // a list at column 0 before `items:`
      const line = src.charCodeAt(end - 1) === 0x0d ? src.slice(at, end - 1) : src.slice(at, end);
      if (ITEMS_LINE.test(line)) {
        listStart = nl < 0 ? len : nl + 1;
        break;
      }
    }
    at = nl < 0 ? len : nl + 1;
  }
  if (listStart < 0 || listStart >= len) return undefined;

  // the list: its dashes' column is the first entry's
  const entries: number[] = [];
  let indent = -1;
  at = listStart;
  let listEnd = len;
  while (at < len) {
    const nl = src.indexOf('\n', at);
    const end = nl < 0 ? len : nl;
    let col = at;
    while (col < end && src.charCodeAt(col) === 0x20) col++;
    const c = col < end ? src.charCodeAt(col) : -1;
    const blank = c === -1 || (c === 0x0d && col === end - 1);
    // a tab where indentation is read: let the whole parse judge
    if (c === 0x09) return undefined;
    if (!blank && c !== 0x23 /* # */) {
      const n = col - at;
      const dash = c === 0x2d && (col + 1 === end || src.charCodeAt(col + 1) === 0x20 || src.charCodeAt(col + 1) === 0x0d);
      if (indent < 0) {
        if (!dash) return undefined;
        indent = n;
      }
      if (n === indent && dash) entries.push(at);
      else if (n <= indent) {
        // the list ends at a root key at column 0, and nowhere else
        if (n !== 0 || c === 0x2d || c === 0x2e || c === 0x25) return undefined;
        listEnd = at;
        break;
      }
    }
    at = nl < 0 ? len : nl + 1;
  }
  if (entries.length === 0) return undefined;
  return { listStart, listEnd, entries };
}

function compose(src: string, layout: Layout, hooks: ParseHooks): BlockListParts | undefined {
  let aliases = false;
  /** One standalone document of `src.slice(from, to)` with offsets into `src`; undefined on any error. */
  const parseAt = (from: number, to: number, baseDepth: number): Document.Parsed | undefined => {
    const parser = new Parser();
    parser.offset = from;
    const composer = new Composer(hooks.options);
    const docs: Document.Parsed[] = [];
    for (const token of parser.parse(src.slice(from, to))) {
      if (token.type === 'document' && hooks.check(token, baseDepth)) aliases = true;
      for (const d of composer.next(token)) docs.push(d as Document.Parsed);
    }
    for (const d of composer.end()) docs.push(d as Document.Parsed);
    if (docs.length !== 1 || docs[0]!.errors.length > 0 || docs[0]!.warnings.length > 0) return undefined;
    return docs[0];
  };

  // the root up to `items:`, whose value there is empty
  const head = parseAt(0, layout.listStart, 0);
  const root = head?.contents;
  if (!head || !isMap(root) || root.flow || root.range?.[0] !== 0 || hasOddKeys(root)) return undefined;
  const itemsPair = root.items[root.items.length - 1]!;
  if (!isScalar(itemsPair.key) || itemsPair.key.value !== 'items' || !(itemsPair.value === null || (isScalar(itemsPair.value) && itemsPair.value.value === null))) {
    return undefined;
  }

  // the root's keys after the list, read before the entries so that `hooks.items` sees the whole root
  const { entries, listEnd } = layout;
  let rest: YAMLMap | undefined;
  if (listEnd < src.length) {
    const tail = parseAt(listEnd, src.length, 0);
    if (!tail) return undefined;
    const contents = tail.contents;
    if (contents !== null && contents !== undefined && !(isScalar(contents) && contents.value === null)) {
      if (!isMap(contents) || contents.flow || contents.range?.[0] !== listEnd || hasOddKeys(contents)) return undefined;
      const keys = new Set(root.items.map((p) => (p.key as { value: unknown }).value));
      for (const p of contents.items) {
        if (keys.has((p.key as { value: unknown }).value)) return undefined; // a duplicate key: the whole parse reports it
        root.items.push(p);
      }
      rest = contents;
    }
  }
  const onEntry = hooks.items?.(root, head);

  // the entries, a run at a time
  const seq = new YAMLSeq(head.schema) as YAMLSeq.Parsed;
  for (let i = 0; i < entries.length; i += ENTRIES_PER_RUN) {
    const from = i === 0 ? layout.listStart : entries[i]!;
    const to = i + ENTRIES_PER_RUN < entries.length ? entries[i + ENTRIES_PER_RUN]! : listEnd;
    const before: boolean = aliases;
    aliases = false;
    const doc = parseAt(from, to, 1);
    const aliased = aliases;
    aliases ||= before;
    const part = doc?.contents;
    if (!doc || !isSeq(part) || part.flow || part.items.length !== Math.min(ENTRIES_PER_RUN, entries.length - i)) return undefined;
    if (i === 0) seq.range = [part.range![0], part.range![1], part.range![2]];
    part.items.forEach((item, k) => {
      onEntry?.(item, i + k, aliased, i + k === 0 ? layout.listStart : entries[i + k]!);
      seq.items.push(item);
    });
    seq.range![1] = part.range![1];
    seq.range![2] = part.range![2];
  }

  root.range = rest ? [root.range![0], rest.range![1], rest.range![2]] : [root.range![0], seq.range![1], seq.range![2]];
  itemsPair.value = seq;
  head.contents = root;
  head.range = [head.range[0], Math.max(head.range[1], root.range![1]), src.length];
  return { doc: head, root, itemsSeq: seq, aliases };
}

/** Keys the fast path does not merge by hand: anything but plain scalars, and merge keys. */
function hasOddKeys(map: YAMLMap): boolean {
  return map.items.some((p) => !isScalar(p.key) || typeof p.key.value !== 'string' || p.key.value === '<<');
}
