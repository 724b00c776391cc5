/**
 * A second opinion on every verdict: for each registry scenario the probe tests use (real docker-registry instances
 * with no auth, Basic auth and token auth; registries that answer 403, 404, 429, 503, redirect, refuse anonymous
 * tokens or are down), what an anonymous client other than ours can do agrees with the function's verdict:
 *
 *   - crane (go-containerregistry, built by test/support/go-tools.ts): `crane digest`, and `crane manifest` where
 *     the registry holds a real manifest; no credentials (an empty DOCKER_CONFIG and auth file);
 *   - `skopeo inspect --raw --no-creds` on the real registries (where it applies: not on the hand-made ones, whose
 *     manifests are empty, and not for `tag@digest`, which skopeo does not accept).
 *
 * public ⇔ the anonymous pull of the manifest works; private ⇔ it is refused (401/403); inconclusive ⇔ the client
 * fails for another reason. The one difference is by design: a 404 is "not found" to crane and skopeo, and
 * private (with a warning) to the function, because quay.io, GHCR and ECR answer 404 for private repositories.
 *
 * The function is the bundle's `check` command, run from a copy of the bundle alone, as users run it.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { GO_TOOL_BUILD_TIMEOUT_MS, goTool } from '../support/go-tools.js';
import { bearerChallenge, closedPort, flaky, ok, redirect, registryThat, startMisbehaving, status, type Handler, type Misbehaving } from '../support/misbehaving.js';
import { startRegistry, type RegistryHandle } from '../support/registries.js';
import { ensureRegistryTools } from '../support/registry-tools.js';
import { ensureBundle, runAsync } from '../support/tools.js';

/** What a client concluded about one image. */
type Answer = 'public' | 'private' | 'not found' | 'failed';
/** The function's verdict column in `check`'s output. */
type Verdict = 'public' | 'private' | 'private (404)' | 'inconclusive';

const AGREES: Record<Verdict, Answer> = {
  public: 'public',
  private: 'private',
  // by design, see the header
  'private (404)': 'not found',
  inconclusive: 'failed',
};

interface Scenario {
  readonly name: string;
  readonly image: () => string;
  readonly verdict: Verdict;
  /** crane subcommands to ask (`manifest` needs a real manifest behind the image). */
  readonly crane: readonly ('digest' | 'manifest')[];
  readonly skopeo: boolean;
  /** The misbehaving server counts requests (flaky): each client gets its own copy, made by this. */
  readonly fresh?: () => Promise<string>;
}

/** Reads a client's failure the way a user reads it: refused (401/403), not found (404), or something else. */
function answerOf(status: number | null, output: string): Answer {
  if (status === 0) return 'public';
  if (/\b(401|403)\b|UNAUTHORIZED|DENIED|authentication required|access to the resource is denied/i.test(output)) return 'private';
  if (/\b404\b|MANIFEST_UNKNOWN|NAME_UNKNOWN|manifest unknown|not found/i.test(output)) return 'not found';
  return 'failed';
}

/**
 * The token registry as GHCR and quay.io are: the token realm on the registry's own origin. A front on its own port
 * passes /token to the issuer, everything else to docker-registry, and points the challenges' realm at itself.
 * (crane refuses a realm on another private or loopback address than the registry's host:port: see the scenario
 * "token realm on another loopback port".)
 */
