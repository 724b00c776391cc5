import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const BIN = new URL('../../dist/proxy-private-images.js', import.meta.url).pathname;

describe('hardening: --stream parse errors', () => {
  it('name the document and position without quoting the input (which may hold a license id)', () => {
    const secret = 'stream-lic-5a1b2c3d';
    const input = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkey: "${secret}\\q"\n`;
    const r = spawnSync(BIN, ['--stream', '--app-slug', 'x'], { input, encoding: 'utf8', env: { PATH: process.env['PATH']!, LICENSE_ID: 'other-license-1' } });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /document 2, is not valid YAML: Invalid escape sequence at line 5, column \d+/);
    assert.ok(!r.stderr.includes(secret), r.stderr);
  });
});
