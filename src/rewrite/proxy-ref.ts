/** Where an image goes: pure, from the parsed reference, its decision and the proxy settings. */
import type { Decision } from '../decide/policy.js';
import { DOCKER_HUB, versionSuffix, type ImageRef } from '../reference/parse.js';

export interface ProxySettings {
  readonly proxyHost: string;
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
    default:
      return undefined;
  }
}

/** Whether pods using an image with this decision need the pull Secret. */
export function needsPullSecret(decision: Decision): boolean {
  return decision.kind === 'private' || decision.kind === 'proxied' || decision.kind === 'vendor';
}
