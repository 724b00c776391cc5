import type { ImageRef } from '../reference/parse.js';
import type { Http } from './http.js';
import type { RegistryTarget } from './egress.js';
import { attemptOnce, withRetries, type Attempt, type Attempted, type RetryContext } from './retry.js';

/** Every manifest type a runtime accepts; distribution hides OCI manifests from clients that omit the OCI types. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/**
 * Media types a 2xx manifest answer may carry: the four asked for, and Docker schema 1 (signed and unsigned), which
 * old registries answer with. Anything else (`text/html` from a captive portal or a proxy's login page, a missing
 * type) is not a manifest, and the image is not known to be public.
 */
const MANIFEST_TYPES = new Set([
  ...MANIFEST_ACCEPT.split(', '),
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
]);

/** The media type of `content-type` (parameters dropped, lower case), or undefined when it is a manifest type. */
export function notAManifest(contentType: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(contentType) ? contentType[0] : contentType;
  if (raw === undefined || raw.trim() === '') return 'without a Content-Type';
  const type = raw.split(';')[0]!.trim().toLowerCase();
  if (MANIFEST_TYPES.has(type)) return undefined;
  return type;
}

export function manifestUrl(base: URL, ref: ImageRef): URL {
  return new URL(`/v2/${ref.path}/manifests/${ref.digest ?? ref.tag ?? 'latest'}`, base);
}

function manifestRequest(http: Http, url: URL, registry: RegistryTarget, authorization: string | undefined) {
  return (method: 'HEAD' | 'GET') => (signal: AbortSignal) =>
    http.send({ method, url, registry, signal, headers: { accept: MANIFEST_ACCEPT }, ...(authorization !== undefined && { authorization }) });
}

/** One anonymous HEAD of the manifest, no retry: the attempt sent while the registry's ping is still out. */
export function headOnce(http: Http, url: URL, registry: RegistryTarget, ctx: RetryContext, signal?: AbortSignal): Promise<Attempt> {
  return attemptOnce(manifestRequest(http, url, registry, undefined)('HEAD'), ctx, signal);
}

/** HEAD the manifest (GET when HEAD answers 405), with retries; `first`: the HEAD's first attempt, already made. */
export async function fetchManifest(
  http: Http,
  url: URL,
  registry: RegistryTarget,
  authorization: string | undefined,
  ctx: RetryContext,
  first?: Attempt,
): Promise<Attempted & { method: 'HEAD' | 'GET' }> {
  const send = manifestRequest(http, url, registry, authorization);
  const head = await withRetries('HEAD', send('HEAD'), ctx, first);
  if (head.result.kind === 'response' && head.result.status === 405) return { ...(await withRetries('GET', send('GET'), ctx)), method: 'GET' };
  return { ...head, method: 'HEAD' };
}
