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
import { isScalar, type Node, type YAMLMap } from 'yaml';
import type { ImagesInValues } from '../config/config.js';
import type { AliasIndex } from '../read/aliases.js';
import type { InputObject } from '../read/input.js';
import { asMap, asSeq, deref, isMergePair, keyOf, lookup, lookupPath, mergeSources, stringAt, type Reached } from '../read/nodes.js';
import type { ImageRef } from '../reference/parse.js';
import { detectImage, flagOf } from './detect.js';
import { aliasAt, displayPath, field, matchesSpec, type FieldSpec, type ImageField, type Segment } from './images.js';
import { compileNameGlob, compileNameGlobs } from './name-glob.js';
import { CONTAINER_LISTS, podSpecPath } from './workloads.js';

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

interface Container {
  readonly object: InputObject;
  readonly at: Reached<YAMLMap>;
  readonly segments: readonly Segment[];
}

interface Element {
  readonly at: Reached | undefined;
  readonly raw: unknown;
  readonly holderCtx: Node | undefined;
  readonly segments: readonly Segment[];
}

export function findValues(objects: readonly InputObject[], settings: ImagesInValues, fieldSpecs: readonly FieldSpec[], aliases: AliasIndex): ValueFinds {
  const out: ValueFinds = { fields: [], candidates: [], problems: [] };
  const detect = settings.detect === 'warn';
  if (!detect && settings.env.length === 0 && settings.args.length === 0 && settings.configMaps.length === 0) return out;
  const envRule = compileNameGlobs(settings.env);
  const argRule = compileNameGlobs(settings.args);
  const cmRules = settings.configMaps.map((r) => ({ rule: r, name: compileNameGlob(r.name), key: compileNameGlob(r.key) }));
  const scan = { out, detect, envRule, argRule };
  for (const object of objects) {
    for (const c of containersOf(object, fieldSpecs, aliases)) {
      scanEnv(c, scan, aliases);
      scanCommand(c, scan, aliases);
    }
    const { ref } = object;
    if (ref.kind !== 'ConfigMap' || ref.apiVersion !== 'v1' || (!detect && cmRules.length === 0)) continue;
    const data = asMap(lookup(object.node, 'data', undefined, aliases));
    if (!data) continue;
    const rules = cmRules.filter((r) => ref.name !== undefined && r.name(ref.name));
    for (const [key, found] of entriesOf(data, aliases)) {
      const make = (): ImageField => field(object, ['data', key], found, 'value', undefined, aliasAt(found.raw, found.holderCtx));
      if (rules.some((r) => r.key(key))) out.fields.push(make());
      else if (detect) candidate(out, found, make, `imagesInValues.configMaps: [{name: ${JSON.stringify(ref.name ?? '')}, key: ${JSON.stringify(key)}}]`);
    }
  }
  return out;
}

interface Scan {
  readonly out: ValueFinds;
  readonly detect: boolean;
  readonly envRule: (name: string) => string | undefined;
  readonly argRule: (name: string) => string | undefined;
}

/** A whole string value that looks like an image: a candidate (the field is made only then: most values are not). */
function candidate(out: ValueFinds, at: Reached, make: () => ImageField, rule: string): void {
  const ref = isScalar(at.node) && typeof at.node.value === 'string' ? detectImage(at.node.value) : undefined;
  if (ref) out.candidates.push({ field: make(), ref, rule });
}

function scanEnv(c: Container, scan: Scan, aliases: AliasIndex): void {
  const env = asSeq(lookup(c.at.node, 'env', c.at.ctx, aliases));
  env?.node.items.forEach((el, i) => {
    const entry = asMap(deref(el, env.ctx, aliases));
    if (!entry) return;
    const name = stringAt(lookup(entry.node, 'name', entry.ctx, aliases));
    if (name === undefined) return;
    const value = lookup(entry.node, 'value', entry.ctx, aliases);
    const segments = [...c.segments, 'env', i, 'value'];
    const glob = scan.envRule(name);
    if (glob !== undefined) {
      if (value) scan.out.fields.push(field(c.object, segments, value, 'value', undefined, aliasAt(value.pair.value, value.holderCtx)));
      else {
        const from = asMap(lookup(entry.node, 'valueFrom', entry.ctx, aliases));
        if (!from) return;
        const ref = asMap(lookup(from.node, 'configMapKeyRef', from.ctx, aliases));
        const cm = ref && { name: stringAt(lookup(ref.node, 'name', ref.ctx, aliases)), key: stringAt(lookup(ref.node, 'key', ref.ctx, aliases)) };
        scan.out.problems.push({
          kind: 'value-from',
          object: c.object,
          segments: [...c.segments, 'env', i, 'valueFrom'],
          name,
          glob,
          ...(cm?.name !== undefined && cm.key !== undefined && { configMapKey: { name: cm.name, key: cm.key } }),
        });
      }
      return;
    }
    if (!scan.detect || !value) return;
    const make = (): ImageField => field(c.object, segments, value, 'value', undefined, aliasAt(value.pair.value, value.holderCtx));
    candidate(scan.out, value, make, `imagesInValues.env: [${JSON.stringify(name)}]`);
  });
}

