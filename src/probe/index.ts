import { Agent, type Dispatcher } from 'undici';
import { formatReference, type ImageRef } from '../reference/parse.js';
import type { ProbeOutcome, ProbeSettings, Prober } from './types.js';

export type { ProbeOutcome, ProbeSettings, Prober, ProbeVerdict } from './types.js';

export interface ProberOptions {
  readonly dispatcher?: Dispatcher;
}

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** Minimal first version: ping-less HEAD, one anonymous token, no retries. Replaced by prober.ts. */
export function createProber(settings: ProbeSettings, options: ProberOptions = {}): Prober {
  const own = options.dispatcher === undefined;
  const dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000 });
  const timeout = settings.timeoutSeconds * 1000;
  async function head(url: string, auth?: string): Promise<Dispatcher.ResponseData> {
    const res = await dispatcher.request({
      origin: new URL(url).origin, path: new URL(url).pathname, method: 'HEAD',
      headers: { accept: ACCEPT, ...(auth && { authorization: auth }) },
      signal: AbortSignal.timeout(timeout),
    });
    await res.body.dump();
    return res;
  }
  async function one(ref: ImageRef): Promise<ProbeOutcome> {
    const host = ref.domain === 'docker.io' ? 'registry-1.docker.io' : ref.domain;
    const scheme = settings.insecureRegistries.includes(ref.domain) ? 'http' : 'https';
    const url = `${scheme}://${host}/v2/${ref.path}/manifests/${ref.digest ?? ref.tag ?? 'latest'}`;
    try {
      let res = await head(url);
      let after = '';
      const challenge = String(res.headers['www-authenticate'] ?? '');
      if (res.statusCode === 401 && /^bearer /i.test(challenge)) {
        const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
        const realm = new URL(params.realm!);
        if (params.service) realm.searchParams.set('service', params.service);
        realm.searchParams.set('scope', params.scope ?? `repository:${ref.path}:pull`);
        const t = await dispatcher.request({ origin: realm.origin, path: realm.pathname + realm.search, method: 'GET', signal: AbortSignal.timeout(timeout) });
        const body = (await t.body.json()) as { token?: string; access_token?: string };
        const token = body.token ?? body.access_token;
        if (token) {
          res = await head(url, `Bearer ${token}`);
          after = ' after an anonymous token';
        }
      }
      const s = res.statusCode;
      const reason = `HEAD ${url} answered ${s}${after}`;
      if (s >= 200 && s < 300) return { verdict: 'public', reason };
      if (s === 401 || s === 403) return { verdict: 'private', reason };
      if (s === 404) return { verdict: 'private-404', reason };
      return { verdict: 'inconclusive', reason };
    } catch (e) {
      return { verdict: 'inconclusive', reason: `HEAD ${url} failed: ${(e as Error).message}` };
    }
  }
  return {
    async probeAll(refs) {
      const out = new Map<string, ProbeOutcome>();
      const unique = new Map(refs.map((r) => [formatReference(r), r]));
      await Promise.all([...unique].map(async ([k, r]) => out.set(k, await one(r))));
      return out;
    },
    async close() {
      if (own) await dispatcher.close();
    },
  };
}
