import { BlockList, isIP } from 'node:net';

/**
 * Where the probe may go. It follows a registry's Bearer realm and redirects, both chosen by the
 * registry: a hostile one could point it at a cloud metadata service or the internal network.
 */
export type AddressClass = 'name' | 'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'unspecified';

const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata', 'metadata.goog']);
const METADATA_ADDRESSES = new Set(['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '100.100.100.200']);

function list(entries: Array<[string, number, 'ipv4' | 'ipv6']>): BlockList {
  const b = new BlockList();
  for (const [a, p, t] of entries) b.addSubnet(a, p, t);
  return b;
}
const LOOPBACK = list([['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]);
const UNSPECIFIED = list([['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]);
const LINK_LOCAL = list([['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]);
const PRIVATE = list([
  ['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['100.64.0.0', 10, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
]);

/** Host without brackets, lower case, IPv4-mapped IPv6 unwrapped, trailing dot removed. */
export function canonicalHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  const zone = h.indexOf('%');
  if (zone >= 0 && isIP(h.slice(0, zone)) === 6) h = h.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) return mapped[1]!;
  if (isIP(h) === 6) {
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
    if (hex) {
      const n = (parseInt(hex[1]!, 16) << 16) | parseInt(hex[2]!, 16);
      return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
    }
  }
  return h;
}

export function addressClass(host: string): AddressClass {
  const h = canonicalHost(host);
  const family = isIP(h);
  if (family === 0) {
    if (METADATA_NAMES.has(h)) return 'metadata';
    if (h === 'localhost' || h.endsWith('.localhost')) return 'loopback';
    return 'name';
  }
  const t = family === 4 ? 'ipv4' : 'ipv6';
  if (METADATA_ADDRESSES.has(h)) return 'metadata';
  if (LOOPBACK.check(h, t)) return 'loopback';
  if (UNSPECIFIED.check(h, t)) return 'unspecified';
  if (LINK_LOCAL.check(h, t)) return 'link-local';
  if (PRIVATE.check(h, t)) return 'private';
  return 'public';
}

/** The registry a request belongs to: its scheme and host as the probe reaches it. */
export interface RegistryTarget {
  readonly scheme: 'http' | 'https';
  /** hostname without port (brackets kept for IPv6) */
  readonly hostname: string;
}

export type Purpose = 'realm' | 'redirect';

/**
 * Undefined when `url` may be requested on behalf of `registry`, else the refusal naming the rule.
 * Rules: only http(s); plain http only for an http (insecure) registry; no credentials in the URL;
 * metadata, link-local and unspecified addresses only when the registry itself is that host;
 * loopback only when the registry is on loopback; private ranges only when the registry is in one.
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
  const target = addressClass(url.hostname);
  const mine = addressClass(registry.hostname);
  const same = canonicalHost(url.hostname) === canonicalHost(registry.hostname);
  switch (target) {
    case 'metadata':
    case 'link-local':
    case 'unspecified':
      if (same) return undefined;
      return `refused ${what} to ${canonicalHost(url.hostname)} (policy: never to ${target} addresses)`;
    case 'loopback':
      if (mine === 'loopback') return undefined;
      return `refused ${what} to ${canonicalHost(url.hostname)} (policy: loopback only when the registry is on loopback)`;
    case 'private':
      if (mine === 'private') return undefined;
      return `refused ${what} to ${canonicalHost(url.hostname)} (policy: private addresses only when the registry is in a private range)`;
    default:
      return undefined;
  }
}

/** For resolved addresses of DNS names: metadata and link-local are never connected to. */
export function forbiddenResolved(address: string): boolean {
  const c = addressClass(address);
  return c === 'metadata' || c === 'link-local';
}