async function sameOriginToken(registry: RegistryHandle): Promise<{ host: string; stop(): Promise<void> }> {
  const issuer = new URL(registry.issuer!.realm);
  const [regIp, regPort] = registry.host.split(':') as [string, string];
  let origin = '';
  const server: Server = createServer((req, res) => {
    const toIssuer = req.url?.startsWith('/token') === true;
    const target = toIssuer ? { host: issuer.hostname, port: Number(issuer.port), path: `${issuer.pathname}${req.url!.slice('/token'.length)}` } : { host: regIp, port: Number(regPort), path: req.url };
    const up = httpRequest({ ...target, method: req.method, headers: { ...req.headers, host: `${target.host}:${target.port}` } }, (r) => {
      const headers = { ...r.headers };
      const challenge = headers['www-authenticate'];
      if (typeof challenge === 'string') headers['www-authenticate'] = challenge.replace(registry.issuer!.realm, `${origin}/token`);
      res.writeHead(r.statusCode ?? 502, headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  origin = `http://${host}`;
  return {
    host,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** 401 the way token servers say it. */
const refuseAnonymous: Handler = (_req, res) => {
  res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
};

describe('second opinion: anonymous crane and skopeo agree with the probe', function () {
  this.timeout(120_000);
  let crane: string;
  let fn: string;
  let home: string;
  let clientEnv: NodeJS.ProcessEnv;
  let open: RegistryHandle;
  let basic: RegistryHandle;
  let token: RegistryHandle;
  let front: { host: string; stop(): Promise<void> };
  let digest: string;
  const servers: Misbehaving[] = [];
  let refused: number;
  let downToken: number;
  const hosts: string[] = [];

  async function serve(handler: Handler): Promise<Misbehaving> {
    const s = await startMisbehaving(handler);
    servers.push(s);
    hosts.push(s.host);
    return s;
  }

  /** A registry whose token endpoint answers `issuer` and whose manifests need the token "good". */
  function tokenRegistry(issuer: Handler): Handler {
    return (req, res, srv) => {
      if (req.url?.startsWith('/token')) return issuer(req, res, srv);
      if (req.headers.authorization === 'Bearer good') return ok(req, res, srv);
      return bearerChallenge(`${srv.origin}/token`)(req, res, srv);
    };
  }

  const byName = new Map<string, Misbehaving>();
  const scenarios: Scenario[] = [
    { name: 'open registry, OCI manifest by tag', image: () => `${open.host}/pub/oci:1`, verdict: 'public', crane: ['digest', 'manifest'], skopeo: true },
    { name: 'open registry, Docker v2 schema 2 manifest', image: () => `${open.host}/pub/docker:1`, verdict: 'public', crane: ['digest', 'manifest'], skopeo: true },
    { name: 'open registry, by digest', image: () => `${open.host}/pub/oci@${digest}`, verdict: 'public', crane: ['digest', 'manifest'], skopeo: true },
    { name: 'open registry, tag and digest', image: () => `${open.host}/pub/oci:1@${digest}`, verdict: 'public', crane: ['digest', 'manifest'], skopeo: false },
    { name: 'open registry, missing repository (404)', image: () => `${open.host}/nope/x:1`, verdict: 'private (404)', crane: ['digest', 'manifest'], skopeo: true },
    { name: 'open registry, missing tag (404)', image: () => `${open.host}/pub/oci:nope`, verdict: 'private (404)', crane: ['digest', 'manifest'], skopeo: true },
    { name: 'Basic auth registry', image: () => `${basic.host}/priv/app:1`, verdict: 'private', crane: ['digest', 'manifest'], skopeo: true },
    { name: 'Basic auth registry, missing repository (401 first)', image: () => `${basic.host}/priv/missing:1`, verdict: 'private', crane: ['digest', 'manifest'], skopeo: true },
    { name: 'token auth, anonymous pull granted', image: () => `${front.host}/pub/app:1`, verdict: 'public', crane: ['digest', 'manifest'], skopeo: true },
    { name: 'token auth, anonymous pull granted, Docker v2 manifest', image: () => `${front.host}/pub/docker:1`, verdict: 'public', crane: ['digest', 'manifest'], skopeo: true },
    { name: 'token auth, anonymous token without pull access', image: () => `${front.host}/priv/app:1`, verdict: 'private', crane: ['digest', 'manifest'], skopeo: true },
    { name: 'token auth, granted repository without the tag (404)', image: () => `${front.host}/pub/missing:1`, verdict: 'private (404)', crane: ['digest', 'manifest'], skopeo: true },
    { name: 'a registry that answers 403', image: () => `${byName.get('403')!.host}/org/app:1`, verdict: 'private', crane: ['digest'], skopeo: false },
    { name: 'a registry that answers 404', image: () => `${byName.get('404')!.host}/org/app:1`, verdict: 'private (404)', crane: ['digest'], skopeo: false },
    { name: 'a registry that answers 503, always', image: () => `${byName.get('503')!.host}/org/app:1`, verdict: 'inconclusive', crane: ['digest'], skopeo: false },
    {
      name: 'a registry that answers 429 once, then 200',
      image: () => `${byName.get('429')!.host}/org/app:1`,
      verdict: 'public',
      crane: ['digest'],
      skopeo: false,
      fresh: async () => `${(await serve(registryThat(flaky(1, status(429, { 'retry-after': '1' }))))).host}/org/app:1`,
    },
    { name: 'a same-origin redirect to the manifest', image: () => `${byName.get('redirect')!.host}/org/app:1`, verdict: 'public', crane: ['digest'], skopeo: false },
    { name: 'a token endpoint that refuses anonymous users', image: () => `${byName.get('refusing-issuer')!.host}/org/app:1`, verdict: 'private', crane: ['digest'], skopeo: false },
    { name: 'a token endpoint that grants anonymous pulls', image: () => `${byName.get('granting-issuer')!.host}/org/app:1`, verdict: 'public', crane: ['digest'], skopeo: false },
    { name: 'a token endpoint that is down', image: () => `${byName.get('down-issuer')!.host}/org/app:1`, verdict: 'inconclusive', crane: ['digest'], skopeo: false },
    { name: 'a registry that is down (connection refused)', image: () => `127.0.0.1:${refused}/org/app:1`, verdict: 'inconclusive', crane: ['digest'], skopeo: true },
  ];

  before(async function () {
    this.timeout(GO_TOOL_BUILD_TIMEOUT_MS);
    crane = goTool('crane');
    ensureRegistryTools(['skopeo']);
    home = mkdtempSync(join(tmpdir(), 'ppi-second-opinion-'));
    // the function as users have it: the bundle copied alone
    fn = join(home, 'proxy-private-images');
    copyFileSync(ensureBundle(), fn);
    chmodSync(fn, 0o755);
    // anonymous clients: no Docker config, no containers auth file, no proxy
    clientEnv = { PATH: process.env['PATH'], HOME: home, DOCKER_CONFIG: join(home, 'docker'), XDG_RUNTIME_DIR: home, REGISTRY_AUTH_FILE: join(home, 'auth.json') };
    writeFileSync(join(home, 'auth.json'), '{"auths":{}}');

    [open, basic, token] = await Promise.all([startRegistry(), startRegistry({ auth: 'basic' }), startRegistry({ auth: 'token', anonymousPull: ['pub/*'] })]);
    front = await sameOriginToken(token);
    hosts.push(open.host, basic.host, token.host, front.host);
    await Promise.all([
      open.push('pub/oci', '1'),
      open.push('pub/docker', '1', { format: 'v2s2' }),
      basic.push('priv/app', '1'),
      token.push('pub/app', '1'),
      token.push('pub/docker', '1', { format: 'v2s2' }),
      token.push('priv/app', '1'),
    ]);
    const res = await fetch(`http://${open.host}/v2/pub/oci/manifests/1`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    digest = res.headers.get('docker-content-digest') ?? '';
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);

    refused = await closedPort();
    downToken = await closedPort();
    hosts.push(`127.0.0.1:${refused}`);
    byName.set('403', await serve(registryThat(status(403))));
    byName.set('404', await serve(registryThat(status(404))));
    byName.set('503', await serve(registryThat(status(503))));
    byName.set('429', await serve(registryThat(flaky(1, status(429, { 'retry-after': '1' })))));
    byName.set('redirect', await serve(registryThat((req, res, srv) => (req.url?.endsWith('/moved') ? ok(req, res, srv) : redirect('/v2/org/app/manifests/moved', 307)(req, res, srv)))));
    byName.set('refusing-issuer', await serve(tokenRegistry(refuseAnonymous)));
    byName.set('granting-issuer', await serve(tokenRegistry((_q, r) => void r.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"good"}'))));
    byName.set('down-issuer', await serve(registryThat(ok, { ping: bearerChallenge(`http://127.0.0.1:${downToken}/token`) })));
  });

  after(async () => {
    await front?.stop();
    await Promise.all([open, basic, token].filter(Boolean).map((r) => r.stop()));
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    if (home) rmSync(home, { recursive: true, force: true });
  });

  /** The function's verdict for each image, from one `check` run of the copied bundle. */
  async function functionVerdicts(images: readonly string[]): Promise<Map<string, { verdict: string; reason: string }>> {
    const config = join(home, 'check.yaml');
    writeFileSync(
      config,
      stringify({
        apiVersion: 'fn.proxy-private-images.dev/v1alpha1',
        kind: 'ProxyPrivateImages',
        appSlug: 'check',
        probe: { insecureRegistries: hosts, retries: 1, timeoutSeconds: 5 },
      }),
    );
    const r = await runAsync(fn, ['check', '--config', config, ...images], { env: clientEnv, timeoutMs: 90_000 });
    assert.ok(r.status === 0 || r.status === 1, `check exited ${r.status}: ${r.stderr}`);
    const out = new Map<string, { verdict: string; reason: string }>();
    for (const line of r.stdout.trimEnd().split('\n')) {
      const [image, verdict, reason] = line.split(/ {2,}/);
      out.set(image!, { verdict: verdict!, reason: reason ?? '' });
    }
    return out;
  }

  async function craneAnswer(sub: 'digest' | 'manifest', image: string): Promise<{ answer: Answer; output: string }> {
    const r = await runAsync(crane, [sub, '--insecure', image], { env: clientEnv, timeoutMs: 60_000 });
    const output = `${r.stdout}${r.stderr}`.trim();
    return { answer: answerOf(r.status, output), output };
  }

  async function skopeoAnswer(image: string): Promise<{ answer: Answer; output: string }> {
    const r = await runAsync('skopeo', ['inspect', '--raw', '--no-creds', '--tls-verify=false', `docker://${image}`], { env: clientEnv, timeoutMs: 60_000 });
    const output = `${r.stdout}${r.stderr}`.trim();
    return { answer: answerOf(r.status, output), output };
  }

  it('token realm on another loopback port: the function says public; crane refuses the realm (differs by design: crane allows a private or loopback realm only on the registry\'s own host:port)', async function () {
    const image = `${token.host}/pub/app:1`;
    assert.equal((await functionVerdicts([image])).get(image)?.verdict, 'public');
    const { answer, output } = await craneAnswer('digest', image);
    assert.equal(answer, 'failed', output);
    assert.match(output, /realm host "127\.0\.0\.1" is a private or link-local address/);
    // skopeo follows such a realm, as the function does
    assert.equal((await skopeoAnswer(image)).answer, 'public');
  });

  it('covers every scenario, and every verdict the function gives', function () {
    assert.deepEqual(new Set(scenarios.map((s) => s.verdict)), new Set(Object.keys(AGREES)));
  });

  it('the function gives each scenario its expected verdict', async function () {
    const got = await functionVerdicts(scenarios.map((s) => s.image()));
    for (const s of scenarios) assert.equal(got.get(s.image())?.verdict, s.verdict, `${s.name}: ${JSON.stringify(got.get(s.image()))}`);
  });

  for (const s of scenarios) {
    const design = s.verdict === 'private (404)' ? ' (differs by design: 404 is "not found" to them, private to the function)' : '';
    it(`${s.name}: function says ${s.verdict}; crane${s.skopeo ? ' and skopeo say' : ' says'} ${AGREES[s.verdict]}${design}`, async function () {
      // a counting server gets a fresh copy per client, so that each sees the same first answer
      const ours = s.fresh ? await s.fresh() : s.image();
      const verdict = (await functionVerdicts([ours])).get(ours)?.verdict;
      assert.equal(verdict, s.verdict, `the function's verdict on ${ours}`);
      for (const sub of s.crane) {
        const image = s.fresh ? await s.fresh() : s.image();
        const { answer, output } = await craneAnswer(sub, image);
        assert.equal(answer, AGREES[s.verdict], `crane ${sub} ${image}: ${output}`);
      }
      if (s.skopeo) {
        const image = s.fresh ? await s.fresh() : s.image();
        const { answer, output } = await skopeoAnswer(image);
        assert.equal(answer, AGREES[s.verdict], `skopeo inspect ${image}: ${output}`);
      }
    });
  }
});
