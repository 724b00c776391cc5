/**
 * Fuzz target for the registry client (issue 11): a raw TCP server on 127.0.0.2 answers every request with a
 * generated response: random status lines (valid, unknown, malformed), headers (WWW-Authenticate challenges and
 * garbage, Location to loopback, to hostile addresses and to nonsense, Retry-After of every shape, Content-Type,
 * Content-Length lies, broken chunking, header injection) and bodies, and misbehaves at the socket (closes early,
 * resets, hangs, sends half an answer).
 *
 * Every run must end within the deadline with, for each image, a decision or an inconclusive result with a reason;
 * nothing may throw, reject unhandled or crash. And it must fail closed: `public` only when some answer was a 2xx
 * with a manifest media type, `private` only after a 401 or 403, `private-404` only after a 404.
 *
 * Seeded and bounded: FUZZ_SEED and FUZZ_RUNS override the defaults; a failure prints the seed and the
 * shrunk counterexample. Nothing leaves loopback: names resolve through a fake lookup (fuzz.test → 127.0.0.2 only)
 * and a connect hook refuses any other address.
 */
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import fc from 'fast-check';
import { createProber, DEFAULT_PROBE_SETTINGS, type ProbeOutcome } from '../../src/probe/index.js';
import { parseReference } from '../../src/reference/parse.js';

/**
 * The server listens on 127.0.0.2, which the prober is told to class as public: the fuzzed registry is a public one,
 * so the egress rules are fuzzed too (its realms and redirects to 127.0.0.1, 10.0.0.1, metadata must all be refused).
 */
const HOST = '127.0.0.2';
const SEED = Number(process.env['FUZZ_SEED'] ?? 20_251_111);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150);
const TIMEOUT_S = 0.4;
const DEADLINE_S = 1.5;
/** What the deadline may be exceeded by: the timers firing and the answer being assembled, not another request. */
const SLACK_MS = 1_000;

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

type Behaviour = 'normal' | 'close' | 'hang' | 'half' | 'reset';
interface Answer {
  readonly status: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
  readonly behaviour: Behaviour;
}

const statusLine = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(200, 201, 204, 206, 301, 302, 303, 307, 308, 400, 401, 403, 404, 405, 408, 418, 429, 500, 502, 503, 504).map((c) => `HTTP/1.1 ${c} Fuzz`) },
  { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0 200 OK', 'HTTP/1.1 200', 'HTTP/1.1 999 Odd', 'HTTP/1.1 2000 Big', 'HTTP/1.1 -1 Negative', 'HTTP/2 200', 'garbage', '', 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="http://169.254.169.254/"') },
);

