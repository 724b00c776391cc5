import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { Agent, EnvHttpProxyAgent, buildConnector, type Dispatcher } from 'undici';
import { canonicalHost, EgressGuard, EgressRefusal, refusal, type ClassOverride, type RegistryTarget } from './egress.js';
import { h2Multiplexing } from './h2.js';

/** The only module that talks to undici. */

export const BODY_CAP = 64 * 1024;
export const MAX_REDIRECTS = 3;

/**
 * Called before every connection the probe opens, after the egress policy approved it, with the addresses the socket
 * may use; throwing refuses it. For tests: record attempts, and refuse anything off loopback.
 */
export type ConnectHook = (target: { protocol: string; hostname: string; port: number; addresses: readonly string[] }) => void;
export type LookupHook = (
  hostname: string,
  options: { all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export interface HttpOptions {
  readonly timeoutMs: number;
  readonly caFile?: string;
  readonly dispatcher?: Dispatcher;
  readonly onConnect?: ConnectHook;
  readonly lookup?: LookupHook;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Tests: class some addresses otherwise (see egress.ts). */
  readonly classifyAddress?: ClassOverride;
}

export interface HttpRequest {
  readonly method: 'GET' | 'HEAD';
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  /** Authorization header value, sent to `url`'s origin only, dropped on a redirect elsewhere. */
  readonly authorization?: string;
  /** GET only: read the body (up to BODY_CAP) instead of discarding it. */
  readonly readBody?: boolean;
  /** The registry this request is made for; redirects and every connection are checked against it. */
  readonly registry: RegistryTarget;
  /** What the first URL is, for refusals: the registry's own (default) or its Bearer realm. */
  readonly purpose?: 'registry' | 'realm';
  /** Aborts the request (the overall deadline). */
  readonly signal?: AbortSignal;
}

export type HttpResult =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      readonly body?: Buffer;
      /** The body was longer than BODY_CAP and was cut off. */
      readonly tooLarge?: boolean;
      readonly url: URL;
    }
  | { readonly kind: 'failure'; readonly cause: string; readonly retryable: boolean; readonly url: URL }
  | { readonly kind: 'refused'; readonly reason: string; readonly url: URL; readonly egress?: EgressRefusal };

/** `https://host/path` without query string or fragment, the path cut at 200 characters: safe to print. */
export function printable(url: URL): string {
  const path = url.pathname.length > 200 ? `${url.pathname.slice(0, 200)}...` : url.pathname;
  return `${url.protocol}//${url.host}${path}`;
}

interface Pool {
  readonly dispatcher: Dispatcher;
  readonly guard: EgressGuard;
  /** Resolves once a connection of this pool is up (TCP and TLS done, the HTTP/2 session set up); see connected(). */
  readonly connected: Promise<void>;
}

/** Never settles: a pool whose connections this module does not see (an injected dispatcher, a proxy). */
const NEVER = new Promise<void>(() => {});

export class Http {
  /** One pool per registry: a connection opened under one registry's egress ceiling never serves another's. */
  private readonly pools = new Map<string, Pool>();
  private readonly ca?: string[];
  /** One TLS context for every connection of every pool (see the connector). */
  private readonly secureContext?: SecureContext;
  private readonly proxies: { httpProxy: string; httpsProxy: string; noProxy: string };
  /** Set when the configuration cannot work (unreadable caFile): every request fails with it, nothing is sent. */
  private readonly configError?: string;

  constructor(private readonly options: HttpOptions) {
    const env = options.env ?? process.env;
    this.proxies = {
      httpsProxy: env.https_proxy ?? env.HTTPS_PROXY ?? '',
      httpProxy: env.http_proxy ?? env.HTTP_PROXY ?? '',
      noProxy: env.no_proxy ?? env.NO_PROXY ?? '',
    };
    if (options.dispatcher || !options.caFile) return;
    try {
      const pem = readFileSync(options.caFile, 'utf8');
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw Object.assign(new Error('no PEM certificate in it'), { code: 'NOPEM' });
      this.ca = [...rootCertificates, pem];
      this.secureContext = createSecureContext({ ca: this.ca });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      this.configError = `cannot use probe.caFile ${options.caFile}: ${err.code === 'NOPEM' ? err.message : (err.code ?? err.message)}`;
    }
  }

  private get proxied(): boolean {
    return this.proxies.httpsProxy !== '' || this.proxies.httpProxy !== '';
  }

  private readonly resolve = (hostname: string): Promise<LookupAddress[]> =>
    new Promise((resolve, reject) => {
      const done = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]): void => (err ? reject(err) : resolve(addresses));
      if (this.options.lookup) this.options.lookup(hostname, { all: true }, done);
      else dnsLookup(hostname, { all: true }, done);
    });

  /**
   * The pool for `registry`. Its connector asks the registry's EgressGuard before every connection: literal addresses
   * are judged as they are, names after resolution, and the socket then connects only to the approved addresses (the
   * lookup it is given answers from the approval, so nothing is resolved twice and nothing can rebind in between).
   */
  private pool(registry: RegistryTarget): Pool {
    const key = `${registry.scheme}://${canonicalHost(registry.hostname)}`;
    const existing = this.pools.get(key);
    if (existing) return existing;
    const guard = new EgressGuard(registry, this.resolve, this.options.classifyAddress);
    if (this.options.dispatcher) {
      const p = { dispatcher: this.options.dispatcher, guard, connected: NEVER };
      this.pools.set(key, p);
      return p;
    }
    const approved = new Map<string, LookupAddress[]>();
    const lookup = (hostname: string, opts: object, cb: (...a: unknown[]) => void): void => {
      const list = approved.get(hostname);
      if (!list || list.length === 0) {
        cb(new EgressRefusal(hostname, 'policy: not approved before connecting'));
        return;
      }
      if ((opts as { all?: boolean }).all === true) cb(null, list);
      else cb(null, list[0]!.address, list[0]!.family);
    };
    const base = buildConnector({
      allowH2: true,
      timeout: this.options.timeoutMs,
      lookup,
      // one context for every connection: built from ~150 PEM roots it costs ~30 ms of CPU, per connection if passed as `ca`
      ...(this.secureContext && { secureContext: this.secureContext }),
    } as buildConnector.BuildOptions);
    const onConnect = this.options.onConnect;
    const connect: buildConnector.connector = (opts, callback) => {
      guard.approve(opts.hostname).then(
        (r) => {
          if ('refused' in r) return callback(r.refused, null);
          try {
            const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
            onConnect?.({ protocol: opts.protocol, hostname: opts.hostname, port, addresses: r.addresses.map((a) => a.address) });
          } catch (e) {
            return callback(e as Error, null);
          }
          if (isIP(opts.hostname) === 0) approved.set(opts.hostname, r.addresses);
          base(opts, callback);
        },
        (e: unknown) => callback(e as Error, null),
      );
    };
    const agentOptions = {
      connect,
      allowH2: true,
      keepAliveTimeout: 10_000,
      connections: 32,
      headersTimeout: this.options.timeoutMs,
      bodyTimeout: this.options.timeoutMs,
    };
    const dispatcher = this.proxied
      ? new EnvHttpProxyAgent({ ...agentOptions, ...this.proxies, ...(this.ca && { requestTls: { ca: this.ca } }) })
      : new Agent({ ...agentOptions, ...h2Multiplexing() });
    // undici's Agent emits `connect` once a Client's connection is ready for requests (after the h2 session is
    // set up and the Client's pipelining raised, h2.ts), before it sends what waited for that connection
    const connected = this.proxied ? NEVER : new Promise<void>((resolve) => dispatcher.once('connect', () => resolve()));
    const p = { dispatcher, guard, connected };
    this.pools.set(key, p);
    return p;
  }

  /**
   * Resolves once `registry` accepted a connection (over TLS: the handshake done): from then on, over HTTP/2,
   * requests share that connection instead of each opening one. Never settles when no connection comes up
   * (refused, TLS error, a proxy in between, an injected dispatcher): callers race it with an answer.
   */
  connected(registry: RegistryTarget): Promise<void> {
    if (this.configError) return NEVER;
    return this.pool(registry).connected;
  }

  /**
   * Behind HTTPS_PROXY/HTTP_PROXY the proxy connects, not this connector: each URL is judged here first, by what the
   * local resolver answers. A name it cannot resolve is left to the proxy (corporate networks often resolve outside
   * names only there); its registry is then taken as public, the strictest ceiling.
   */
  private async preflight(url: URL, guard: EgressGuard): Promise<EgressRefusal | undefined> {
    try {
      const r = await guard.approve(url.hostname, { viaProxy: true });
      return 'refused' in r ? r.refused : undefined;
    } catch {
      return undefined;
    }
  }

  async send(req: HttpRequest): Promise<HttpResult> {
    if (this.configError) return { kind: 'failure', cause: this.configError, retryable: false, url: req.url };
    const pool = this.pool(req.registry);
    let url = req.url;
    let previous: URL | undefined;
    let authorization = req.authorization;
    let method = req.method;
    for (let hop = 0; ; hop++) {
      const refused = this.proxied && !this.options.dispatcher ? await this.preflight(url, pool.guard) : undefined;
      const r: HttpResult = refused ? { kind: 'refused', reason: refused.message, url, egress: refused } : await this.once(pool.dispatcher, method, url, req, authorization);
      if (r.kind === 'refused' && r.egress) {
        // worded by what led the probe there: the registry itself, its realm, or a redirect
        const what = previous ? 'redirect' : req.purpose === 'realm' ? 'Bearer realm' : 'connection';
        const where = previous ? `${method} ${printable(previous)}: ` : '';
        return { ...r, reason: `${where}refused ${what} to ${r.egress.target} (${r.egress.rule})` };
      }
      if (r.kind !== 'response' || !isRedirect(r.status)) return r;
      const location = r.headers.location;
      if (typeof location !== 'string' || location === '') return r;
      if (hop >= MAX_REDIRECTS) {
        return { kind: 'refused', reason: `${method} ${printable(req.url)}: more than ${MAX_REDIRECTS} redirects (policy: at most ${MAX_REDIRECTS})`, url };
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        return { kind: 'refused', reason: `${method} ${printable(url)} redirected to an invalid URL`, url };
      }
      const no = refusal(next, req.registry, 'redirect');
      if (no) return { kind: 'refused', reason: `${method} ${printable(url)}: ${no}`, url };
      if (next.origin !== url.origin) authorization = undefined;
      if (r.status === 303) method = method === 'HEAD' ? 'HEAD' : 'GET';
      previous = url;
      url = next;
    }
  }

  private async once(dispatcher: Dispatcher, method: 'GET' | 'HEAD', url: URL, req: HttpRequest, authorization: string | undefined): Promise<HttpResult> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'user-agent': 'proxy-private-images', ...req.headers };
    if (authorization !== undefined) headers.authorization = authorization;
    let res: Dispatcher.ResponseData;
    try {
      res = await dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method,
        headers,
        signal,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
    } catch (e) {
      return this.failure(e, url, req.signal, timeout);
    }
    try {
      if (method === 'GET' && req.readBody) {
        const chunks: Buffer[] = [];
        let size = 0;
        let tooLarge = false;
        for await (const chunk of res.body) {
          const b = chunk as Buffer;
          size += b.length;
          if (size > BODY_CAP) {
            tooLarge = true;
            break;
          }
          chunks.push(b);
        }
        if (tooLarge) res.body.destroy();
        return { kind: 'response', status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), ...(tooLarge && { tooLarge }), url };
      }
      await res.body.dump({ limit: BODY_CAP, signal });
      return { kind: 'response', status: res.statusCode, headers: res.headers, url };
    } catch (e) {
      res.body.destroy();
      const f = this.failure(e, url, req.signal, timeout);
      if (f.kind === 'failure') return { ...f, cause: `${f.cause} while reading the body of a ${res.statusCode} answer` };
      return f;
    }
  }

  private failure(e: unknown, url: URL, deadline: AbortSignal | undefined, timeout: AbortSignal): HttpResult {
    if (deadline?.aborted) return { kind: 'failure', cause: 'deadline exceeded', retryable: false, url };
    const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    const code = err?.code ?? err?.cause?.code ?? '';
    const message = String(err?.message ?? err).split('\n')[0]!;
    const secs = this.options.timeoutMs / 1000;
    if (timeout.aborted || err?.name === 'TimeoutError' || /TIMEOUT/.test(code)) {
      return { kind: 'failure', cause: `timed out after ${secs} s`, retryable: true, url };
    }
    const egress = e instanceof EgressRefusal ? e : err?.cause instanceof EgressRefusal ? err.cause : undefined;
    if (egress) return { kind: 'refused', reason: egress.message, url, egress };
    if (code === 'EPOLICY') return { kind: 'refused', reason: `refused connection: ${message}`, url };
    if (code === 'ECONNREFUSED') return { kind: 'failure', cause: 'connection refused', retryable: true, url };
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NODATA') {
      return { kind: 'failure', cause: `DNS lookup of ${url.hostname} failed (${code})`, retryable: true, url };
    }
    if (/CERT|SSL|TLS|SIGNATURE|ALTNAME|ISSUER/i.test(code) || /certificate|ssl|tls/i.test(message)) {
      return { kind: 'failure', cause: `TLS error: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`, retryable: true, url };
    }
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') {
      return { kind: 'failure', cause: `connection reset (${message})`, retryable: true, url };
    }
    return { kind: 'failure', cause: `${message}${code ? ` (${code})` : ''}`, retryable: true, url };
  }

  async close(): Promise<void> {
    if (this.options.dispatcher) return;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.dispatcher.close().catch(() => p.dispatcher.destroy())));
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}
