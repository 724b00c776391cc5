import { parseChallenges, type Challenge } from './challenge.js';
import { printable, type Http } from './http.js';
import type { RegistryTarget } from './egress.js';
import { withRetries, type RetryContext } from './retry.js';

export type PingResult =
  | { readonly kind: 'reachable'; readonly status: number; readonly challenges: readonly Challenge[] }
  | { readonly kind: 'inconclusive'; readonly reason: string; readonly timedOut?: boolean };

/** GET /v2/: is the registry there, and which auth does it ask for? */
export async function ping(http: Http, base: URL, registry: RegistryTarget, ctx: RetryContext): Promise<PingResult> {
  const url = new URL('/v2/', base);
  const { result, failed, timedOut } = await withRetries('GET', (signal) => http.send({ method: 'GET', url, registry, signal }), ctx);
  if (failed) return { kind: 'inconclusive', reason: failed, ...(timedOut && { timedOut }) };
  if (result.kind !== 'response') return { kind: 'inconclusive', reason: `GET ${printable(url)} failed` };
  const parsed = parseChallenges(result.headers['www-authenticate']);
  return { kind: 'reachable', status: result.status, challenges: parsed.ok ? parsed.challenges : [] };
}
