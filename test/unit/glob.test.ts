import assert from 'node:assert/strict';
import { compileGlobs } from '../../src/decide/glob.js';

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
