/** Results are the user-visible report, in the shape kpt prints (`config.kubernetes.io/v1` ResourceList.results). */

export type Severity = 'error' | 'warning' | 'info';

export interface ResourceRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

export interface Result {
  message: string;
  severity: Severity;
  resourceRef?: ResourceRef;
  field?: { path: string; currentValue?: string; proposedValue?: string };
  file?: { path: string; index?: number };
  tags?: Record<string, string>;
}

export function exitCodeOf(results: readonly Result[]): 0 | 1 {
  return results.some((r) => r.severity === 'error') ? 1 : 0;
}

/** A failed run changed nothing, so it reports errors, then warnings (kpt shows 4 result lines). */
export function failureReport(results: readonly Result[]): Result[] {
  return [...results.filter((r) => r.severity === 'error'), ...results.filter((r) => r.severity === 'warning')];
}

export const REDACTED = '<redacted>';
const MIN_REDACTED_LENGTH = 4;

/**
 * Redaction works on values, before anything is serialised: each string a result or message holds has every
 * spelling of each secret replaced (as written, JSON- and YAML-escaped, and the base64 forms `id` and `id:id`
 * that dockerconfigjson uses). Since it never touches serialised text, no secret can change the output's
 * structure or the exit code.
 */
export function redactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    needles.add(s);
    needles.add(JSON.stringify(s).slice(1, -1));
    needles.add(s.replace(/'/g, "''"));
    needles.add(Buffer.from(s).toString('base64'));
    needles.add(Buffer.from(`${s}:${s}`).toString('base64'));
  }
  // Shorter than 4 characters is no secret worth garbling every message for (`x` would hit most words); a real
  // license id is far longer, and messages never quote it in the first place.
  const list = [...needles].filter((n) => n.length >= MIN_REDACTED_LENGTH).sort((a, b) => b.length - a.length);
  if (list.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const n of list) if (out.includes(n)) out = out.split(n).join(REDACTED);
    return out;
  };
}

/** A result with every string in it redacted; the same objects when there was nothing to redact. */
export function redactResult(r: Result, redact: (s: string) => string): Result {
  const strings = <T extends object>(o: T): T => {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      const w = typeof v === 'string' ? redact(v) : v;
      if (w !== v) changed = true;
      out[k] = w;
    }
    return changed ? (out as T) : o;
  };
  const message = redact(r.message);
  const resourceRef = r.resourceRef && strings(r.resourceRef);
  const field = r.field && strings(r.field);
  const file = r.file && strings(r.file);
  const tags = r.tags && strings(r.tags);
  if (message === r.message && resourceRef === r.resourceRef && field === r.field && file === r.file && tags === r.tags) return r;
  return {
    ...r,
    message,
    ...(resourceRef && { resourceRef }),
    ...(field && { field }),
    ...(file && { file }),
    ...(tags && { tags }),
  };
}

/** One stderr line: `proxy-private-images: [warning] apps/v1/Deployment/ns/web spec.template...: message`. */
export function formatResult(r: Result): string {
  const ref = r.resourceRef;
  const where = ref ? [ref.apiVersion, ref.kind, ref.namespace, ref.name].filter((p) => p !== undefined && p !== '').join('/') : '';
  const field = r.field?.path ?? '';
  const prefix = [where, field].filter(Boolean).join(' ');
  return `proxy-private-images: [${r.severity}]${prefix ? ' ' + prefix : ''}: ${r.message}`;
}
