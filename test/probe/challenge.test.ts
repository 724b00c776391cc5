import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bearerOf, parseChallenges } from '../../src/probe/challenge.js';

describe('probe: WWW-Authenticate parsing', () => {
  it('reads a Docker Bearer challenge with realm, service and scope', () => {
    const r = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"');
    assert.deepEqual(r, {
      ok: true,
      challenges: [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' } }],
    });
  });

  it('reads several challenges in one header, with quoted commas and escapes', () => {
    const r = parseChallenges('Basic realm="a, b", Bearer realm="https://x/token", error="insufficient_scope", error_description="say \\"no\\""');
    assert.ok(r.ok);
    assert.deepEqual(r.challenges.map((c) => c.scheme), ['basic', 'bearer']);
    assert.equal(r.challenges[0]!.params.realm, 'a, b');
    assert.equal(bearerOf(r.challenges)?.params.error_description, 'say "no"');
  });

  it('reads several header lines, token68, bare schemes and unquoted values', () => {
    const r = parseChallenges(['Negotiate abc==', 'BASIC Realm=simple', 'Bearer']);
    assert.ok(r.ok);
    assert.deepEqual(r.challenges, [
      { scheme: 'negotiate', params: {}, token68: 'abc==' },
      { scheme: 'basic', params: { realm: 'simple' } },
      { scheme: 'bearer', params: {} },
    ]);
  });

  it('gives no challenges for an absent header', () => {
    assert.deepEqual(parseChallenges(undefined), { ok: true, challenges: [] });
  });

  for (const bad of ['Bearer realm="unterminated', '=x', 'Bearer realm="a" junk', 'Bearer realm=', 'Bearer a="1", ="2"']) {
    it(`reports malformed ${JSON.stringify(bad)} as a typed error`, () => {
      const r = parseChallenges(bad);
      if (bad === 'Bearer realm=') {
        // `realm=` reads as token68, as RFC 9110 allows; what matters is that no realm comes out
        assert.ok(!r.ok || bearerOf(r.challenges)?.params.realm === undefined);
        return;
      }
      assert.equal(r.ok, false);
      assert.equal(typeof (r as { error: string }).error, 'string');
    });
  }

  it('never throws, whatever the header', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom('B', 'e', 'a', 'r', ' ', '=', '"', ',', '\\', 'x', '\t') })), (s) => {
        const r = parseChallenges(s);
        assert.equal(typeof r.ok, 'boolean');
      }),
      { numRuns: 2000 },
    );
  });
});
