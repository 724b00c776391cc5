import type { Challenge } from './challenge.js';
import { printable, type Http } from './http.js';
import { refusal, type RegistryTarget } from './egress.js';
import { withRetries, type RetryContext } from './retry.js';
import { quote } from '../text/quote.js';

/** Anonymous Bearer tokens (Docker token auth): GET <realm>?service=...&scope=repository:<repo>:pull. */
export type TokenResult =
  | { readonly kind: 'token'; readonly value: string }
  /** The realm refused an anonymous token (401/403): the repository needs credentials. */
  | { readonly kind: 'denied'; readonly status: number; readonly reason: string }
  | { readonly kind: 'inconclusive'; readonly reason: string };

/** The token spec's lifetime when a token answer has no `expires_in` (docs/spec/auth/token.md in distribution). */
export const DEFAULT_TOKEN_LIFETIME_S = 60;
/** Longer lifetimes are cut to this: a probe run is short, and a wrong huge value must not pin a token. */
export const MAX_TOKEN_LIFETIME_S = 3600;
/** A token is refreshed this long before it expires (at most half its lifetime), so it never expires in flight. */
export const TOKEN_REFRESH_MARGIN_MS = 30_000;

/** `expires_in` as seconds: a positive number (or digit string), at most MAX; missing, zero, negative or garbage means the default. */
export function tokenLifetimeSeconds(expiresIn: unknown): number {
  const n = typeof expiresIn === 'number' ? expiresIn : typeof expiresIn === 'string' && /^\s*\d+\s*$/.test(expiresIn) ? Number(expiresIn) : NaN;
  if (!Number.isFinite(n) || n <= 0) return DEFAULT_TOKEN_LIFETIME_S;
  return Math.min(n, MAX_TOKEN_LIFETIME_S);
}

/**
 * Until when (epoch ms) a token answer may be reused: from the moment it was requested (or its
 * `issued_at`, only when that is earlier: a registry clock ahead of ours must not stretch a token),
 * plus its lifetime, minus the refresh margin.
 */
export function tokenReuseUntil(body: Readonly<Record<string, unknown>>, requestedAt: number): number {
  const lifetimeMs = tokenLifetimeSeconds(body.expires_in) * 1000;
  const issued = typeof body.issued_at === 'string' ? Date.parse(body.issued_at) : NaN;
  const start = Number.isFinite(issued) && issued < requestedAt ? issued : requestedAt;
  return start + lifetimeMs - Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 2);
}

interface Entry {
  readonly result: Promise<TokenResult>;
  /** set once the answer is in; until then concurrent callers share the request */
  reuseUntil?: number;
}

export class TokenSource {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly http: Http,
    private readonly retry: () => RetryContext,
  ) {}

  /**
   * One request per realm+service+scope while its token is fresh; concurrent callers share it; failures
   * are not kept. `stale`: the registry called this token invalid, so fetch a new one unless another
   * caller already did.
   */
  get(challenge: Challenge, scope: string, registry: RegistryTarget, stale?: Promise<TokenResult>): Promise<TokenResult> {
    const realm = challenge.params.realm ?? '';
    const service = challenge.params.service ?? '';
    const key = JSON.stringify([realm, service, scope]);
    const ctx = this.retry();
    const hit = this.cache.get(key);
    if (hit && hit.result !== stale && (hit.reuseUntil === undefined || ctx.clock.now() < hit.reuseUntil)) return hit.result;
    const requestedAt = ctx.clock.now();
    const fetched = this.fetch(realm, service, scope, registry, ctx);
    const entry: Entry = { result: fetched.then((f) => f.result) };
    this.cache.set(key, entry);
    void fetched.then(({ result, body }) => {
      if (this.cache.get(key) !== entry) return;
      if (result.kind === 'inconclusive') this.cache.delete(key);
      else entry.reuseUntil = tokenReuseUntil(body ?? {}, requestedAt);
    });
    return entry.result;
  }

  private async fetch(
    realm: string,
    service: string,
    scope: string,
    registry: RegistryTarget,
    ctx: RetryContext,
  ): Promise<{ result: TokenResult; body?: Record<string, unknown> }> {
    const inconclusive = (reason: string) => ({ result: { kind: 'inconclusive', reason } as const });
    if (realm === '') return inconclusive('Bearer challenge without a realm');
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      return inconclusive(`Bearer realm ${quote(realm)} is not a URL`);
    }
    const no = refusal(url, registry, 'realm');
    if (no) return inconclusive(no);
    if (service !== '') url.searchParams.set('service', service);
    url.searchParams.set('scope', scope);
    const where = `GET ${printable(url)}`;
    const { result, failed } = await withRetries(
      'GET',
      (signal) => this.http.send({ method: 'GET', url, readBody: true, registry, purpose: 'realm', signal, headers: { accept: 'application/json' } }),
      ctx,
    );
    if (failed) return inconclusive(`token request: ${failed}`);
    if (result.kind !== 'response') return inconclusive(`token request ${where} failed`);
    if (result.status === 401 || result.status === 403) {
      return { result: { kind: 'denied', status: result.status, reason: `token endpoint ${where} refused an anonymous token (${result.status})` } };
    }
    if (result.status < 200 || result.status > 299) return inconclusive(`token endpoint ${where} answered ${result.status}`);
    if (result.tooLarge) return inconclusive(`token endpoint ${where} answered a body larger than 64 KiB`);
    let body: unknown;
    try {
      body = JSON.parse(result.body?.toString('utf8') ?? '');
    } catch {
      return inconclusive(`token endpoint ${where} answered ${result.status} with a body that is not JSON`);
    }
    const rec = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    const token = typeof rec.token === 'string' && rec.token !== '' ? rec.token : rec.access_token;
    if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token) || token.length > 16384) {
      return inconclusive(`token endpoint ${where} answered ${result.status} without a usable "token" or "access_token"`);
    }
    return { result: { kind: 'token', value: token }, body: rec };
  }
}
