/** yaml's error messages, made safe to show: the parser's words and the position, never the input it quotes. */

export function describeYamlError(e: { message: string; pos?: readonly [number, number] }, source?: string): string {
  // yaml's pretty errors carry "at line L, column C" and a source excerpt; keep the first line and the location.
  const line = (e.message.split('\n')[0] ?? e.message).replace(/:$/, '');
  const at = / at line \d+, column \d+$/.exec(line);
  let what = at ? line.slice(0, at.index) : line;
  // Some messages quote the input (a token, a tag, or the whole rest of the stream): it may hold anything, even a
  // license id, and may be megabytes long. Keep the parser's words and the position only.
  what = what
    .replace(/^(Not a YAML token|Unresolved tag|Block scalar header includes extra characters|Unexpected \S+ token in YAML (?:stream|document)): .*$/s, '$1')
    .replace(/^Invalid escape sequence .*$/s, 'Invalid escape sequence')
    .replace(/^Unexpected (?![,\]}:?-] )\S.* in /s, 'Unexpected token in ')
    // The parser recurses per nesting level; thousands of levels exhaust the stack.
    .replace(/^Maximum call stack size exceeded/, 'nested too deeply (the YAML parser ran out of stack)');
  if (what.length > 120) what = `${what.slice(0, 120)}...`;
  return what + (at?.[0] ?? (source !== undefined && e.pos ? positionOf(source, e.pos[0]) : ''));
}

/** ` at line L, column C` for an offset, as yaml's pretty errors write it. */
function positionOf(source: string, offset: number): string {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}
