/**
 * Everything bounded (issue 11): fractional seconds work everywhere seconds become milliseconds, every number in
 * the config is finite, and input quoted in a message is a short excerpt without raw control characters.
 * The bundle rows need `npm run build` first.
 */
import assert from 'node:assert/strict';
import { createProber, DEFAULT_PROBE_SETTINGS } from '../../src/probe/index.js';
import { secondsToMs } from '../../src/probe/types.js';
import { loadConfig } from '../../src/config/load.js';
import { FnError } from '../../src/errors.js';
import { BadReferenceError, parseReference } from '../../src/reference/parse.js';
import { quote } from '../../src/text/quote.js';
import { execFn, execFnAsync, OK_ARGS, podList, SECRET_LICENSE } from '../hardening/support.js';
import { ok, registryThat, startMisbehaving, type Misbehaving } from '../support/misbehaving.js';

describe('bounded: fractional seconds', function () {
  this.timeout(30_000);
  let s: Misbehaving;
  before(async () => {
    s = await startMisbehaving(registryThat(ok));
  });
  after(() => s.stop());

  it('seconds become whole milliseconds, at least 1', () => {
    assert.equal(secondsToMs(16.1), 16_100);
    assert.equal(secondsToMs(0.0001), 1);
    assert.equal(secondsToMs(1e-9), 1);
    assert.equal(secondsToMs(86_400), 86_400_000);
    for (const x of [0.1, 0.3, 2.675, 16.1, 33.333]) assert.ok(Number.isInteger(secondsToMs(x)), String(x));
  });

  it('a probe with timeoutSeconds 16.1 and deadlineSeconds 30.05 decides (it failed with "value of delay is out of range")', async () => {
    const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, timeoutSeconds: 16.1, deadlineSeconds: 30.05, insecureRegistries: [s.host] }, { env: {} });
    try {
      const out = await prober.probeAll([parseReference(`${s.host}/org/app:1`)]);
      const o = [...out.values()][0]!;
      assert.equal(o.verdict, 'public', o.reason);
      assert.match(o.reason, /answered 200/);
    } finally {
      await prober.close();
    }
  });

  it('the bundle with --timeout 16.1 --on-error public decides by the probe, not by the fallback', async () => {
    const image = `${s.host}/org/app:1`;
    const r = await execFnAsync(podList([image]), ['--app-slug', 'app', '--timeout', '16.1', '--deadline', '20.5', '--on-error', 'public', '--insecure-registry', s.host], {
      env: { LICENSE_ID: SECRET_LICENSE },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /out of range|treated as public|probe\.onError/, 'the fallback was applied silently');
    assert.match(r.stdout, /left as is: public \(HEAD http:\/\/127\.0\.0\.1:\d+\/v2\/org\/app\/manifests\/1 answered 200\)/);
  });
});

