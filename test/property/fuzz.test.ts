/**
 * Fuzzing run() with mutated ResourceLists (characters inserted and deleted, lines copied, dropped and indented):
 * run() never throws, a failure is exit 1 with stdout empty or a readable ResourceList, a success re-runs cleanly,
 * and no license id appears on stderr or (outside the Secret and the input's own copies) on stdout.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'yaml';
import type { Prober } from '../../src/probe/types.js';
import { formatReference } from '../../src/reference/parse.js';
import { run, type RunDeps } from '../../src/run.js';

const ITEM_ID = 'LICX-item-123456';
const ENV_ID = 'ENVLIC-99887766';

const BASE = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web   # c
    namespace: shop
    annotations: {config.kubernetes.io/path: 'web.yaml'}
  spec:
    template:
      spec:
        imagePullSecrets: [{name: other}]
        containers:
        - name: web
          image: quay.io/org/web:1
        - {name: side, image: "nginx:1"}
        initContainers:
        - name: init
          image: 'ghcr.io/org/init@sha256:a3f1c2d4e5b6978800112233445566778899aabbccddeeff0011223344556677'
- apiVersion: v1
  kind: Secret
  metadata: {name: app-registry, namespace: shop}
  type: Opaque
- apiVersion: kots.io/v1beta1
  kind: License
  metadata: {name: l}
  spec: {licenseID: ${ITEM_ID}}
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata: {name: function-input}
  data: {appSlug: app, images.private: "quay.io/**,ghcr.io/**", pullSecret.namespaces: "*,x"}
results:
- {severity: info, message: old}
`;

/** Every image the glob rules leave open is "public" without any network. */
const fakeProber: Prober = {
  probeAll: async (refs) => new Map(refs.map((r) => [formatReference(r), { verdict: 'public' as const, reason: 'fake' }])),
  close: async () => {},
};
const deps: RunDeps = { env: { LICENSE_ID: ENV_ID }, createProber: () => fakeProber };

const CHARS = ':[]{}&*!|>-#\'"\n ,?%@`\t\\';
const mutation = fc.record({ op: fc.nat(4), at: fc.double({ min: 0, max: 1, noNaN: true }), n: fc.nat(CHARS.length - 1) });

function mutate(text: string, ms: readonly { op: number; at: number; n: number }[]): string {
  let t = text;
  for (const { op, at, n } of ms) {
    const pos = Math.floor(at * t.length);
    const lines = t.split('\n');
    const l = Math.floor(at * lines.length);
    if (op === 0) t = t.slice(0, pos) + CHARS[n] + t.slice(pos);
    else if (op === 1) t = t.slice(0, pos) + t.slice(pos + 1 + (n % 5));
    else if (op === 2) t = [...lines.slice(0, l), lines[n % lines.length]!, ...lines.slice(l)].join('\n');
    else if (op === 3) t = [...lines.slice(0, l), ` ${lines[l] ?? ''}`, ...lines.slice(l + 1)].join('\n');
    else t = [...lines.slice(0, l), ...lines.slice(l + 1)].join('\n');
  }
  return t;
}

function withoutPayloads(stdout: string): string {
  return stdout.replace(/\.dockerconfigjson"?: "?[A-Za-z0-9+/=]+"?/g, '.dockerconfigjson: <payload>');
}

describe('property: fuzzed ResourceLists', function () {
  this.timeout(120_000);

  it('never crash, never half-fail, never leak', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (ms) => {
        const text = mutate(BASE, ms);
        const r = await run(text, deps);
        assert.ok(r.exitCode === 0 || r.exitCode === 1);
        assert.doesNotMatch(r.stderr, /^\s+at /m);
        assert.ok(!r.stderr.includes(ENV_ID) && !r.stderr.includes(ITEM_ID), `stderr: ${r.stderr}`);
        const rest = withoutPayloads(r.stdout);
        assert.ok(!rest.includes(ENV_ID), 'env license id on stdout');
        assert.ok(rest.split(ITEM_ID).length <= text.split(ITEM_ID).length, 'the item id copied');
        if (r.exitCode === 1) {
          if (r.stdout !== '') {
            const out = parse(r.stdout) as { items?: unknown[]; results?: { severity: string }[] };
            assert.ok(out.results?.some((x) => x.severity === 'error'), 'exit 1 without an error result');
            assert.deepEqual(out.items ?? [], (parse(text) as { items?: unknown[] }).items ?? [], 'a failed run changed items');
          }
          return;
        }
        assert.ok((parse(r.stdout) as { kind?: string }).kind === 'ResourceList');
        const again = await run(r.stdout, deps);
        assert.equal(again.exitCode, 0, `the output does not run again: ${again.stderr}`);
      }),
      { numRuns: 1500 },
    );
  });
});
