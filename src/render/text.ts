/** How new values are written into existing YAML or JSON text: scalars in the style of the one they replace. */
import { isScalar, Scalar, stringify, type Node } from 'yaml';

/** Plain when safe: also `--flag=value` (a '-' is a sequence indicator only before a space); never ending in ':' (a key). */
const PLAIN_SAFE = /^(?:--?)?[A-Za-z0-9][A-Za-z0-9._/:@+=-]*(?<!:)$/;
const LOOKS_TYPED = /^(true|false|null|yes|no|on|off|y|n|~|[-+.0-9][0-9._:e+-]*)$/i;

/** A string as a YAML scalar: plain when that reads back as the same string, else double-quoted (JSON). */
export function scalarOf(value: string): string {
  return PLAIN_SAFE.test(value) && !LOOKS_TYPED.test(value) ? value : JSON.stringify(value);
}

/** A JSON value as flow text (valid JSON and valid flow YAML). */
export function flowText(value: unknown): string {
  return JSON.stringify(value);
}

/** A JSON value as flow YAML in the style of hand-written YAML (`[{name: x}]`), or as JSON in a JSON input. */
export function flowOf(value: unknown, json: boolean): string {
  if (json) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => flowOf(v, false)).join(', ')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${scalarOf(k)}: ${flowOf(v, false)}`).join(', ')}}`;
  return typeof value === 'string' ? scalarOf(value) : JSON.stringify(value);
}

/** `{name: x}` in YAML, `{"name": "x"}` in JSON. */
export function nameEntry(name: string, json: boolean): string {
  return json ? `{"name": ${JSON.stringify(name)}}` : `{name: ${scalarOf(name)}}`;
}

export function keyText(key: string, json: boolean): string {
  return json ? JSON.stringify(key) : scalarOf(key);
}

/**
 * The text that replaces `node`'s value range with `value`, in the style the old value had. A block scalar keeps
 * its header and indentation; an alias becomes a scalar (its anchor stays where it is).
 */
export function replacementText(node: Node, value: string, source: string, json: boolean): string {
  if (json) return JSON.stringify(value);
  if (!isScalar(node)) return scalarOf(value);
  switch (node.type) {
    case Scalar.QUOTE_SINGLE:
      return `'${value.replace(/'/g, "''")}'`;
    case Scalar.QUOTE_DOUBLE:
      return JSON.stringify(value);
    case Scalar.BLOCK_LITERAL:
    case Scalar.BLOCK_FOLDED:
      return blockScalarText(source.slice(node.range![0], node.range![1]), value);
    default:
      return scalarOf(value);
  }
}

/** `|-\n  old\n` -> `|-\n  new\n`: header, indentation and trailing line breaks kept. */
function blockScalarText(old: string, value: string): string {
  const nl = old.indexOf('\n');
  if (nl < 0 || /[\n\r]/.test(value)) return JSON.stringify(value);
  const header = old.slice(0, nl + 1);
  const body = old.slice(nl + 1);
  const indent = /^(?:[ ]*\r?\n)*([ ]+)/.exec(body)?.[1];
  if (!indent) return JSON.stringify(value);
  const trailing = /(?:\r?\n)*$/.exec(body)?.[0] ?? '';
  return `${header}${indent}${value}${trailing}`;
}

/** Block YAML for an object, as a list item (`- ...`) at `indent`, or as a document when `indent` is null. */
export function blockText(value: object, indent: string | null): string {
  const text = stringify(value, { lineWidth: 0, indentSeq: false, aliasDuplicateObjects: false }).replace(/\n$/, '');
  if (indent === null) return text + '\n';
  return text.split('\n').map((line, i) => (i === 0 ? `${indent}- ${line}` : `${indent}  ${line}`)).join('\n') + '\n';
}

/** JSON for an object, pretty-printed to sit at `indent`. */
export function jsonText(value: unknown, indent: string): string {
  return JSON.stringify(value, null, 2).split('\n').join(`\n${indent}`);
}
