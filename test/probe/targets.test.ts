import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProber, DEFAULT_PROBE_SETTINGS } from '../../src/probe/index.js';
import { parseReference } from '../../src/reference/parse.js';

/**
 * Which host, port and scheme the probe goes to. A fake lookup answers every name (a TEST-NET address, or loopback for
 * localhost) so nothing is resolved for real, and a connect hook records each attempt and refuses it: no traffic leaves.
 */
describe('probe: where each image is probed', () => {
  async function attempted(images: string[], insecure: string[] = []): Promise<{ attempts: string[]; reasons: string[] }> {
    const attempts: string[] = [];
    const prober = createProber(
      { ...DEFAULT_PROBE_SETTINGS, retries: 0, insecureRegistries: insecure },
      {
        env: {},
        onConnect: ({ protocol, hostname, port }) => {
          attempts.push(`${protocol}//${hostname}:${port}`);
          throw new Error('recorded, not connected');
        },
        lookup: (hostname, _o, cb) => cb(null, [{ address: hostname === 'localhost' ? '127.0.0.1' : '203.0.113.7', family: 4 }]),
      },
    );
    try {
      const out = await prober.probeAll(images.map(parseReference));
      return { attempts, reasons: [...out.values()].map((o) => `${o.verdict}: ${o.reason}`) };
    } finally {
      await prober.close();
    }
  }

  it('probes Docker Hub (every spelling) at registry-1.docker.io over https, once', async () => {
    const { attempts, reasons } = await attempted(['nginx:1.25', 'docker.io/library/nginx:1.25', 'index.docker.io/library/redis:7']);
    assert.deepEqual([...new Set(attempts)], ['https://registry-1.docker.io:443']);
    assert.equal(reasons.length, 2);
    for (const r of reasons) assert.match(r, /^inconclusive: GET https:\/\/registry-1\.docker\.io\/v2\/ failed: recorded, not connected/);
  });

  it('uses plain http only for insecure registries, matched with their port as written', async () => {
    const { attempts } = await attempted(['127.0.0.1:5000/a:1', '127.0.0.1:5001/b:1', 'localhost:5002/c:1'], ['127.0.0.1:5000', 'LOCALHOST:5002']);
    assert.deepEqual(attempts.sort(), ['http://127.0.0.1:5000', 'http://localhost:5002', 'https://127.0.0.1:5001'].sort());
  });

  it('never connects at all for an empty list', async () => {
    const { attempts, reasons } = await attempted([]);
    assert.deepEqual(attempts, []);
    assert.deepEqual(reasons, []);
  });
});

describe('probe: configuration that cannot work', () => {
  it('an unreadable or non-PEM caFile makes every image inconclusive, naming the file, without a connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ppi-ca-bad-'));
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello\n');
    try {
      for (const [caFile, want] of [
        ['/nonexistent/ca.pem', /cannot use probe\.caFile \/nonexistent\/ca\.pem: ENOENT/],
        [notPem, /cannot use probe\.caFile .*not\.pem: no PEM certificate in it/],
      ] as const) {
        const attempts: string[] = [];
        const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, caFile }, { env: {}, onConnect: ({ hostname }) => void attempts.push(hostname) });
        const out = await prober.probeAll([parseReference('quay.io/org/app:1')]);
        await prober.close();
        const o = out.get('quay.io/org/app:1')!;
        assert.equal(o.verdict, 'inconclusive');
        assert.match(o.reason, want);
        assert.deepEqual(attempts, []);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
