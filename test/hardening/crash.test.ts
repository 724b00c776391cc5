/**
 * Crash-like paths of the process itself: a reader that goes away before the output is written (`| head`), stdin
 * closed. One line on stderr, exit 1, no stack trace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { parse, stringify } from 'yaml';
import { assertNoStack, bundle, execFn, SECRET_LICENSE } from './support.js';

function bigList(n: number): string {
  const items = Array.from({ length: n }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p${i}`, namespace: 'ns' },
    spec: { containers: [{ name: 'c', image: `quay.io/org/app-${i}:1` }] },
  }));
  return JSON.stringify({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items });
}

describe('hardening: crash-like paths of the process', function () {
  this.timeout(60_000);

  it('stdout closed early (EPIPE): one line on stderr, exit 1, no stack trace', async () => {
    const input = bigList(3000);
    const child = spawn(process.execPath, [bundle(), '--app-slug', 'app', '--private', 'quay.io/**'], {
      env: { ...process.env, LICENSE_ID: SECRET_LICENSE },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.once('data', () => child.stdout.destroy());
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    assert.equal(status, 1, stderr);
    assertNoStack(stderr, 'stderr');
    assert.match(stderr, /^proxy-private-images: cannot write the output: stdout was closed \(EPIPE\)\n$/);
    assert.ok(!stderr.includes(SECRET_LICENSE));
  });

  it('stdin closed (no input at all)', () => {
    const r = execFn('', ['--app-slug', 'app']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^proxy-private-images: no input/);
  });

  it('--help and --version still work and exit 0', () => {
    const h = execFn('', ['--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /Usage:/);
    const v = execFn('', ['--version']);
    assert.equal(v.status, 0);
    assert.match(v.stdout, /^proxy-private-images \S+\n$/);
  });

  it('a large successful output is written in full (no truncation at exit)', () => {
    const input = stringify(JSON.parse(bigList(2000)));
    const r = execFn(input, ['--app-slug', 'app', '--private', 'quay.io/**'], { env: { LICENSE_ID: SECRET_LICENSE } });
    assert.equal(r.status, 0, r.stderr);
    const out = parse(r.stdout) as { items: unknown[]; results: unknown[] };
    assert.equal(out.items.length, 2001);
    assert.equal(out.results.length, 2001);
  });
});