const challenge = fc.oneof(
  fc.constantFrom(
    'Bearer realm="http://fuzz.test:PORT/token",service="fuzz",scope="repository:org/app:pull"',
    'Bearer realm="http://127.0.0.2:PORT/token",service="fuzz"',
    'Bearer realm="http://127.0.0.2:PORT/token?x=1",error="insufficient_scope"',
    'Bearer realm="http://127.0.0.1:PORT/token"',
    'Bearer realm="http://169.254.169.254/latest/meta-data/"',
    'Bearer realm="http://[64:ff9b::a9fe:a9fe]/"',
    'Bearer realm="http://10.0.0.1/token"',
    'Bearer realm="file:///etc/passwd"',
    'Bearer realm="not a url"',
    'Bearer',
    'Bearer realm=',
    'Bearer realm="unterminated',
    'Basic realm="fuzz"',
    'Negotiate abc==, Bearer realm="http://127.0.0.2:PORT/token"',
    ', , Bearer realm="http://127.0.0.2:PORT/token" , ',
  ),
  fc.string({ maxLength: 60 }),
);
const location = fc.oneof(
  fc.constantFrom(
    '/v2/org/app/manifests/1',
    'http://127.0.0.2:PORT/v2/org/app/manifests/1',
    'http://fuzz.test:PORT/v2/',
    'http://127.0.0.1:PORT/v2/org/app/manifests/1',
    'http://169.254.169.254/',
    'http://[::ffff:127.0.0.1]:PORT/',
    'http://10.0.0.1:5000/',
    'https://127.0.0.1:PORT/',
    'ftp://127.0.0.1/',
    'http://[',
    '',
    '//',
    `/${'a'.repeat(5000)}`,
  ),
  fc.string({ maxLength: 40 }),
);
const retryAfter = fc.constantFrom('0', '1', '2', '999999999999', '-5', '1.5', 'soon', 'Wed, 21 Oct 2015 07:28:00 GMT', new Date(Date.now() + 500).toUTCString(), new Date(Date.now() + 86_400_000).toUTCString(), '');
const contentType = fc.oneof(fc.constantFrom(...MANIFEST_TYPES, 'text/html', 'text/html; charset=utf-8', 'application/json', '', 'application/vnd.oci.image.manifest.v1+json; x=y'), fc.string({ maxLength: 30 }));
const header: fc.Arbitrary<readonly [string, string]> = fc.oneof(
  challenge.map((v) => ['WWW-Authenticate', v] as const),
  location.map((v) => ['Location', v] as const),
  retryAfter.map((v) => ['Retry-After', v] as const),
  contentType.map((v) => ['Content-Type', v] as const),
  fc.constantFrom('BODY', 'BODY+10', 'BODY-1', '-1', 'abc', '99999999999999999999').map((v) => ['Content-Length', v] as const),
  fc.constantFrom('chunked', 'gzip', 'chunked, chunked').map((v) => ['Transfer-Encoding', v] as const),
  fc.constantFrom('close', 'keep-alive', 'upgrade').map((v) => ['Connection', v] as const),
  fc.constantFrom('registry/2.0', '').map((v) => ['Docker-Distribution-API-Version', v] as const),
  fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 40 })).map(([k, v]) => [k, v] as const),
);
const body = fc.oneof(
  fc.constant(''),
  fc.constantFrom('{"token":"fuzz-token"}', '{"access_token":"fuzz-token","expires_in":1}', '{"token":""}', '[1,2]', 'null', '{"errors":[{"code":"UNAUTHORIZED"}]}', '<html>portal</html>'),
  fc.string({ maxLength: 200 }),
  fc.constant('x'.repeat(100 * 1024)),
);
const answer: fc.Arbitrary<Answer> = fc.record({
  status: statusLine,
  headers: fc.array(header, { maxLength: 6 }),
  body,
  behaviour: fc.oneof({ weight: 8, arbitrary: fc.constant<Behaviour>('normal') }, { weight: 1, arbitrary: fc.constantFrom<Behaviour>('close', 'hang', 'half', 'reset') }),
});

