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

/**
 * Replaces every occurrence of each secret (and of its base64 forms, which
 * appear in dockerconfigjson `auth` values) with `<redacted>`.
 */
export function redactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    needles.add(s);
    needles.add(Buffer.from(s).toString('base64'));
    needles.add(Buffer.from(`${s}:${s}`).toString('base64'));
  }
  const list = [...needles].filter((n) => n.length >= 4).sort((a, b) => b.length - a.length);
  if (list.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const n of list) out = out.split(n).join('<redacted>');
    return out;
  };
}

/** A short human line for stderr: `[warning] apps/v1/Deployment/ns/web spec.template...: message`. */
export function formatResult(r: Result): string {
  const ref = r.resourceRef;
  const where = ref
    ? [ref.apiVersion, ref.kind, ref.namespace, ref.name].filter((p) => p !== undefined && p !== '').join('/')
    : '';
  const field = r.field?.path ?? '';
  const prefix = [where, field].filter(Boolean).join(' ');
  return `[${r.severity}]${prefix ? ' ' + prefix : ''}: ${r.message}`;
}
