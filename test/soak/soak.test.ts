/**
 * Soak, bounded and reported: 1,000 in-process `run()`s against a real loopback registry (Debian docker-registry
 * with token auth, from test/support/registries.ts; probe.cacheFile off, so every run probes), checking that open
 * handles (`process.getActiveResourcesInfo()`), timers and heap do not grow; then one run with 10,000 distinct images
 * (glob-decided, plus 200 probed) that must finish. Prints what it measured. No timed assertions.
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parse } from 'yaml';
import { createProber } from '../../src/probe/index.js';
import { run, type RunDeps } from '../../src/run.js';
import { onPort80, startRegistry, type RegistryHandle } from '../support/registries.js';

const LICENSE = 'soak-license-5b2c9e';
const RUNS = 1000;
const WARMUP = 50;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function collect(): void {
  for (let i = 0; i < 4; i++) gc();
}

function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

/** Resources that are open now but were not (as many) at the baseline. */
function grown(base: Record<string, number>, now: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(now)) if (v > (base[k] ?? 0)) out[k] = v - (base[k] ?? 0);
  return out;
}

async function settle(): Promise<void> {
  // let closed sockets and finished timers leave the event loop's lists
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 50));
}

describe('soak', function () {
  this.timeout(300_000);
  let registry: RegistryHandle;
  const deps: RunDeps = {
    env: { LICENSE_ID: LICENSE },
    createProber: (s) => createProber(s, { env: {}, backoffBaseMs: 10 }),
  };

  before(async () => {
    registry = await startRegistry({ auth: 'token', anonymousPull: ['pub/*'], listen: onPort80() });
    await Promise.all([registry.push('pub/app', '1'), registry.push('priv/app', '1')]);
  });

  after(async () => {
    await registry?.stop();
  });

  function input(): string {
    const host = registry.host;
    const images = [`${host}/pub/app:1`, `${host}/priv/app:1`, `${host}/pub/missing:1`, 'quay.io/org/api:1', 'nginx:1.25'];
    const pods = images
      .map((image, i) => `- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d${i}, namespace: ns}\n  spec:\n    template:\n      spec:\n        containers:\n        - name: c\n          image: ${image}\n`)
      .join('');
    return (
      `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${pods}functionConfig:\n` +
      `  apiVersion: fn.proxy-private-images.dev/v1alpha1\n  kind: ProxyPrivateImages\n  appSlug: soak\n` +
      `  images: {private: ['quay.io/**'], public: ['docker.io/**']}\n` +
      `  probe: {insecureRegistries: ['${host}'], retries: 0, timeoutSeconds: 30}\n`
    );
  }

  it(`${RUNS} runs against a real loopback registry leak no sockets, timers or heap`, async () => {
    const text = input();
    const first = await run(text, deps);
    assert.equal(first.exitCode, 0, first.stderr);
    const out = parse(first.stdout) as { items: { spec?: { template: { spec: { containers: { image: string }[] } } } }[] };
    const imgs = out.items.slice(0, 5).map((i) => i.spec!.template.spec.containers[0]!.image);
    assert.deepEqual(imgs, [
      `${registry.host}/pub/app:1`,
      `proxy.replicated.com/proxy/soak/${registry.host}/priv/app:1`,
      `proxy.replicated.com/proxy/soak/${registry.host}/pub/missing:1`,
      'proxy.replicated.com/proxy/soak/quay.io/org/api:1',
      'nginx:1.25',
    ]);
    for (let i = 0; i < WARMUP; i++) await run(text, deps);
    await settle();
    collect();
    const baseRes = resources();
    const baseHeap = process.memoryUsage().heapUsed;
    const started = Date.now();
    let differing = 0;
    for (let i = 0; i < RUNS; i++) {
      const r = await run(text, deps);
      if (r.exitCode !== 0 || r.stdout !== first.stdout) differing++;
    }
    const ms = Date.now() - started;
    await settle();
    collect();
    const endRes = resources();
    const endHeap = process.memoryUsage().heapUsed;
    const growth = grown(baseRes, endRes);
    const heapDelta = (endHeap - baseHeap) / 1024 / 1024;
    console.log(
      `      soak: ${RUNS} runs in ${(ms / 1000).toFixed(1)} s (${(ms / RUNS).toFixed(1)} ms/run, 3 probed images each); ` +
        `resources before ${JSON.stringify(baseRes)} after ${JSON.stringify(endRes)}; heap ${(baseHeap / 1048576).toFixed(1)} -> ${(endHeap / 1048576).toFixed(1)} MiB (${heapDelta >= 0 ? '+' : ''}${heapDelta.toFixed(2)})`,
    );
    assert.equal(differing, 0, `${differing} runs failed or answered differently`);
    assert.deepEqual(growth, {}, `open resources grew: ${JSON.stringify(growth)}`);
    // generous: a leak of even 10 KiB per run would show as 10 MiB
    assert.ok(heapDelta < 8, `heap grew by ${heapDelta.toFixed(1)} MiB over ${RUNS} runs`);
  });

  it('one run with 10,000 distinct images (9,800 glob-decided, 200 probed) finishes', async () => {
    const host = registry.host;
    const parts: string[] = ['apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n'];
    const N = 10_000;
    for (let i = 0; i < N; i++) {
      let image: string;
      if (i < 100) image = `${host}/priv/app-${i}:1`; // 401 → private
      else if (i < 200) image = `${host}/pub/app:t${i}`; // 404 → private, with a warning
      else if (i % 2 === 0) image = `quay.io/org/app-${i}:1`;
      else image = `docker.io/org/app-${i}:1`;
      parts.push(`- apiVersion: v1\n  kind: Pod\n  metadata: {name: p${i}, namespace: ns${i % 10}}\n  spec:\n    containers:\n    - name: c\n      image: ${image}\n`);
    }
    parts.push(
      `functionConfig:\n  apiVersion: fn.proxy-private-images.dev/v1alpha1\n  kind: ProxyPrivateImages\n  appSlug: soak\n` +
        `  images: {private: ['quay.io/**'], public: ['docker.io/**']}\n  probe: {insecureRegistries: ['${host}'], retries: 0, timeoutSeconds: 30, deadlineSeconds: 120}\n`,
    );
    const text = parts.join('');
    collect();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = Date.now();
    const r = await run(text, deps);
    const ms = Date.now() - started;
    const heapAfter = process.memoryUsage().heapUsed;
    assert.equal(r.exitCode, 0, r.stderr.slice(0, 2000));
    const out = parse(r.stdout) as { items: { kind: string; spec?: { containers: { image: string }[] } }[]; results: { severity: string }[] };
    const pods = out.items.filter((i) => i.kind === 'Pod');
    assert.equal(pods.length, N);
    const proxied = pods.filter((p) => p.spec!.containers[0]!.image.startsWith('proxy.replicated.com/proxy/soak/')).length;
    assert.equal(proxied, 200 + 4900);
    assert.equal(out.items.filter((i) => i.kind === 'Secret').length, 10);
    // 404 warnings only: the probed loopback registry has a port, which adds one port warning per rewritten image.
    assert.equal(out.results.filter((x) => x.severity === 'warning' && /treated as private/.test((x as { message?: string }).message ?? '')).length, 100);
    console.log(
      `      10,000 images: ${(ms / 1000).toFixed(1)} s, input ${(text.length / 1048576).toFixed(1)} MiB, output ${(r.stdout.length / 1048576).toFixed(1)} MiB, ` +
        `heap ${(heapBefore / 1048576).toFixed(0)} -> ${(heapAfter / 1048576).toFixed(0)} MiB, ${registry.host} probed 200`,
    );
  });
});
