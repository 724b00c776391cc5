import type { ImageRef } from '../reference/parse.js';

/**
 * What an anonymous pull attempt tells about one image.
 * - public: the manifest answered 2xx without credentials.
 * - private: 401/403, also after an anonymous token.
 * - private-404: 404 to an anonymous client: the repository or tag does not exist for it; private, with a
 *   warning (a registry may hide a private repository so; explain.ts says what it means).
 * - inconclusive: 429/5xx/timeouts/network/TLS errors that outlasted the retries; `probe.onError` decides.
 */
export type ProbeVerdict = 'public' | 'private' | 'private-404' | 'inconclusive';

export interface ProbeOutcome {
  readonly verdict: ProbeVerdict;
  /** One line a user can act on: `HEAD https://quay.io/v2/org/api/manifests/v1 answered 401 after an anonymous token`. Never holds credentials. */
  readonly reason: string;
  /** True when the answer came from the decision cache, not the network. */
  readonly cached?: boolean;
  /** What decided it, for explain(); absent on cached answers. */
  readonly evidence?: ProbeEvidence;
}

/** The step that decided a probe and what it saw (no registry text beyond a Bearer `error` token). */
export type ProbeEvidence =
  | {
      readonly step: 'manifest';
      readonly status: number;
      /** the manifest request carried an anonymous Bearer token */
      readonly anonymousToken: boolean;
      /** on a 401: the challenge it came with (`none`: no or an empty WWW-Authenticate) */
      readonly challenge?: 'bearer' | 'basic' | 'none';
      /** on a 401: the Bearer challenge's `error` parameter, e.g. `insufficient_scope` */
      readonly bearerError?: string;
    }
  /** the token endpoint refused an anonymous token */
  | { readonly step: 'token'; readonly status: number }
  /** 429/5xx/network/TLS/policy failures that outlasted the retries */
  | { readonly step: 'failure'; readonly timedOut: boolean }
  /** probe.deadlineSeconds ran out first */
  | { readonly step: 'deadline' };

export interface ProbeSettings {
  readonly timeoutSeconds: number;
  readonly deadlineSeconds: number;
  readonly concurrency: number;
  readonly concurrencyPerRegistry: number;
  readonly retries: number;
  readonly insecureRegistries: readonly string[];
  readonly caFile?: string;
  readonly cacheFile?: string;
  readonly cacheTTLSeconds: number;
}

/** Decides many images at once; keyed by `formatReference(ref)`. Never throws for a registry's failure. */
export interface Prober {
  probeAll(refs: readonly ImageRef[]): Promise<Map<string, ProbeOutcome>>;
  /** Warnings about the run that belong to no image (a dropped cache entry, decisions that could not be cached). */
  warnings?(): readonly string[];
  close(): Promise<void>;
}

/**
 * Defaults the CLI and the function use when functionConfig leaves a field out (documented in the README and the schema).
 * deadlineSeconds 30: the whole probing phase fits in Argo CD's 60 s render wait with room for git and kustomize
 * (docs/probing.md has the arithmetic).
 */
export const DEFAULT_PROBE_SETTINGS: ProbeSettings = {
  timeoutSeconds: 10,
  deadlineSeconds: 30,
  concurrency: 16,
  concurrencyPerRegistry: 6,
  retries: 3,
  insecureRegistries: [],
  cacheTTLSeconds: 3600,
};

/**
 * Seconds from the config as whole milliseconds, at least 1: Node's timers and AbortSignal.timeout take integers only
 * (16.1 s is 16100.000000000002 ms in floating point, and AbortSignal.timeout threw "out of range" for it).
 */
export function secondsToMs(seconds: number): number {
  return Math.max(1, Math.ceil(Math.round(seconds * 1e6) / 1e3));
}
