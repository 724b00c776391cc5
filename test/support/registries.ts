import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureRegistryTools } from './registry-tools.js';
import { startTokenIssuer, type TokenIssuer } from './token-issuer.js';

const run = promisify(execFile);

/**
 * Real Debian `docker-registry` (CNCF distribution) instances on 127.0.0.1, for tests, benchmarks
 * and demos. Nothing here reaches beyond loopback.
 *
 *   const reg = await startRegistry({ auth: 'token', anonymousPull: ['pub/*'] });
 *   await reg.push('pub/app', '1');                 // OCI manifest
 *   await reg.push('pub/app', '2', { format: 'v2s2' }); // Docker v2 schema 2
 *   ... probe `${reg.host}/pub/app:1` with insecureRegistries: [reg.host] ...
 *   await reg.stop();
 */
export type RegistryAuth = 'none' | 'basic' | 'token';

export interface RegistryOptions {
  readonly auth?: RegistryAuth;
  /** token auth: repositories anonymous users may pull (exact, or `prefix/*`) */
  readonly anonymousPull?: readonly string[];
  /** Put a counting HTTP front on the registry: `host` then points at it and `requests` counts what it saw. */
  readonly countRequests?: boolean;
  /**
   * Listen here instead of a free port on 127.0.0.1, e.g. `{ip: '127.0.0.2', port: 80}`: on port 80 the
   * registry host has no port, as on a real registry (binding it needs root).
   */
  readonly listen?: { readonly ip: string; readonly port: number };
}

let nextOctet = 100 + (process.pid % 50) * 2;
/**
 * Port 80 of a fresh loopback address: the registry host then has no port, as on a real registry, so its private
 * images can be rewritten (a proxy path cannot carry a port). Binding port 80 needs root, as the suite runs in CI.
 */
export function onPort80(): { ip: string; port: number } {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('this test runs a registry on port 80 of a loopback address (a private image must have no port), which needs root');
  }
  nextOctet = nextOctet >= 250 ? 100 : nextOctet + 1;
  return { ip: `127.0.0.${nextOctet}`, port: 80 };
}

export interface RegistryHandle {
  /** `127.0.0.1:PORT`: use as the image's registry host and in `insecureRegistries` */
  readonly host: string;
  readonly auth: RegistryAuth;
  /** user and password that may push (basic and token auth) */
  readonly credentials: { user: string; password: string };
  readonly issuer?: TokenIssuer;
  /** requests the counting front has forwarded (countRequests only) */
  readonly requests: number;
  push(repository: string, tag: string, options?: { format?: 'oci' | 'v2s2' }): Promise<void>;
  stop(): Promise<void>;
}

const CREDS = { user: 'pusher', password: 'push-secret' };

let layout: Promise<string> | undefined;

/** A tiny OCI image layout made once per process with umoci (removed at exit). */
export function testImageLayout(): Promise<string> {
  layout ??= (async () => {
    ensureRegistryTools(['umoci']);
    const dir = mkdtempSync(join(tmpdir(), 'ppi-image-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await run('umoci', ['init', '--layout', join(dir, 'oci')]);
    await run('umoci', ['new', '--image', `${join(dir, 'oci')}:latest`]);
    return join(dir, 'oci');
  })();
  return layout;
}

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = httpRequest(url, { timeout: 500 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200 || res.statusCode === 401);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry at ${url} not ready after 10 s: ${log()}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startRegistry(options: RegistryOptions = {}): Promise<RegistryHandle> {
  ensureRegistryTools(['docker-registry', 'skopeo', 'umoci', 'htpasswd', 'openssl']);
  const auth = options.auth ?? 'none';
  const dir = mkdtempSync(join(tmpdir(), 'ppi-registry-'));
  let issuer: TokenIssuer | undefined;
  let authYaml = '';
  if (auth === 'basic') {
    const line = execFileSync('htpasswd', ['-Bbn', CREDS.user, CREDS.password], { encoding: 'utf8' });
    writeFileSync(join(dir, 'htpasswd'), line);
    authYaml = `auth:\n  htpasswd:\n    realm: ppi-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (auth === 'token') {
    issuer = await startTokenIssuer({ anonymousPull: options.anonymousPull ?? [], pushCredentials: CREDS });
    authYaml = `auth:\n  token:\n    realm: ${issuer.realm}\n    service: ${issuer.service}\n    issuer: ${issuer.issuer}\n    rootcertbundle: ${issuer.certFile}\n`;
  }

  let child: ChildProcess | undefined;
  let port = 0;
  const ip = options.listen?.ip ?? '127.0.0.1';
  const attempts = options.listen ? 1 : 5;
  let stderr = '';
  for (let attempt = 0; attempt < attempts && !child; attempt++) {
    port = options.listen?.port ?? (await freePort());
    const cfg = join(dir, 'config.yml');
    writeFileSync(
      cfg,
      `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${ip}:${port}\n${authYaml}`,
    );
    const c = spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    stderr = '';
    c.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    try {
      await waitReady(`http://${ip}:${port}/v2/`, c, () => stderr);
      child = c;
    } catch (e) {
      await stopChild(c);
      if (attempt === attempts - 1) {
        await issuer?.stop();
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }

  let front: Server | undefined;
  const counter = { requests: 0 };
  const direct = port === 80 ? ip : `${ip}:${port}`;
  let host = direct;
  if (options.countRequests) {
    front = createServer((req, res) => {
      counter.requests++;
      const up = httpRequest({ host: ip, port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
    });
    await new Promise<void>((resolve) => front!.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(front.address() as AddressInfo).port}`;
  }

  const registry = child!;
  return {
    host,
    auth,
    credentials: CREDS,
    ...(issuer && { issuer }),
    get requests() {
      return counter.requests;
    },
    async push(repository, tag, pushOptions = {}) {
      const src = await testImageLayout();
      const args = ['copy', '--quiet', '--dest-tls-verify=false'];
      if (auth !== 'none') args.push('--dest-creds', `${CREDS.user}:${CREDS.password}`);
      if (pushOptions.format === 'v2s2') args.push('--format', 'v2s2');
      args.push(`oci:${src}:latest`, `docker://${direct}/${repository}:${tag}`);
      try {
        await run('skopeo', args, { timeout: 60_000 });
      } catch (e) {
        throw new Error(`skopeo copy to ${direct}/${repository}:${tag} failed: ${(e as { stderr?: string }).stderr ?? e}`);
      }
    },
    async stop() {
      if (front) {
        front.closeAllConnections();
        await new Promise<void>((resolve) => front!.close(() => resolve()));
      }
      await stopChild(registry);
      await issuer?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
