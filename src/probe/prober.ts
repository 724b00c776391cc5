import { formatReference, hostOnly, type ImageRef } from '../reference/parse.js';
import { bearerOf, parseChallenges, type Challenge } from './challenge.js';
import { classifyStatus } from './classify.js';
import { Http, printable, type ConnectHook, type LookupHook } from './http.js';
import { Limiter } from './limit.js';
import { fetchManifest, headOnce, manifestUrl, notAManifest } from './manifest.js';
import { ping, type PingResult } from './ping.js';
import type { ClassOverride, RegistryTarget } from './egress.js';
import { realClock, timerOf, type Attempt, type Clock, type RetryContext } from './retry.js';
import { TokenSource, type TokenResult } from './token.js';
import { secondsToMs, type ProbeOutcome, type ProbeSettings, type Prober } from './types.js';
import type { Dispatcher } from 'undici';
import { cleanText } from '../text/quote.js';

export interface ProberOptions {
  /** Use this undici dispatcher instead of the prober's own Agent (connect/lookup/env/caFile then do not apply). */
  readonly dispatcher?: Dispatcher;
  /** Called before every connection; throw to refuse it. Tests record attempted addresses here. */
  readonly onConnect?: ConnectHook;
  /** DNS lookup used for host names (default node:dns lookup). */
  readonly lookup?: LookupHook;
  /** Tests: class some addresses otherwise (127.0.0.2 as public), to exercise the egress rules on loopback. */
  readonly classifyAddress?: ClassOverride;
  /** Environment for HTTPS_PROXY/HTTP_PROXY/NO_PROXY (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly clock?: Clock;
  /** First backoff step; doubles per retry (default 250 ms). */
  readonly backoffBaseMs?: number;
}

const DOCKER_HUB_API = 'registry-1.docker.io';

interface Registry {
  readonly base: URL;
  readonly target: RegistryTarget;
  readonly limiter: Limiter;
  ping?: Promise<PingResult>;
  /** the ping's answer, once it is in */
  pinged?: PingResult;
  /** aborts when the ping ended inconclusive: the HEADs sent alongside it are then of no use */
  readonly pingFailed: AbortController;
  /** how many more HEADs may go out while the ping is out (probe.concurrencyPerRegistry in all) */
  earlyLeft: number;
}

/** What a probe's first turn in the concurrency slots gave: a decision, or the anonymous HEAD sent beside the ping. */
type FirstTurn = { readonly outcome: ProbeOutcome | undefined } | { readonly early?: Attempt };

export class RegistryProber implements Prober {
  private readonly http: Http;
  private readonly clock: Clock;
  private readonly global: Limiter;
  private readonly registries = new Map<string, Registry>();
  private readonly tokens: TokenSource;
  private retry!: RetryContext;

  constructor(
    private readonly settings: ProbeSettings,
    private readonly options: ProberOptions = {},
  ) {
    this.clock = options.clock ?? realClock;
    this.http = new Http({
      timeoutMs: secondsToMs(settings.timeoutSeconds),
      ...(settings.caFile !== undefined && { caFile: settings.caFile }),
      ...(options.dispatcher && { dispatcher: options.dispatcher }),
      ...(options.onConnect && { onConnect: options.onConnect }),
      ...(options.lookup && { lookup: options.lookup }),
      ...(options.classifyAddress && { classifyAddress: options.classifyAddress }),
      ...(options.env && { env: options.env }),
    });
    this.global = new Limiter(Math.max(1, settings.concurrency));
    this.tokens = new TokenSource(this.http, () => this.retry);
  }

