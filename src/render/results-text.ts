/**
 * `results:` as block YAML. Results are flat records of strings and numbers (one level of nesting: resourceRef,
 * field, file, tags), so a direct writer does what the general stringifier does, at a fraction of its cost on
 * thousands of results.
 */
import { flowText, scalarOf } from './text.js';

export function resultsText(results: readonly object[]): string {
  let out = 'results:\n';
  for (const result of results) {
    let first = true;
    for (const [key, value] of Object.entries(result)) {
      if (value === undefined) continue;
      out += (first ? '- ' : '  ') + scalarOf(key) + ':';
      first = false;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        out += '\n';
        for (const [k, v] of Object.entries(value)) if (v !== undefined) out += `    ${scalarOf(k)}: ${leafText(v)}\n`;
      } else {
        out += ` ${leafText(value)}\n`;
      }
    }
  }
  return out;
}

function leafText(value: unknown): string {
  if (typeof value === 'string') return scalarOf(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return flowText(value);
}