describe('bounded: numbers in the config', () => {
  const base = { apiVersion: 'fn.proxy-private-images.dev/v1alpha1', kind: 'ProxyPrivateImages', appSlug: 'a' };
  function error(probe: Record<string, unknown>): string {
    try {
      loadConfig({ ...base, probe });
    } catch (e) {
      assert.ok(e instanceof FnError, String(e));
      assert.equal(e.code, 'CONFIG_INVALID');
      return e.message;
    }
    return assert.fail(`accepted ${JSON.stringify(probe)}`);
  }

  it('YAML .inf and .nan are refused as not finite, naming the field', () => {
    assert.match(error({ timeoutSeconds: Infinity }), /probe\.timeoutSeconds must be a finite number, got Infinity/);
    assert.match(error({ deadlineSeconds: -Infinity }), /probe\.deadlineSeconds must be a finite number, got -Infinity/);
    assert.match(error({ cacheTTLSeconds: NaN }), /probe\.cacheTTLSeconds must be a finite number, got NaN/);
    assert.match(error({ retries: NaN, concurrency: Infinity }), /\(and 1 more\)/);
  });

  it('ranges and integers are checked', () => {
    assert.match(error({ timeoutSeconds: 0 }), /probe\.timeoutSeconds must be > 0/);
    assert.match(error({ timeoutSeconds: 86_401 }), /probe\.timeoutSeconds must be <= 86400/);
    assert.match(error({ retries: 1.5 }), /probe\.retries must be integer/);
    assert.match(error({ concurrency: 0 }), /probe\.concurrency must be >= 1/);
    assert.match(error({ cacheTTLSeconds: -1 }), /probe\.cacheTTLSeconds must be >= 0/);
    assert.equal(loadConfig({ ...base, probe: { timeoutSeconds: 16.1, deadlineSeconds: 0.5 } }).probe.timeoutSeconds, 16.1);
  });

  it('through the bundle: a YAML .inf timeout is a config error, not a probe that never times out', () => {
    const r = execFn(podList(['quay.io/org/a:1'], `apiVersion: fn.proxy-private-images.dev/v1alpha1\nkind: ProxyPrivateImages\nappSlug: a\nprobe:\n  timeoutSeconds: .inf\n`), [], {
      env: { LICENSE_ID: SECRET_LICENSE },
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /invalid functionConfig: probe\.timeoutSeconds must be a finite number, got Infinity/);
  });
});

describe('bounded: quoted input in messages', () => {
  it('quote() cuts long values and escapes every control and format character', () => {
    assert.equal(quote('quay.io/org/a'), '"quay.io/org/a"');
    assert.equal(quote('a\u001b[31mb\u007fc\u009bd\u202ee\u2028f\u200bg'), '"a\\u001b[31mb\\u007fc\\u009bd\\u202ee\\u2028f\\u200bg"');
    const long = quote('x'.repeat(1_000_000));
    assert.ok(long.length < 120, long);
    assert.match(long, /^"x{80}\.\.\." \(1000000 characters\)$/);
    // a surrogate pair is never cut in half
    assert.doesNotMatch(quote(`${'x'.repeat(79)}😀tail`), /\\ud83d/);
  });

  it('a 1 MB image string is quoted as a short excerpt, naming its length', () => {
    const image = `quay.io/org/${'a'.repeat(1024 * 1024)}`;
    const e = (() => {
      try {
        parseReference(image);
      } catch (err) {
        return err as BadReferenceError;
      }
      return assert.fail('parsed');
    })();
    assert.ok(e.message.length < 300, `message of ${e.message.length} characters`);
    assert.match(e.message, /^invalid image reference "quay\.io\/org\/a+\.\.\." \(1048588 characters\): repository name longer than 255 characters$/);
    const upper = (() => {
      try {
        parseReference(`quay.io/${'A'.repeat(100_000)}`);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    assert.ok(upper.length < 300, upper.slice(0, 300));
    assert.match(upper, /repository name must be lowercase \("A+\.\.\." \(100000 characters\)\)/);
  });

  it('control characters in an image never reach stderr raw', () => {
    for (const bad of ['quay.io/org/a:\u001b[2Jx', 'quay.io/org/a\u007f:1', 'quay.io/org/\u202eevil:1', 'quay.io/org/a:1\u0085']) {
      const r = execFn(podList([JSON.stringify(bad)]), OK_ARGS, { env: { LICENSE_ID: SECRET_LICENSE } });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /invalid image reference/);
      assert.doesNotMatch(r.stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/, `raw control character in ${JSON.stringify(r.stderr)}`);
    }
  });

  it('through the bundle: a 1 MB image gives a short stderr line', () => {
    const r = execFn(podList([`quay.io/org/${'a'.repeat(1024 * 1024)}:1`]), OK_ARGS, { env: { LICENSE_ID: SECRET_LICENSE } });
    assert.equal(r.status, 1);
    assert.ok(r.stderr.length < 1_000, `stderr holds ${r.stderr.length} characters`);
    assert.match(r.stderr, /\(1048590 characters\): repository name longer than 255 characters/);
  });

  it('a registry URL in a reason has its path cut (a redirect to a 5,000-character path; found by the fuzz target)', async () => {
    const s = await startMisbehaving(
      registryThat((req, res) => void (req.url?.includes('/manifests/') ? res.writeHead(308, { location: `/${'a'.repeat(5000)}` }) : res.writeHead(500)).end()),
    );
    const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, retries: 0, insecureRegistries: [s.host] }, { env: {} });
    try {
      const o = [...(await prober.probeAll([parseReference(`${s.host}/org/app:1`)])).values()][0]!;
      assert.ok(o.reason.length < 600, `a reason of ${o.reason.length} characters`);
      assert.match(o.reason, /a{100}\.\.\./);
    } finally {
      await prober.close();
      await s.stop();
    }
  });

  it('a long ConfigMap value or key is cut in the error', () => {
    const fc = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', data: { appSlug: 'a', ...data } });
    for (const data of <Record<string, string>[]>[{ 'probe.retries': 'x'.repeat(100_000) }, { ['k'.repeat(100_000)]: '1' }, { proxyPublicImages: 'y'.repeat(100_000) }]) {
      try {
        loadConfig(fc(data));
        assert.fail('accepted');
      } catch (e) {
        assert.ok(e instanceof FnError);
        assert.ok(e.message.length < 300, `${e.message.length} characters`);
        assert.match(e.message, /\(100000 characters\)/);
      }
    }
  });
});
