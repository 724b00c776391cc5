import assert from 'node:assert/strict';
import { runCheck } from '../../src/cli/check.js';
import { decideAll } from '../../src/decide/decide.js';
import { createPolicy } from '../../src/decide/policy.js';
import { createProber, DEFAULT_PROBE_SETTINGS, type ProbeSettings } from '../../src/probe/index.js';
import { closedPort } from '../support/misbehaving.js';
import { startRegistry, type RegistryHandle } from '../support/registries.js';

describe('check command (runCheck) against real registries', function () {
  this.timeout(60_000);
  let open: RegistryHandle;
  let basic: RegistryHandle;
  let token: RegistryHandle;
  let refused: number;

  before(async () => {
    [open, basic, token] = await Promise.all([startRegistry(), startRegistry({ auth: 'basic' }), startRegistry({ auth: 'token', anonymousPull: ['pub/*'] })]);
    await Promise.all([open.push('pub/app', '1'), basic.push('priv/app', '1'), token.push('pub/app', '1'), token.push('priv/app', '1')]);
    refused = await closedPort();
  });
  after(async () => {
    await Promise.all([open, basic, token].filter(Boolean).map((r) => r.stop()));
  });

  async function check(images: string[]): Promise<{ stdout: string; exitCode: number; lines: string[][] }> {
    const settings: ProbeSettings = { ...DEFAULT_PROBE_SETTINGS, retries: 1, insecureRegistries: [open.host, basic.host, token.host, `127.0.0.1:${refused}`] };
    const prober = createProber(settings, { env: {}, backoffBaseMs: 10 });
    try {
      // no globs and no vendor registries: every image goes to the probe, as a render with an empty policy would
      const policy = createPolicy({ proxyHost: 'proxy.replicated.com', vendorRegistries: [], privateGlobs: [], publicGlobs: [] });
      const out = await runCheck(images, (refs) => decideAll(refs, policy, 'fail', () => prober));
      return { ...out, lines: out.stdout.trimEnd().split('\n').map((l) => l.split(/ {2,}/)) };
    } finally {
      await prober.close();
    }
  }

  it('gives the right answer and reason for each kind of registry, one line per image in order', async () => {
    const images = [
      `${open.host}/pub/app:1`,
      `${basic.host}/priv/app:1`,
      `${token.host}/pub/app:1`,
      `${token.host}/priv/app:1`,
      `${open.host}/pub/missing:1`,
      `127.0.0.1:${refused}/org/app:1`,
    ];
    const { lines, exitCode } = await check(images);
    assert.deepEqual(lines.map((l) => l[0]), images);
    assert.deepEqual(lines.map((l) => l[1]), ['public', 'private', 'public', 'private', 'private (404)', 'inconclusive']);
    assert.match(lines[0]![2]!, new RegExp(`^HEAD http://${open.host}/v2/pub/app/manifests/1 answered 200$`));
    assert.match(lines[1]![2]!, /answered 401 \(Basic auth required\)$/);
    assert.match(lines[2]![2]!, /answered 200 after an anonymous token$/);
    assert.match(lines[3]![2]!, /answered 401 after an anonymous token \(insufficient_scope\)$/);
    assert.match(lines[4]![2]!, new RegExp(`^HEAD http://${open.host}/v2/pub/missing/manifests/1 answered 404$`));
    assert.match(lines[5]![2]!, new RegExp(`^GET http://127.0.0.1:${refused}/v2/ failed: connection refused \\(after 1 retry\\)$`));
    assert.equal(exitCode, 1, 'an inconclusive image fails the command');
  });

  it('exits 0 when every image is decided', async () => {
    const { exitCode, lines } = await check([`${open.host}/pub/app:1`, `${basic.host}/priv/app:1`, `${open.host}/pub/app:1`]);
    assert.equal(exitCode, 0);
    assert.equal(lines.length, 3);
  });

  it('reports an unparsable reference on its line and exits 1, still checking the others', async () => {
    const { exitCode, lines } = await check(['Bad Image!', `${open.host}/pub/app:1`]);
    assert.equal(exitCode, 1);
    assert.deepEqual(lines[0]!.slice(0, 2), ['Bad Image!', 'invalid']);
    assert.match(lines[0]![2]!, /^invalid image reference: /);
    assert.equal(lines[1]![1], 'public');
  });
});
