import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';

/**
 * Where the probe may connect. It follows a registry's Bearer realm and redirects, both chosen by the registry: a
 * hostile one could point it at a cloud metadata service or the internal network. The answer depends on addresses,
 * never on spellings: every connection is judged after DNS resolution, in the connector (see http.ts), and
 * addresses that embed an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) are judged by it.
 *
 * Classes, from outside in: public < private < loopback. A registry may lead the probe only to addresses no more
 * internal than its own: a public registry only to public addresses, a registry in a private range to public and
 * private ones, a registry on loopback anywhere but the never-classes. Link-local, metadata and reserved addresses
 * are never connected to, whatever the registry.
 */
export type AddressClass = 'public' | 'private' | 'loopback' | 'unspecified' | 'link-local' | 'metadata' | 'reserved';

/** The classes a connection may reach, as the most internal one allowed. */
export type Ceiling = 'public' | 'private' | 'loopback';

const RANK: Readonly<Record<AddressClass, number>> = {
  public: 0,
  private: 1,
  loopback: 2,
  // 0.0.0.0 and :: reach the local host
  unspecified: 2,
  'link-local': Infinity,
  metadata: Infinity,
  reserved: Infinity,
};

export function isNever(c: AddressClass): boolean {
  return RANK[c] === Infinity;
}

const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);
/**
 * Cloud metadata and platform endpoints. Most are link-local anyway (never); the others sit in ranges a registry
 * could legitimately use (Alibaba's in 100.64/10, AWS's and GCP's IPv6 ones in fc00::/7, Azure's WireServer in a
 * public range), so they are named here.
 */
const METADATA_ADDRESSES = new Set([
  '169.254.169.254', '169.254.169.253', '169.254.170.2', '169.254.170.23', '100.100.100.200', '168.63.129.16',
  'fd00:ec2::254', 'fd00:ec2::23', 'fd20:ce::254',
]);

interface V4Range {
  readonly base: number;
  readonly bits: number;
  readonly cls: AddressClass;
}
const v4 = (a: string, bits: number, cls: AddressClass): V4Range => ({ base: parseV4(a)!, bits, cls });
/** First match wins. */
const V4_RANGES: readonly V4Range[] = [
  v4('0.0.0.0', 8, 'unspecified'),
  v4('127.0.0.0', 8, 'loopback'),
  v4('169.254.0.0', 16, 'link-local'),
  v4('10.0.0.0', 8, 'private'),
  v4('172.16.0.0', 12, 'private'),
  v4('192.168.0.0', 16, 'private'),
  v4('100.64.0.0', 10, 'private'), // carrier-grade NAT, also used inside clouds
  v4('198.18.0.0', 15, 'private'), // benchmarking, used in labs
  v4('192.0.0.0', 24, 'private'), // IETF protocol assignments (NAT64 discovery, DS-Lite)
  v4('224.0.0.0', 4, 'reserved'), // multicast
  v4('240.0.0.0', 4, 'reserved'), // reserved, and 255.255.255.255
];

