import assert from 'node:assert/strict';
import { createProber, DEFAULT_PROBE_SETTINGS } from '../../src/probe/index.js';
import { parseReference } from '../../src/reference/parse.js';

/** Which host, port and scheme the probe goes to. A connect hook records each attempt and refuses it: no traffic leaves. */
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
