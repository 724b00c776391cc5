import type { ImageRef } from '../reference/parse.js';
import type { Http } from './http.js';
import type { RegistryTarget } from './egress.js';
import { withRetries, type Attempted, type RetryContext } from './retry.js';

/** Every manifest type a runtime accepts; distribution hides OCI manifests from clients that omit the OCI types. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export function manifestUrl(base: URL, ref: ImageRef): URL {
  return new URL(`/v2/${ref.path}/manifests/${ref.digest ?? ref.tag ?? 'latest'}`, base);
}

/** HEAD the manifest (GET when HEAD answers 405), with retries. */
export async function fetchManifest(
  http: Http,
  url: URL,
  registry: RegistryTarget,
  authorization: string | undefined,
  ctx: RetryContext,
): Promise<Attempted & { method: 'HEAD' | 'GET' }> {
  const send = (method: 'HEAD' | 'GET') => () =>
    http.send({ method, url, registry, signal: ctx.signal, headers: { accept: MANIFEST_ACCEPT }, ...(authorization !== undefined && { authorization }) });
  const head = await withRetries('HEAD', send('HEAD'), ctx);
  if (head.result.kind === 'response' && head.result.status === 405) return { ...(await withRetries('GET', send('GET'), ctx)), method: 'GET' };
  return { ...head, method: 'HEAD' };
}
