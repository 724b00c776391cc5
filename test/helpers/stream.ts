/** Test-side conversions between plain manifest streams and ResourceLists (the function reads both by itself). */
import { Document, isMap, isSeq, parseAllDocuments, parseDocument, type Node } from 'yaml';

/** A multi-document stream (and optionally a functionConfig) wrapped into a ResourceList, nodes moved as they are. */
export function streamToResourceList(stream: string, configText?: string): string {
  const rl = new Document({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items: [] });
  const seq = rl.get('items', true);
  if (!isSeq(seq)) throw new Error('items is not a sequence');
  for (const doc of parseAllDocuments(stream)) {
    if (doc.errors.length > 0) throw doc.errors[0];
    if (isMap(doc.contents) && doc.contents.items.length > 0) seq.items.push(doc.contents);
  }
  if (configText) rl.set('functionConfig', parseDocument(configText).contents);
  return rl.toString({ lineWidth: 0 });
}

/** The items of a ResourceList as a multi-document stream. */
export function resourceListToStream(text: string): string {
  const items = parseDocument(text).get('items', true);
  if (!isSeq(items)) return '';
  return items.items
    .map((item) => {
      const d = new Document();
      d.contents = item as Node;
      return d.toString({ lineWidth: 0, indentSeq: false, flowCollectionPadding: false });
    })
    .join('---\n');
}
