import { execFileSync } from 'node:child_process';
import { X509Certificate, createSign, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

/**
 * A Docker token issuer for distribution's `auth.token` (registry-facts.md): RS256 JWTs with an `x5c`
 * header holding the signing certificate, which the registry checks against `rootcertbundle`.
 * Anonymous requests get `pull` on the repositories listed in `anonymousPull` (exact names, or a
 * prefix ending in `/*`) and an empty grant elsewhere; requests with the push credentials get everything.
 */
export interface TokenIssuerOptions {
  readonly service?: string;
  readonly anonymousPull: readonly string[];
  /** user:password allowed to push (Basic auth to the issuer) */
  readonly pushCredentials?: { user: string; password: string };
}

export interface TokenIssuer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM file with the signing certificate, for the registry's rootcertbundle */
  readonly certFile: string;
  /** token requests served so far */
  requests: number;
  stop(): Promise<void>;
}

export async function startTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const dir = mkdtempSync(join(tmpdir(), 'ppi-issuer-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-subj', '/CN=ppi-test-issuer', '-days', '2'], { stdio: 'ignore' });
  const key = readFileSync(keyFile, 'utf8');
  const der = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
  const service = options.service ?? 'ppi-test-registry';
  const issuerName = 'ppi-test-issuer';
  const push = options.pushCredentials ?? { user: 'pusher', password: 'push-secret' };
  const grants = (repo: string): boolean =>
    options.anonymousPull.some((p) => (p.endsWith('/*') ? repo.startsWith(p.slice(0, -1)) : p === repo));

  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    const url = new URL(req.url ?? '/', 'http://issuer');
    const authHeader = req.headers.authorization ?? '';
    const pusher = authHeader === `Basic ${Buffer.from(`${push.user}:${push.password}`).toString('base64')}`;
    if (authHeader !== '' && !pusher) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const access = url.searchParams.getAll('scope').flatMap((scope) => {
      const m = /^repository:([^:]+):(.+)$/.exec(scope);
      if (!m) return [];
      const repo = m[1]!;
      const wanted = m[2]!.split(',');
      const actions = pusher ? wanted : grants(repo) ? wanted.filter((a) => a === 'pull') : [];
      return [{ type: 'repository', name: repo, actions }];
    });
    const now = Math.floor(Date.now() / 1000);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const header = b64({ alg: 'RS256', typ: 'JWT', x5c: [der] });
    const payload = b64({ iss: issuerName, sub: pusher ? push.user : '', aud: url.searchParams.get('service') ?? service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access });
    const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(key).toString('base64url');
    const token = `${header}.${payload}.${signature}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer: issuerName,
    certFile,
    get requests() {
      return state.requests;
    },
    set requests(n: number) {
      state.requests = n;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