/** Raw bytes for one answer: placeholders filled in, Content-Length told or lied about as the headers say. */
function raw(a: Answer, port: number): Buffer {
  const fill = (s: string): string => s.replaceAll('PORT', String(port));
  const bodyBytes = Buffer.from(fill(a.body), 'latin1');
  const chunked = a.headers.some(([k, v]) => k === 'Transfer-Encoding' && v.includes('chunked'));
  const lines = [a.status];
  let toldLength = false;
  for (const [k, v] of a.headers) {
    let value = fill(v);
    if (k === 'Content-Length') {
      toldLength = true;
      value = value.replace(/^BODY\+10$/, String(bodyBytes.length + 10)).replace(/^BODY-1$/, String(Math.max(0, bodyBytes.length - 1))).replace(/^BODY$/, String(bodyBytes.length));
    }
    lines.push(`${k}: ${value}`);
  }
  if (!toldLength && !chunked) lines.push(`Content-Length: ${bodyBytes.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  const payload = chunked ? Buffer.concat([Buffer.from(`${bodyBytes.length.toString(16)}\r\n`), bodyBytes, Buffer.from('\r\n0\r\n\r\n')]) : bodyBytes;
  return Buffer.concat([head, payload]);
}

interface FuzzServer {
  readonly port: number;
  /** statuses actually sent, by request kind */
  readonly sent: Array<{ path: string; status: string; contentType?: string }>;
  stop(): Promise<void>;
}

async function serve(program: readonly Answer[]): Promise<FuzzServer> {
  const sockets = new Set<Socket>();
  const sent: FuzzServer['sent'] = [];
  let next = 0;
  let port = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (d) => {
      buffered += d.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        const path = head.split(' ')[1] ?? '';
        const a = program[next++ % program.length]!;
        sent.push({ path, status: a.status, contentType: a.headers.find(([k]) => k === 'Content-Type')?.[1] });
        const bytes = raw(a, port);
        switch (a.behaviour) {
          case 'hang':
            return; // says nothing; the client's timeout must end it
          case 'reset':
            socket.resetAndDestroy();
            return;
          case 'half':
            socket.end(bytes.subarray(0, Math.max(1, bytes.length >> 1)));
            return;
          case 'close':
            socket.end(bytes);
            return;
          default:
            socket.write(bytes);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  port = (server.address() as AddressInfo).port;
  return {
    port,
    sent,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const statusOf = (line: string): number => {
  const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(line);
  return m ? Number(m[1]) : -1;
};

describe('fuzz: the registry client against a random loopback server', function () {
  this.timeout(600_000);
  const problems: string[] = [];
  const onUnhandled = (e: unknown): void => void problems.push(`unhandled: ${(e as Error)?.stack ?? String(e)}`);
  before(() => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
  });
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  });

  it(`every probe ends within the deadline with a decision or an inconclusive reason, failing closed (${RUNS} runs, seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 }), async (program, images, retries) => {
        const s = await serve(program);
        const attempts: string[] = [];
        const prober = createProber(
          { ...DEFAULT_PROBE_SETTINGS, timeoutSeconds: TIMEOUT_S, deadlineSeconds: DEADLINE_S, retries, concurrency: 4, insecureRegistries: [`${HOST}:${s.port}`, `fuzz.test:${s.port}`] },
          {
            env: {},
            backoffBaseMs: 5,
            lookup: (hostname: string, _o: { all: true }, cb: (e: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) => {
              if (hostname === 'fuzz.test') return cb(null, [{ address: HOST, family: 4 }]);
              cb(Object.assign(new Error(`fuzz lookup refuses ${hostname}`), { code: 'ENOTFOUND' }), []);
            },
            classifyAddress: (a) => (a === HOST ? 'public' : undefined),
            onConnect: ({ hostname, addresses }) => {
              attempts.push(...addresses);
              if (addresses.some((a) => !/^127\./.test(a) && a !== '::1')) throw new Error(`fuzz guard: refused ${hostname}`);
            },
          },
        );
        const refs = Array.from({ length: images }, (_, i) => parseReference(`${i % 2 ? 'fuzz.test' : HOST}:${s.port}/org/app${i}:1`));
        const started = Date.now();
        let out: Map<string, ProbeOutcome> | undefined;
        let thrown: unknown;
        try {
          out = await prober.probeAll(refs);
        } catch (e) {
          thrown = e;
        }
        const elapsed = Date.now() - started;
        const closed = await Promise.race([prober.close().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 2_000))]);
        await s.stop();

        assert.equal(thrown, undefined, `probeAll threw: ${(thrown as Error)?.stack ?? String(thrown)}`);
        assert.ok(elapsed <= DEADLINE_S * 1000 + SLACK_MS, `took ${elapsed} ms, deadline ${DEADLINE_S} s`);
        assert.ok(closed, 'close() did not finish within 2 s');
        assert.deepEqual(problems, []);
        assert.ok(attempts.every((a) => a === HOST), `a public registry led the probe to ${attempts.join(', ')}`);
        const statuses = s.sent.map((x) => statusOf(x.status));
        for (const ref of refs) {
          const key = `${ref.domain}/${ref.path}:${ref.tag}`;
          const o = out!.get(key);
          assert.ok(o, `no outcome for ${key}`);
          assert.ok(['public', 'private', 'private-404', 'inconclusive'].includes(o.verdict), o.verdict);
          assert.ok(typeof o.reason === 'string' && o.reason.length > 0, 'no reason');
          assert.ok(o.reason.length < 2_000, `a reason of ${o.reason.length} characters`);
          assert.doesNotMatch(o.reason, /[\u0000-\u001f\u007f]/, `a control character in ${JSON.stringify(o.reason)}`);
          assert.doesNotMatch(o.reason, /fuzz-token/, 'a token in a reason');
          if (o.verdict === 'public') {
            const manifest = s.sent.some((x) => statusOf(x.status) >= 200 && statusOf(x.status) < 300 && MANIFEST_TYPES.some((t) => (x.contentType ?? '').toLowerCase().startsWith(t)));
            assert.ok(manifest, `public without a 2xx manifest answer: ${o.reason}`);
          }
          if (o.verdict === 'private') assert.ok(statuses.some((c) => c === 401 || c === 403), `private without a 401/403: ${o.reason}`);
          if (o.verdict === 'private-404') assert.ok(statuses.includes(404), `private-404 without a 404: ${o.reason}`);
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});
