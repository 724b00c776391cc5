import assert from 'node:assert/strict';
import { explain } from '../../src/probe/explain.js';
import type { ProbeOutcome } from '../../src/probe/types.js';

/** explain(): one sentence per probe outcome, true for every registry, naming none. */
describe('explain', () => {
  const REGISTRY_NAMES = /quay|ghcr|github|ecr|amazon|aws|docker ?hub|gcr|google|artifact registry|azure|acr|harbor|gitlab/i;

  const cases: Array<[string, Pick<ProbeOutcome, 'verdict' | 'evidence'>, RegExp]> = [
    ['public', { verdict: 'public', evidence: { step: 'manifest', status: 200, anonymousToken: true } }, /^the registry served the manifest to an anonymous client: anyone can pull this image$/],
    [
      '404',
      { verdict: 'private-404', evidence: { step: 'manifest', status: 404, anonymousToken: false } },
      /^the registry says this repository or tag does not exist for an anonymous client; some registries hide private repositories this way, so it is treated as private — check the reference$/,
    ],
    ['token refused', { verdict: 'private', evidence: { step: 'token', status: 403 } }, /token endpoint refused an anonymous token for this repository \(403\): it needs credentials, so it is private, or it does not exist/],
    ['401 Basic', { verdict: 'private', evidence: { step: 'manifest', status: 401, anonymousToken: false, challenge: 'basic' } }, /asks for a login before any pull \(Basic auth\): it allows no anonymous pulls/],
    [
      '401 after a token',
      { verdict: 'private', evidence: { step: 'manifest', status: 401, anonymousToken: true, challenge: 'bearer', bearerError: 'insufficient_scope' } },
      /gave an anonymous token without pull access to this repository and refused the manifest \(401, insufficient_scope\): it is private, or it does not exist/,
    ],
    ['401, empty challenge', { verdict: 'private', evidence: { step: 'manifest', status: 401, anonymousToken: true, challenge: 'none' } }, /without pull access .*\(401\)/],
    ['401 without a token', { verdict: 'private', evidence: { step: 'manifest', status: 401, anonymousToken: false, challenge: 'none' } }, /refused the manifest to an anonymous client \(401\)/],
    ['403', { verdict: 'private', evidence: { step: 'manifest', status: 403, anonymousToken: true } }, /forbids anonymous pulls of this repository \(403\)/],
    ['private from the cache', { verdict: 'private' }, /^the registry refused an anonymous pull: the image needs credentials/],
    ['404 from the cache', { verdict: 'private-404' }, /does not exist for an anonymous client/],
    ['deadline', { verdict: 'inconclusive', evidence: { step: 'deadline' } }, /ran out of time \(probe\.deadlineSeconds\)/],
    ['timeout', { verdict: 'inconclusive', evidence: { step: 'failure', timedOut: true } }, /did not answer in time \(probe\.timeoutSeconds; a request that timed out is sent once more\)/],
    ['5xx storm', { verdict: 'inconclusive', evidence: { step: 'failure', timedOut: false } }, /could not be asked \(a rate limit or server error that outlasted the retries/],
    ['odd status', { verdict: 'inconclusive', evidence: { step: 'manifest', status: 418, anonymousToken: false } }, /answered 418, which says neither public nor private/],
  ];

  for (const [name, outcome, want] of cases) {
    it(`${name}: ${String(want).slice(1, 60)}...`, () => {
      const text = explain(outcome);
      assert.match(text, want);
      assert.doesNotMatch(text, REGISTRY_NAMES, 'names no registry');
      assert.doesNotMatch(text, /[\r\n]/);
    });
  }

  it('a 404 is never explained as "private" for sure, nor a 401/403 as "does not exist" for sure', () => {
    assert.match(explain({ verdict: 'private-404' }), /check the reference/);
    for (const [, o] of cases.filter(([, o]) => o.verdict === 'private')) assert.match(explain(o), /or (the repository )?(it )?does not exist|whether the repository exists/);
  });
});
