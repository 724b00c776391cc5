/** One pull Secret per namespace that needs it; an existing Secret of that name is updated in place. */
import type { YAMLMap } from 'yaml';
import type { Config } from '../config/config.js';
import { resourceRefOf } from '../find/images.js';
import type { Edit } from '../io/edits.js';
import type { Result } from '../results.js';
import { dockerConfigJson, pullSecretObject } from './dockerconfig.js';
import { secretNamespaces } from './namespaces.js';

export interface SecretPlan {
  edits: Edit[];
  results: Result[];
}

/** Which Secret to plan: its name, the extra namespaces that get a copy, and annotations a new one carries (Helm hooks). */
export interface SecretSpec {
  readonly name: string;
  readonly namespaces: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export function planSecrets(
  items: readonly YAMLMap[],
  needed: ReadonlySet<string>,
  config: Config,
  licenseId: string | undefined,
  spec: SecretSpec = { name: config.pullSecretName, namespaces: config.pullSecretNamespaces },
): SecretPlan {
  const namespaces = needed.size > 0 || spec.namespaces.length > 0 ? secretNamespaces(needed, spec.namespaces, items) : [];
  if (namespaces.length === 0) return { edits: [], results: [] };
  if (licenseId === undefined) {
    return {
      edits: [],
      results: [{
        severity: 'error',
        message: `the pull Secret ${spec.name} is needed but no license id was found: set license.id, license.fromEnv, env ${config.licenseFromEnv}, or add a kots.io/v1beta1 License to the input`,
      }],
    };
  }
  const hosts = [config.proxyHost, ...config.vendorRegistries];
  const payload = dockerConfigJson(hosts, licenseId);
  const edits: Edit[] = [];
  const results: Result[] = [];
  const existingByNamespace = new Map<string, YAMLMap>();
  for (const item of items) {
    const r = resourceRefOf(item);
    const ns = r.namespace ?? '';
    if (r.apiVersion === 'v1' && r.kind === 'Secret' && r.name === spec.name && !existingByNamespace.has(ns)) existingByNamespace.set(ns, item);
  }
  for (const namespace of namespaces) {
    const secret = pullSecretObject(spec.name, namespace, payload, spec.annotations);
    const ref = { apiVersion: 'v1', kind: 'Secret', name: spec.name, ...(namespace && { namespace }) };
    const existing = existingByNamespace.get(namespace);
    if (existing) {
      const current = { type: existing.get('type'), data: (existing.get('data', true) as { toJSON?: () => unknown } | undefined)?.toJSON?.() };
      const upToDate = JSON.stringify(current) === JSON.stringify({ type: secret.type, data: secret.data });
      if (!upToDate) edits.push({ op: 'setFields', item: existing, fields: { type: secret.type, data: secret.data } });
      const verb = upToDate ? 'is up to date' : 'updated';
      results.push({ severity: 'info', message: `pull Secret ${spec.name} ${verb} for ${hosts.join(', ')}`, resourceRef: ref });
    } else {
      edits.push({ op: 'appendItem', value: secret as unknown as Record<string, unknown> });
      results.push({ severity: 'info', message: `pull Secret ${spec.name} created for ${hosts.join(', ')}`, resourceRef: ref });
    }
  }
  return { edits, results };
}
