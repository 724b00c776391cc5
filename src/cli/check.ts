import { BadReferenceError, formatReference, parseReference, type ImageRef } from '../reference/parse.js';
import type { ProbeOutcome, ProbeSettings, Prober } from '../probe/types.js';

/**
 * `proxy-private-images check IMAGE...`: probe each image anonymously and print one line per image,
 *   IMAGE  public|private|private (404)|inconclusive|invalid  reason
 * in the order given. Exit 1 when any image is inconclusive or not a valid reference.
 * The caller owns (and closes) the prober.
 */
export async function runCheck(images: string[], _settings: ProbeSettings, prober: Prober): Promise<{ stdout: string; exitCode: number }> {
  const parsed: Array<{ image: string; ref?: ImageRef; error?: string }> = images.map((image) => {
    try {
      return { image, ref: parseReference(image) };
    } catch (e) {
      return { image, error: e instanceof BadReferenceError ? e.reason : String((e as Error).message ?? e) };
    }
  });
  const refs = parsed.flatMap((p) => (p.ref ? [p.ref] : []));
  let outcomes = new Map<string, ProbeOutcome>();
  if (refs.length > 0) outcomes = await prober.probeAll(refs);

  let exitCode = images.length === 0 ? 1 : 0;
  const rows = parsed.map(({ image, ref, error }): [string, string, string] => {
    if (!ref) {
      exitCode = 1;
      return [image, 'invalid', `invalid image reference: ${oneLine(error ?? '')}`];
    }
    const o = outcomes.get(formatReference(ref)) ?? { verdict: 'inconclusive', reason: 'no probe result' };
    if (o.verdict === 'inconclusive') exitCode = 1;
    const label = o.verdict === 'private-404' ? 'private (404)' : o.verdict;
    return [image, label, oneLine(o.reason) + (o.cached ? ' (cached)' : '')];
  });
  if (images.length === 0) return { stdout: 'usage: proxy-private-images check IMAGE...\n', exitCode };
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const stdout = rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`.trimEnd() + '\n').join('');
  return { stdout, exitCode };
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '?');
}