function parseV4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function v4String(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function classifyV4(n: number): AddressClass {
  if (METADATA_ADDRESSES.has(v4String(n))) return 'metadata';
  for (const r of V4_RANGES) {
    const mask = r.bits === 0 ? 0 : (~0 << (32 - r.bits)) >>> 0;
    if (((n & mask) >>> 0) === r.base) return r.cls;
  }
  return 'public';
}

/** Eight 16-bit groups of an IPv6 address (zone id dropped), or undefined. */
export function parseV6(s: string): number[] | undefined {
  let h = s;
  const zone = h.indexOf('%');
  if (zone >= 0) h = h.slice(0, zone);
  if (isIP(h) !== 6) return undefined;
  const lastColon = h.lastIndexOf(':');
  const tail = h.slice(lastColon + 1);
  if (tail.includes('.')) {
    // a dotted IPv4 tail is the last two groups
    const n = parseV4(tail);
    if (n === undefined) return undefined;
    h = `${h.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const groups = (t: string): number[] => (t === '' ? [] : t.split(':').map((x) => parseInt(x, 16)));
  let all: number[];
  const gap = h.indexOf('::');
  if (gap < 0) {
    all = groups(h);
  } else {
    const head = groups(h.slice(0, gap));
    const rest = groups(h.slice(gap + 2));
    all = [...head, ...new Array<number>(Math.max(0, 8 - head.length - rest.length)).fill(0), ...rest];
  }
  if (all.length !== 8 || all.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffff)) return undefined;
  return all;
}

/** What an address is, and the IPv4 address it stands for when it embeds one. */
export interface Classified {
  readonly cls: AddressClass;
  /** `169.254.169.254 in NAT64 form` and the like */
  readonly embedded?: string;
}

const v4From = (hi: number, lo: number): number => ((hi << 16) | lo) >>> 0;

/** Classifies an IP address (IPv4 or IPv6, without brackets); undefined for something that is not one. */
export function classifyAddress(address: string): Classified | undefined {
  const n4 = parseV4(address);
  if (n4 !== undefined) return { cls: classifyV4(n4) };
  const g = parseV6(address.toLowerCase());
  if (!g) return undefined;
  const text = compressV6(g);
  if (METADATA_ADDRESSES.has(text)) return { cls: 'metadata' };
  const zero = (from: number, to: number): boolean => g.slice(from, to).every((x) => x === 0);
  const embedded = (n: number, form: string): Classified => ({ cls: classifyV4(n), embedded: `${v4String(n)} in ${form} form` });
  if (zero(0, 8)) return { cls: 'unspecified' };
  if (zero(0, 7) && g[7] === 1) return { cls: 'loopback' };
  if (zero(0, 5) && g[5] === 0xffff) return embedded(v4From(g[6]!, g[7]!), 'IPv4-mapped');
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return embedded(v4From(g[6]!, g[7]!), 'IPv4-translated');
  if (zero(0, 6)) return embedded(v4From(g[6]!, g[7]!), 'IPv4-compatible');
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return embedded(v4From(g[6]!, g[7]!), 'NAT64');
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) {
    // RFC 8215 local-use NAT64: the prefix length inside 64:ff9b:1::/48 is the network's choice, so every RFC 6052
    // layout that fits the address (its u octet and suffix zero) is read, and the most internal answer (at least
    // private: it is a local network) wins.
    const u = g[4]! >> 8;
    const candidates: number[] = [v4From(g[6]!, g[7]!)]; // /96
    if (u === 0 && (g[6]! & 0xff) === 0 && g[7] === 0) candidates.push((((g[4]! & 0xff) << 24) | (g[5]! << 8) | (g[6]! >> 8)) >>> 0); // /64
    if (u === 0 && g[6] === 0 && g[7] === 0) candidates.push((((g[3]! & 0xff) << 24) | ((g[4]! & 0xff) << 16) | g[5]!) >>> 0); // /56
    if (u === 0 && (g[5]! & 0xff) === 0 && g[6] === 0 && g[7] === 0) candidates.push(((g[3]! << 16) | ((g[4]! & 0xff) << 8) | (g[5]! >> 8)) >>> 0); // /48
    let worst: Classified = { cls: 'private', embedded: 'an address in the local-use NAT64 prefix 64:ff9b:1::/48' };
    for (const c of candidates) {
      const cls = classifyV4(c);
      if (RANK[cls] > RANK[worst.cls]) worst = { cls, embedded: `${v4String(c)} in local-use NAT64 form` };
    }
    return worst;
  }
  if (g[0] === 0x2002) return embedded(v4From(g[1]!, g[2]!), '6to4');
  if (g[0] === 0x2001 && g[1] === 0) {
    // Teredo: server at bits 32-63, client (obfuscated) at bits 96-127; the more internal of the two
    const server = v4From(g[2]!, g[3]!);
    const client = v4From(g[6]! ^ 0xffff, g[7]! ^ 0xffff);
    return RANK[classifyV4(client)] >= RANK[classifyV4(server)] ? embedded(client, 'Teredo') : embedded(server, 'Teredo server');
  }
  if ((g[0]! & 0xffc0) === 0xfe80) return { cls: 'link-local' };
  if ((g[0]! & 0xffc0) === 0xfec0) return { cls: 'private' }; // site-local (deprecated)
  if ((g[0]! & 0xfe00) === 0xfc00) return { cls: 'private' }; // unique local
  if ((g[0]! & 0xff00) === 0xff00) return { cls: 'reserved' }; // multicast
  if (g[0] === 0x100 && zero(1, 4)) return { cls: 'reserved' }; // discard-only
  return { cls: 'public' };
}

function compressV6(g: readonly number[]): string {
  // longest run of zero groups (at least two) becomes ::
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Host without brackets, lower case, zone id and trailing dot removed. */
export function canonicalHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  const zone = h.indexOf('%');
  if (zone >= 0 && isIP(h.slice(0, zone)) === 6) h = h.slice(0, zone);
  return h;
}

/** A metadata service by name (refused before any DNS lookup). */
export function isMetadataName(host: string): boolean {
  return METADATA_NAMES.has(canonicalHost(host));
}

/** The rule a connection to an address of class `target` breaks under `ceiling`, or undefined when it may go. */
export function ruleBroken(target: AddressClass, ceiling: Ceiling): string | undefined {
  if (isNever(target)) return `policy: never to ${target} addresses`;
  if (RANK[target] <= RANK[ceiling]) return undefined;
  if (target === 'loopback' || target === 'unspecified') return 'policy: loopback only when the registry is on loopback';
  return 'policy: private addresses only when the registry is in a private range';
}

/** The registry's own ceiling: the least internal class among its addresses (never-classes left out). */
export function ceilingOf(classes: readonly AddressClass[]): Ceiling | undefined {
  let best: Ceiling | undefined;
  for (const c of classes) {
    if (isNever(c)) continue;
    const asCeiling: Ceiling = c === 'unspecified' ? 'loopback' : (c as Ceiling);
    if (best === undefined || RANK[asCeiling] < RANK[best]) best = asCeiling;
  }
  return best;
}

/** The registry a request belongs to: its scheme and host as the probe reaches it. */
export interface RegistryTarget {
  readonly scheme: 'http' | 'https';
  /** hostname without port (brackets kept for IPv6) */
  readonly hostname: string;
}

export type Purpose = 'realm' | 'redirect';

/**
 * Undefined when `url` may be requested on behalf of `registry`, else the refusal naming the rule. What can be told
 * from the URL alone: only http(s); plain http only for an http (insecure) registry; no credentials in the URL; no
 * metadata service by name. Addresses, literal or resolved, are judged when connecting (`EgressGuard`).
 */
export function refusal(url: URL, registry: RegistryTarget, purpose: Purpose): string | undefined {
  const what = purpose === 'realm' ? 'Bearer realm' : 'redirect';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return `refused ${what} to a ${url.protocol.replace(/:$/, '')}: URL (policy: only http and https)`;
  }
  if (url.protocol === 'http:' && registry.scheme === 'https') {
    return `refused ${what} to plain http from an https registry (policy: https only unless the registry is insecure)`;
  }
  if (url.username !== '' || url.password !== '') {
    return `refused ${what} to a URL with credentials (policy: the probe sends no credentials)`;
  }
  if (isMetadataName(url.hostname)) return `refused ${what} to ${canonicalHost(url.hostname)} (policy: never to metadata addresses)`;
  return undefined;
}

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;
/** Tests: class an address otherwise (127.0.0.2 as public), to exercise cross-class rules on loopback. */
export type ClassOverride = (address: string) => AddressClass | undefined;

/** A refused connection: `target` names the host (and what it resolved to), `rule` the policy it broke. */
export class EgressRefusal extends Error {
  readonly code = 'EPOLICY';
  constructor(
    readonly target: string,
    readonly rule: string,
  ) {
    super(`refused connection to ${target} (${rule})`);
  }
}

export type Approval = { readonly addresses: LookupAddress[] } | { readonly refused: EgressRefusal };

/**
 * Judges every connection made on behalf of one registry. The registry's ceiling is learnt from its own addresses the
 * first time it is resolved and then kept for the run, so a name that resolves to a public address first and to
 * loopback later (DNS rebinding) cannot lead the probe inward either.
 */
export class EgressGuard {
  private ceilingPromise?: Promise<Ceiling | EgressRefusal>;

  constructor(
    private readonly registry: RegistryTarget,
    private readonly resolve: Resolver,
    private readonly override?: ClassOverride,
  ) {}

  classify(address: string): Classified | undefined {
    const forced = this.override?.(address);
    if (forced) return { cls: forced };
    return classifyAddress(address);
  }

  /**
   * Addresses of `hostname` this registry may reach, or the refusal. DNS errors reject, except `viaProxy`: a proxy
   * resolves names itself, so a name the local resolver does not know is let through (no addresses), and a registry
   * whose own name it does not know is taken as public.
   */
  async approve(hostname: string, options: { viaProxy?: boolean } = {}): Promise<Approval> {
    const host = canonicalHost(hostname);
    if (METADATA_NAMES.has(host)) return { refused: new EgressRefusal(host, 'policy: never to metadata addresses') };
    const literal = isIP(host) !== 0;
    let resolved: LookupAddress[];
    try {
      resolved = literal ? [{ address: host, family: isIP(host) }] : await this.resolve(host);
    } catch (e) {
      if (options.viaProxy) return { addresses: [] };
      throw e;
    }
    if (resolved.length === 0) {
      if (options.viaProxy) return { addresses: [] };
      throw Object.assign(new Error(`no address for ${host}`), { code: 'ENOTFOUND' });
    }
    const own = host === canonicalHost(this.registry.hostname);
    if (own) this.ceilingPromise ??= Promise.resolve(this.ceilingFrom(host, resolved));
    let ceiling: Ceiling | EgressRefusal;
    try {
      ceiling = await this.ceiling();
    } catch (e) {
      if (!options.viaProxy) throw e;
      ceiling = 'public';
    }
    if (ceiling instanceof EgressRefusal) return { refused: ceiling };
    const allowed: LookupAddress[] = [];
    let first: EgressRefusal | undefined;
    for (const a of resolved) {
      const c = this.classify(a.address);
      const rule = c ? ruleBroken(c.cls, ceiling) : 'policy: not an IP address';
      if (rule === undefined) {
        allowed.push(a);
        continue;
      }
      first ??= new EgressRefusal(describeTarget(host, a.address, literal, c), rule);
    }
    if (allowed.length === 0) return { refused: first! };
    return { addresses: allowed };
  }

  private ceiling(): Promise<Ceiling | EgressRefusal> {
    if (!this.ceilingPromise) {
      const host = canonicalHost(this.registry.hostname);
      const p = (isIP(host) !== 0 ? Promise.resolve([{ address: host, family: isIP(host) }]) : this.resolve(host)).then((r) => this.ceilingFrom(host, r));
      this.ceilingPromise = p;
      // a failed lookup is not kept: the next connection tries again
      p.catch(() => {
        if (this.ceilingPromise === p) this.ceilingPromise = undefined;
      });
    }
    return this.ceilingPromise;
  }

  private ceilingFrom(host: string, resolved: readonly LookupAddress[]): Ceiling | EgressRefusal {
    const classes = resolved.map((a) => this.classify(a.address)?.cls ?? 'reserved');
    const ceiling = ceilingOf(classes);
    if (ceiling !== undefined) return ceiling;
    const i = classes.findIndex(isNever);
    const a = resolved[Math.max(0, i)]!;
    const c = this.classify(a.address);
    return new EgressRefusal(describeTarget(host, a.address, isIP(host) !== 0, c), `policy: never to ${classes[Math.max(0, i)]} addresses`);
  }
}

function describeTarget(host: string, address: string, literal: boolean, c: Classified | undefined): string {
  const embedded = c?.embedded ? `, ${c.embedded}` : '';
  if (literal) return embedded ? `${host} (${embedded.slice(2)})` : host;
  return `${host} (resolves to ${address}${embedded})`;
}
