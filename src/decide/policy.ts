/**
 * Decisions that need no network: vendor registries, images already on the
 * proxy, and the user's glob lists. Everything else is left to the probe.
 */
import { hostOnly, parseReference, repositoryName, type ImageRef } from '../reference/parse.js';
import { compileGlobs, type Matcher } from './glob.js';

export type DecisionKind =
  | 'vendor' //       not rewritten, needs the pull Secret
  | 'proxied' //      already on the proxy's authenticated path, needs the Secret
  | 'anonymous' //    already on the proxy's anonymous path: left alone, no Secret
  | 'private' //      rewritten to the proxy, needs the Secret
  | 'public' //       left alone (or sent to the anonymous path with proxyPublicImages)
  | 'undecided'; //   probe inconclusive and probe.onError: fail

export interface Decision {
  readonly kind: DecisionKind;
  /** Why, in words a user can act on. */
  readonly reason: string;
  /** How it was reached: a glob list, the registry, or the configured fallback. */
  readonly source: 'vendor' | 'proxy' | 'glob' | 'probe' | 'cache' | 'onError';
  /** 404 treated as private: worth a warning. */
  readonly warn?: boolean;
}

export interface PolicyConfig {
  readonly proxyHost: string;
  readonly vendorRegistries: readonly string[];
  /** The Replicated registry's custom domain: a vendor registry too. */
  readonly registryHost?: string;
  readonly privateGlobs: readonly string[];
  readonly publicGlobs: readonly string[];
}

export interface Policy {
  /** A decision, or undefined when only a probe can tell. */
  decide(ref: ImageRef): Decision | undefined;
}

export function createPolicy(config: PolicyConfig): Policy {
  const vendors = new Set([...config.vendorRegistries, ...(config.registryHost ? [config.registryHost] : [])].map((h) => h.toLowerCase()));
  const proxyHost = config.proxyHost.toLowerCase();
  const isPrivate: Matcher = compileGlobs(config.privateGlobs);
  const isPublic: Matcher = compileGlobs(config.publicGlobs);
  return {
    decide(ref) {
      const domain = ref.domain.toLowerCase();
      if (vendors.has(domain) || vendors.has(hostOnly(domain))) {
        return { kind: 'vendor', source: 'vendor', reason: `${ref.domain} is a vendor registry` };
      }
      if (domain === proxyHost) {
        if (ref.path.startsWith('anonymous/')) {
          return { kind: 'anonymous', source: 'proxy', reason: `already on the proxy's anonymous path` };
        }
        return { kind: 'proxied', source: 'proxy', reason: `already points at the proxy ${ref.domain}` };
      }
      const name = repositoryName(ref);
      if (isPrivate(name)) return { kind: 'private', source: 'glob', reason: `matches images.private` };
      if (isPublic(name)) return { kind: 'public', source: 'glob', reason: `matches images.public` };
      return undefined;
    },
  };
}

/** For CLI parsing of globs given as image names: `nginx` -> `docker.io/library/nginx`. */
export function normaliseGlob(glob: string): string {
  if (/[*?]/.test(glob)) return glob;
  try {
    return repositoryName(parseReference(glob));
  } catch {
    return glob;
  }
}
