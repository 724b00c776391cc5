/**
 * Secret hygiene: a recognisable license id, fed in every way the function reads one (env LICENSE_ID, a custom
 * license.fromEnv variable, functionConfig license.id, a kots License item with and without a kpt path annotation),
 * through every failure path reachable from outside (unreadable input, not a ResourceList, bad config, bad image,
 * an undecidable probe with onError=fail against a closed loopback port, missing appSlug, no pull Secret possible,
 * --stream failures, bad flags and files) and the success paths (plain, warnings, kustomization output).
 *
 * Every byte of stdout and stderr is searched for the id, its base64 and the base64 of `id:id` (the `auth` value).
 * Allowed: the id inside a Secret's `.dockerconfigjson` (decoded and checked), and the input's own copies where the
 * input held it (functionConfig `license.id`, a License item that stays because kpt would delete its file) — always
 * at the same place, never more copies than the input had, never in results or stderr.
 */
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { refusedHost } from '../support/misbehaving.js';
import { assertNoStack, execFn, indent, RL_HEAD, SECRET_LICENSE as ID } from './support.js';

const B64 = Buffer.from(ID).toString('base64');
const B64_AUTH = Buffer.from(`${ID}:${ID}`).toString('base64');
const NEEDLES = [ID, B64, B64_AUTH];

type Source = 'env' | 'fromEnv' | 'config' | 'item' | 'kpt-item';
const SOURCES: Source[] = ['env', 'fromEnv', 'config', 'item', 'kpt-item'];

interface Case {
  readonly name: string;
  /** the ResourceList text (or anything else) on stdin */
  readonly input: (s: Source) => string;
  readonly args?: readonly string[];
  /** 0 or 1 */
  readonly exit: number;
  /** stdout must be empty */
  readonly emptyStdout?: boolean;
  /** a Secret with the id must be in stdout */
  readonly secret?: boolean;
}

