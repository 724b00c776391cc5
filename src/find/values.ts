/**
 * Images that operators read from strings: container env values, `command`/`args` elements and ConfigMap data.
 * `imagesInValues` rules name them (env var names, flags, ConfigMap names and keys, as globs); what a rule names is
 * an image field like any other (source `value`), decided and rewritten the same way. With `detect: warn`, strings
 * no rule covers that look like image references (`detect.ts`) are candidates: decided in the same probing pass,
 * never rewritten, and reported when they need the pull Secret.
 *
 * The containers are those `findImages` walks (pod specs of the built-in kinds, and the container lists on
 * `fieldSpecs` paths), reached the same way: aliases followed, merge keys applied.
 */
import { isAlias, isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import type { ImagesInValues } from '../config/config.js';
import type { AliasIndex } from '../read/aliases.js';
import type { InputObject } from '../read/input.js';
import { asMap, asSeq, deref, isMergePair, keyOf, lookup, mergeSources, stringAt, type Found, type Reached } from '../read/nodes.js';
import type { ImageRef } from '../reference/parse.js';
import { detectImage, flagOf } from './detect.js';
import { aliasAt, displayPath, field, findImages, matchesSpec, type ContainerVisitor, type FieldSpec, type ImageField, type Segment } from './images.js';
import { compileNameGlob, compileNameGlobs, type NameMatcher } from './name-glob.js';
import { CONTAINER_LISTS } from './workloads.js';

export interface ValueCandidate {
  readonly field: ImageField;
  readonly ref: ImageRef;
  /** The rule that would rewrite it, as config text; undefined when no rule can (a positional argument). */
  readonly rule?: string;
}

export interface ValueFinds {
  /** Values a rule names: image fields with `source: 'value'` (no pod spec: the operator's pods are not in the input). */
  readonly fields: ImageField[];
  /** Strings no rule names that look like images (empty with `detect: off`). */
  readonly candidates: ValueCandidate[];
  /** What a rule names but cannot be rewritten here. */
  readonly problems: ValueProblem[];
}

/** A flag a rule names with no value after it (last, or followed by another flag); an env var a rule names set by `valueFrom`. */
export interface ValueProblem {
  readonly kind: 'no-value' | 'followed-by-flag' | 'value-from';
  readonly object: InputObject;
  readonly segments: readonly Segment[];
  /** The flag or env var name. */
  readonly name: string;
  /** The rule's glob that names it. */
  readonly glob: string;
  /** `valueFrom.configMapKeyRef`: where the image is. */
  readonly configMapKey?: { readonly name: string; readonly key: string };
}

/**
 * A container, and where its fields are. The walk below allocates nothing per env entry or argument that is not
 * reported: a 10,000-workload input holds some 100,000 of them, and detection must cost next to nothing there.
 * Nodes are followed as `deref` does (an alias leads to its anchor, which becomes the context), without
 * building a `Reached` for each; one is built for what becomes a field.
 */
interface Container {
  readonly object: InputObject;
  readonly node: YAMLMap;
  readonly ctx: Node | undefined;
  /** The list's path (`spec.template.spec.containers`), and the container's index in it. */
  readonly list: readonly Segment[];
  readonly index: number;
}

const containerPath = (c: Container, ...rest: Segment[]): Segment[] => [...c.list, c.index, ...rest];

/** A scan in two steps: `container` as `findImages` reaches each container of a pod spec, then `finish`. */
export interface ValueScan {
  /** The visitor to give `findImages`; undefined when there is nothing to look for (no rule, `detect: off`). */
  readonly container: ContainerVisitor | undefined;
  /** The containers on `fieldSpecs` paths and ConfigMap data, then everything found. */
  finish(objects: readonly InputObject[]): ValueFinds;
}

/**
 * Looks at each container while `findImages` has it in hand, so detection adds no second walk over the
 * workloads (the 10,000-workload benchmark holds it to 5% of the run).
 */
export function valueScan(settings: ImagesInValues, fieldSpecs: readonly FieldSpec[], aliases: AliasIndex): ValueScan {
  const out: ValueFinds = { fields: [], candidates: [], problems: [] };
  const detect = settings.detect === 'warn';
  const active = detect || settings.env.length > 0 || settings.args.length > 0 || settings.configMaps.length > 0;
  const scan: Scan = { out, detect, envRule: compileNameGlobs(settings.env), argRule: compileNameGlobs(settings.args), hasArgRules: settings.args.length > 0, aliases };
  // fieldSpecs that reach container lists; a container the pod spec walk gave is not scanned twice
  const specs = fieldSpecs.flatMap((spec) => {
    const segs = spec.path.split('/').map((p) => (p.endsWith('[]') ? p.slice(0, -2) : p));
    let last = -1;
    segs.forEach((p, i) => (CONTAINER_LISTS as readonly string[]).includes(p) && (last = i));
    return last < 0 ? [] : [{ spec, segs: segs.slice(0, last + 1) }];
  });
  const seen = new Map<InputObject, Set<string>>();
  const visit = (object: InputObject, container: Reached<YAMLMap>, list: readonly Segment[], index: number): void => {
    const c: Container = { object, node: container.node, ctx: container.ctx, list, index };
    if (specs.length > 0 && specs.some(({ spec }) => matchesSpec(spec, object.ref.apiVersion!, object.ref.kind!))) {
      const paths = seen.get(object) ?? new Set<string>();
      const path = displayPath(containerPath(c));
      if (paths.has(path)) return;
      seen.set(object, paths.add(path));
    }
    scanContainer(c, scan);
  };
  return {
    container: active ? visit : undefined,
    finish(objects) {
      if (!active) return out;
      const cmRules = settings.configMaps.map((r) => ({ name: compileNameGlob(r.name), key: compileNameGlob(r.key) }));
      for (const object of objects) {
        const { ref } = object;
        for (const { spec, segs } of specs) {
          if (!matchesSpec(spec, ref.apiVersion!, ref.kind!)) continue;
          walkTo({ node: object.node, ctx: undefined }, segs, [], aliases, (r, list) => {
            const seq = asSeq(r);
            seq?.node.items.forEach((el, i) => {
              const container = asMap(deref(el, seq.ctx, aliases));
              if (container) visit(object, container, list, i);
            });
          });
        }
        if (ref.kind === 'ConfigMap' && ref.apiVersion === 'v1' && (detect || cmRules.length > 0)) scanConfigMap(object, cmRules, scan);
      }
      // in the order of the items, as the image fields are (the walks above took the ConfigMaps last)
      const order = new Map(objects.map((o, i) => [o, i]));
      const byItem = (a: { object: InputObject }, b: { object: InputObject }): number => order.get(a.object)! - order.get(b.object)!;
      out.fields.sort(byItem);
      out.candidates.sort((a, b) => byItem(a.field, b.field));
      out.problems.sort(byItem);
      return out;
    },
  };
}

/** Both steps at once, with a pod spec walk of its own (for callers that run no `findImages`). */
export function findValues(objects: readonly InputObject[], settings: ImagesInValues, fieldSpecs: readonly FieldSpec[], aliases: AliasIndex): ValueFinds {
  const scan = valueScan(settings, fieldSpecs, aliases);
  if (scan.container) findImages(objects, [], aliases, scan.container);
  return scan.finish(objects);
}

function scanConfigMap(object: InputObject, rules: readonly { name: NameMatcher; key: NameMatcher }[], scan: Scan): void {
  const { ref } = object;
  const data = asMap(lookup(object.node, 'data', undefined, scan.aliases));
  if (!data) return;
  const named = rules.filter((r) => ref.name !== undefined && r.name(ref.name));
  for (const [key, found] of entriesOf(data, scan.aliases)) {
    const ruled = named.some((r) => r.key(key));
    const detected = ruled || !scan.detect ? undefined : detectIn(found.node);
    if (!ruled && !detected) continue;
    const f = field(object, ['data', key], found, 'value', undefined, aliasAt(found.raw, found.holderCtx));
    if (detected) scan.out.candidates.push({ field: f, ref: detected, rule: `imagesInValues.configMaps: [{name: ${JSON.stringify(ref.name ?? '')}, key: ${JSON.stringify(key)}}]` });
    else scan.out.fields.push(f);
  }
}

interface Scan {
  readonly out: ValueFinds;
  readonly detect: boolean;
  readonly envRule: (name: string) => string | undefined;
  readonly argRule: (name: string) => string | undefined;
  readonly hasArgRules: boolean;
  readonly aliases: AliasIndex;
}

/** The node a written value leads to: the value, or an alias's anchor. */
function targetOf(raw: unknown, aliases: AliasIndex): Node | undefined {
  if (raw === null || raw === undefined) return undefined;
  return isAlias(raw) ? aliases.target(raw) : (raw as Node);
}

/** The context below a written value, as `deref` gives it. */
function ctxBelow(raw: unknown, ctx: Node | undefined, aliases: AliasIndex): Node | undefined {
  if (isAlias(raw)) return aliases.target(raw);
  return (raw as { anchor?: string }).anchor ? (raw as Node) : ctx;
}

const stringOf = (node: Node | undefined): string | undefined => (isScalar(node) && typeof node.value === 'string' ? node.value : undefined);
const detectIn = (node: Node | undefined): ImageRef | undefined => {
  const text = stringOf(node);
  return text === undefined ? undefined : detectImage(text);
};

/**
 * Scratch slots `pick` fills, one per key asked: the pair, the map that holds it, that map's context. A map that
 * merges nothing is read in one pass; one with `<<` goes through `lookup`.
 */
interface Slots {
  pairs: (Pair | undefined)[];
  holders: (YAMLMap | undefined)[];
  ctxs: (Node | undefined)[];
  map: YAMLMap | undefined;
}
const newSlots = (): Slots => ({ pairs: [undefined, undefined, undefined], holders: [], ctxs: [], map: undefined });
const CONTAINER_SLOTS = newSlots();
const ENTRY_SLOTS = newSlots();

function pick(slots: Slots, map: YAMLMap, ctx: Node | undefined, keys: readonly string[], aliases: AliasIndex): void {
  for (let i = 0; i < keys.length; i++) slots.pairs[i] = undefined;
  slots.map = map;
  for (const pair of map.items) {
    if (isMergePair(pair)) {
      keys.forEach((key, i) => {
        const f = lookup(map, key, ctx, aliases);
        slots.pairs[i] = f?.pair;
        slots.holders[i] = f?.holder;
        slots.ctxs[i] = f?.holderCtx;
      });
      return;
    }
    const i = keys.indexOf(keyOf(pair) as string);
    if (i < 0 || slots.pairs[i] !== undefined) continue;
    slots.pairs[i] = pair;
    slots.holders[i] = map;
    slots.ctxs[i] = ctx;
  }
}

/** What `lookup` would have returned for a picked key. */
function foundAt(slots: Slots, i: number, node: Node, aliases: AliasIndex): Found {
  const pair = slots.pairs[i]!;
  return { node, ctx: ctxBelow(pair.value, slots.ctxs[i], aliases), pair, holder: slots.holders[i]!, holderCtx: slots.ctxs[i], viaMerge: slots.holders[i] !== slots.map };
}

const CONTAINER_KEYS = ['env', 'command', 'args'];
const ENV_KEYS = ['name', 'value', 'valueFrom'];

function scanContainer(c: Container, scan: Scan): void {
  const { aliases } = scan;
  const slots = CONTAINER_SLOTS;
  pick(slots, c.node, c.ctx, CONTAINER_KEYS, aliases);
  const [env, command, args] = slots.pairs;
  const commandSeq = command && targetOf(command.value, aliases);
  const argsSeq = args && targetOf(args.value, aliases);
  const lists: CommandList[] = [];
  if (isSeq(commandSeq)) lists.push({ key: 'command', seq: commandSeq, ctx: ctxBelow(command!.value, slots.ctxs[1], aliases) });
  if (isSeq(argsSeq)) lists.push({ key: 'args', seq: argsSeq, ctx: ctxBelow(args!.value, slots.ctxs[2], aliases) });
  const envSeq = env && targetOf(env.value, aliases);
  if (isSeq(envSeq)) scanEnv(c, envSeq, ctxBelow(env!.value, slots.ctxs[0], aliases), scan);
  if (lists.length > 0) scanCommand(c, lists, scan);
}

function scanEnv(c: Container, env: YAMLSeq, envCtx: Node | undefined, scan: Scan): void {
  const { aliases, out } = scan;
  for (let i = 0; i < env.items.length; i++) {
    const el = env.items[i];
    const entry = targetOf(el, aliases);
    if (!isMap(entry)) continue;
    const entryCtx = ctxBelow(el, envCtx, aliases);
    pick(ENTRY_SLOTS, entry, entryCtx, ENV_KEYS, aliases);
    const [namePair, valuePair, fromPair] = ENTRY_SLOTS.pairs;
    const name = stringOf(namePair && targetOf(namePair.value, aliases));
    if (name === undefined) continue;
    const value = valuePair && targetOf(valuePair.value, aliases);
    const glob = scan.envRule(name);
    const ref = glob === undefined && scan.detect ? detectIn(value) : undefined;
    if (value && (glob !== undefined || ref)) {
      const f = field(c.object, containerPath(c, 'env', i, 'value'), foundAt(ENTRY_SLOTS, 1, value, aliases), 'value', undefined, aliasAt(valuePair!.value, ENTRY_SLOTS.ctxs[1]));
      if (ref) out.candidates.push({ field: f, ref, rule: `imagesInValues.env: [${JSON.stringify(name)}]` });
      else out.fields.push(f);
      continue;
    }
    const from = glob !== undefined && !value && fromPair ? asMap(deref(fromPair.value, ENTRY_SLOTS.ctxs[2], aliases)) : undefined;
    if (!from) continue;
    const cmRef = asMap(lookup(from.node, 'configMapKeyRef', from.ctx, aliases));
    const cm = cmRef && { name: stringAt(lookup(cmRef.node, 'name', cmRef.ctx, aliases)), key: stringAt(lookup(cmRef.node, 'key', cmRef.ctx, aliases)) };
    out.problems.push({
      kind: 'value-from',
      object: c.object,
      segments: containerPath(c, 'env', i, 'valueFrom'),
      name,
      glob: glob!,
      ...(cm?.name !== undefined && cm.key !== undefined && { configMapKey: { name: cm.name, key: cm.key } }),
    });
  }
}

interface CommandList {
  readonly key: 'command' | 'args';
  readonly seq: YAMLSeq;
  readonly ctx: Node | undefined;
}

/** `command` then `args`, as one list: the container runs them so, and a flag's value may follow in the next. */
function scanCommand(c: Container, lists: readonly CommandList[], scan: Scan): void {
  const { aliases, out } = scan;
  const rules = scan.hasArgRules;
  const make = (list: CommandList, index: number, node: Node): ImageField => {
    const raw = list.seq.items[index];
    return field(c.object, containerPath(c, list.key, index), { node, ctx: ctxBelow(raw, list.ctx, aliases) }, 'value', undefined, aliasAt(raw, list.ctx));
  };
  let pending: { flag: string; glob: string; list: CommandList; index: number } | undefined;
  /** The element before, when it was a flag with no `=` and no rule: what a rule for the next element would name. */
  let before: string | undefined;
  for (const list of lists) {
    for (let index = 0; index < list.seq.items.length; index++) {
      const node = targetOf(list.seq.items[index], aliases);
      const text = stringOf(node);
      const previous = before;
      before = undefined;
      // without rules for flags, an element with no '/' can be no image, whole or after '=': only a flag's name matters
      if (!rules && text !== undefined && !text.includes('/')) {
        if (text.startsWith('-') && !text.includes('=')) before = text;
        continue;
      }
      const flag = text === undefined ? undefined : flagOf(text);
      if (pending) {
        const p = pending;
        pending = undefined;
        if (flag === undefined && node) {
          // whatever follows a flag a rule names is its value: an image, or an error naming this field
          out.fields.push(make(list, index, node));
          continue;
        }
        out.problems.push({ kind: 'followed-by-flag', object: c.object, segments: containerPath(c, p.list.key, p.index), name: p.flag, glob: p.glob });
      }
      if (text === undefined) continue;
      if (flag === undefined) {
        const ref = scan.detect ? detectImage(text) : undefined;
        if (!ref) continue;
        const prior = previous === undefined ? undefined : flagOf(previous);
        const named = prior && prior.value === undefined ? prior.flag : undefined;
        out.candidates.push({ field: make(list, index, node!), ref, ...(named !== undefined && { rule: `imagesInValues.args: [${JSON.stringify(named)}]` }) });
        continue;
      }
      const glob = scan.argRule(flag.flag);
      if (flag.value === undefined) {
        if (glob !== undefined) pending = { flag: flag.flag, glob, list, index };
        else before = flag.flag;
        continue;
      }
      const ref = glob === undefined && scan.detect ? detectImage(flag.value) : undefined;
      if (glob === undefined && !ref) continue;
      const f = { ...make(list, index, node!), image: flag.value, prefix: `${flag.flag}=` };
      if (ref) out.candidates.push({ field: f, ref, rule: `imagesInValues.args: [${JSON.stringify(flag.flag)}]` });
      else out.fields.push(f);
    }
  }
  if (pending) out.problems.push({ kind: 'no-value', object: c.object, segments: containerPath(c, pending.list.key, pending.index), name: pending.flag, glob: pending.glob });
}

/** Follows a fieldSpec path through maps, and through every item of a list met on the way, to its end. */
function walkTo(at: Reached, segs: readonly string[], shown: readonly Segment[], aliases: AliasIndex, visit: (r: Reached, segments: readonly Segment[]) => void): void {
  if (segs.length === 0) return visit(at, shown);
  const seq = asSeq(at);
  if (seq) {
    seq.node.items.forEach((el, i) => {
      const r = deref(el, seq.ctx, aliases);
      if (r) walkTo(r, segs, [...shown, i], aliases, visit);
    });
    return;
  }
  const map = asMap(at);
  const found = map && lookup(map.node, segs[0]!, map.ctx, aliases);
  if (found) walkTo(found, segs.slice(1), [...shown, segs[0]!], aliases, visit);
}

/** A map's entries with string keys as Kubernetes sees them: its own first, then those merge keys bring in. */
function entriesOf(map: Reached<YAMLMap>, aliases: AliasIndex, depth = 0): Map<string, Reached & { raw: unknown; holderCtx: Node | undefined }> {
  const out = new Map<string, Reached & { raw: unknown; holderCtx: Node | undefined }>();
  for (const pair of map.node.items) {
    if (isMergePair(pair)) continue;
    const key = keyOf(pair);
    if (typeof key !== 'string' || out.has(key)) continue;
    const r = deref(pair.value, map.ctx, aliases);
    if (r) out.set(key, { ...r, raw: pair.value, holderCtx: map.ctx });
  }
  if (depth > 32) return out;
  for (const source of mergeSources(map.node, map.ctx, aliases)) {
    for (const [key, r] of entriesOf(source, aliases, depth + 1)) if (!out.has(key)) out.set(key, r);
  }
  return out;
}
