import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProbeVerdict } from '../../src/probe/types.js';
import { startMisbehaving, type Misbehaving } from './misbehaving.js';

/**
 * Loopback registries shaped like what big registries are documented to answer an anonymous client:
 * the `/v2/` challenge, the token endpoint (which scopes it grants, `token` or `access_token`,
 * `expires_in`), the manifest answer and the error body, for a public repository, a private one, one
 * that does not exist, and a missing tag. docs/registries.md gives the source of every shape; what a
 * source does not say is marked "modelled" there and here.
 *
 * Repositories: `pub/app` is public, `priv/app` private, `nope/app` does not exist; tag `1.0` exists
 * in `pub/app`, `no-such-tag` does not. A token is an opaque `anon.<shape>.<n>` string; the server
 * remembers which repositories it may pull.
 */
export type ShapeCase = 'public' | 'private' | 'missing' | 'missingTag';

export const IMAGE: Record<ShapeCase, string> = {
  public: 'pub/app:1.0',
  private: 'priv/app:1.0',
  missing: 'nope/app:1.0',
  missingTag: 'pub/app:no-such-tag',
};

export interface Expectation {
  readonly verdict: ProbeVerdict;
  /** what explain() must say */
  readonly explains: RegExp;
}

export interface Shape {
  readonly name: string;
  /** the cases this registry has (ECR private has no anonymous public repositories, ECR Public no private ones) */
  readonly expect: Partial<Record<ShapeCase, Expectation>>;
  readonly handler: (req: IncomingMessage, res: ServerResponse, ctx: ShapeContext) => void;
}

export interface ShapeContext {
  readonly origin: string;
  readonly host: string;
  /** issue a token that may pull `repos` */
  issue(repos: readonly string[]): string;
  /** repositories the request's Bearer token may pull (undefined: no or unknown token) */
  grants(req: IncomingMessage): ReadonlySet<string> | undefined;
}

const PUBLIC = new Set(['pub/app']);
const EXISTING_TAGS = new Map([['pub/app', new Set(['1.0'])], ['priv/app', new Set(['1.0'])]]);

const say = {
  public: /^the registry served the manifest to an anonymous client/,
  tokenRefused: (status: number) => new RegExp(`token endpoint refused an anonymous token for this repository \\(${status}\\): it needs credentials, so it is private, or it does not exist`),
  tokenWithoutPull: (detail = '') => new RegExp(`gave an anonymous token without pull access to this repository and refused the manifest \\(401${detail}\\): it is private, or it does not exist`),
  basic: /asks for a login before any pull \(Basic auth\)/,
  notFound: /does not exist for an anonymous client; some registries hide private repositories this way, so it is treated as private — check the reference$/,
};

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'docker-distribution-api-version': 'registry/2.0', ...headers }).end(text);
}

function errors(code: string, message: string, detail?: unknown): unknown {
  return { errors: [{ code, message, ...(detail !== undefined && { detail }) }] };
}

function manifestOk(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'application/vnd.oci.image.index.v1+json',
    'docker-content-digest': `sha256:${'ab'.repeat(32)}`,
    'docker-distribution-api-version': 'registry/2.0',
  }).end();
}

interface Parsed {
  readonly path: string;
  readonly query: URLSearchParams;
  /** for /v2/<repo>/manifests/<ref> */
  readonly repo?: string;
  readonly ref?: string;
}

function parse(req: IncomingMessage, origin: string): Parsed {
  const url = new URL(req.url ?? '/', origin);
  const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
  return { path: url.pathname, query: url.searchParams, ...(m && { repo: m[1], ref: m[2] }) };
}

/** the repository of a `repository:<name>:pull` scope */
function scopeRepo(q: URLSearchParams): string | undefined {
  return /^repository:(.+):[^:]+$/.exec(q.get('scope') ?? '')?.[1];
}

/** 200 with the manifest when the tag exists, else the registry's 404 */
function serveExisting(res: ServerResponse, repo: string, ref: string, missingRepo: () => void = () => send(res, 404, errors('NAME_UNKNOWN', 'repository name not known to registry'))): void {
  const tags = EXISTING_TAGS.get(repo);
  if (!tags) return missingRepo();
  if (!tags.has(ref)) return send(res, 404, errors('MANIFEST_UNKNOWN', 'manifest unknown', { Tag: ref }));
  manifestOk(res);
}

/**
 * Registries that refuse an anonymous token for anything but a public repository: the token
 * endpoint answers `refusal`, the manifest 401 with the challenge, a public repository's token
 * pulls it (GHCR, Artifact Registry, GitLab).
 */
