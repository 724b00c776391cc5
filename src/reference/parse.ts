/**
 * Container image references, parsed by the distribution reference grammar
 * (github.com/distribution/reference), the one container runtimes use:
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path-component ( "/" path-component )*
 *   domain     := host [ ":" port ]       host: DNS name, IPv4 or "[" IPv6 "]"
 *   path-comp  := [a-z0-9]+ ( ( [_.] | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" hex      (sha256: 64 hex, sha512: 128 hex)
 *
 * The first component is a registry host when it contains "." or ":", is
 * "localhost", starts with "[" or contains an uppercase letter (as Docker
 * decides); otherwise the image is on Docker Hub.
 */

import { quote } from '../text/quote.js';

export interface ImageRef {
  /** Registry host, with port when one was written: `quay.io`, `127.0.0.1:5000`, `[::1]:5000`, `docker.io`. */
  readonly domain: string;
  /** Repository path inside the registry: `my-org/api`, `library/nginx`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

export class BadReferenceError extends Error {
  override readonly name = 'BadReferenceError';
  constructor(readonly reference: string, readonly reason: string) {
    super(`invalid image reference ${quote(reference)}: ${reason}`);
  }
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PORT = /^[0-9]+$/;
const IPV6 = /^\[[0-9a-fA-F:.]+(?:%[\w.-]+)?\]$/;
const DIGEST = /^([A-Za-z][A-Za-z0-9]*(?:[+._-][A-Za-z][A-Za-z0-9]*)*):([0-9a-fA-F]{32,})$/;
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const MAX_NAME_LENGTH = 255;

/** Parses and normalises a reference; Docker Hub aliases and short names become `docker.io/library/...`. */
export function parseReference(input: string): ImageRef {
  if (typeof input !== 'string') throw new BadReferenceError(String(input), 'not a string');
  if (input === '') throw new BadReferenceError(input, 'empty');
  if (input.trim() !== input) throw new BadReferenceError(input, 'leading or trailing white space');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    checkDigest(input, digest);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  // A colon after the last slash separates the tag; one before it belongs to host:port.
  // A closing IPv6 bracket after the colon means the colon was inside the address.
  if (lastColon > lastSlash && !rest.slice(lastColon).includes(']')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw new BadReferenceError(input, `invalid tag ${quote(tag)}`);
  }

  if (rest === '') throw new BadReferenceError(input, 'missing repository name');

  const { domain, path } = splitDomain(input, rest);
  for (const component of path.split('/')) {
    if (component === '') throw new BadReferenceError(input, 'empty path component');
    if (component !== component.toLowerCase()) {
      throw new BadReferenceError(input, `repository name must be lowercase (${quote(component)})`);
    }
    if (!PATH_COMPONENT.test(component)) {
      throw new BadReferenceError(input, `invalid path component ${quote(component)}`);
    }
  }
  if (domain.length + 1 + path.length > MAX_NAME_LENGTH) {
    throw new BadReferenceError(input, `repository name longer than ${MAX_NAME_LENGTH} characters`);
  }
  return normalize({ domain, path, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) });
}

function splitDomain(input: string, name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const isDomain =
    slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[') || first !== first.toLowerCase());
  if (!isDomain) return { domain: DOCKER_HUB, path: name };
  checkDomain(input, first);
  return { domain: first, path: name.slice(slash + 1) };
}

function checkDomain(input: string, domain: string): void {
  let host = domain;
  let port: string | undefined;
  if (domain.startsWith('[')) {
    const close = domain.indexOf(']');
    if (close < 0) throw new BadReferenceError(input, `unclosed IPv6 address in registry host ${quote(domain)}`);
    host = domain.slice(0, close + 1);
    const after = domain.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw new BadReferenceError(input, `invalid registry host ${quote(domain)}`);
      port = after.slice(1);
    }
    if (!IPV6.test(host)) throw new BadReferenceError(input, `invalid IPv6 address ${quote(host)}`);
  } else {
    const colon = domain.indexOf(':');
    if (colon >= 0) {
      host = domain.slice(0, colon);
      port = domain.slice(colon + 1);
    }
    if (host === '' || !host.split('.').every((c) => DOMAIN_COMPONENT.test(c))) {
      throw new BadReferenceError(input, `invalid registry host ${quote(domain)}`);
    }
  }
  if (port !== undefined && (!PORT.test(port) || Number(port) > 65535)) {
    throw new BadReferenceError(input, `invalid port in registry host ${quote(domain)}`);
  }
}

function checkDigest(input: string, digest: string): void {
  const m = DIGEST.exec(digest);
  if (!m) throw new BadReferenceError(input, `invalid digest ${quote(digest)}`);
  const algorithm = m[1]!;
  const hex = m[2]!;
  const want = DIGEST_HEX_LENGTH[algorithm];
  if (want !== undefined && (hex.length !== want || hex !== hex.toLowerCase())) {
    throw new BadReferenceError(input, `invalid ${algorithm} digest: want ${want} lowercase hex characters`);
  }
}

/** Docker Hub is spelled `docker.io`, and its one-component names live under `library/`. */
export function normalize(ref: ImageRef): ImageRef {
  const domain = DOCKER_HUB_ALIASES.has(ref.domain.toLowerCase()) ? DOCKER_HUB : ref.domain;
  const path = domain === DOCKER_HUB && !ref.path.includes('/') ? `library/${ref.path}` : ref.path;
  if (domain === ref.domain && path === ref.path) return ref;
  return { ...ref, domain, path };
}

/** `domain/path`, without tag or digest: the name globs are matched against. */
export function repositoryName(ref: ImageRef): string {
  return `${ref.domain}/${ref.path}`;
}

/** `:tag@digest` as written (either part may be absent). */
export function versionSuffix(ref: ImageRef): string {
  return (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** The canonical, fully qualified spelling: `docker.io/library/nginx:1.25`. */
export function formatReference(ref: ImageRef): string {
  return repositoryName(ref) + versionSuffix(ref);
}

/** Registry host with any port removed and brackets kept: for host matching. */
export function hostOnly(domain: string): string {
  if (domain.startsWith('[')) return domain.slice(0, domain.indexOf(']') + 1);
  const colon = domain.indexOf(':');
  return colon < 0 ? domain : domain.slice(0, colon);
}