  async probeAll(refs: readonly ImageRef[]): Promise<Map<string, ProbeOutcome>> {
    const unique = new Map<string, ImageRef>();
    for (const r of refs) unique.set(formatReference(r), r);
    const out = new Map<string, ProbeOutcome>();
    if (unique.size === 0) return out;
    const started = this.clock.now();
    const deadlineMs = secondsToMs(this.settings.deadlineSeconds);
    const controller = new AbortController();
    this.retry = {
      retries: Math.max(0, this.settings.retries),
      backoffBaseMs: this.options.backoffBaseMs ?? 250,
      clock: this.clock,
      deadlineAt: started + deadlineMs,
      signal: controller.signal,
      timeoutMs: secondsToMs(this.settings.timeoutSeconds),
    };
    // the deadline runs on the injected clock, like every other wait of the probe
    const timer = timerOf(this.clock, deadlineMs);
    const deadline = new Promise<void>((resolve) => {
      const fire = () => {
        controller.abort();
        resolve();
      };
      if (timer.signal.aborted) fire();
      else timer.signal.addEventListener('abort', fire, { once: true });
    });
    const fresh = new Map<string, ProbeOutcome>();
    const tasks = [...unique].map(async ([k, ref]) => {
      const reg = this.registryFor(ref.domain);
      let o: ProbeOutcome | undefined;
      try {
        // Every registry's ping starts at once (one request each, within probe.concurrency). An image takes its
        // concurrency slots once its registry answered the ping or accepted a connection, whichever comes first:
        // no slot waits on a ping, and over HTTP/2 the HEADs share the ping's connection instead of opening their own.
        // A HEAD that finds the ping still out is sent anonymously alongside it (as a runtime HEADs first); what it
        // answered is judged once the ping is in, exactly as if it had been sent after it (probeOne's `early`).
        await Promise.race([this.pingOf(reg), this.http.connected(reg.target)]);
        const slots = <T>(task: () => Promise<T>, first = false) =>
          reg.limiter.run(() => this.global.run(() => task(), first), first);
        const turn: FirstTurn = await slots(async () => {
          if (controller.signal.aborted) return { outcome: undefined };
          if (reg.pinged) return { outcome: await this.probeOne(ref, reg) };
          // at most probe.concurrencyPerRegistry of them: against a token registry each costs one HEAD more
          if (reg.earlyLeft <= 0) return {};
          reg.earlyLeft--;
          return { early: await headOnce(this.http, manifestUrl(reg.base, ref), reg.target, this.retry, reg.pingFailed.signal) };
        });
        if ('outcome' in turn) o = turn.outcome;
        else {
          await this.pingOf(reg);
          // back at the head of the line: this probe already had its turn
          o = await slots(() => (controller.signal.aborted ? Promise.resolve(undefined) : this.probeOne(ref, reg, turn.early)), true);
        }
      } catch (e) {
        o = { verdict: 'inconclusive', reason: `probe failed: ${(e as Error).message.split('\n')[0]}` };
      }
      if (o && !controller.signal.aborted) fresh.set(k, o);
    });
    await Promise.race([Promise.allSettled(tasks), deadline]);
    timer.cancel();
    controller.abort();
    this.registries.clear(); // pings are per run
    for (const k of unique.keys()) {
      out.set(
        k,
        fresh.get(k) ?? {
          verdict: 'inconclusive',
          reason: `deadline exceeded (${this.settings.deadlineSeconds} s for all probes) before ${k} was decided`,
          evidence: { step: 'deadline' },
        },
      );
    }
    return out;
  }

  private registryFor(domain: string): Registry {
    let reg = this.registries.get(domain);
    if (!reg) {
      const insecure = this.settings.insecureRegistries.some((h) => h.toLowerCase() === domain.toLowerCase());
      const scheme = insecure ? 'http' : 'https';
      const host = domain === 'docker.io' ? DOCKER_HUB_API : domain;
      reg = {
        base: new URL(`${scheme}://${host}/`),
        target: { scheme, hostname: hostOnly(host) },
        limiter: new Limiter(Math.max(1, this.settings.concurrencyPerRegistry)),
        pingFailed: new AbortController(),
        earlyLeft: Math.max(1, this.settings.concurrencyPerRegistry),
      };
      this.registries.set(domain, reg);
    }
    return reg;
  }

  private pingOf(reg: Registry): Promise<PingResult> {
    reg.ping ??= this.global.run(() => ping(this.http, reg.base, reg.target, this.retry)).then((p) => {
      reg.pinged = p;
      if (p.kind === 'inconclusive') reg.pingFailed.abort();
      return p;
    });
    return reg.ping;
  }

