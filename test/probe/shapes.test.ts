import assert from 'node:assert/strict';
import { createNetworkProber, DEFAULT_PROBE_SETTINGS } from '../../src/probe/index.js';
import { explain } from '../../src/probe/explain.js';
import { parseReference } from '../../src/reference/parse.js';
import type { Misbehaving } from '../support/misbehaving.js';
import { IMAGE, SHAPES, startShape, type ShapeCase } from '../support/registry-shapes.js';

/**
 * The function's verdict and its explanation for registries shaped like Docker Hub, GHCR, Quay, ECR
 * (private and Public), Artifact Registry, ACR, Harbor and GitLab answer an anonymous client
 * (test/support/registry-shapes.ts; sources in docs/registries.md).
 */
describe('probe: registries as they answer', function () {
  this.timeout(20_000);

  for (const shape of SHAPES) {
    describe(shape.name, () => {
      let server: Misbehaving;
      before(async () => {
        server = await startShape(shape);
      });
      after(async () => {
        await server?.stop();
      });

      const cases = Object.entries(shape.expect) as Array<[ShapeCase, NonNullable<(typeof shape.expect)[ShapeCase]>]>;
      for (const [which, want] of cases) {
        it(`${which} (${IMAGE[which]}) → ${want.verdict}, explained`, async () => {
          const prober = createNetworkProber({ ...DEFAULT_PROBE_SETTINGS, insecureRegistries: [server.host], retries: 0 }, { env: {} });
          try {
            const image = `${server.host}/${IMAGE[which]}`;
            const out = await prober.probeAll([parseReference(image)]);
            const o = out.get(image)!;
            assert.equal(o.verdict, want.verdict, o.reason);
            assert.match(explain(o), want.explains, `${o.reason} → ${explain(o)}`);
          } finally {
            await prober.close();
          }
        });
      }
    });
  }

  describe('details the prober has to cope with', () => {
    const shape = (name: string) => SHAPES.find((s) => s.name === name)!;
    async function run(name: string, which: ShapeCase[]) {
      const server = await startShape(shape(name));
      const prober = createNetworkProber({ ...DEFAULT_PROBE_SETTINGS, insecureRegistries: [server.host], retries: 0 }, { env: {} });
      try {
        const out = await prober.probeAll(which.map((w) => parseReference(`${server.host}/${IMAGE[w]}`)));
        return { server, out: [...out.values()] };
      } finally {
        await prober.close();
        await server.stop();
      }
    }
    const tokenQueries = (s: Misbehaving, prefix: string) => s.hits.filter((h) => h.path.startsWith(prefix)).map((h) => new URL(h.path, 'http://x').searchParams);

    it('a challenge without service (Artifact Registry): the token request carries no service', async () => {
      const { server } = await run('Artifact Registry', ['public', 'private']);
      const qs = tokenQueries(server, '/v2/token');
      assert.equal(qs.length, 2);
      for (const q of qs) assert.equal(q.has('service'), false);
    });

    it('scope="aws" on the challenge (ECR Public): asks for the repository scope, and one ping per registry', async () => {
      const { server, out } = await run('ECR Public', ['public', 'missing', 'missingTag']);
      assert.deepEqual(out.map((o) => o.verdict), ['public', 'private-404', 'private-404']);
      assert.equal(server.hits.filter((h) => h.path === '/v2/').length, 1, 'one ping');
      assert.ok(tokenQueries(server, '/token').every((q) => q.get('service') === 'public.ecr.aws' && /^repository:/.test(q.get('scope') ?? '')));
    });

    it('access_token instead of token (ACR with anonymous pull)', async () => {
      const { out } = await run('ACR, anonymous pull enabled', ['public']);
      assert.equal(out[0]?.verdict, 'public');
      assert.match(out[0]!.reason, /answered 200 after an anonymous token$/);
    });

    it('an empty WWW-Authenticate (Harbor, missing project) and a Basic challenge after a token (Harbor, private)', async () => {
      const { out } = await run('Harbor', ['missing', 'private']);
      assert.match(out[0]!.reason, /answered 401 after an anonymous token$/);
      assert.match(out[1]!.reason, /answered 401 after an anonymous token \(Basic auth required\)$/);
    });

    it('a refused token is private, with the status it was refused with (GHCR 401, GitLab 403)', async () => {
      for (const [name, status] of [['GHCR', 401], ['GitLab', 403]] as const) {
        const { out } = await run(name, ['private']);
        assert.equal(out[0]?.verdict, 'private');
        assert.match(out[0]!.reason, new RegExp(`refused an anonymous token \\(${status}\\)$`));
      }
    });
  });
});
