import assert from 'node:assert/strict';
import { BadReferenceError, formatReference, parseReference } from '../../src/reference/parse.js';

const D = 'sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1';

/** [input, canonical form] — the canonical form is what the proxy path and globs see. */
const VALID: [string, string][] = [
  ['nginx', 'docker.io/library/nginx'],
  ['nginx:1.25', 'docker.io/library/nginx:1.25'],
  ['library/nginx', 'docker.io/library/nginx'],
  ['library/nginx:latest', 'docker.io/library/nginx:latest'],
  ['docker.io/nginx', 'docker.io/library/nginx'],
  ['docker.io/library/nginx:1.25', 'docker.io/library/nginx:1.25'],
  ['index.docker.io/nginx', 'docker.io/library/nginx'],
  ['index.docker.io/library/nginx:1', 'docker.io/library/nginx:1'],
  ['registry-1.docker.io/library/nginx', 'docker.io/library/nginx'],
  ['registry-1.docker.io/bitnami/redis:7', 'docker.io/bitnami/redis:7'],
  ['bitnami/redis', 'docker.io/bitnami/redis'],
  ['bitnami/redis:7.2.4-debian-12-r0', 'docker.io/bitnami/redis:7.2.4-debian-12-r0'],
  [`nginx@${D}`, `docker.io/library/nginx@${D}`],
  [`nginx:1.25@${D}`, `docker.io/library/nginx:1.25@${D}`],
  ['quay.io/my-org/api:v1.0.1', 'quay.io/my-org/api:v1.0.1'],
  ['quay.io/my-org/api', 'quay.io/my-org/api'],
  [`quay.io/my-org/api@${D}`, `quay.io/my-org/api@${D}`],
  [`quay.io/my-org/api:v1@${D}`, `quay.io/my-org/api:v1@${D}`],
  ['ghcr.io/acme/team/service/api:2', 'ghcr.io/acme/team/service/api:2'],
  ['gcr.io/project/image', 'gcr.io/project/image'],
  ['us-docker.pkg.dev/proj/repo/img:tag', 'us-docker.pkg.dev/proj/repo/img:tag'],
  ['123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1', '123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1'],
  ['localhost/foo', 'localhost/foo'],
  ['localhost:5000/foo:bar', 'localhost:5000/foo:bar'],
  ['localhost:5000/foo/bar', 'localhost:5000/foo/bar'],
  ['127.0.0.1:5000/foo', '127.0.0.1:5000/foo'],
  ['127.0.0.1/foo:1', '127.0.0.1/foo:1'],
  ['[::1]:5000/foo', '[::1]:5000/foo'],
  ['[::1]/foo:tag', '[::1]/foo:tag'],
  ['[2001:db8::1]:443/a/b:c', '[2001:db8::1]:443/a/b:c'],
  ['registry.example.com:8443/a/b/c:1.0', 'registry.example.com:8443/a/b/c:1.0'],
  ['Registry.Example.com/a', 'Registry.Example.com/a'],
  ['UPPER/a', 'UPPER/a'],
  ['a.b/c__d', 'a.b/c__d'],
  ['a.b/c--d', 'a.b/c--d'],
  ['a.b/c---d.e_f', 'a.b/c---d.e_f'],
  ['a.b/c.d:tag_1.2-3', 'a.b/c.d:tag_1.2-3'],
  ['foo:_tag', 'docker.io/library/foo:_tag'],
  ['foo:5000', 'docker.io/library/foo:5000'],
  ['my-registry:5000/img', 'my-registry:5000/img'],
  ['proxy.replicated.com/proxy/app/quay.io/org/api:1', 'proxy.replicated.com/proxy/app/quay.io/org/api:1'],
  ['registry.replicated.com/app/image:1', 'registry.replicated.com/app/image:1'],
  [`x.io/a@sha512:${'a'.repeat(128)}`, `x.io/a@sha512:${'a'.repeat(128)}`],
  [`x.io/a@other+alg:${'A'.repeat(40)}`, `x.io/a@other+alg:${'A'.repeat(40)}`],
  ['a/b/c/d/e/f', 'docker.io/a/b/c/d/e/f'],
  ['x.io/' + 'a'.repeat(200), 'x.io/' + 'a'.repeat(200)],
];

/** [input, a word the error must contain] */
const INVALID: [string, RegExp][] = [
  ['', /empty/],
  [' nginx', /white space/],
  ['nginx ', /white space/],
  ['Nginx', /lowercase/],
  ['quay.io/My-Org/api', /lowercase/],
  ['quay.io//api', /empty path component/],
  ['quay.io/api/', /empty path component/],
  ['/api', /empty path component|missing/],
  ['quay.io/-api', /invalid path component/],
  ['quay.io/api-', /invalid path component/],
  ['quay.io/a..b', /invalid path component/],
  ['quay.io/a___b', /invalid path component/],
  ['nginx:', /invalid tag/],
  ['nginx:-x', /invalid tag/],
  ['nginx:.x', /invalid tag/],
  [`nginx:${'a'.repeat(129)}`, /invalid tag/],
  ['nginx@sha256:abc', /invalid digest/],
  ['nginx@sha256:' + 'A'.repeat(64), /sha256/],
  ['nginx@sha256:' + 'a'.repeat(63), /sha256/],
  ['nginx@' + 'a'.repeat(64), /invalid digest/],
  ['nginx@', /invalid digest/],
  ['nginx:1@sha256:zz', /invalid digest/],
  ['[::1/foo', /IPv6/],
  ['[zz]:5000/foo', /IPv6/],
  ['host:99999/foo', /port/],
  ['host:port/foo', /port/],
  ['-bad.io/foo', /registry host/],
  ['bad-.io/foo', /registry host/],
  [':5000/foo', /registry host|invalid/],
  ['quay.io/a b', /invalid path component/],
  ['quay.io/a:b:c', /invalid|lowercase|tag|port/],
  ['x.io/' + 'a'.repeat(260), /longer than 255/],
  ['@sha256:' + 'a'.repeat(64), /missing repository name/],
];

describe('image reference parser (distribution grammar)', () => {
  for (const [input, canonical] of VALID) {
    it(`parses ${JSON.stringify(input.length > 60 ? input.slice(0, 60) + '…' : input)}`, () => {
      assert.equal(formatReference(parseReference(input)), canonical);
    });
  }
  for (const [input, why] of INVALID) {
    it(`rejects ${JSON.stringify(input.length > 60 ? input.slice(0, 60) + '…' : input)}`, () => {
      assert.throws(() => parseReference(input), (e: unknown) => e instanceof BadReferenceError && why.test(e.message));
    });
  }
  it('keeps tag and digest apart', () => {
    const ref = parseReference(`quay.io:443/org/api:v1@${D}`);
    assert.deepEqual(ref, { domain: 'quay.io:443', path: 'org/api', tag: 'v1', digest: D });
  });
  it('names the reference and the reason in the error', () => {
    assert.throws(() => parseReference('Quay.io/Org/API'), /invalid image reference "Quay.io\/Org\/API": repository name must be lowercase/);
  });
});
