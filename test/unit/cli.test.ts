/**
 * The command line in-process (`runCli`): argv, env, stdin, files and the prober injected, as the bin wires them.
 * The bundle's own process behaviour (exit on write, EPIPE, the uncaught handler) is in test/cli.test.ts and
 * test/hardening/crash.test.ts.
 */
import assert from 'node:assert/strict';
import { parse, parseAllDocuments } from 'yaml';
import { MAX_INPUT_BYTES } from '../../src/read/input.js';
import type { ProbeOutcome } from '../../src/probe/types.js';
import { cli } from '../helpers/cli.js';
import { fakeProber, LICENSE } from '../helpers/run.js';

const POD = (name: string, image: string, ns = 'shop'): string =>
  `- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: ${name}\n    namespace: ${ns}\n  spec:\n    containers:\n    - name: c\n      image: ${image}\n`;
const RL = (items: string): string => `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${items}`;
const GLOBS = ['--app-slug', 'acme', '--private', 'quay.io/acme/**', '--public', 'docker.io/**'];

function assertEveryLinePrefixed(stderr: string): void {
  assert.notEqual(stderr, '');
  for (const line of stderr.trimEnd().split('\n')) assert.match(line, /^proxy-private-images: /, `stderr line without the prefix: ${JSON.stringify(line)}`);
}