/** `command` then `args`, as one list: the container runs them so, and a flag's value may follow in the next. */
function scanCommand(c: Container, scan: Scan, aliases: AliasIndex): void {
  const elements: Element[] = [];
  for (const key of ['command', 'args'] as const) {
    const list = asSeq(lookup(c.at.node, key, c.at.ctx, aliases));
    list?.node.items.forEach((raw, i) => elements.push({ at: deref(raw, list.ctx, aliases), raw, holderCtx: list.ctx, segments: [...c.segments, key, i] }));
  }
  let pending: { flag: string; glob: string; el: Element } | undefined;
  let previousFlag: string | undefined;
  for (const el of elements) {
    const text = el.at && isScalar(el.at.node) && typeof el.at.node.value === 'string' ? el.at.node.value : undefined;
    const flag = text === undefined ? undefined : flagOf(text);
    const before = previousFlag;
    previousFlag = undefined;
    if (pending) {
      const p = pending;
      pending = undefined;
      if (flag === undefined && el.at) {
        // whatever follows a flag a rule names is its value: an image, or an error naming this field
        scan.out.fields.push(field(c.object, el.segments, el.at, 'value', undefined, aliasAt(el.raw, el.holderCtx)));
        continue;
      }
      scan.out.problems.push({ kind: 'followed-by-flag', object: c.object, segments: p.el.segments, name: p.flag, glob: p.glob });
    }
    if (text === undefined || !el.at) continue;
    if (flag === undefined) {
      if (scan.detect) candidateElement(scan, c, el, text, undefined, before);
      continue;
    }
    const glob = scan.argRule(flag.flag);
    if (flag.value === undefined) {
      if (glob !== undefined) pending = { flag: flag.flag, glob, el };
      else previousFlag = flag.flag;
    } else if (glob !== undefined) {
      const f = field(c.object, el.segments, el.at, 'value', undefined, aliasAt(el.raw, el.holderCtx));
      scan.out.fields.push({ ...f, image: flag.value, prefix: `${flag.flag}=` });
    } else if (scan.detect) {
      candidateElement(scan, c, el, flag.value, `${flag.flag}=`, flag.flag);
    }
  }
  if (pending) scan.out.problems.push({ kind: 'no-value', object: c.object, segments: pending.el.segments, name: pending.flag, glob: pending.glob });
}

function candidateElement(scan: Scan, c: Container, el: Element, text: string, prefix: string | undefined, flag: string | undefined): void {
  const ref = detectImage(text);
  if (!ref) return;
  const f = field(c.object, el.segments, el.at!, 'value', undefined, aliasAt(el.raw, el.holderCtx));
  scan.out.candidates.push({ field: prefix === undefined ? f : { ...f, image: text, prefix }, ref, ...(flag !== undefined && { rule: `imagesInValues.args: [${JSON.stringify(flag)}]` }) });
}

/** The containers of an object: its pod spec's lists, and the lists on fieldSpecs paths (once each). */
function containersOf(object: InputObject, fieldSpecs: readonly FieldSpec[], aliases: AliasIndex): Container[] {
  const out: Container[] = [];
  const seen = new Set<string>();
  const add = (list: Reached, segments: readonly Segment[]): void => {
    const seq = asSeq(list);
    seq?.node.items.forEach((el, i) => {
      const at = asMap(deref(el, seq.ctx, aliases));
      const path = [...segments, i];
      const key = displayPath(path);
      if (!at || seen.has(key)) return;
      seen.add(key);
      out.push({ object, at, segments: path });
    });
  };
  const { ref } = object;
  const specPath = podSpecPath(ref.apiVersion!, ref.kind!);
  if (specPath) {
    const podSpec = asMap(lookupPath(object.node, specPath, undefined, aliases));
    if (podSpec) {
      for (const list of CONTAINER_LISTS) {
        const found = lookup(podSpec.node, list, podSpec.ctx, aliases);
        if (found) add(found, [...specPath, list]);
      }
    }
  }
  for (const spec of fieldSpecs) {
    if (!matchesSpec(spec, ref.apiVersion!, ref.kind!)) continue;
    const segs = spec.path.split('/').map((s) => (s.endsWith('[]') ? s.slice(0, -2) : s));
    let last = -1;
    segs.forEach((s, i) => (CONTAINER_LISTS as readonly string[]).includes(s) && (last = i));
    if (last >= 0) walkTo({ node: object.node, ctx: undefined }, segs.slice(0, last + 1), [], aliases, add);
  }
  return out;
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
