import type { Challenge } from './challenge.js';
import { printable, type Http } from './http.js';
import { refusal, type RegistryTarget } from './egress.js';
import { withRetries, type RetryContext } from './retry.js';
import { quote } from '../text/quote.js';

/** Anonymous Bearer tokens (Docker token auth): GET <realm>?service=...&scope=repository:<repo>:pull. */
export type TokenResult =
  | { readonly kind: 'token'; readonly value: string }
  /** The realm refused an anonymous token (401/403): the repository needs credentials. */
  | { readonly kind: 'denied'; readonly reason: string }
  | { readonly kind: 'inconclusive'; readonly reason: string };

export class TokenSource {
  private readonly cache = new Map<string, { at: number; result: Promise<TokenResult> }>();

  constructor(
    private readonly http: Http,
    private readonly retry: () => RetryContext,
  ) {}

  /** One request per realm+service+scope; concurrent callers share it; failures are not kept. */
  get(challenge: Challenge, scope: string, registry: RegistryTarget): Promise<TokenResult> {
    const realm = challenge.params.realm ?? '';
    const service = challenge.params.service ?? '';
    const key = JSON.stringify([realm, service, scope]);
    const hit = this.cache.get(key);
    const ctx = this.retry();
    if (hit && ctx.clock.now() - hit.at < 50_000) return hit.result;
    const result = this.fetch(realm, service, scope, registry, ctx);
    const entry = { at: ctx.clock.now(), result };
    this.cache.set(key, entry);
    void result.then((r) => {
      if (r.kind === 'inconclusive' && this.cache.get(key) === entry) this.cache.delete(key);
    });
    return result;
  }

  private async fetch(realm: string, service: string, scope: string, registry: RegistryTarget, ctx: RetryContext): Promise<TokenResult> {
    if (realm === '') return { kind: 'inconclusive', reason: 'Bearer challenge without a realm' };
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      return { kind: 'inconclusive', reason: `Bearer realm ${quote(realm)} is not a URL` };
    }
    const no = refusal(url, registry, 'realm');
    if (no) return { kind: 'inconclusive', reason: no };
    if (service !== '') url.searchParams.set('service', service);
    url.searchParams.set('scope', scope);
    const where = `GET ${printable(url)}`;
    const { result, failed } = await withRetries('GET', () => this.http.send({ method: 'GET', url, readBody: true, registry, purpose: 'realm', signal: ctx.signal, headers: { accept: 'application/json' } }), ctx);
    if (failed) return { kind: 'inconclusive', reason: `token request: ${failed}` };
    if (result.kind !== 'response') return { kind: 'inconclusive', reason: `token request ${where} failed` };
    if (result.status === 401 || result.status === 403) {
      return { kind: 'denied', reason: `token endpoint ${where} refused an anonymous token (${result.status})` };
    }
    if (result.status < 200 || result.status > 299) {
      return { kind: 'inconclusive', reason: `token endpoint ${where} answered ${result.status}` };
    }
    if (result.tooLarge) return { kind: 'inconclusive', reason: `token endpoint ${where} answered a body larger than 64 KiB` };
    let body: unknown;
    try {
      body = JSON.parse(result.body?.toString('utf8') ?? '');
    } catch {
      return { kind: 'inconclusive', reason: `token endpoint ${where} answered ${result.status} with a body that is not JSON` };
    }
    const rec = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
    const token = typeof rec.token === 'string' && rec.token !== '' ? rec.token : rec.access_token;
    if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token) || token.length > 16384) {
      return { kind: 'inconclusive', reason: `token endpoint ${where} answered ${result.status} without a usable "token" or "access_token"` };
    }
    return { kind: 'token', value: token };
  }
}