function countOf(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

function configFor(s: Source, extra = ''): string {
  const license = s === 'config' ? `license:\n  id: ${ID}\n` : s === 'fromEnv' ? 'license:\n  fromEnv: MY_LICENSE\n' : '';
  return `apiVersion: fn.proxy-private-images.dev/v1alpha1\nkind: ProxyPrivateImages\nmetadata: {name: fn}\nappSlug: app\nimages:\n  private: ["quay.io/**"]\n  public: ["docker.io/**"]\n${license}${extra}`;
}

function licenseItem(s: Source): string {
  if (s === 'item') return `- apiVersion: kots.io/v1beta1\n  kind: License\n  metadata: {name: customer}\n  spec:\n    licenseID: ${ID}\n    appSlug: app\n`;
  if (s === 'kpt-item') {
    return `- apiVersion: kots.io/v1beta1\n  kind: License\n  metadata:\n    name: customer\n    annotations:\n      config.kubernetes.io/path: 'license.yaml'\n      internal.config.kubernetes.io/path: 'license.yaml'\n  spec:\n    licenseID: ${ID}\n`;
  }
  return '';
}

function list(s: Source, images: readonly string[], extraConfig = '', config = true): string {
  const pods = images
    .map((image, i) => `- apiVersion: v1\n  kind: Pod\n  metadata: {name: p${i}, namespace: ns}\n  spec:\n    containers:\n    - name: c\n      image: ${image}\n`)
    .join('');
  return `${RL_HEAD}items:\n${pods}${licenseItem(s)}${config ? `functionConfig:\n${indent(configFor(s, extraConfig), 2)}` : ''}`;
}

function envFor(s: Source): Record<string, string | undefined> {
  if (s === 'env') return { LICENSE_ID: ID };
  if (s === 'fromEnv') return { MY_LICENSE: ID, LICENSE_ID: undefined };
  return { LICENSE_ID: undefined };
}

/** Checks a Secret's payload and returns stdout with that payload cut out. */
function withoutSecretPayloads(stdout: string): { rest: string; secrets: number } {
  if (stdout.trim() === '') return { rest: stdout, secrets: 0 };
  const docs = stdout.trimStart().startsWith('{') ? [JSON.parse(stdout)] : [parse(stdout)];
  let rest = stdout;
  let secrets = 0;
  const visit = (o: unknown): void => {
    if (Array.isArray(o)) o.forEach(visit);
    else if (o && typeof o === 'object') {
      const obj = o as Record<string, unknown>;
      if (obj['kind'] === 'Secret' && obj['type'] === 'kubernetes.io/dockerconfigjson') {
        const payload = (obj['data'] as Record<string, string>)['.dockerconfigjson']!;
        const json = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as { auths: Record<string, { username: string; password: string; auth: string }> };
        for (const [host, a] of Object.entries(json.auths)) {
          assert.equal(a.username, ID, `username for ${host}`);
          assert.equal(a.password, ID, `password for ${host}`);
          assert.equal(a.auth, B64_AUTH, `auth for ${host}`);
        }
        rest = rest.split(payload).join('<payload>');
        secrets++;
      }
      Object.values(obj).forEach(visit);
    }
  };
  docs.forEach(visit);
  return { rest, secrets };
}

/** Where the plain id may stay: copies the input already had, at the same place. */
function assertOnlyEchoes(rest: string, input: string, s: Source, where: string): void {
  for (const n of NEEDLES) {
    const allowed = n === ID && (s === 'config' || s === 'item' || s === 'kpt-item') ? countOf(input, n) : 0;
    assert.ok(countOf(rest, n) <= allowed, `${where}: ${n === ID ? 'the id' : 'a base64 form of the id'} appears ${countOf(rest, n)} times, the input had ${allowed}:\n${rest.slice(0, 3000)}`);
  }
  if (rest.trim() === '' || countOf(rest, ID) === 0) return;
  // every copy is where the input had it
  const out = rest.trimStart().startsWith('{') ? JSON.parse(rest) : parse(rest);
  const results = JSON.stringify(out?.results ?? []);
  assert.ok(!results.includes(ID), `${where}: the id is in results`);
  const items = (out?.items ?? []) as Record<string, unknown>[];
  for (const item of items) {
    if (!JSON.stringify(item).includes(ID)) continue;
    assert.equal(item['kind'], 'License', `${where}: the id is in a ${String(item['kind'])}`);
  }
  if (JSON.stringify(out?.functionConfig ?? {}).includes(ID)) assert.equal(s, 'config', `${where}: functionConfig gained the id`);
}

describe('hardening: the license id never leaks', function () {
  this.timeout(120_000);
  let host = "";
  before(async () => {
    host = await refusedHost();
  });

  const cases: Case[] = [
    { name: 'success: private image, Secret created', input: (s) => list(s, ['quay.io/org/api:1', 'nginx:1']), exit: 0, secret: true },
    { name: 'success: output kustomization', input: (s) => list(s, ['quay.io/org/api:1'], 'output: kustomization\n'), exit: 0, secret: true },
    { name: 'success: JSON in and out', input: (s) => JSON.stringify(parse(list(s, ['quay.io/org/api:1']))), exit: 0, secret: true },
    {
      name: 'success with warnings: undecidable image, onError private',
      input: (s) => list(s, [`${host}/org/api:1`], `probe:\n  insecureRegistries: ["${host}"]\n  retries: 0\n  onError: private\n`),
      exit: 0,
      secret: true,
    },
    {
      name: 'success: an existing Secret of that name is updated',
      input: (s) =>
        list(s, ['quay.io/org/api:1']).replace('items:\n', 'items:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: app-registry, namespace: ns}\n  type: kubernetes.io/dockerconfigjson\n  data: {x: eQ==}\n'),
      exit: 0,
      secret: true,
    },
    { name: 'unreadable: not YAML', input: (s) => list(s, ['quay.io/org/api:1']) + 'oops: [\n', exit: 1, emptyStdout: true },
    { name: 'unreadable: duplicate key', input: (s) => list(s, ['quay.io/org/api:1']).replace('kind: ResourceList\n', 'kind: ResourceList\nkind: ResourceList\n'), exit: 1, emptyStdout: true },
    { name: 'unreadable: not a ResourceList', input: (s) => list(s, ['quay.io/org/api:1']).replace('kind: ResourceList', 'kind: List'), exit: 1, emptyStdout: true },
    { name: 'unreadable: an item without kind', input: (s) => list(s, ['quay.io/org/api:1']).replace('  kind: Pod\n', ''), exit: 1, emptyStdout: true },
    { name: 'unreadable: a multi-document stream', input: (s) => `${list(s, ['quay.io/org/api:1'])}---\n${list(s, ['nginx'])}`, exit: 1, emptyStdout: true },
    { name: 'bad config: unknown field', input: (s) => list(s, ['quay.io/org/api:1'], 'licence: {id: x}\n'), exit: 1 },
    { name: 'bad config: wrong type', input: (s) => list(s, ['quay.io/org/api:1'], 'probe: {retries: many}\n'), exit: 1 },
    { name: 'bad image: uppercase', input: (s) => list(s, ['quay.io/Org/api:1']), exit: 1 },
    { name: 'bad image: not a string', input: (s) => list(s, ['{a: 1}']), exit: 1 },
    {
      name: 'undecidable probe, onError fail (closed loopback port)',
      input: (s) => list(s, [`${host}/org/api:1`], `probe:\n  insecureRegistries: ["${host}"]\n  retries: 0\n`),
      exit: 1,
    },
    { name: 'missing appSlug', input: (s) => list(s, ['quay.io/org/api:1']).replace('  appSlug: app\n', ''), exit: 1 },
    { name: 'no functionConfig, flags only, bad image', input: (s) => list(s, ['Quay.io/X/y'], '', false), args: ['--app-slug', 'app', '--private', 'quay.io/**'], exit: 1 },
    { name: 'bad flag', input: (s) => list(s, ['quay.io/org/api:1']), args: ['--no-such-flag'], exit: 1, emptyStdout: true },
    { name: '--config file missing', input: (s) => list(s, ['quay.io/org/api:1'], '', false), args: ['--config', '/nonexistent/c.yaml'], exit: 1, emptyStdout: true },
    {
      name: '--ca-file missing, probe needed',
      input: (s) => list(s, [`${host}/org/api:1`], `probe:\n  caFile: /nonexistent/ca.pem\n  retries: 0\n`),
      exit: 1,
    },
    { name: '--cache-file is a directory', input: (s) => list(s, ['quay.io/org/api:1'], 'probe:\n  cacheFile: /tmp\n'), exit: 0, secret: true },
  ];

  for (const c of cases) {
    for (const s of SOURCES) {
      it(`${c.name} [license from ${s}]`, () => {
        const input = c.input(s);
        const r = execFn(input, c.args ?? [], { env: envFor(s) });
        // output: kustomization refuses a kpt package (path annotations): kpt would delete every package file
        const refusedKpt = s === 'kpt-item' && c.name.includes('kustomization');
        const exit = refusedKpt ? 1 : c.exit;
        assert.equal(r.status, exit, `exit ${r.status}: ${r.stderr}`);
        if (refusedKpt) assert.match(r.stderr, /output: kustomization cannot run on a kpt package/);
        assertNoStack(r.stderr, 'stderr');
        assertNoStack(r.stdout, 'stdout');
        for (const n of NEEDLES) assert.ok(!r.stderr.includes(n), `stderr holds the license id (${n}):\n${r.stderr}`);
        if (c.emptyStdout) assert.equal(r.stdout, '');
        const { rest, secrets } = withoutSecretPayloads(r.stdout);
        if (c.secret && !refusedKpt) assert.ok(secrets > 0, 'no pull Secret in the output');
        else assert.equal(secrets, 0, 'a failed run added a Secret');
        assertOnlyEchoes(rest, input, s, 'stdout');
        // a License item without a path annotation is taken out on success (kept on failure: the input as it was)
        if (c.exit === 0 && s === 'item' && c.name.indexOf('kustomization') < 0) assert.ok(!rest.includes('kind: License') && !rest.includes('"License"'), 'License item kept');
        if (c.exit === 0 && s === 'kpt-item' && c.name.indexOf('kustomization') < 0) assert.ok(rest.includes('kind: License') || rest.includes('"License"'), 'kpt License item removed: kpt would delete license.yaml');
      });
    }
  }

  it('--stream failures and success [env]', () => {
    const stream = `apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec: {containers: [{name: c, image: quay.io/org/api:1}]}\n`;
    const ok = execFn(stream, ['--stream', '--app-slug', 'app', '--private', 'quay.io/**'], { env: { LICENSE_ID: ID } });
    assert.equal(ok.status, 0, ok.stderr);
    const bad = execFn(stream.replace('api:1', 'API:1'), ['--stream', '--app-slug', 'app', '--private', 'quay.io/**'], { env: { LICENSE_ID: ID } });
    assert.equal(bad.status, 1);
    const refused = execFn('kind: Pod\n', ['--stream', '--app-slug', 'app'], { env: { LICENSE_ID: ID } });
    assert.equal(refused.status, 1);
    for (const r of [ok, bad, refused]) {
      for (const n of NEEDLES) assert.ok(!r.stderr.includes(n), `stderr: ${r.stderr}`);
      const rest = ok === r ? r.stdout.replace(/\.dockerconfigjson: \S+/, '') : r.stdout;
      for (const n of NEEDLES) assert.ok(!rest.includes(n), `stdout: ${rest}`);
    }
  });

  it('`check` never prints the id', () => {
    const r = execFn('', ['check', `${host}/org/api:1`, '--insecure-registry', host], { env: { LICENSE_ID: ID } });
    for (const n of NEEDLES) assert.ok(!(r.stdout + r.stderr).includes(n));
    assertNoStack(r.stdout + r.stderr, 'check output');
  });
});
