// A TCP-level delay proxy on loopback: it stands in for a registry `rttMs` away on a real
// network, below TLS and HTTP, so handshakes pay their round trips too.
//
// Model (one-way latency d = rttMs / 2):
// - every chunk, in either direction, is delivered d after it arrived, in order;
// - a new connection's first client bytes are held until rttMs after the accept (the TCP
//   handshake: on loopback the client's connect() completes at once, on a real network only
//   after SYN/SYN-ACK), so the first flight reaches the server 1.5 RTT after the client
//   connected, as it would;
// - a TLS 1.3 handshake then costs one more RTT, a TLS 1.2 one two, and each request one.
// It cannot see requests (they are encrypted); it counts connections and bytes, and records
// when the first connection came and the last byte went.
import net from 'node:net';

// listen: where the proxy listens; on port 443 its host has no port (see delay-proxy.mjs).
export function startTcpDelayProxy({ upstreamPort, upstreamHost = '127.0.0.1', rttMs = 50, shared, listen = { address: '127.0.0.1', port: 0 } }) {
  const oneWay = rttMs / 2;
  const sockets = new Set();
  let connections = 0;
  let bytes = 0;
  let firstAccept = null;
  let lastByte = null;

  /** Ordered delayed delivery from `from` to `to`; `gateAt`: nothing leaves before then. */
  function pipeDelayed(from, to, gateAt) {
    const queue = [];
    let timer = null;
    let ended = false;
    let last = 0;
    const flush = () => {
      timer = null;
      const now = performance.now();
      while (queue.length && queue[0].at <= now + 0.5) {
        const item = queue.shift();
        if (item.end) {
          to.end();
        } else if (!to.destroyed) {
          to.write(item.chunk);
          lastByte = performance.now();
          if (shared) shared.lastByte = lastByte;
        }
      }
      if (queue.length) timer = setTimeout(flush, Math.max(0, queue[0].at - performance.now()));
    };
    const push = (item) => {
      const at = Math.max(performance.now() + oneWay, gateAt + oneWay, last);
      last = at;
      queue.push({ ...item, at });
      if (!timer) timer = setTimeout(flush, Math.max(0, queue[0].at - performance.now()));
    };
    from.on('data', (chunk) => {
      bytes += chunk.length;
      push({ chunk });
    });
    from.on('end', () => {
      if (!ended) {
        ended = true;
        push({ end: true });
      }
    });
    return () => timer && clearTimeout(timer);
  }

  const server = net.createServer((client) => {
    const acceptedAt = performance.now();
    connections++;
    firstAccept ??= acceptedAt;
    if (shared) {
      shared.connections = (shared.connections ?? 0) + 1;
      shared.firstAccept = Math.min(shared.firstAccept ?? Infinity, acceptedAt);
    }
    const upstream = net.connect(upstreamPort, upstreamHost);
    sockets.add(client);
    sockets.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const stopUp = pipeDelayed(client, upstream, acceptedAt + rttMs);
    const stopDown = pipeDelayed(upstream, client, 0);
    const done = () => {
      stopUp();
      stopDown();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', done);
    upstream.on('error', done);
    client.on('close', () => setTimeout(done, rttMs));
    upstream.on('close', () => setTimeout(done, rttMs));
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.address, () => {
      const { port } = server.address();
      resolve({
        port,
        host: port === 443 ? listen.address : `${listen.address}:${port}`,
        get connections() {
          return connections;
        },
        get bytes() {
          return bytes;
        },
        get firstAccept() {
          return firstAccept;
        },
        get lastByte() {
          return lastByte;
        },
        reset() {
          connections = 0;
          bytes = 0;
          firstAccept = null;
          lastByte = null;
        },
        close() {
          for (const s of sockets) s.destroy();
          sockets.clear();
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}