describe('runCli: the command line in-process', () => {
  it('--help and --version answer without reading stdin or making a prober', async () => {
    for (const argv of [['--help'], ['-h'], ['--version']]) {
      const r = await cli(argv, { stdin: 'not read' });
      assert.equal(r.exitCode, 0);
      assert.equal(r.stderr, '');
      assert.equal(r.stdinReads, 0);
      assert.deepEqual(r.proberSettings, []);
    }
    assert.match((await cli(['--help'])).stdout, /^Usage:$/m);
    assert.match((await cli(['--version'])).stdout, /^proxy-private-images \S+\n$/);
  });

  it('renders a ResourceList from stdin with the flags as config', async () => {
    const r = await cli(GLOBS, { stdin: RL(POD('api', 'quay.io/acme/api:1') + POD('web', 'nginx:1.25')) });
    assert.equal(r.exitCode, 0, r.stderr);
    const out = parse(r.stdout);
    assert.equal(out.items[0].spec.containers[0].image, 'proxy.replicated.com/proxy/acme/quay.io/acme/api:1');
    assert.deepEqual(out.items[0].spec.imagePullSecrets, [{ name: 'acme-registry' }]);
    assert.equal(out.items[1].spec.containers[0].image, 'nginx:1.25');
    assert.deepEqual(r.proberSettings, [], 'every image was decided by a glob: no prober made');
  });

  it('--image-env and --image-arg name the values that hold images, repeatable', async () => {
    const pod = `- apiVersion: v1
  kind: Pod
  metadata: {name: op, namespace: acme}
  spec:
    containers:
    - name: c
      image: nginx:1.25
      args: [--engine-image, quay.io/acme/engine:1, --reloader=quay.io/acme/reloader:1]
      env: [{name: CSI_ATTACHER_IMAGE, value: quay.io/acme/attacher:1}]
`;
    // a flag glob starts with a dash, so it is given after '=' (node's parser takes '--image-arg --x' for two flags)
    const r = await cli([...GLOBS, '--image-env', 'CSI_*_IMAGE', '--image-arg=--engine-image', '--image-arg=--reloader'], { stdin: RL(pod) });
    assert.equal(r.exitCode, 0, r.stderr);
    const c = parse(r.stdout).items[0].spec.containers[0];
    const P = 'proxy.replicated.com/proxy/acme/quay.io/acme';
    assert.deepEqual(c.args, ['--engine-image', `${P}/engine:1`, `--reloader=${P}/reloader:1`]);
    assert.equal(c.env[0].value, `${P}/attacher:1`);
    const bad = await cli([...GLOBS, '--image-arg', 'engine-image'], { stdin: RL(pod) });
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /imagesInValues\.args\[0\] must be a flag as written/);
    const ambiguous = await cli([...GLOBS, '--image-arg', '--engine-image'], { stdin: RL(pod) });
    assert.equal(ambiguous.exitCode, 1);
    assert.match(ambiguous.stderr, /^proxy-private-images: .*use '--image-arg=-XYZ'/m);
  });

  it('usage errors are one prefixed line, exit 1, no stdout, no stdin read', async () => {
    for (const [argv, message] of [
      [['--app-slgu', 'x'], /^proxy-private-images: Unknown option '--app-slgu'/],
      [['extra'], /^proxy-private-images: unexpected argument "extra"/],
      [['--timeout', 'abc'], /^proxy-private-images: --timeout takes a number of seconds, got "abc"/],
      [['check'], /^proxy-private-images: check needs at least one IMAGE/],
    ] as const) {
      const r = await cli(argv, { stdin: RL(POD('a', 'quay.io/acme/a:1')) });
      assert.equal(r.exitCode, 1, argv.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split('\n').length, 2, r.stderr);
      assert.equal(r.stdinReads, 0);
    }
  });

  it('every stderr line of a failed render starts proxy-private-images:, result lines and detail lines too', async () => {
    const bad = await cli(GLOBS, { stdin: RL(POD('a', 'Bad/Name') + POD('b', 'x@sha256:1')) });
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /^proxy-private-images: \[error\] v1\/Pod\/shop\/a spec\.containers\[0\]\.image: /m);
    assertEveryLinePrefixed(bad.stderr);
    // several config problems: a first line and one indented line each
    const config = await cli(['--app-slug', 'acme', '--on-error', 'maybe', '--namespace', 'Bad_NS'], { stdin: RL(POD('a', 'quay.io/acme/a:1')) });
    assert.equal(config.exitCode, 1);
    assert.ok(config.stderr.trimEnd().split('\n').length >= 3, config.stderr);
    assertEveryLinePrefixed(config.stderr);
  });

  it('--stream: a stream that is not YAML is refused with a prefixed line (it printed "error: ..." before)', async () => {
    const r = await cli(['--stream', ...GLOBS], { stdin: 'apiVersion: v1\nkind: Pod\n---\nmetadata: [\n' });
    assert.equal(r.exitCode, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^proxy-private-images: input stream, document 2, is not valid YAML/);
    assertEveryLinePrefixed(r.stderr);
  });

  it('--stream renders a plain stream, and a failure there leaves stdout empty with prefixed result lines', async () => {
    const stream = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: shop\nspec:\n  containers:\n  - name: c\n    image: quay.io/acme/a:1\n';
    const ok = await cli(['--stream', ...GLOBS], { stdin: stream });
    assert.equal(ok.exitCode, 0, ok.stderr);
    const docs = parseAllDocuments(ok.stdout).map((d) => (d as { toJS(): any }).toJS());
    assert.deepEqual(docs.map((d) => d.kind), ['Pod', 'Secret']);
    const failed = await cli(['--stream', ...GLOBS], { stdin: stream.replace('quay.io/acme/a:1', 'Bad/Name') });
    assert.equal(failed.exitCode, 1);
    assert.equal(failed.stdout, '');
    assertEveryLinePrefixed(failed.stderr);
  });

  it('reads --config through the injected file reader, and names a file it cannot read', async () => {
    const config = 'apiVersion: fn.proxy-private-images.dev/v1alpha1\nkind: ProxyPrivateImages\nappSlug: filecfg\nimages:\n  private: ["quay.io/acme/**"]\n';
    const r = await cli(['--config', 'cfg.yaml'], { stdin: RL(POD('a', 'quay.io/acme/a:1')), files: { 'cfg.yaml': config } });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /image: proxy\.replicated\.com\/proxy\/filecfg\/quay\.io\/acme\/a:1/);
    const missing = await cli(['--config', 'nope.yaml'], { stdin: RL(POD('a', 'quay.io/acme/a:1')) });
    assert.equal(missing.exitCode, 1);
    assert.equal(missing.stdout, '');
    assert.equal(missing.stderr, 'proxy-private-images: cannot read --config nope.yaml: ENOENT\n');
    const two = await cli(['--config', 'two.yaml'], { stdin: RL(POD('a', 'quay.io/acme/a:1')), files: { 'two.yaml': 'a: 1\n---\nb: 2\n' } });
    assert.match(two.stderr, /^proxy-private-images: --config two\.yaml holds 2 YAML documents, expected one functionConfig\n$/);
  });

  it('runs as kustomize legacy exec plugin when kustomize set its variables and the only argument is a readable file', async () => {
    const config = 'apiVersion: fn.proxy-private-images.dev/v1alpha1\nkind: ProxyPrivateImages\nmetadata:\n  name: p\nappSlug: plug\nimages:\n  private: ["quay.io/acme/**"]\n';
    const stream = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - name: c\n    image: quay.io/acme/a:1\n';
    const env = { KUSTOMIZE_PLUGIN_CONFIG_ROOT: '/k' };
    const r = await cli(['/tmp/kust-plugin-config-1'], { stdin: stream, env, files: { '/tmp/kust-plugin-config-1': config } });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^ {4}image: proxy\.replicated\.com\/proxy\/plug\/quay\.io\/acme\/a:1$/m);
    assert.match(r.stdout, /^---\napiVersion: v1\nkind: Secret\n/m);
    // the same argument without a readable file is an ordinary (wrong) command line
    const notPlugin = await cli(['/tmp/missing'], { stdin: stream, env });
    assert.match(notPlugin.stderr, /^proxy-private-images: unexpected argument "\/tmp\/missing"/);
    // and without kustomize's variables the file is never taken as a plugin config
    const noEnv = await cli(['/tmp/kust-plugin-config-1'], { stdin: stream, files: { '/tmp/kust-plugin-config-1': config } });
    assert.equal(noEnv.exitCode, 1);
  });

  it('refuses input over the size limit by its bytes, before decoding', async () => {
    const big = Buffer.alloc(MAX_INPUT_BYTES + 1, 0x20);
    const r = await cli(GLOBS, { stdin: big });
    assert.equal(r.exitCode, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^proxy-private-images: input is 16\.0 MiB, more than the 16 MiB this function reads/);
    // multi-byte characters: 6 MiB of 'é' is 12 MiB of UTF-8, under the limit; 9 MiB of them is over it
    const over = await cli(GLOBS, { stdin: 'é'.repeat(9 * 1024 * 1024) });
    assert.match(over.stderr, /^proxy-private-images: input is 18\.0 MiB/);
  });

  it('never prints the environment license id on stderr, even when the command line holds it', async () => {
    const r = await cli([`--${LICENSE}`], {});
    assert.equal(r.exitCode, 1);
    assert.doesNotMatch(r.stderr, new RegExp(LICENSE));
    assert.match(r.stderr, /^proxy-private-images: Unknown option '--<redacted>'/);
  });

  it('an unexpected failure is one "internal error" line, no stack trace', async () => {
    const prober = { probeAll: async () => Promise.reject(new Error('boom')), close: async () => {} };
    const r = await cli(['--app-slug', 'acme'], { stdin: RL(POD('a', 'quay.io/acme/a:1')), prober });
    assert.equal(r.exitCode, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'proxy-private-images: internal error: boom\n');
  });
});

