/**
 * For `check`: answers from the same no-network rules the function applies
 * (vendor registries, the proxy itself, images.private / images.public) and
 * probes only the rest, so `check` says what a render would decide.
 */
import type { Policy } from '../decide/policy.js';
import type { Prober, ProbeOutcome } from '../probe/types.js';
import { formatReference, type ImageRef } from '../reference/parse.js';

export function policyFirst(policy: Policy, prober: Prober): Prober {
  return {
    async probeAll(refs: readonly ImageRef[]) {
      const out = new Map<string, ProbeOutcome>();
      const rest: ImageRef[] = [];
      for (const ref of refs) {
        const d = policy.decide(ref);
        if (!d) {
          rest.push(ref);
          continue;
        }
        const verdict = d.kind === 'public' || d.kind === 'anonymous' ? 'public' : 'private';
        const note = d.kind === 'vendor' || d.kind === 'proxied' ? ', not rewritten, needs the pull Secret' : '';
        out.set(formatReference(ref), { verdict, reason: `${d.reason}${note} (no probe)` });
      }
      if (rest.length > 0) for (const [k, v] of await prober.probeAll(rest)) out.set(k, v);
      return out;
    },
    close: () => prober.close(),
  };
}
