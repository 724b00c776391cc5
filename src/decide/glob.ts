/**
 * Image name globs: `*` matches within one path segment, `**` across
 * segments (also none: `quay.io/**` matches `quay.io/a` and `quay.io/a/b`),
 * `?` one character. Matched against `registry/repository`, no tag or digest.
 */
export type Matcher = (name: string) => boolean;

export function compileGlobs(globs: readonly string[]): Matcher {
  if (globs.length === 0) return () => false;
  const re = new RegExp(`^(?:${globs.map(globToRegExpSource).join('|')})$`);
  return (name) => re.test(name);
}

export function globToRegExpSource(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          out += '(?:.*/)?'; // `**/` : zero or more whole segments
        } else {
          out += '.*';
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else {
      out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return out;
}
