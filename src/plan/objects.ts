/** Facts about input objects that planning and rendering both need. */
import { isMap, type YAMLMap } from 'yaml';
import { scalarString } from '../read/input.js';

/** kpt's path annotations: the object is a file of a kpt package. */
export function hasPathAnnotation(item: YAMLMap): boolean {
  const annotations = (item.getIn(['metadata', 'annotations'], true) as unknown) ?? undefined;
  if (!isMap(annotations)) return false;
  return (
    scalarString(annotations.get('internal.config.kubernetes.io/path', true)) !== undefined ||
    scalarString(annotations.get('config.kubernetes.io/path', true)) !== undefined
  );
}