function tokenRefusingShape(o: {
  name: string;
  refusal: 401 | 403;
  tokenPath: string;
  challenge: (origin: string, scope?: string) => string;
  unauthorized: unknown;
  refused: unknown;
  tokenBody?: Record<string, unknown>;
  missingTag?: boolean;
}): Shape {
  return {
    name: o.name,
    expect: {
      public: { verdict: 'public', explains: say.public },
      private: { verdict: 'private', explains: say.tokenRefused(o.refusal) },
      missing: { verdict: 'private', explains: say.tokenRefused(o.refusal) },
      ...(o.missingTag !== false && { missingTag: { verdict: 'private-404', explains: say.notFound } }),
    },
    handler(req, res, ctx) {
      const p = parse(req, ctx.origin);
      if (p.path === '/v2/') return send(res, 401, o.unauthorized, { 'www-authenticate': o.challenge(ctx.origin) });
      if (p.path === o.tokenPath) {
        const repo = scopeRepo(p.query);
        if (!repo || !PUBLIC.has(repo)) return send(res, o.refusal, o.refused);
        return send(res, 200, { token: ctx.issue([repo]), ...o.tokenBody });
      }
      if (p.repo && p.ref) {
        if (!ctx.grants(req)?.has(p.repo)) return send(res, 401, o.unauthorized, { 'www-authenticate': o.challenge(ctx.origin, `repository:${p.repo}:pull`) });
        return serveExisting(res, p.repo, p.ref);
      }
      send(res, 404, errors('NOT_FOUND', 'not found'));
    },
  };
}

