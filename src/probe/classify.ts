import type { ProbeVerdict } from './types.js';

/**
 * What an HTTP status on a manifest request means (behavior.md, "Deciding public or private").
 *   2xx            public
 *   401, 403       private (also after an anonymous token)
 *   404            private-404 (quay, GHCR, ECR hide private repositories behind 404)
 *   408, 429, 5xx  retry with backoff, then inconclusive
 *   anything else  inconclusive
 * Timeouts, DNS, TLS and connection errors: retry, then inconclusive.
 */
export type StatusMeaning = Exclude<ProbeVerdict, 'inconclusive'> | 'retry' | 'unexpected';

export function classifyStatus(status: number): StatusMeaning {
  if (status >= 200 && status < 300) return 'public';
  if (status === 401 || status === 403) return 'private';
  if (status === 404) return 'private-404';
  if (isRetryableStatus(status)) return 'retry';
  return 'unexpected';
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/** Retry-After as milliseconds from `nowMs`: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[a-z]/i.test(v)) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - nowMs);
}

/** Exponential backoff with full jitter on the upper half: base·2^attempt · [0.5, 1). */
export function backoffMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = baseMs * 2 ** attempt;
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
