/** `npm run demo` (after the build `npm test` already did) works offline and checks its own result. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const ROOT = new URL('..', import.meta.url).pathname;

describe('the demo', function () {
  this.timeout(300_000);
  it('starts loopback registries, renders the example, prints decisions and the redacted Secret, and stops everything', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'demo/run.ts'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /after {5}proxy\.replicated\.com\/proxy\/demo-app\//);
    assert.match(r.stdout, /"username": "<license id>"/);
    assert.match(r.stdout, /checked: private images rewritten, public ones untouched/);
    assert.match(r.stdout, /registries stopped, temp files removed/);
    // The (made-up) id shows only in the command the demo echoes; the Secret and the report hold none.
    const leaks = (r.stdout + r.stderr).split('\n').filter((l) => l.includes('demo-license-id') && !l.includes('LICENSE_ID=demo-license-id node'));
    assert.deepEqual(leaks, [], 'the license id is redacted');
  });
});
