/**
 * Finding images while the input is read. A workload's image fields are found as soon as its item is composed, and
 * the item is then trimmed to its identity and metadata (`ItemVisitor` in `read/input.ts`): what the plan needs of
 * it (the image scalars, each pod spec's `PodSpecSite`, the object's ref and metadata) is all that stays, and the
 * rest of the item's nodes die before the next item is read. On a 10,000-workload input that halves the run's time
 * against reading everything first (bench/README.md).
 *
 * Only workloads of the built-in kinds are visited, and none that a `fieldSpecs` entry names: everything else (custom
 * resources, ConfigMaps, Secrets, Lists, License items, and items that hold an alias) is found the usual way once
 * the whole input is read, with the same value scan.
 */
import type { Config } from '../config/config.js';
import { lateAliasIndex, NO_ALIASES, type LateAliasIndex } from '../read/aliases.js';
import type { InputObject, ItemVisitor } from '../read/input.js';
import { findImages, matchesSpec, type ImageField } from './images.js';
import { valueScan, type ValueScan } from './values.js';
import { podSpecPath } from './workloads.js';

export interface ItemFinder extends ItemVisitor {
  /** The image fields of the items visited, in their order. */
  readonly fields: readonly ImageField[];
  /** The value scan that saw their containers; the rest of the input goes through it too. */
  readonly scan: ValueScan;
  /** The scan's alias index: the input's, once it is read. */
  readonly aliases: LateAliasIndex;
}

export function itemFinder(config: Pick<Config, 'fieldSpecs' | 'imagesInValues'>): ItemFinder {
  const aliases = lateAliasIndex();
  const scan = valueScan(config.imagesInValues, config.fieldSpecs, aliases);
  const fields: ImageField[] = [];
  return {
    fields,
    scan,
    aliases,
    visit(object: InputObject): boolean {
      const { apiVersion, kind } = object.ref;
      if (!apiVersion || !kind || !podSpecPath(apiVersion, kind) || config.fieldSpecs.some((s) => matchesSpec(s, apiVersion, kind))) return false;
      for (const f of findImages([object], config.fieldSpecs, NO_ALIASES, scan.container)) fields.push(f);
      return true;
    },
  };
}

/** Two lists of fields, each in object order, as one (the order results are reported in). */
export function inObjectOrder(a: readonly ImageField[], b: readonly ImageField[]): ImageField[] {
  if (a.length === 0) return [...b];
  if (b.length === 0) return [...a];
  const out: ImageField[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(a[i]!.object.index <= b[j]!.object.index ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}
