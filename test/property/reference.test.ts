/**
 * Property tests of the reference parser (fast-check): parse ∘ format is the identity on normalised references,
 * Docker Hub normalisation is idempotent, every generated valid reference parses, every generated invalid one
 * throws BadReferenceError, and no string at all makes it throw anything else.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BadReferenceError, formatReference, normalize, parseReference, type ImageRef } from '../../src/reference/parse.js';

const RUNS = { numRuns: 500 };

const alnum = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const separator = fc.constantFrom('.', '_', '__', '-', '--', '---');
/** path-component := [a-z0-9]+ ( ( [_.] | "__" | "-"+ ) [a-z0-9]+ )* */
const pathComponent = fc
  .tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 3 }))
  .map(([head, rest]) => head + rest.map(([s, a]) => s + a).join(''));
const dnsLabel = fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?$/);
const port = fc.integer({ min: 1, max: 65535 }).map(String);
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
const ipv6 = fc.constantFrom('[::1]', '[fe80::1]', '[2001:db8::42]', '[::ffff:127.0.0.1]');
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** A registry host that the parser must read as a host (has a dot or a port, or is localhost or an IP). */
const domain = fc
  .oneof(
    fc.tuple(fc.array(dnsLabel, { minLength: 2, maxLength: 4 }), fc.option(port, { nil: undefined })).map(([labels, p]) => labels.join('.') + (p ? `:${p}` : '')),
    fc.tuple(dnsLabel, port).map(([h, p]) => `${h}:${p}`),
    fc.option(port, { nil: undefined }).map((p) => `localhost${p ? `:${p}` : ''}`),
    fc.tuple(ipv4, fc.option(port, { nil: undefined })).map(([h, p]) => h + (p ? `:${p}` : '')),
    fc.tuple(ipv6, fc.option(port, { nil: undefined })).map(([h, p]) => h + (p ? `:${p}` : '')),
  )
  .filter((d) => !DOCKER_HUB_ALIASES.has(d.toLowerCase()));

const tag = fc.stringMatching(/^[\w][\w.-]{0,40}$/);
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const digest = fc.oneof(hex(64).map((h) => `sha256:${h}`), hex(128).map((h) => `sha512:${h}`), hex(40).map((h) => `blake3:${h}`));

/** A normalised ImageRef: on Docker Hub, one-component names already live under library/. */
const validRef: fc.Arbitrary<ImageRef> = fc
  .record({
    hub: fc.boolean(),
    domain,
    path: fc.array(pathComponent, { minLength: 1, maxLength: 4 }),
    tag: fc.option(tag, { nil: undefined }),
    digest: fc.option(digest, { nil: undefined }),
  })
  .map(({ hub, domain: d, path, tag: t, digest: g }) => {
    const dom = hub ? 'docker.io' : d;
    const p = hub && path.length === 1 ? `library/${path[0]}` : path.join('/');
    return { domain: dom, path: p, ...(t !== undefined && { tag: t }), ...(g !== undefined && { digest: g }) };
  })
  .filter((r) => r.domain.length + 1 + r.path.length <= 255);

/** Ways people write Docker Hub images: short names, index.docker.io, registry-1.docker.io, docker.io. */
const hubSpelling = fc
  .record({
    host: fc.constantFrom('', 'docker.io/', 'index.docker.io/', 'registry-1.docker.io/', 'DOCKER.IO/'),
    library: fc.boolean(),
    path: fc.array(pathComponent, { minLength: 1, maxLength: 3 }),
    tag: fc.option(tag, { nil: undefined }),
  })
  // without a host, a first component with a dot (or localhost) would be read as a registry host, as Docker does
  .filter(({ host, path }) => host !== '' || path.length === 1 || !(path[0]!.includes('.') || path[0] === 'localhost'))
  .map(({ host, library, path, tag: t }) => host + (library && path.length === 1 ? 'library/' : '') + path.join('/') + (t ? `:${t}` : ''));