describe('runCli check: the same decision a render makes', () => {
  const IMAGES = [
    'quay.io/acme/api:1', //            images.private
    'docker.io/library/nginx:1', //     images.public
    'registry.replicated.com/acme/x:1', // vendor registry
    'proxy.replicated.com/proxy/acme/quay.io/acme/api:1', // already proxied
    'ghcr.io/other/open:1', //          probe: public
    'ghcr.io/other/closed:1', //        probe: private
    'ghcr.io/other/gone:1', //          probe: 404
    'ghcr.io/other/flaky:1', //         probe: inconclusive
  ];
  const ANSWERS: Record<string, ProbeOutcome> = {
    'ghcr.io/other/open:1': { verdict: 'public', reason: 'HEAD https://ghcr.io/v2/other/open/manifests/1 answered 200' },
    'ghcr.io/other/closed:1': { verdict: 'private', reason: 'answered 401 after an anonymous token' },
    'ghcr.io/other/gone:1': { verdict: 'private-404', reason: 'answered 404' },
    'ghcr.io/other/flaky:1': { verdict: 'inconclusive', reason: 'answered 503 (after 3 retries)' },
  };
  const FLAGS = ['--private', 'quay.io/acme/**', '--public', 'docker.io/**'];

  function rows(stdout: string): string[][] {
    return stdout.trimEnd().split('\n').map((l) => l.split(/ {2,}/));
  }

  it('labels each image as policy, probe and probe.onError decide it, and probes only what the policy cannot tell', async () => {
    const prober = fakeProber(ANSWERS);
    const r = await cli(['check', ...FLAGS, ...IMAGES], { prober });
    assert.deepEqual(prober.asked.sort(), Object.keys(ANSWERS).sort());
    assert.deepEqual(
      rows(r.stdout).map((row) => row.slice(0, 2)),
      IMAGES.map((image, i) => [image, ['private', 'public', 'private', 'private', 'public', 'private', 'private (404)', 'inconclusive'][i]!]),
    );
    const reasons = rows(r.stdout).map((row) => row[2]);
    assert.equal(reasons[0], 'matches images.private (no probe)');
    assert.equal(reasons[2], 'registry.replicated.com is a vendor registry, not rewritten, needs the pull Secret (no probe)');
    assert.equal(reasons[7], 'answered 503 (after 3 retries)');
    assert.equal(r.exitCode, 1, 'an undecided image fails check as it fails a render');
    assert.equal(r.stdinReads, 0);
  });

  it('shows the decision cache warnings a render would show (check printed none before)', async () => {
    const warned = { ...fakeProber(ANSWERS), warnings: () => ['the decision cache /tmp/c.json: dropped the entry for ghcr.io/other/x:1: its verdict is not public, private or private-404'] };
    const r = await cli(['check', '--cache-file', '/tmp/c.json', 'ghcr.io/other/open:1'], { prober: warned });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^ghcr\.io\/other\/open:1 +public/m);
    assert.equal(r.stderr, 'proxy-private-images: [warning]: the decision cache /tmp/c.json: dropped the entry for ghcr.io/other/x:1: its verdict is not public, private or private-404\n');
    const quiet = await cli(['check', 'quay.io/acme/api:1', ...FLAGS], { prober: warned });
    assert.equal(quiet.stderr, '', 'no prober, no warnings');
  });

  it('applies probe.onError as a render does (check ignored it before)', async () => {
    const r = await cli(['check', '--on-error', 'private', 'ghcr.io/other/flaky:1'], { prober: fakeProber(ANSWERS) });
    assert.equal(r.exitCode, 0, r.stdout);
    assert.deepEqual(rows(r.stdout)[0]!.slice(0, 2), ['ghcr.io/other/flaky:1', 'private']);
    assert.match(rows(r.stdout)[0]![2]!, /answered 503 \(after 3 retries\); treated as private \(probe\.onError: private\)/);
  });

  it('asks the injected prober factory with the probe settings a render would use (cache file, timeouts)', async () => {
    const r = await cli(['check', '--cache-file', '/tmp/c.json', '--timeout', '3', 'ghcr.io/other/open:1'], { prober: fakeProber(ANSWERS) });
    assert.equal(r.exitCode, 0, r.stdout);
    assert.equal(r.proberSettings.length, 1);
    assert.equal(r.proberSettings[0]!.cacheFile, '/tmp/c.json');
    assert.equal(r.proberSettings[0]!.timeoutSeconds, 3);
    const cached = await cli(['check', 'ghcr.io/other/open:1'], { prober: fakeProber({ 'ghcr.io/other/open:1': { ...ANSWERS['ghcr.io/other/open:1']!, cached: true } }) });
    assert.match(cached.stdout, /answered 200 \(cached\)$/m);
  });

  it('agrees with a render of the same images under the same flags: private <=> pull Secret, undecided <=> failure', async () => {
    for (const onError of ['fail', 'private', 'public']) {
      const flags = [...FLAGS, '--on-error', onError];
      const checked = rows((await cli(['check', ...flags, ...IMAGES], { prober: fakeProber(ANSWERS) })).stdout);
      for (const [i, image] of IMAGES.entries()) {
        const render = await cli(['--app-slug', 'acme', ...flags], { stdin: RL(POD(`p${i}`, image)), prober: fakeProber(ANSWERS) });
        const label = checked[i]![1]!;
        if (label === 'inconclusive') {
          assert.equal(render.exitCode, 1, `${image} (${onError}): check says inconclusive, the render must fail`);
          continue;
        }
        assert.equal(render.exitCode, 0, `${image} (${onError}): ${render.stderr}`);
        const out = parse(render.stdout);
        const pod = out.items.find((x: any) => x.kind === 'Pod');
        const hasSecret = out.items.some((x: any) => x.kind === 'Secret');
        assert.equal(hasSecret, label.startsWith('private'), `${image} (${onError}): check says ${label}, the render ${hasSecret ? 'added' : 'did not add'} the pull Secret`);
        assert.equal(pod.spec.imagePullSecrets !== undefined, label.startsWith('private'));
      }
    }
  });
});
