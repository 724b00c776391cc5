import assert from 'node:assert/strict';
import { compileGlob, compileGlobs } from '../../src/decide/glob.js';
import fc from 'fast-check';
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const GLOB_MODULE = fileURLToPath(new URL('../../src/decide/glob.ts', import.meta.url));

const CASES: [string, string, boolean][] = [
  ['quay.io/acme/*', 'quay.io/acme/api', true],
  ['quay.io/acme/*', 'quay.io/acme/team/api', false],
  ['quay.io/acme/**', 'quay.io/acme/team/api', true],
  ['quay.io/acme/**', 'quay.io/acme/api', true],
  ['quay.io/acme/**', 'quay.io/acmex/api', false],
  ['quay.io/**/api', 'quay.io/api', true],
  ['quay.io/**/api', 'quay.io/a/b/api', true],
  ['**', 'docker.io/library/nginx', true],
  ['*.dkr.ecr.*.amazonaws.com/**', '123.dkr.ecr.us-east-1.amazonaws.com/app', true],
  ['docker.io/library/ng?nx', 'docker.io/library/nginx', true],
  ['docker.io/library/ng?nx', 'docker.io/library/ngnx', false],
  ['127.0.0.1:5000/*', '127.0.0.1:5000/x', true],
  ['127.0.0.1:5000/*', '127.0.0.1:5001/x', false],
  ['a.io/x+y', 'a.io/x+y', true],
  ['a.io/x', 'a.io/x/y', false],
];

describe('image globs', () => {
  for (const [glob, name, want] of CASES) {
    it(`${glob} ${want ? 'matches' : 'does not match'} ${name}`, () => {
      assert.equal(compileGlobs([glob])(name), want);
    });
  }
  it('matches nothing when there are no globs', () => {
    assert.equal(compileGlobs([])('anything'), false);
  });
});

/**
 * The regular expression the matcher used before it became an automaton, built from the same steps (the old
 * globToRegExpSource wrote exactly these fragments): the oracle for the property test.
 */
function oldRegExpSource(glob: string): string {
  const fragment: Record<string, string> = { one: '[^/]', seg: '[^/]*', any: '.*', dirs: '(?:.*/)?' };
  return compileGlob(glob)
    .map((step) => (step.kind === 'lit' ? step.c.replace(/[.+^${}()|[\]\\]/g, '\\$&') : fragment[step.kind]))
    .join('');
}

describe('image globs: bounded time', function () {
  // The old regular expression backtracked exponentially here (minutes at 100% CPU); the automaton is linear.
  this.timeout(5_000);
  it('a pathological glob against a long name finishes in milliseconds', async () => {
    // In a child process killed after 3 s, so that a regression (a backtracking matcher holds its thread for minutes)
    // fails here instead of hanging the test run.
    const code = `
      import { compileGlobs } from ${JSON.stringify(pathToFileURL(GLOB_MODULE).href)};
      const started = process.hrtime.bigint();
      const name = 'quay.io/' + 'a'.repeat(200);
      const answers = [
        compileGlobs(['quay.io/*a*a*a*a*a*a*a*a*a*a*a*a*b'])(name),
        compileGlobs(['quay.io/*a*a*a*a*a*a*a*a*a*a*a*a*b'])(name + 'b'),
        compileGlobs(['**a**a**a**a**a**a**a**a**a**a**b'])('x/' + 'a/'.repeat(120)),
      ];
      console.log(JSON.stringify({ answers, ms: Number(process.hrtime.bigint() - started) / 1e6 }));`;
    const r = await new Promise<{ out: string; killed: boolean }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { timeout: 3_000, killSignal: 'SIGKILL' }, (e, stdout) =>
        resolve({ out: stdout, killed: (e as { killed?: boolean } | null)?.killed === true }),
      );
    });
    assert.equal(r.killed, false, 'the matcher did not finish within 3 s');
    const answer = JSON.parse(r.out) as { answers: boolean[]; ms: number };
    assert.deepEqual(answer.answers, [false, true, false]);
    assert.ok(answer.ms < 200, `took ${answer.ms.toFixed(1)} ms`);
  });

  it('answers as the old regular expression on random small globs and names', () => {
    const alphabet = ['a', 'b', '/', '.', '*', '?', '**', '**/'];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...alphabet), { maxLength: 7 }).map((xs) => xs.join('')),
        fc.array(fc.constantFrom('a', 'b', '/', '.'), { maxLength: 9 }).map((xs) => xs.join('')),
        (glob, name) => {
          const want = new RegExp(`^(?:${oldRegExpSource(glob)})$`).test(name);
          assert.equal(compileGlobs([glob])(name), want, `${JSON.stringify(glob)} vs ${JSON.stringify(name)}`);
        },
      ),
      { numRuns: 20_000, seed: 11 },
    );
  });

  it('several globs match when any of them does', () => {
    const m = compileGlobs(['quay.io/a/*', 'ghcr.io/**']);
    assert.equal(m('quay.io/a/x'), true);
    assert.equal(m('ghcr.io/o/r/x'), true);
    assert.equal(m('quay.io/b/x'), false);
  });
});
