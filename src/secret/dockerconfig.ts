/** The `.dockerconfigjson` payload: the license id is both user name and password, for every host. */

export const DOCKER_CONFIG_KEY = '.dockerconfigjson';
export const DOCKER_CONFIG_TYPE = 'kubernetes.io/dockerconfigjson';

export function dockerConfigJson(hosts: readonly string[], licenseId: string): string {
  const auth = Buffer.from(`${licenseId}:${licenseId}`).toString('base64');
  const auths: Record<string, { username: string; password: string; auth: string }> = {};
  for (const host of [...new Set(hosts)]) auths[host] = { username: licenseId, password: licenseId, auth };
  return JSON.stringify({ auths });
}

export interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  type: typeof DOCKER_CONFIG_TYPE;
  data: Record<string, string>;
}

export function pullSecretObject(name: string, namespace: string, payload: string, annotations?: Readonly<Record<string, string>>): SecretObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...(namespace === '' ? { name } : { name, namespace }), ...(annotations && { annotations: { ...annotations } }) },
    type: DOCKER_CONFIG_TYPE,
    data: { [DOCKER_CONFIG_KEY]: Buffer.from(payload).toString('base64') },
  };
}
