/**
 * Input quoted in a message: short, on one line, and never carrying control characters raw. An image string of a
 * megabyte must not become a megabyte of stderr, and an escape sequence in a value must not reach a terminal.
 */

/** C0 and C1 controls, DEL, line and paragraph separators, bidirectional and zero-width format characters. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;

/** Longest excerpt quoted, in characters of the original value. */
export const EXCERPT_LENGTH = 80;

/**
 * `"value"` with JSON escapes, every unsafe character as `\uXXXX`; a value longer than `max` is cut and says so:
 * `"quay.io/aaaa..." (1048576 characters)`.
 */
export function quote(value: string, max = EXCERPT_LENGTH): string {
  const cut = value.length > max;
  // never cut a surrogate pair in half
  let head = cut ? value.slice(0, max) : value;
  if (cut && /[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  const body = escapeUnsafe(JSON.stringify(head).slice(1, -1));
  return cut ? `"${body}..." (${value.length} characters)` : `"${body}"`;
}

/** Every unsafe character as `\uXXXX`, nothing else changed (for callers that cut or quote themselves). */
export function escapeUnsafe(value: string): string {
  return value.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Any value, for a "got ..." in a message: strings quoted as above, other JSON values stringified and cut. */
export function describeValue(value: unknown, max = EXCERPT_LENGTH): string {
  if (typeof value === 'string') return quote(value, max);
  if (value === undefined) return '(none)';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  if (typeof value === 'number' && !Number.isFinite(value)) text = String(value);
  return excerpt(text, max);
}

/** A value made safe (unsafe characters as `\uXXXX`) and cut to `max` characters, saying how long it was. */
export function excerpt(value: string, max = EXCERPT_LENGTH): string {
  const safe = escapeUnsafe(value);
  return safe.length > max ? `${safe.slice(0, max)}... (${safe.length} characters)` : safe;
}

/** Text from elsewhere (a registry's header) inside a sentence: unsafe characters as spaces, one line, at most `max`. */
export function cleanText(value: string, max = 100): string {
  const t = value.replace(UNSAFE, ' ').replace(/ {2,}/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}...` : t;
}
