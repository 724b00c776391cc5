/**
 * Decides every distinct image once: policy first, then one probing pass for
 * the rest, then `probe.onError` for what the probe could not tell.
 */
import type { Prober, ProbeOutcome } from '../probe/types.js';
import { formatReference, type ImageRef } from '../reference/parse.js';
import type { Decision, Policy } from './policy.js';

export type OnError = 'fail' | 'private' | 'public';

export async function decideAll(
  refs: readonly ImageRef[],
  policy: Policy,
  onError: OnError,
  getProber: () => Prober,
): Promise<Map<string, Decision>> {
  const decisions = new Map<string, Decision>();
  const toProbe = new Map<string, ImageRef>();
  for (const ref of refs) {
    const key = formatReference(ref);
    if (decisions.has(key) || toProbe.has(key)) continue;
    const d = policy.decide(ref);
    if (d) decisions.set(key, d);
    else toProbe.set(key, ref);
  }
  if (toProbe.size === 0) return decisions;
  const outcomes = await getProber().probeAll([...toProbe.values()]);
  for (const key of toProbe.keys()) {
    const outcome = outcomes.get(key) ?? { verdict: 'inconclusive', reason: 'no answer from the probe' };
    decisions.set(key, fromOutcome(outcome, onError));
  }
  return decisions;
}

export function fromOutcome(outcome: ProbeOutcome, onError: OnError): Decision {
  const source = outcome.cached ? 'cache' : 'probe';
  switch (outcome.verdict) {
    case 'public':
      return { kind: 'public', source, reason: outcome.reason };
    case 'private':
      return { kind: 'private', source, reason: outcome.reason };
    case 'private-404':
      return { kind: 'private', source, reason: outcome.reason, warn: true };
    case 'inconclusive':
      if (onError === 'fail') return { kind: 'undecided', source: 'onError', reason: outcome.reason };
      return { kind: onError, source: 'onError', reason: `${outcome.reason}; treated as ${onError} (probe.onError: ${onError})`, warn: true };
  }
}