export const SHAPES: readonly Shape[] = [
  {
    // docs/registries.md#docker-hub
    name: 'Docker Hub',
    expect: {
      public: { verdict: 'public', explains: say.public },
      private: { verdict: 'private', explains: say.tokenWithoutPull(', insufficient_scope') },
      missing: { verdict: 'private', explains: say.tokenWithoutPull(', insufficient_scope') },
      missingTag: { verdict: 'private-404', explains: say.notFound },
    },
    handler(req, res, ctx) {
      const p = parse(req, ctx.origin);
      const challenge = `Bearer realm="${ctx.origin}/token",service="registry.docker.io"`;
      const unauthorized = errors('UNAUTHORIZED', 'authentication required', p.repo ? [{ Type: 'repository', Class: '', Name: p.repo, Action: 'pull' }] : null);
      if (p.path === '/v2/') return send(res, 401, unauthorized, { 'www-authenticate': challenge });
      if (p.path === '/token') {
        // any scope gets a token; it carries pull only for what the client may pull
        const repo = scopeRepo(p.query);
        const token = ctx.issue(repo && PUBLIC.has(repo) ? [repo] : []);
        return send(res, 200, { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() });
      }
      if (p.repo && p.ref) {
        const grants = ctx.grants(req);
        if (grants?.has(p.repo)) return serveExisting(res, p.repo, p.ref);
        const error = req.headers.authorization ? ',error="insufficient_scope"' : '';
        return send(res, 401, unauthorized, { 'www-authenticate': `${challenge},scope="repository:${p.repo}:pull"${error}` });
      }
      send(res, 404, errors('NOT_FOUND', 'not found'));
    },
  },
  // docs/registries.md#github-container-registry-ghcrio
  tokenRefusingShape({
    name: 'GHCR',
    refusal: 401,
    tokenPath: '/token',
    challenge: (o, scope) => `Bearer realm="${o}/token",service="ghcr.io",scope="${scope ?? 'repository:user/image:pull'}"`,
    unauthorized: errors('UNAUTHORIZED', 'authentication required'),
    // private or missing: no anonymous token (missing modelled as private)
    refused: errors('UNAUTHORIZED', 'authentication required'),
    missingTag: false,
  }),
  {
    // docs/registries.md#quayio, from quay/quay endpoints/v2/
    name: 'Quay',
    expect: {
      public: { verdict: 'public', explains: say.public },
      private: { verdict: 'private', explains: say.tokenWithoutPull() },
      missing: { verdict: 'private', explains: say.tokenWithoutPull() },
      missingTag: { verdict: 'private-404', explains: say.notFound },
    },
    handler(req, res, ctx) {
      const p = parse(req, ctx.origin);
      const auth = (repo?: string) => `Bearer realm="${ctx.origin}/v2/auth",service="quay.io"${repo ? `,scope="repository:${repo}:pull"` : ''}`;
      if (p.path === '/v2/') return send(res, 401, 'true', { 'www-authenticate': auth() });
      if (p.path === '/v2/auth') {
        const repo = scopeRepo(p.query);
        if (!repo) return send(res, 401, errors('UNAUTHORIZED', 'access to the requested resource is not authorized', {}), { 'www-authenticate': auth() });
        // a token for every scope; pull only in it for a public repository; no expires_in
        return send(res, 200, { token: ctx.issue(PUBLIC.has(repo) ? [repo] : []) });
      }
      if (p.repo && p.ref) {
        if (!ctx.grants(req)?.has(p.repo)) {
          return send(res, 401, errors('UNAUTHORIZED', 'access to the requested resource is not authorized', {}), { 'www-authenticate': auth(p.repo) });
        }
        return serveExisting(res, p.repo, p.ref, () => send(res, 404, errors('NAME_UNKNOWN', 'repository name not known to registry', {})));
      }
      send(res, 404, errors('NOT_FOUND', 'not found'));
    },
  },
  {
    // docs/registries.md#amazon-ecr-private-registries
    name: 'ECR private',
    expect: {
      private: { verdict: 'private', explains: say.basic },
      missing: { verdict: 'private', explains: say.basic },
    },
    handler(_req, res, ctx) {
      // no anonymous pulls at all: every request asks for Basic credentials (body modelled)
      send(res, 401, errors('DENIED', 'Not Authorized'), { 'www-authenticate': `Basic realm="https://${ctx.host}/",service="ecr.amazonaws.com"` });
    },
  },
  {
    // docs/registries.md#amazon-ecr-public-publicecraws
    name: 'ECR Public',
    expect: {
      public: { verdict: 'public', explains: say.public },
      missing: { verdict: 'private-404', explains: say.notFound },
      missingTag: { verdict: 'private-404', explains: say.notFound },
    },
    handler(req, res, ctx) {
      const p = parse(req, ctx.origin);
      const challenge = `Bearer realm="${ctx.origin}/token/",service="public.ecr.aws",scope="aws"`;
      if (p.path === '/v2/') return send(res, 401, errors('DENIED', 'Not Authorized'), { 'www-authenticate': challenge });
      if (p.path === '/token/' || p.path === '/token') {
        // one anonymous token, good for every public repository, whatever scope was asked for
        return send(res, 200, { token: ctx.issue(['*']) });
      }
      if (p.repo && p.ref) {
        if (!ctx.grants(req)?.has('*')) return send(res, 401, errors('DENIED', 'Not Authorized'), { 'www-authenticate': challenge });
        return serveExisting(res, p.repo, p.ref, () =>
          send(res, 404, errors('NAME_UNKNOWN', `The repository with name '${p.repo}' does not exist in the registry with id 'e1x2a3m4'`)),
        );
      }
      send(res, 404, errors('NOT_FOUND', 'not found'));
    },
  },
  // docs/registries.md#google-artifact-registry-and-gcrio
  tokenRefusingShape({
    name: 'Artifact Registry',
    refusal: 403,
    tokenPath: '/v2/token',
    challenge: (o) => `Bearer realm="${o}/v2/token"`, // no service
    unauthorized: errors('UNAUTHORIZED', 'Unauthorized access.'),
    refused: errors('DENIED', 'Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "projects/acme/locations/us/repositories/r" (or it may not exist)'),
    tokenBody: { expires_in: 43200 },
  }),
  {
    // docs/registries.md#azure-container-registry (anonymous pull off, the default)
    name: 'ACR',
    expect: {
      private: { verdict: 'private', explains: say.tokenRefused(401) },
      missing: { verdict: 'private', explains: say.tokenRefused(401) },
    },
    handler(req, res, ctx) {
      const p = parse(req, ctx.origin);
      const unauthorized = errors('UNAUTHORIZED', 'authentication required, visit https://aka.ms/acr/authorization for more information.');
      const challenge = (scope?: string) => `Bearer realm="${ctx.origin}/oauth2/token",service="${ctx.host}"${scope ? `,scope="${scope}"` : ''}`;
      if (p.path === '/v2/') return send(res, 401, unauthorized, { 'www-authenticate': challenge() });
      if (p.path === '/oauth2/token') return send(res, 401, unauthorized); // modelled: no anonymous token
      if (p.repo) return send(res, 401, unauthorized, { 'www-authenticate': challenge(`repository:${p.repo}:pull`) });
      send(res, 404, errors('NOT_FOUND', 'not found'));
    },
  },
  {
    // docs/registries.md#azure-container-registry (anonymous pull enabled: the whole registry)
    name: 'ACR, anonymous pull enabled',
    expect: {
      public: { verdict: 'public', explains: say.public },
      missing: { verdict: 'private-404', explains: say.notFound },
    },
    handler(req, res, ctx) {
      const p = parse(req, ctx.origin);
      const unauthorized = errors('UNAUTHORIZED', 'authentication required, visit https://aka.ms/acr/authorization for more information.');
      const challenge = `Bearer realm="${ctx.origin}/oauth2/token",service="${ctx.host}"`;
      if (p.path === '/v2/') return send(res, 401, unauthorized, { 'www-authenticate': challenge });
      if (p.path === '/oauth2/token') return send(res, 200, { access_token: ctx.issue(['*']) });
      if (p.repo && p.ref) {
        if (!ctx.grants(req)?.has('*')) return send(res, 401, unauthorized, { 'www-authenticate': challenge });
        return serveExisting(res, p.repo, p.ref); // modelled: distribution's 404 NAME_UNKNOWN
      }
      send(res, 404, errors('NOT_FOUND', 'not found'));
    },
  },
  {
    // docs/registries.md#harbor, from goharbor/harbor src/server/middleware/v2auth/auth.go
    name: 'Harbor',
    expect: {
      public: { verdict: 'public', explains: say.public },
      private: { verdict: 'private', explains: say.basic },
      missing: { verdict: 'private', explains: say.tokenWithoutPull() },
      missingTag: { verdict: 'private-404', explains: say.notFound },
    },
    handler(req, res, ctx) {
      const p = parse(req, ctx.origin);
      const bearer = (scope?: string) => `Bearer realm="${ctx.origin}/service/token",service="harbor-registry"${scope ? `,scope="${scope}"` : ''}`;
      const project = (repo: string) => repo.split('/')[0]!;
      if (p.path === '/v2/') return send(res, 401, errors('UNAUTHORIZED', 'unauthorized'), { 'www-authenticate': bearer() });
      if (p.path === '/service/token') {
        const repo = scopeRepo(p.query);
        if (!repo) return send(res, 401, errors('UNAUTHORIZED', 'Unauthorized'));
        // a token for any scope; empty actions for a private or missing project
        return send(res, 200, { token: ctx.issue(PUBLIC.has(repo) ? [repo] : []), expires_in: 1800, issued_at: new Date().toISOString() });
      }
      if (p.repo && p.ref) {
        if (!req.headers.authorization) return send(res, 401, errors('UNAUTHORIZED', 'authorize header needed to send HEAD to repository'), { 'www-authenticate': bearer(`repository:${p.repo}:pull`) });
        if (!EXISTING_TAGS.has(p.repo) && project(p.repo) === 'nope') {
          // the project lookup fails: the challenge is empty
          return send(res, 401, errors('UNAUTHORIZED', `project ${project(p.repo)} not found`), { 'www-authenticate': '' });
        }
        if (!ctx.grants(req)?.has(p.repo)) {
          return send(res, 401, errors('UNAUTHORIZED', `unauthorized to access repository: ${p.repo}, action: pull: unauthorized to access repository: ${p.repo}, action: pull`), {
            'www-authenticate': 'Basic realm="harbor"',
          });
        }
        return serveExisting(res, p.repo, p.ref);
      }
      send(res, 404, errors('NOT_FOUND', 'not found'));
    },
  },
  // docs/registries.md#gitlab, from gitlab's Auth::ContainerRegistryAuthenticationService
  tokenRefusingShape({
    name: 'GitLab',
    refusal: 403,
    tokenPath: '/jwt/auth',
    challenge: (o, scope) => `Bearer realm="${o}/jwt/auth",service="container_registry"${scope ? `,scope="${scope}"` : ''}`,
    unauthorized: errors('UNAUTHORIZED', 'authentication required'),
    // an anonymous request whose scopes grant nothing is refused outright
    refused: errors('DENIED', 'access forbidden'),
  }),
];

/** Starts `shape` on 127.0.0.1 (plain http: list the host in probe.insecureRegistries). */
export async function startShape(shape: Shape): Promise<Misbehaving> {
  const tokens = new Map<string, ReadonlySet<string>>();
  let n = 0;
  let server: Misbehaving | undefined;
  const slug = shape.name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  server = await startMisbehaving((req, res, srv) => {
    const ctx: ShapeContext = {
      origin: srv.origin,
      host: srv.host,
      issue: (repos) => {
        const token = `anon.${slug}.${++n}`;
        tokens.set(token, new Set(repos));
        return token;
      },
      grants: (r) => {
        const m = /^Bearer (.+)$/.exec(r.headers.authorization ?? '');
        return m ? tokens.get(m[1]!) : undefined;
      },
    };
    shape.handler(req, res, ctx);
  });
  return server;
}
