/**
 * The results that images in values add to a run (see `find/values.ts`). Pure.
 *
 * - before deciding: what a rule names but cannot be rewritten (a flag with no value, an env var set by
 *   `valueFrom`);
 * - after deciding: a warning for each detected candidate that needs the pull Secret (private, vendor, already
 *   proxied) or could not be decided, naming the rule that would cover it; and, for each item whose values a rule
 *   names and that need the Secret, an info result saying where the Secret is and that the operator must be told.
 */
import type { Config } from '../config/config.js';
import type { Decision } from '../decide/policy.js';
import type { ImageField } from '../find/images.js';
import { displayPath } from '../find/images.js';
import type { ValueFinds } from '../find/values.js';
import type { InputObject } from '../read/input.js';
import { formatReference, type ImageRef } from '../reference/parse.js';
import type { Result } from '../results.js';
import { needsPullSecret } from '../rewrite/proxy-ref.js';
import { secretNamespaces } from '../secret/namespaces.js';
import { messages } from './messages.js';

/** Results about what rules name but the function cannot rewrite; errors stop the run before any probe. */
export function valueProblemResults(finds: ValueFinds): Result[] {
  return finds.problems.map((p) => {
    const where = { resourceRef: { ...p.object.ref }, field: { path: displayPath(p.segments) } };
    if (p.kind === 'value-from') {
      return { severity: 'warning', message: messages.envFromElsewhere(p.name, p.glob, p.configMapKey), ...where, tags: { code: 'IMAGE_IN_VALUE' } };
    }
    return { severity: 'error', message: messages.flagWithoutValue(p.name, p.glob, p.kind === 'followed-by-flag'), ...where, tags: { code: 'IMAGE_INVALID' } };
  });
}

/** The candidates' references, for the one probing pass. */
export function candidateRefs(finds: ValueFinds): ImageRef[] {
  return finds.candidates.map((c) => c.ref);
}

export function valueResults(
  finds: ValueFinds,
  refs: ReadonlyMap<ImageField, ImageRef>,
  decisions: ReadonlyMap<string, Decision>,
  needed: ReadonlySet<string>,
  config: Config,
  objects: readonly InputObject[],
): Result[] {
  const results: Result[] = [];
  for (const c of finds.candidates) {
    const d = decisions.get(formatReference(c.ref));
    if (!d) continue;
    const image = c.field.image!;
    const message =
      d.kind === 'undecided' || d.source === 'onError'
        ? messages.detectedUndecided(image, d.reason, c.rule)
        : d.kind === 'private'
          ? messages.detectedPrivate(image, d, c.rule)
          : needsPullSecret(d)
            ? messages.detectedNeedsSecret(image, d, c.rule)
            : undefined;
    if (message) results.push({ severity: 'warning', message, resourceRef: { ...c.field.object.ref }, field: { path: c.field.path }, tags: { code: 'IMAGE_IN_VALUE' } });
  }

  const byObject = new Map<InputObject, string[]>();
  for (const f of finds.fields) {
    const ref = refs.get(f);
    const d = ref && decisions.get(formatReference(ref));
    if (!d || !needsPullSecret(d)) continue;
    byObject.set(f.object, [...(byObject.get(f.object) ?? []), f.path]);
  }
  if (byObject.size === 0) return results;
  const namespaces = secretNamespaces(needed, config.pullSecretNamespaces, objects.map((o) => o.node));
  for (const [object, paths] of byObject) {
    results.push({
      severity: 'info',
      message: messages.operatorSecret(paths.length, paths, config.pullSecretName, namespaces, config.pullSecretEmit),
      resourceRef: { ...object.ref },
    });
  }
  return results;
}
