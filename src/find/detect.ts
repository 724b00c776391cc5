/**
 * Which strings in env values, command/args and ConfigMap data are taken for image references when no
 * `imagesInValues` rule names them (the heuristic docs/operators.md describes). Conservative on purpose: a string
 * counts only when the whole of it (or the whole value of a `--flag=VALUE` element) is a reference by the
 * distribution grammar, its first component is a registry host (a dot, a port, or `localhost`), and it carries a
 * tag or a digest. So URLs, file paths, `host:port` addresses, label keys, `key=value` pairs, flags' names, Docker
 * Hub short names (`nginx:1.25` reads like any `key:value`) and scripts are not images here.
 */
import { BadReferenceError, parseReference, type ImageRef } from '../reference/parse.js';

/** A reference is at most 255 characters of name, 129 of tag and 136 of digest. */
const MAX_REFERENCE = 255 + 129 + 136;
/** What a flag's name looks like: `-f`, `--engine-image`, `-Dimage.name`. */
const FLAG_NAME = /^--?[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Label and annotation keys (`node-role.kubernetes.io/control-plane:NoSchedule` in a taint); no registry lives there. */
const NOT_A_REGISTRY = /(?:^|\.)kubernetes\.io$/i;

/** The reference a string is, when it is one by the rules above. */
export function detectImage(text: string): ImageRef | undefined {
  // cheap tests first: most values hold no '/', or no ':' and no '@'
  const slash = text.indexOf('/');
  if (slash <= 0 || text.length > MAX_REFERENCE) return undefined;
  const lastSlash = text.lastIndexOf('/');
  if (text.indexOf('@') < 0 && text.indexOf(':', lastSlash) < 0) return undefined;
  const host = text.slice(0, slash);
  if (!(host.includes('.') || host.includes(':') || host === 'localhost')) return undefined;
  if (host.startsWith('.') || text.includes('://') || NOT_A_REGISTRY.test(host.replace(/:\d*$/, ''))) return undefined;
  try {
    return parseReference(text);
  } catch (e) {
    if (e instanceof BadReferenceError) return undefined;
    throw e;
  }
}

export interface FlagElement {
  /** The flag's name as written: `--engine-image`. */
  readonly flag: string;
  /** In the `--flag=VALUE` form: what follows the first `=`. */
  readonly value?: string;
}

/** A command or args element that is a flag (`--flag` or `--flag=VALUE`); undefined for anything else. */
export function flagOf(element: string): FlagElement | undefined {
  if (!element.startsWith('-')) return undefined;
  const eq = element.indexOf('=');
  const flag = eq < 0 ? element : element.slice(0, eq);
  if (!FLAG_NAME.test(flag)) return undefined;
  return eq < 0 ? { flag } : { flag, value: element.slice(eq + 1) };
}
