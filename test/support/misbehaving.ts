import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRegistryTools } from './registry-tools.js';

/**
 * Small registries that misbehave on purpose (node:http/https on 127.0.0.1): 404s, 429s, 5xx storms,
 * hangs, hostile redirects and realms, oversized or truncated bodies, broken challenges, private CAs.
 * Each records the requests it saw.
 */
export interface Hit {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, server: Misbehaving) => void;

export interface Misbehaving {
  /** `127.0.0.1:PORT` (or the bind address) */
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT` or `https://...` */
  readonly origin: string;
  readonly hits: Hit[];
  /** requests whose path starts with `prefix` */
  count(prefix: string): number;
  stop(): Promise<void>;
}

export interface TlsMaterial {
  readonly caFile: string;
  readonly cert: string;
  readonly key: string;
}

/** `bind`: a loopback address to listen on (default 127.0.0.1; Linux answers on all of 127.0.0.0/8). */
export async function startMisbehaving(handler: Handler, options: { tls?: TlsMaterial; bind?: string } = {}): Promise<Misbehaving> {
  const bind = options.bind ?? '127.0.0.1';
  if (!/^127\.\d+\.\d+\.\d+$/.test(bind)) throw new Error(`test servers listen on loopback only, not ${bind}`);
  const hits: Hit[] = [];
  const sockets = new Set<Socket>();
  // eslint-disable-next-line prefer-const
  let self: Misbehaving;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    hits.push({ method: req.method ?? '', path: req.url ?? '', ...(req.headers.authorization && { authorization: req.headers.authorization }) });
    req.resume();
    try {
      handler(req, res, self);
    } catch {
      res.destroy();
    }
  };
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createHttpServer(listener);
  server.on(options.tls ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, bind, resolve));
  const port = (server.address() as AddressInfo).port;
  self = {
    host: `${bind}:${port}`,
    port,
    origin: `${options.tls ? 'https' : 'http'}://${bind}:${port}`,
    hits,
    count: (prefix) => hits.filter((h) => h.path.startsWith(prefix)).length,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return self;
}

/** Answers `/v2/` with 200 and hands manifest requests (and everything else) to `manifest`. */
export function registryThat(manifest: Handler, options: { ping?: Handler } = {}): Handler {
  return (req, res, server) => {
    if (req.url === '/v2/' || req.url === '/v2') {
      if (options.ping) return options.ping(req, res, server);
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' }).end('{}');
      return;
    }
    manifest(req, res, server);
  };
}

export const ok: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': 'sha256:' + '0'.repeat(64) }).end();
};

export function status(code: number, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers }).end(code >= 400 ? '{"errors":[{"code":"X"}]}' : '');
  };
}

/** `failures` answers of `first`, then `then` (counted per server, manifest requests only). */
export function flaky(failures: number, first: Handler, then: Handler = ok): Handler {
  let n = 0;
  return (req, res, server) => (n++ < failures ? first(req, res, server) : then(req, res, server));
}

/** Accepts the request and never answers. */
export const hang: Handler = () => {};

/** 200 with a body that never ends (for GETs); a manifest media type on manifest paths, JSON elsewhere. */
export const endlessBody: Handler = (req, res) => {
  res.writeHead(200, { 'content-type': req.url?.includes('/manifests/') ? 'application/vnd.oci.image.manifest.v1+json' : 'application/json' });
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  const t = setInterval(() => {
    if (!res.destroyed) res.write(chunk);
  }, 1);
  res.on('close', () => clearInterval(t));
};

/** Promises 1000 bytes, sends 10, then cuts the connection. */
export const truncatedBody: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
  res.write('{"token":"');
  setTimeout(() => res.destroy(), 5);
};

export function redirect(location: string, code = 302): Handler {
  return (_req, res) => {
    res.writeHead(code, { location }).end();
  };
}

/** 401 with a Bearer challenge pointing at `realm`. */
export function bearerChallenge(realm: string, extra = ''): Handler {
  return (_req, res) => {
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="misbehaving"${extra}`, 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
  };
}

/**
 * A loopback address that nothing listens on (ports 80 and 443 refuse): a registry host with no port, as an image
 * that is to be rewritten needs (a proxy path cannot carry a port). Checked, never assumed.
 */
export async function refusedHost(ip = '127.0.0.9'): Promise<string> {
  const { connect } = await import('node:net');
  for (const port of [80, 443]) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: ip, port });
      socket.once('connect', () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(true));
    });
    if (!refused) throw new Error(`${ip}:${port} accepts connections: the tests need an address where nothing listens`);
  }
  return ip;
}

/** A port on 127.0.0.1 with nothing listening (connection refused). */
export async function closedPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * A private CA and a server certificate signed by it (openssl). `names` go into subjectAltName;
 * the default covers 127.0.0.1, ::1 and localhost. Call cleanup() when done.
 */
export function makeTestCA(names: readonly string[] = ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost']): TlsMaterial & { cleanup(): void } {
  ensureRegistryTools(['openssl']);
  const dir = mkdtempSync(join(tmpdir(), 'ppi-ca-'));
  const f = (n: string) => join(dir, n);
  const q = { stdio: 'ignore' as const };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-subj', '/CN=ppi test CA', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], q);
  execFileSync('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=ppi test server'], q);
  writeFileSync(f('ext.cnf'), `subjectAltName=${names.join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  execFileSync('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf')], q);
  return {
    caFile: f('ca.pem'),
    cert: readFileSync(f('server.pem'), 'utf8'),
    key: readFileSync(f('server.key'), 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}


/** An HTTP CONNECT proxy on 127.0.0.1 that only tunnels to loopback and records the targets it was asked for. */
export async function startConnectProxy(): Promise<{ url: string; targets: string[]; stop(): Promise<void> }> {
  const targets: string[] = [];
  const sockets = new Set<Socket>();
  const server = createHttpServer((_req, res) => res.writeHead(405).end());
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    targets.push(target);
    const m = /^(127\.0\.0\.1|\[::1\]|localhost):(\d+)$/.exec(target);
    if (!m) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const up = netConnect(Number(m[2]), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    targets,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
