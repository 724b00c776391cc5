import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createProber, DEFAULT_PROBE_SETTINGS } from '../../src/probe/index.js';
import { parseReference } from '../../src/reference/parse.js';
import { makeTestCA } from '../support/misbehaving.js';

/**
 * HTTP/2 where the registry offers it: every probe of a registry shares one TLS connection (undici's
 * Client otherwise keeps one request per h2 connection and opens a connection per concurrent probe),
 * HEAD works over h2, and an HTTP/1.1-only registry is probed as before.
 */
describe('probe: HTTP/2 connection reuse', function () {
  this.timeout(30_000);
  let ca: ReturnType<typeof makeTestCA>;
  before(() => {
    ca = makeTestCA();
  });
  after(() => ca?.cleanup());

  interface Served {
    host: string;
    connections: number;
    requests: Array<{ method: string; path: string; version: string }>;
    stop(): Promise<void>;
  }

  /**
   * A TLS registry: `/v2/` 200, every manifest 200 after 20 ms; h2 with HTTP/1.1 fallback, or HTTP/1.1 only.
   * `holdPing`: `/v2/` answers only once that many manifest requests arrived (or after 5 s, which `pingHeldTooLong` tells).
   */
  async function registry(kind: 'h2' | 'http1', holdPing = 0): Promise<Served & { pingHeldTooLong: boolean }> {
    const requests: Served['requests'] = [];
    const sockets = new Set<Socket>();
    let heads = 0;
    let releasePing: (() => void) | undefined;
    let pingHeldTooLong = false;
    const handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', version: req.httpVersion });
      if (req.url === '/v2/') {
        const answer = () => void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        if (heads >= holdPing) return answer();
        const valve = setTimeout(() => ((pingHeldTooLong = true), releasePing?.()), 5000);
        releasePing = () => (clearTimeout(valve), (releasePing = undefined), answer());
        return;
      }
      if (++heads >= holdPing) releasePing?.();
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': `sha256:${'0'.repeat(64)}` }).end(), 20);
    };
    const server =
      kind === 'h2'
        ? createSecureServer({ cert: ca.cert, key: ca.key, allowHTTP1: true }, handler as never)
        : createHttpsServer({ cert: ca.cert, key: ca.key }, handler as never);
    let connections = 0;
    server.on('secureConnection', (s: Socket) => {
      connections++;
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    return {
      host: `127.0.0.1:${port}`,
      get connections() {
        return connections;
      },
      get pingHeldTooLong() {
        return pingHeldTooLong;
      },
      requests,
      stop: async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    } as Served & { pingHeldTooLong: boolean };
  }

  async function probeAll(host: string, n: number) {
    const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, caFile: ca.caFile, concurrency: 16, concurrencyPerRegistry: 6 }, { env: {} });
    try {
      return await prober.probeAll(Array.from({ length: n }, (_, i) => parseReference(`${host}/team/app-${i}:v${i}`)));
    } finally {
      await prober.close();
    }
  }

  it('carries every probe of a registry over one h2 connection, HEAD included', async () => {
    const r = await registry('h2');
    try {
      const out = await probeAll(r.host, 30);
      assert.equal([...out.values()].filter((o) => o.verdict === 'public').length, 30);
      for (const o of out.values()) assert.match(o.reason, /^HEAD https:\/\/.* answered 200$/);
      assert.ok(r.requests.every((q) => q.version === '2.0'), 'all over HTTP/2');
      assert.equal(r.requests.filter((q) => q.method === 'HEAD').length, 30);
      assert.equal(r.connections, 1, `one TLS connection for 31 requests, saw ${r.connections}`);
    } finally {
      await r.stop();
    }
  });

  it('sends the first HEADs beside the /v2/ ping, over the ping\'s connection', async () => {
    // the registry answers its ping only after 6 HEADs arrived: a prober that waits for the ping would stall 5 s
    const r = await registry('h2', 6);
    try {
      const out = await probeAll(r.host, 30);
      assert.equal(r.pingHeldTooLong, false, 'the HEADs waited for the ping');
      assert.equal([...out.values()].filter((o) => o.verdict === 'public').length, 30);
      for (const o of out.values()) assert.match(o.reason, /^HEAD https:\/\/.* answered 200$/);
      assert.equal(r.requests.filter((q) => q.path === '/v2/').length, 1, 'one ping');
      assert.equal(r.requests.filter((q) => q.method === 'HEAD').length, 30, 'one HEAD per image, none repeated');
      assert.equal(r.connections, 1, `one TLS connection for the ping and every HEAD, saw ${r.connections}`);
    } finally {
      await r.stop();
    }
  });

  it('an HTTP/1.1-only registry is probed as before, without pipelining', async () => {
    const r = await registry('http1');
    try {
      const out = await probeAll(r.host, 12);
      assert.equal([...out.values()].filter((o) => o.verdict === 'public').length, 12);
      assert.ok(r.requests.every((q) => q.version === '1.1'));
      // undici closes an HTTP/1.1 socket after a HEAD, so each of the 12 HEADs had its own connection
      assert.ok(r.connections >= 12, `saw ${r.connections} connections`);
    } finally {
      await r.stop();
    }
  });
});