  /**
   * Decides one image once its registry's ping is in. `early`: the anonymous HEAD already sent while the ping was
   * out; it stands for this probe's first anonymous HEAD attempt (retried from there as usual). When the ping asks
   * for a Bearer token, the first HEAD carries one, so `early` is not used: verdict and reason are those of a probe
   * sent after the ping, at the cost of that one anonymous HEAD.
   */
  private async probeOne(ref: ImageRef, reg: Registry, early?: Attempt): Promise<ProbeOutcome> {
    const ctx = this.retry;
    const p = await this.pingOf(reg);
    if (p.kind === 'inconclusive') return inconclusive(p.reason, p.timedOut);

    const url = manifestUrl(reg.base, ref);
    const defaultScope = `repository:${ref.path}:pull`;
    let authorization: string | undefined;
    let used: string | undefined;
    let usedToken: Promise<TokenResult> | undefined;
    const pingBearer = bearerOf(p.challenges);
    if (pingBearer) {
      usedToken = this.tokens.get(pingBearer, defaultScope, reg.target);
      const t = await usedToken;
      if (t.kind === 'denied') return { verdict: 'private', reason: t.reason, evidence: { step: 'token', status: t.status } };
      if (t.kind === 'inconclusive') return inconclusive(t.reason);
      authorization = `Bearer ${t.value}`;
      used = tokenKey(pingBearer, defaultScope);
    }

    for (let round = 0; ; round++) {
      const m = await fetchManifest(this.http, url, reg.target, authorization, ctx, round === 0 && authorization === undefined ? early : undefined);
      if (m.failed) return inconclusive(m.failed, m.timedOut);
      const r = m.result;
      if (r.kind !== 'response') return inconclusive(`${m.method} ${printable(url)} failed`);
      const where = `${m.method} ${printable(r.url)}`;
      const anonymousToken = authorization !== undefined;
      const after = anonymousToken ? ' after an anonymous token' : '';
      if (r.status === 401) {
        const parsed = parseChallenges(r.headers['www-authenticate']);
        if (!parsed.ok) return inconclusive(`${where} answered 401 with a malformed WWW-Authenticate (${parsed.error})`);
        const bearer = bearerOf(parsed.challenges);
        const scope = bearer?.params.scope ?? defaultScope;
        const key = bearer && tokenKey(bearer, scope);
        const invalid = bearer?.params.error === 'invalid_token' && key === used;
        if (bearer && round === 0 && (key !== used || invalid)) {
          // follow this request's own challenge, as a runtime does; a token it calls invalid (expired
          // early, a registry clock ahead of ours) is fetched anew once, never taken for "private"
          usedToken = this.tokens.get(bearer, scope, reg.target, invalid ? usedToken : undefined);
          const t = await usedToken;
          if (t.kind === 'denied') return { verdict: 'private', reason: t.reason, evidence: { step: 'token', status: t.status } };
          if (t.kind === 'inconclusive') return inconclusive(t.reason);
          authorization = `Bearer ${t.value}`;
          used = key;
          continue;
        }
        const challenge = bearer ? 'bearer' : parsed.challenges.some((c) => c.scheme === 'basic') ? 'basic' : 'none';
        const basic = challenge === 'basic' ? ' (Basic auth required)' : '';
        const detail = bearer?.params.error ? ` (${clean(bearer.params.error)})` : '';
        return {
          verdict: 'private',
          reason: `${where} answered 401${after}${basic}${detail}`,
          evidence: { step: 'manifest', status: 401, anonymousToken, challenge, ...(bearer?.params.error && { bearerError: clean(bearer.params.error) }) },
        };
      }
      const evidence = { step: 'manifest', status: r.status, anonymousToken } as const;
      switch (classifyStatus(r.status)) {
        case 'public': {
          const type = notAManifest(r.headers['content-type']);
          if (type !== undefined) {
            return {
              verdict: 'inconclusive',
              reason: `${where} answered ${r.status} ${clean(type)}${after}, not a manifest: a captive portal or proxy page?`,
              evidence,
            };
          }
          return { verdict: 'public', reason: `${where} answered ${r.status}${after}`, evidence };
        }
        case 'private':
          return { verdict: 'private', reason: `${where} answered ${r.status}${after}`, evidence };
        case 'private-404':
          return { verdict: 'private-404', reason: `${where} answered 404${after}`, evidence };
        default:
          return { verdict: 'inconclusive', reason: `${where} answered unexpected status ${r.status}${after}`, evidence };
      }
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

/** Registry-supplied text in a reason: one line, printable, short. */
function clean(s: string): string {
  return cleanText(s, 100);
}

function inconclusive(reason: string, timedOut?: boolean): ProbeOutcome {
  return { verdict: 'inconclusive', reason, evidence: { step: 'failure', timedOut: timedOut === true } };
}

function tokenKey(c: Challenge, scope: string): string {
  return JSON.stringify([c.params.realm ?? '', c.params.service ?? '', scope]);
}
