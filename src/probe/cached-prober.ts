/**
 * The decision cache in front of the network prober. It answers what the
 * cache file holds, and creates the network prober (undici, the TLS stack)
 * only for what it lacks, so a fully cached render never loads them.
 * Inconclusive answers are never stored.
 */
import { formatReference, type ImageRef } from '../reference/parse.js';
import { DecisionCache } from './decision-cache-file.js';
import type { Clock } from './retry.js';
import type { Prober, ProbeOutcome, ProbeSettings } from './types.js';

export function withDecisionCache(settings: ProbeSettings, network: () => Prober | Promise<Prober>, clock: Pick<Clock, 'now'> = Date): Prober {
  const cache = settings.cacheFile ? new DecisionCache(settings.cacheFile, settings.cacheTTLSeconds * 1000) : undefined;
  let real: Promise<Prober> | undefined;
  return {
    async probeAll(refs: readonly ImageRef[]) {
      const missing = new Map<string, ImageRef>();
      for (const r of refs) missing.set(formatReference(r), r);
      const out = new Map<string, ProbeOutcome>();
      for (const [k, o] of cache?.lookup(missing.keys(), clock.now()) ?? []) {
        out.set(k, o);
        missing.delete(k);
      }
      if (missing.size === 0) return out;
      real ??= Promise.resolve().then(network);
      const fresh = await (await real).probeAll([...missing.values()]);
      cache?.store(fresh, clock.now());
      for (const [k, o] of fresh) out.set(k, o);
      return out;
    },
    async close() {
      if (real) await (await real).close();
    },
  };
}
