import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { rootCertificates } from 'node:tls';
import { Agent, EnvHttpProxyAgent, buildConnector, type Dispatcher } from 'undici';
import { forbiddenResolved, refusal, type RegistryTarget } from './egress.js';

/** The only module that talks to undici. */

export const BODY_CAP = 64 * 1024;
export const MAX_REDIRECTS = 3;

/** Called before every connection the probe opens; throwing refuses it. For tests: record attempts. */
export type ConnectHook = (target: { protocol: string; hostname: string; port: number }) => void;
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
}

export interface HttpRequest {
  readonly method: 'GET' | 'HEAD';
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  /** Authorization header value, sent to `url`'s origin only, dropped on a redirect elsewhere. */
  readonly authorization?: string;
  /** GET only: read the body (up to BODY_CAP) instead of discarding it. */
  readonly readBody?: boolean;
  /** The registry this request is made for; redirects are checked against it. */
  readonly registry: RegistryTarget;
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
  | { readonly kind: 'refused'; readonly reason: string; readonly url: URL };

/** `https://host/path` without query string or fragment: safe to print. */
export function printable(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export class Http {
  private readonly dispatcher: Dispatcher;
  private readonly own: boolean;
  /** Set when the configuration cannot work (unreadable caFile): every request fails with it, nothing is sent. */
  private readonly configError?: string;

  constructor(private readonly options: HttpOptions) {
    if (options.dispatcher) {
      this.dispatcher = options.dispatcher;
      this.own = false;
      return;
    }
    this.own = true;
    let ca: string[] | undefined;
    if (options.caFile) {
      try {
        const pem = readFileSync(options.caFile, 'utf8');
        if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw Object.assign(new Error('no PEM certificate in it'), { code: 'NOPEM' });
        ca = [...rootCertificates, pem];
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        this.configError = `cannot use probe.caFile ${options.caFile}: ${err.code === 'NOPEM' ? err.message : (err.code ?? err.message)}`;
      }
    }
    const userLookup = options.lookup;
    const guardedLookup = (hostname: string, opts: object, cb: (...a: unknown[]) => void): void => {
      const all = (opts as { all?: boolean }).all === true;
      const done = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]): void => {
        if (err) return cb(err);
        const bad = addresses.find((a) => forbiddenResolved(a.address));
        if (bad) {
          const e = new Error(`${hostname} resolves to ${bad.address} (policy: never to link-local/metadata addresses)`) as NodeJS.ErrnoException;
          e.code = 'EPOLICY';
          return cb(e);
        }
        if (addresses.length === 0) {
          const e = new Error(`no address for ${hostname}`) as NodeJS.ErrnoException;
          e.code = 'ENOTFOUND';
          return cb(e);
        }
        if (all) cb(null, addresses);
        else cb(null, addresses[0]!.address, addresses[0]!.family);
      };
      if (userLookup) userLookup(hostname, { all: true }, done);
      else dnsLookup(hostname, { all: true }, done);
    };
    const base = buildConnector({
      allowH2: true,
      timeout: options.timeoutMs,
      lookup: guardedLookup,
      ...(ca && { ca }),
    } as buildConnector.BuildOptions);
    const onConnect = options.onConnect;
    const connect: buildConnector.connector = (opts, callback) => {
      try {
        onConnect?.({ protocol: opts.protocol, hostname: opts.hostname, port: Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80) });
      } catch (e) {
        callback(e as Error, null);
        return;
      }
      base(opts, callback);
    };
    const env = options.env ?? process.env;
    const httpsProxy = env.https_proxy ?? env.HTTPS_PROXY ?? '';
    const httpProxy = env.http_proxy ?? env.HTTP_PROXY ?? '';
    const noProxy = env.no_proxy ?? env.NO_PROXY ?? '';
    const agentOptions = {
      connect,
      allowH2: true,
      keepAliveTimeout: 10_000,
      connections: 32,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    };
    this.dispatcher =
      httpsProxy !== '' || httpProxy !== ''
        ? new EnvHttpProxyAgent({ ...agentOptions, httpProxy, httpsProxy, noProxy, ...(ca && { requestTls: { ca } }) })
        : new Agent(agentOptions);
  }

  async send(req: HttpRequest): Promise<HttpResult> {
    if (this.configError) return { kind: 'failure', cause: this.configError, retryable: false, url: req.url };
    let url = req.url;
    let authorization = req.authorization;
    let method = req.method;
    for (let hop = 0; ; hop++) {
      const r = await this.once(method, url, req, authorization);
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
      url = next;
    }
  }

  private async once(method: 'GET' | 'HEAD', url: URL, req: HttpRequest, authorization: string | undefined): Promise<HttpResult> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'user-agent': 'proxy-private-images', ...req.headers };
    if (authorization !== undefined) headers.authorization = authorization;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request({
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
    if (this.own) await this.dispatcher.close().catch(() => this.dispatcher.destroy());
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}
