/**
 * The container image, built from the Dockerfile with podman and run the way kpt and kustomize run it:
 * stdin in, stdout out, no network, user nobody, read-only root file system.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { IMAGE_TAGS, runImage, setupContainerImage } from '../support/podman.js';
import type { ContainerSetup } from '../support/podman.js';
import { assertNoLicense, cleanTemps, EXAMPLES, execSetup, LICENSE, run, runOk, SETUP_TIMEOUT_MS } from './harness.js';

describe('container image', function () {
  let setup: ContainerSetup;
  let env: NodeJS.ProcessEnv;
  /** A ResourceList as kpt sends it (kpt fn source: every item annotated), with the example's functionConfig. */
  let input: string;

  before(function () {
    this.timeout(SETUP_TIMEOUT_MS);
    env = execSetup().env;
    setup = setupContainerImage();
    const src = join(EXAMPLES, 'kpt-render');
    const rl = parse(runOk('kpt', ['fn', 'source', src], { env }).stdout) as { items: unknown[]; functionConfig?: unknown };
    rl.functionConfig = parse(readFileSync(join(src, 'proxy-private-images.yaml'), 'utf8'));
    input = stringify(rl);
  });
  after(cleanTemps);

  it('gives byte-identical output to the exec form (podman run -i --rm --network none --user nobody --read-only)', function () {
    this.timeout(120_000);
    const exec = run('proxy-private-images', [], { input, env });
    assert.equal(exec.status, 0, exec.stderr);
    const ctr = runImage(setup, input, ['-e', 'LICENSE_ID'], [], { ...setup.env, LICENSE_ID: LICENSE });
    assert.equal(ctr.status, 0, ctr.stderr);
    assert.equal(ctr.stdout, exec.stdout);
    assert.match(ctr.stdout, /kind: Secret/);
    assertNoLicense(ctr.stderr, 'stderr');
  });

  it('fails with exit 1 and a reason when the license id is missing, the input items untouched', function () {
    this.timeout(120_000);
    const r = runImage(setup, input);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /license/i);
    // the orchestrator gets the input back with an error result, and fails on the exit code
    const out = parse(r.stdout) as { items: unknown[]; results: { severity: string }[] };
    assert.deepEqual(out.items, (parse(input) as { items: unknown[] }).items);
    assert.ok(out.results.some((x) => x.severity === 'error'));
  });

  it('is tagged with the names the examples use, runs node as a non-root user, and carries OCI labels', function () {
    const inspect = JSON.parse(runOk('podman', ['image', 'inspect', setup.image], { env: setup.env }).stdout)[0] as {
      RepoTags: string[];
      Config: { User: string; Entrypoint: string[]; Labels: Record<string, string> };
    };
    for (const tag of IMAGE_TAGS) assert.ok(inspect.RepoTags.includes(tag), `missing tag ${tag}`);
    assert.equal(inspect.Config.User, 'node');
    assert.deepEqual(inspect.Config.Entrypoint, ['node', '/fn/proxy-private-images.js']);
    for (const label of ['source', 'version', 'title', 'description', 'licenses']) {
      assert.ok(inspect.Config.Labels[`org.opencontainers.image.${label}`], `label org.opencontainers.image.${label}`);
    }
  });

  it('answers --help without stdin', function () {
    this.timeout(60_000);
    const r = runImage(setup, '', [], ['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /proxy-private-images/);
  });
});
