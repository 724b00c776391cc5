/**
 * Where a new pair goes in a map, read from the source ranges of the map's nodes. Taken when the map is found, so
 * the splicer can insert `imagePullSecrets` into a pod spec whose nodes are long gone (a workload's pod template is
 * dropped as soon as its images are found; see `read/input.ts`).
 */
import { isSeq, type Node, type YAMLMap } from 'yaml';

export type Insertion =
  /** A flow map `{...}`: after its `{`, which is found between `start` and `end`. */
  | { readonly flow: true; readonly start: number; readonly end: number; readonly empty: boolean; readonly firstKey: number | undefined }
  /**
   * A block map: before its first key. `list` is where the first block list's key and dash are, to write a new list
   * the way this map writes its own (compact `- ` under the key, or wide, two further in).
   */
  | { readonly flow: false; readonly firstKey: number | undefined; readonly list: { readonly key: number; readonly dash: number } | undefined };

export function insertionOf(map: YAMLMap): Insertion {
  const firstKey = (map.items[0]?.key as Node | undefined)?.range?.[0];
  if (map.flow) {
    const [start, end] = map.range ?? [0, 0];
    return { flow: true, start, end, empty: map.items.length === 0, firstKey };
  }
  let list: { key: number; dash: number } | undefined;
  for (const pair of map.items) {
    const value = pair.value as Node | null;
    const key = (pair.key as Node | null)?.range?.[0];
    if (isSeq(value) && !value.flow && value.range && key !== undefined) {
      list = { key, dash: value.range[0] };
      break;
    }
  }
  return { flow: false, firstKey, list };
}
