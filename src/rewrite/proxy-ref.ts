/** Where an image goes: pure, from the parsed reference, its decision and the proxy settings. */
import type { Decision } from '../decide/policy.js';
import { REPLICATED_REGISTRY } from '../config/config.js';
import { DOCKER_HUB, versionSuffix, type ImageRef } from '../reference/parse.js';

export interface ProxySettings {
  readonly proxyHost: string;
  /** The Replicated registry's custom domain: `registry.replicated.com/<appSlug>/...` moves there. */
  readonly registryHost: string;
  readonly dockerHubHost: string;
  readonly appSlug: string;
  readonly proxyPublicImages: boolean;
}

/** `<proxy>/proxy/<app>/<registry>/<repo>[:tag][@digest]` for private images. */
export function proxiedReference(ref: ImageRef, s: ProxySettings): string {
  return `${s.proxyHost}/proxy/${s.appSlug}/${upstreamHost(ref, s)}/${ref.path}${versionSuffix(ref)}`;
}

/** `<proxy>/anonymous/<registry>/<repo>[:tag][@digest]` for public images with proxyPublicImages. */
export function anonymousReference(ref: ImageRef, s: ProxySettings): string {
  return `${s.proxyHost}/anonymous/${upstreamHost(ref, s)}/${ref.path}${versionSuffix(ref)}`;
}

function upstreamHost(ref: ImageRef, s: ProxySettings): string {
  return ref.domain === DOCKER_HUB ? s.dockerHubHost : ref.domain;
}

/** The new image for a decision, or undefined when the image stays as written. */
export function targetReference(ref: ImageRef, decision: Decision, s: ProxySettings): string | undefined {
  switch (decision.kind) {
    case 'private':
      return proxiedReference(ref, s);
    case 'public':
      return s.proxyPublicImages ? anonymousReference(ref, s) : undefined;
    case 'vendor':
      return customRegistryReference(ref, s);
    default:
      return undefined;
  }
}

/** `registry.replicated.com/<appSlug>/...` on the vendor's custom registry domain, when one is set. */
export function customRegistryReference(ref: ImageRef, s: ProxySettings): string | undefined {
  if (s.registryHost === REPLICATED_REGISTRY || ref.domain.toLowerCase() !== REPLICATED_REGISTRY) return undefined;
  if (!ref.path.startsWith(`${s.appSlug}/`)) return undefined;
  return `${s.registryHost}/${ref.path}${versionSuffix(ref)}`;
}

/** Whether pods using an image with this decision need the pull Secret. */
export function needsPullSecret(decision: Decision): boolean {
  return decision.kind === 'private' || decision.kind === 'proxied' || decision.kind === 'vendor';
}

/** An image already on the proxy host, split without the full grammar (its path may hold a host:port). */
export function onProxyHost(image: string, proxyHost: string): ImageRef | undefined {
  if (!image.startsWith(`${proxyHost}/`)) return undefined;
  let rest = image.slice(proxyHost.length + 1);
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) [rest, digest] = [rest.slice(0, at), rest.slice(at + 1)];
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) [rest, tag] = [rest.slice(0, colon), rest.slice(colon + 1)];
  if (rest === '' || /\s/.test(image)) return undefined;
  return { domain: proxyHost, path: rest, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}
