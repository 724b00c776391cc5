import { RegistryProber, type ProberOptions } from './prober.js';
import type { ProbeSettings, Prober } from './types.js';

export type { ProbeOutcome, ProbeSettings, Prober, ProbeVerdict } from './types.js';
export type { ProberOptions } from './prober.js';
export type { Clock } from './retry.js';

/** Defaults the CLI and the function use when functionConfig leaves a field out. */
export const DEFAULT_PROBE_SETTINGS: ProbeSettings = {
  timeoutSeconds: 10,
  deadlineSeconds: 120,
  concurrency: 16,
  concurrencyPerRegistry: 6,
  retries: 3,
  insecureRegistries: [],
  cacheTTLSeconds: 3600,
};

/** Anonymous registry prober (Docker Registry HTTP API v2). Call close() when done. */
export function createProber(settings: ProbeSettings, options: ProberOptions = {}): Prober {
  return new RegistryProber(settings, options);
}