describe('property: image references', function () {
  this.timeout(60_000);

  it('parseReference(formatReference(r)) equals r for every valid normalised reference', () => {
    fc.assert(
      fc.property(validRef, (r) => {
        assert.deepEqual(parseReference(formatReference(r)), r);
      }),
      RUNS,
    );
  });

  it('every generated valid reference parses, and formats back to the same text', () => {
    fc.assert(
      fc.property(validRef, (r) => {
        const text = formatReference(r);
        assert.equal(formatReference(parseReference(text)), text);
      }),
      RUNS,
    );
  });

  it('Docker Hub normalisation is idempotent and lands on docker.io', () => {
    fc.assert(
      fc.property(hubSpelling, (text) => {
        let once: ImageRef;
        try {
          once = parseReference(text);
        } catch (e) {
          // DOCKER.IO/... with an uppercase host is still a host; only path rules can reject here
          assert.ok(e instanceof BadReferenceError);
          return;
        }
        if (!text.startsWith('DOCKER.IO')) assert.equal(once.domain, 'docker.io');
        assert.deepEqual(normalize(once), once);
        const twice = parseReference(formatReference(once));
        assert.deepEqual(twice, once);
        assert.ok(once.path.includes('/'), `one-component Docker Hub path not under library/: ${once.path}`);
      }),
      RUNS,
    );
  });

  it('normalize is idempotent on any parsed reference', () => {
    fc.assert(
      fc.property(fc.oneof(validRef.map(formatReference), hubSpelling), (text) => {
        try {
          const r = parseReference(text);
          assert.deepEqual(normalize(normalize(r)), normalize(r));
        } catch (e) {
          assert.ok(e instanceof BadReferenceError);
        }
      }),
      RUNS,
    );
  });

  /** Breaks a valid reference in one of many ways; each must be refused. */
  const invalid = fc
    .tuple(validRef, fc.nat(1000), fc.constantFrom(...Array.from({ length: 14 }, (_, i) => i)))
    .map(([r, n, how]) => {
      const name = `${r.domain}/${r.path}`;
      const sfx = (r.tag ? `:${r.tag}` : '') + (r.digest ? `@${r.digest}` : '');
      switch (how) {
        case 0: // uppercase in the repository path
          return `${r.domain}/${r.path.slice(0, -1)}${r.path.slice(-1).toUpperCase() === r.path.slice(-1) ? 'Q' : r.path.slice(-1).toUpperCase()}${sfx}`;
        case 1:
          return ` ${name}${sfx}`;
        case 2:
          return `${name}${sfx}\n`;
        case 3: // empty path component
          return `${r.domain}//${r.path}${sfx}`;
        case 4: // trailing slash
          return `${name}/${sfx}`;
        case 5: // digest too short
          return `${name}@sha256:${'a'.repeat(n % 64)}`;
        case 6: // uppercase sha256 hex
          return `${name}@sha256:${'A'.repeat(64)}`;
        case 7: // tag starting with a dot or dash
          return `${name}:${n % 2 ? '.' : '-'}x`;
        case 8: // tag too long
          return `${name}:${'t'.repeat(129 + (n % 50))}`;
        case 9: // port out of range
          return `localhost:${65536 + n}/${r.path}${sfx}`;
        case 10: // @ with nothing after it
          return `${name}@`;
        case 11: // a colon with no tag
          return `${name}:`;
        case 12: // empty
          return '';
        default: // a character that is not allowed anywhere
          return `${name}${'!$%&*()=?'[n % 9]}x`;
      }
    });

  it('every generated invalid reference throws BadReferenceError', () => {
    fc.assert(
      fc.property(invalid, (text) => {
        assert.throws(() => parseReference(text), (e: unknown) => e instanceof BadReferenceError && e.message.startsWith('invalid image reference '), text);
      }),
      RUNS,
    );
  });

  it('no string makes the parser throw anything but BadReferenceError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 100 }), fc.stringMatching(/^[a-zA-Z0-9.:/@_\-[\]]{0,80}$/)), (text) => {
        try {
          const r = parseReference(text);
          // anything accepted formats to something that parses to itself
          assert.deepEqual(parseReference(formatReference(r)), r);
        } catch (e) {
          assert.ok(e instanceof BadReferenceError, `${String(e)} for ${JSON.stringify(text)}`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
