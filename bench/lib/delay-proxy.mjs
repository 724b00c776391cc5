// A small HTTP reverse proxy on loopback that holds every request for `delayMs`
// before forwarding it to one upstream registry, and counts requests. It stands
// in for a registry 50 ms away. Keep-alive on both sides, so the delay is per
// request, not per connection.
import http from 'node:http';

/**
 * shared (optional): one object several proxies update together, to see the client's real
 * concurrency across registries: { inflight, maxInflight, events: [[ms, +1|-1]] }.
 */
// listen: where the proxy listens. On port 80 its host has no port, as a real registry's, so the function can
// rewrite its private images (a proxy path cannot carry a port); binding port 80 needs root.
export function startDelayProxy({ upstreamPort, upstreamHost = '127.0.0.1', delayMs = 50, shared, connectDelayMs = 0, listen = { address: '127.0.0.1', port: 0 } }) {
  // connectDelayMs: extra delay on the first request of each TCP connection, standing in for
  // the handshake round trip(s) a client pays when it does not reuse connections.
  const seen = new WeakSet();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let count = 0;
  const byMethod = {};
  const timers = new Set();
  const server = http.createServer((req, res) => {
    count++;
    byMethod[req.method] = (byMethod[req.method] ?? 0) + 1;
    if (shared) {
      const t0 = performance.now();
      shared.inflight++;
      shared.maxInflight = Math.max(shared.maxInflight, shared.inflight);
      shared.events.push([performance.now(), 1]);
      res.once('close', () => {
        shared.latencySum = (shared.latencySum ?? 0) + (performance.now() - t0);
        shared.inflight--;
        shared.events.push([performance.now(), -1]);
      });
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const firstOnSocket = !seen.has(req.socket);
      seen.add(req.socket);
      const t = setTimeout(() => {
        timers.delete(t);
        const up = http.request(
          {
            host: upstreamHost,
            port: upstreamPort,
            method: req.method,
            path: req.url,
            headers: req.headers,
            agent,
          },
          (upRes) => {
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            upRes.pipe(res);
          },
        );
        up.on('error', (err) => {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`delay-proxy: upstream error: ${err.message}\n`);
        });
        up.end(Buffer.concat(chunks));
      }, delayMs + (firstOnSocket ? connectDelayMs : 0));
      timers.add(t);
    });
  });
  server.keepAliveTimeout = 30_000;
  let connections = 0;
  server.on('connection', () => {
    connections++;
    if (shared) shared.connections = (shared.connections ?? 0) + 1;
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.address, () => {
      const { port } = server.address();
      resolve({
        port,
        host: port === 80 ? listen.address : `${listen.address}:${port}`,
        get count() {
          return count;
        },
        get byMethod() {
          return { ...byMethod };
        },
        get connections() {
          return connections;
        },
        setConnectDelay(ms) {
          connectDelayMs = ms;
        },
        reset() {
          count = 0;
          connections = 0;
          for (const k of Object.keys(byMethod)) delete byMethod[k];
        },
        close() {
          for (const t of timers) clearTimeout(t);
          timers.clear();
          agent.destroy();
          server.closeAllConnections?.();
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}
