/**
 * Globs over names that are not image names (env var names, flags, ConfigMap names and keys): `*` matches any run
 * of characters (none included), every other character only itself. Matching takes time linear in the name for
 * each literal run: the runs between stars are found leftmost, once each, with no backtracking (for `*`-only
 * globs the leftmost match of each run is always a right choice).
 */
export type NameMatcher = (name: string) => boolean;

export function compileNameGlob(glob: string): NameMatcher {
  const parts = glob.split('*');
  if (parts.length === 1) return (name) => name === glob;
  const head = parts[0]!;
  const tail = parts[parts.length - 1]!;
  const middle = parts.slice(1, -1).filter((p) => p !== '');
  const min = head.length + tail.length + middle.reduce((n, p) => n + p.length, 0);
  return (name) => {
    if (name.length < min || !name.startsWith(head) || !name.endsWith(tail)) return false;
    let at = head.length;
    const end = name.length - tail.length;
    for (const part of middle) {
      const found = name.indexOf(part, at);
      if (found < 0 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  };
}

/** The first glob of `globs` that matches, if any. */
export function compileNameGlobs(globs: readonly string[]): (name: string) => string | undefined {
  const matchers = globs.map((g) => [g, compileNameGlob(g)] as const);
  return (name) => matchers.find(([, m]) => m(name))?.[0];
}
