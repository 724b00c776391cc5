/**
 * The decision cache in front of the network prober. It answers what the
 * cache file holds, and creates the network prober (undici, the TLS stack)
 * only for what it lacks, so a fully cached render never loads them.
 * Inconclusive answers are never stored. A cache file that is not this
 * function's own is refused (FnError CACHE_FILE_REFUSED) before any probe.
 */
import { formatReference, type ImageRef } from '../reference/parse.js';
import { DecisionCacheFile } from './decision-cache-file.js';
import type { Clock } from './retry.js';
import { secondsToMs, type Prober, type ProbeOutcome, type ProbeSettings } from './types.js';

export function withDecisionCache(settings: ProbeSettings, network: () => Prober | Promise<Prober>, clock: Pick<Clock, 'now'> = Date): Prober {
  const cache = settings.cacheFile ? new DecisionCacheFile(settings.cacheFile, settings.cacheTTLSeconds === 0 ? 0 : secondsToMs(settings.cacheTTLSeconds)) : undefined;
  let real: Promise<Prober> | undefined;
  return {
    async probeAll(refs: readonly ImageRef[]) {
      const missing = new Map<string, ImageRef>();
      for (const r of refs) missing.set(formatReference(r), r);
      const out = new Map<string, ProbeOutcome>();
      if (missing.size === 0) return out;
      for (const [k, o] of (await cache?.lookup(missing.keys(), clock.now())) ?? []) {
        out.set(k, o);
        missing.delete(k);
      }
      if (missing.size === 0) return out;
      real ??= Promise.resolve().then(network);
      const fresh = await (await real).probeAll([...missing.values()]);
      await cache?.store(fresh, clock.now());
      for (const [k, o] of fresh) out.set(k, o);
      return out;
    },
    warnings: () => cache?.warnings() ?? [],
    async close() {
      if (real) await (await real).close();
    },
  };
}
