/**
 * The pull Secrets: one per namespace that needs it. An existing Secret of that name is updated in place when it
 * is ours to update (a `kubernetes.io/dockerconfigjson` Secret without `stringData`, not immutable); any other
 * is a conflict the user must resolve. Pure.
 */
import { isMap, isScalar } from 'yaml';
import type { Config } from '../config/config.js';
import type { InputObject } from '../read/input.js';
import { scalarString } from '../read/input.js';
import type { Result } from '../results.js';
import { DOCKER_CONFIG_TYPE, dockerConfigJson, pullSecretObject } from '../secret/dockerconfig.js';
import { secretNamespaces } from '../secret/namespaces.js';
import { errorResult, messages } from './messages.js';
import type { SecretCreate, SecretUpdate } from './plan.js';

export interface SecretPlan {
  readonly creates: SecretCreate[];
  readonly updates: SecretUpdate[];
  readonly results: Result[];
}

/** Hosts the pull Secret authenticates: the proxy, each vendor registry, the Replicated registry's domain. */
export function secretHosts(config: Config): string[] {
  return [...new Set([config.proxyHost, ...config.vendorRegistries, config.registryHost])];
}

export function planSecrets(objects: readonly InputObject[], needed: ReadonlySet<string>, config: Config, licenseId: string | undefined): SecretPlan {
  const out: SecretPlan = { creates: [], updates: [], results: [] };
  const namespaces =
    needed.size > 0 || config.pullSecretNamespaces.length > 0
      ? secretNamespaces(needed, config.pullSecretNamespaces, objects.map((o) => o.node))
      : [];
  if (namespaces.length === 0) return out;
  const name = config.pullSecretName;
  const hosts = secretHosts(config);
  if (!config.pullSecretEmit) {
    for (const namespace of namespaces) {
      out.results.push({ severity: 'info', message: messages.secretNotEmitted(name, namespace, hosts), resourceRef: secretRef(name, namespace) });
    }
    return out;
  }
  if (licenseId === undefined) {
    out.results.push(errorResult(messages.noLicense(name, config.licenseFromEnv), 'CONFIG_LICENSE_MISSING'));
    return out;
  }
  const payload = dockerConfigJson(hosts, licenseId);
  const existing = new Map<string, InputObject>();
  for (const o of objects) {
    const r = o.ref;
    if (r.apiVersion === 'v1' && r.kind === 'Secret' && r.name === name && !existing.has(r.namespace ?? '')) existing.set(r.namespace ?? '', o);
  }
  for (const namespace of namespaces) {
    const secret = pullSecretObject(name, namespace, payload);
    const ref = secretRef(name, namespace);
    const current = existing.get(namespace);
    if (!current) {
      out.creates.push({ namespace, object: secret });
      out.results.push({ severity: 'info', message: messages.secretCreated(name, hosts), resourceRef: ref });
      continue;
    }
    const type = scalarString(current.node.get('type', true));
    const data = current.node.get('data', true);
    const dataJs = isMap(data) ? (data.toJSON() as Record<string, unknown>) : undefined;
    const upToDate = type === secret.type && dataJs !== undefined && JSON.stringify(dataJs) === JSON.stringify(secret.data);
    const conflict =
      type !== DOCKER_CONFIG_TYPE
        ? `its type is ${type === undefined ? 'not set (Opaque)' : JSON.stringify(type).slice(0, 80)}, not ${DOCKER_CONFIG_TYPE}`
        : current.node.has('stringData')
          ? 'it has stringData, which the API server would apply over any data the function writes'
          : !upToDate && isTrue(current.node.get('immutable', true))
            ? 'it is immutable: the cluster would refuse the updated data'
            : data !== undefined && !isMap(data) && !(isScalar(data) && data.value === null)
              ? 'its data is not a mapping'
              : undefined;
    if (conflict) {
      out.results.push(errorResult(messages.secretConflict(name, conflict), 'SECRET_CONFLICT', { resourceRef: ref }));
      continue;
    }
    if (!upToDate) out.updates.push({ object: current, fields: { type: secret.type, data: secret.data } });
    out.results.push({ severity: 'info', message: (upToDate ? messages.secretUpToDate : messages.secretUpdated)(name, hosts), resourceRef: ref });
  }
  return out;
}

function isTrue(node: unknown): boolean {
  return isScalar(node) && node.value === true;
}

function secretRef(name: string, namespace: string): Result['resourceRef'] {
  return { apiVersion: 'v1', kind: 'Secret', name, ...(namespace && { namespace }) };
}
