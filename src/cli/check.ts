import type { Decision } from '../decide/policy.js';
import { BadReferenceError, formatReference, parseReference, type ImageRef } from '../reference/parse.js';

/**
 * `proxy-private-images check IMAGE...`: decide each image the way a render would and print one line per image,
 *   IMAGE  public|private|private (404)|inconclusive|invalid  reason
 * in the order given. `decide` is the render's decision step (policy, then the cached prober, then
 * probe.onError), so check and render cannot disagree. Exit 1 when any image stays undecided (a render would
 * fail on it) or is not a valid reference.
 */
export async function runCheck(
  images: readonly string[],
  decide: (refs: readonly ImageRef[]) => Promise<ReadonlyMap<string, Decision>>,
): Promise<{ stdout: string; exitCode: 0 | 1 }> {
  if (images.length === 0) return { stdout: 'usage: proxy-private-images check IMAGE...\n', exitCode: 1 };
  const parsed: Array<{ image: string; ref?: ImageRef; error?: string }> = images.map((image) => {
    try {
      return { image, ref: parseReference(image) };
    } catch (e) {
      return { image, error: e instanceof BadReferenceError ? e.reason : String((e as Error).message ?? e) };
    }
  });
  const refs = parsed.flatMap((p) => (p.ref ? [p.ref] : []));
  const decisions = refs.length > 0 ? await decide(refs) : new Map<string, Decision>();

  let exitCode: 0 | 1 = 0;
  const rows = parsed.map(({ image, ref, error }): [string, string, string] => {
    if (!ref) {
      exitCode = 1;
      return [image, 'invalid', `invalid image reference: ${oneLine(error ?? '')}`];
    }
    const d = decisions.get(formatReference(ref)) ?? { kind: 'undecided', source: 'probe', reason: 'no decision' };
    if (d.kind === 'undecided') exitCode = 1;
    return [image, label(d), oneLine(reason(d))];
  });
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const stdout = rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`.trimEnd() + '\n').join('');
  return { stdout, exitCode };
}

function label(d: Decision): string {
  switch (d.kind) {
    case 'undecided':
      return 'inconclusive';
    case 'anonymous':
    case 'public':
      return 'public';
    case 'vendor':
    case 'proxied':
      return 'private';
    case 'private':
      // a 404 to an anonymous user; an inconclusive probe turned private by probe.onError says so in its reason
      return d.warn && d.source !== 'onError' ? 'private (404)' : 'private';
  }
}

function reason(d: Decision): string {
  switch (d.source) {
    case 'vendor':
    case 'proxy':
    case 'glob':
      return `${d.reason}${d.kind === 'vendor' || d.kind === 'proxied' ? ', not rewritten, needs the pull Secret' : ''} (no probe)`;
    case 'cache':
      return `${d.reason} (cached)`;
    case 'probe':
    case 'onError':
      return d.reason;
  }
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '?');
}
