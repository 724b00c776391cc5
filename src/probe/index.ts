import { withDecisionCache } from './cached-prober.js';
import { RegistryProber, type ProberOptions } from './prober.js';
import type { ProbeSettings, Prober } from './types.js';

export type { ProbeOutcome, ProbeSettings, Prober, ProbeVerdict } from './types.js';
export { DEFAULT_PROBE_SETTINGS } from './types.js';
export type { ProberOptions } from './prober.js';
export type { Clock } from './retry.js';

/** Anonymous registry prober (Docker Registry HTTP API v2) behind the decision cache (probe.cacheFile). Call close() when done. */
export function createProber(settings: ProbeSettings, options: ProberOptions = {}): Prober {
  return withDecisionCache(settings, () => createNetworkProber(settings, options), options.clock);
}

/** The network half alone, for callers that put the decision cache in front themselves (see cached-prober.ts). */
export function createNetworkProber(settings: ProbeSettings, options: ProberOptions = {}): Prober {
  return new RegistryProber(settings, options);
}
