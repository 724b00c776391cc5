/**
 * metadata.yaml, the kpt function catalog's description of the function (fields as in
 * kpt-functions-catalog's functions/go/<fn>/metadata.yaml and its scripts/verify-docs.py), agrees with
 * package.json, the README, the Dockerfile and the examples/ folder.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { parse } from 'yaml';

const root = new URL('../../', import.meta.url);
const text = (path: string): string => readFileSync(new URL(path, root), 'utf8');

interface Metadata {
  image: string;
  description: string;
  tags: string[];
  sourceURL: string;
  examplePackageURLs: string[];
  emails: string[];
  license: string;
}

describe('metadata.yaml (kpt catalog function metadata)', () => {
  const meta = parse(text('metadata.yaml')) as Metadata;
  const pkg = JSON.parse(text('package.json')) as { name: string; version: string; description: string; license: string };

  it('has the fields the catalog requires, and no others', () => {
    assert.deepEqual(Object.keys(meta).sort(), ['description', 'emails', 'examplePackageURLs', 'image', 'license', 'sourceURL', 'tags']);
    assert.deepEqual(meta.tags, ['mutator']);
    assert.ok(Array.isArray(meta.emails));
    for (const e of meta.emails) assert.match(e, /^[^@\s]+@[^@\s]+\.[a-z]+$/i);
  });

  it('names the package: image, license and description match package.json', () => {
    assert.equal(meta.image.split('/').pop(), pkg.name);
    assert.doesNotMatch(meta.image, /[:@]/, 'the catalog image is untagged; versions are tags of it');
    assert.equal(meta.license, pkg.license);
    assert.ok(pkg.description.toLowerCase().includes(meta.description.replace(/\.$/, '').toLowerCase()), `package.json description does not say "${meta.description}"`);
  });

  it('the README uses this image at the package version, and the Dockerfile labels the same source', () => {
    const readme = text('README.md');
    const tags = [...readme.matchAll(new RegExp(`${meta.image.replace(/[.]/g, '\\.')}:([\\w.-]+)`, 'g'))].map((m) => m[1]);
    assert.ok(tags.length > 0, `README.md never names ${meta.image}`);
    assert.deepEqual([...new Set(tags)], [pkg.version], `README.md image tags must all be the package version ${pkg.version}`);
    assert.match(text('Dockerfile'), new RegExp(`org\\.opencontainers\\.image\\.source="${meta.sourceURL.replace(/[.]/g, '\\.')}"`));
  });

  it('lists every examples/ folder, and each listed example exists', () => {
    const prefix = `${meta.sourceURL}/tree/main/examples/`;
    const listed = meta.examplePackageURLs.map((u) => {
      assert.ok(u.startsWith(prefix), `${u} is not under ${prefix}`);
      return u.slice(prefix.length);
    });
    const folders = readdirSync(new URL('examples/', root)).filter((d) => statSync(new URL(`examples/${d}`, root)).isDirectory());
    assert.deepEqual([...listed].sort(), [...folders].sort());
    for (const name of listed) assert.ok(readdirSync(new URL(`examples/${name}/`, root)).includes('README.md'), `examples/${name} has no README.md`);
  });
});
