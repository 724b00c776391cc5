/**
 * Input size. Decision: inputs above 16 MiB are refused before parsing, with a message that says so (exit 1, empty
 * stdout). The yaml Document needs about 70-100 times the input's size in memory for ordinary manifests (measured:
 * 50 MB of Deployments took 3.7 GB and 105 s; 16 MB of one flow list of tiny scalars took 4.5 GB), so a 50 MB input
 * cannot "just work" within Node's default heap on a CI machine: it would die with "JavaScript heap out of memory".
 * Inputs below the limit work: a 4 MB, 8,000-Deployment list runs inside a 1 GiB heap.
 */
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { MAX_INPUT_BYTES } from '../../src/read/input.js';
import { run } from '../../src/run.js';
import { assertRejected, execFn, RL_HEAD, SECRET_LICENSE, type ResourceListOut } from './support.js';

function deployments(targetBytes: number): { text: string; count: number } {
  const parts: string[] = [RL_HEAD, 'items:\n'];
  let size = parts.join('').length;
  let i = 0;
  while (size < targetBytes) {
    const s =
      `- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: app-${i}\n    namespace: ns-${i % 20}\n` +
      `    annotations:\n      note: "${'x'.repeat(200)}"\n  spec:\n    template:\n      spec:\n        containers:\n` +
      `        - name: c\n          image: quay.io/org/app-${i % 500}:v1\n        - name: d\n          image: nginx:1.${i % 30}\n`;
    parts.push(s);
    size += s.length;
    i++;
  }
  return { text: parts.join(''), count: i };
}

const ARGS = ['--app-slug', 'app', '--private', 'quay.io/**', '--public', 'docker.io/**'];

describe('hardening: input size', function () {
  this.timeout(170_000);

  it('the limit is 16 MiB', () => {
    assert.equal(MAX_INPUT_BYTES, 16 * 1024 * 1024);
  });

  it('a 50 MB input fails at once and clearly, inside a 256 MiB heap, with nothing on stdout', () => {
    const { text } = deployments(50 * 1024 * 1024);
    const r = execFn(text, ARGS, { env: { LICENSE_ID: SECRET_LICENSE }, nodeArgs: ['--max-old-space-size=256'] });
    assertRejected(r, /^proxy-private-images: input is 50\.\d MiB, more than the 16 MiB this function reads: run it on smaller packages/);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
  });

  it('in-process run() refuses a string over the limit the same way', async () => {
    const text = RL_HEAD + 'items: []\n' + '#'.repeat(MAX_INPUT_BYTES);
    const out = await run(text, { env: {}, createProber: () => assert.fail('no probe') });
    assert.equal(out.exitCode, 1);
    assert.equal(out.stdout, '');
    assert.match(out.stderr, /input is 16\.0 MiB, more than the 16 MiB/);
  });

  it('a 4 MB list of 8,000+ Deployments works inside a 1 GiB heap', () => {
    const { text, count } = deployments(4 * 1024 * 1024);
    const r = execFn(text, ARGS, { env: { LICENSE_ID: SECRET_LICENSE }, nodeArgs: ['--max-old-space-size=1024'] });
    assert.equal(r.status, 0, r.stderr.slice(0, 2000));
    const out = parse(r.stdout, { maxAliasCount: -1 }) as ResourceListOut;
    // every Deployment, plus one Secret per namespace (20)
    assert.equal(out.items.length, count + 20);
    const first = out.items[0] as { spec: { template: { spec: { containers: { image: string }[] } } } };
    assert.equal(first.spec.template.spec.containers[0]!.image, 'proxy.replicated.com/proxy/app/quay.io/org/app-0:v1');
    assert.equal(first.spec.template.spec.containers[1]!.image, 'nginx:1.0');
  });
});
