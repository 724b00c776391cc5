/**
 * Image name globs: `*` matches within one path segment, `**` across
 * segments (also none: `quay.io/**` matches `quay.io/a` and `quay.io/a/b`),
 * `?` one character. Matched against `registry/repository`, no tag or digest.
 *
 * A glob compiles to a small automaton that is simulated on the set of states
 * reachable so far, one character at a time: time is at most
 * (glob length) x (name length), whatever the pattern. A backtracking regular
 * expression took exponential time on `quay.io/*a*a*a*a*a*a*a*a*a*a*a*a*b`.
 */
export type Matcher = (name: string) => boolean;

/**
 * One step of a compiled glob.
 * - `lit`: exactly this character
 * - `one`: any character but `/` (`?`)
 * - `seg`: any run of characters without `/` (`*`)
 * - `any`: any run of characters (`**` not followed by `/`)
 * - `dirs`: nothing, or any run of characters that ends in `/` (`**` followed by `/`: zero or more whole segments)
 */
type Step = { readonly kind: 'lit'; readonly c: string } | { readonly kind: 'one' | 'seg' | 'any' | 'dirs' };

export function compileGlob(glob: string): Step[] {
  const steps: Step[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          steps.push({ kind: 'dirs' });
        } else {
          steps.push({ kind: 'any' });
        }
      } else {
        steps.push({ kind: 'seg' });
      }
    } else if (c === '?') {
      steps.push({ kind: 'one' });
    } else {
      steps.push({ kind: 'lit', c });
    }
  }
  return steps;
}

/**
 * States: 2·i is "before step i" (for `dirs`: nothing of it consumed yet), 2·i+1 is "inside `dirs` step i, its
 * final `/` still to come". 2·n is the accepting state.
 */
function simulate(steps: readonly Step[], name: string): boolean {
  const n = steps.length;
  const size = 2 * n + 1;
  let current = new Uint8Array(size);
  let next = new Uint8Array(size);
  const list: number[] = [];
  const add = (set: Uint8Array, s: number, out: number[]): void => {
    // epsilon closure: `seg`, `any` and `dirs` may match nothing
    while (s < size && set[s] === 0) {
      set[s] = 1;
      out.push(s);
      if ((s & 1) === 1 || s === 2 * n) return;
      const k = steps[s >> 1]!.kind;
      if (k === 'dirs') {
        if (set[s + 1] === 0) {
          set[s + 1] = 1;
          out.push(s + 1);
        }
        s += 2;
      } else if (k === 'seg' || k === 'any') {
        s += 2;
      } else {
        return;
      }
    }
  };
  let active: number[] = [];
  add(current, 0, active);
  for (let p = 0; p < name.length && active.length > 0; p++) {
    const c = name[p]!;
    const slash = c === '/';
    next.fill(0);
    list.length = 0;
    for (const s of active) {
      if (s === 2 * n) continue;
      const i = s >> 1;
      const step = steps[i]!;
      if ((s & 1) === 1) {
        // inside `dirs`: any character stays inside; a `/` may also end it
        add(next, s, list);
        if (slash) add(next, 2 * (i + 1), list);
        continue;
      }
      switch (step.kind) {
        case 'lit':
          if (c === step.c) add(next, 2 * (i + 1), list);
          break;
        case 'one':
          if (!slash) add(next, 2 * (i + 1), list);
          break;
        case 'seg':
          if (!slash) add(next, s, list);
          break;
        case 'any':
          add(next, s, list);
          break;
        case 'dirs':
          break; // consuming happens in its inside state, reached by the closure
      }
    }
    [current, next] = [next, current];
    active = list.slice();
  }
  return current[2 * n] === 1;
}

export function compileGlobs(globs: readonly string[]): Matcher {
  if (globs.length === 0) return () => false;
  const compiled = globs.map(compileGlob);
  return (name) => compiled.some((steps) => simulate(steps, name));
}
