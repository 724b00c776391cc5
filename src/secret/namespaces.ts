/** Which namespaces get a copy of the pull Secret. */
import { isMap, type YAMLMap } from 'yaml';
import { scalarString } from '../read/input.js';

/**
 * The namespaces of workloads that need the Secret (`''` = no namespace: the
 * Secret follows the workload into whatever namespace the pipeline deploys
 * to), plus the configured ones; `"*"` adds every namespace seen in the input.
 */
export function secretNamespaces(needed: Iterable<string>, configured: readonly string[], items: readonly YAMLMap[]): string[] {
  const out = new Set<string>(needed);
  for (const ns of configured) {
    if (ns === '*') for (const seen of namespacesSeen(items)) out.add(seen);
    else out.add(ns);
  }
  return [...out].sort();
}

export function namespacesSeen(items: readonly YAMLMap[]): Set<string> {
  const seen = new Set<string>();
  for (const item of items) {
    const meta = item.get('metadata', true);
    if (!isMap(meta)) continue;
    const kind = scalarString(item.get('kind', true));
    const apiVersion = scalarString(item.get('apiVersion', true));
    if (kind === 'Namespace' && apiVersion === 'v1') {
      const name = scalarString(meta.get('name', true));
      if (name) seen.add(name);
      continue;
    }
    const ns = scalarString(meta.get('namespace', true));
    if (ns) seen.add(ns);
  }
  return seen;
}
