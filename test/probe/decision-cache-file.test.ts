/**
 * The cache file is the function's own (issue 11). `probe.cacheFile` aimed at anything else (a Kptfile, a symbolic
 * link, a directory, a FIFO, a device, a 400 MB file, an old or newer format) is refused with CACHE_FILE_REFUSED
 * before any probe, never opened for a blocking read and never replaced; forged entries are dropped with a warning
 * that does not repeat them; writes are atomic, mode 0600; 20 concurrent runs of the bundle lose no decision.
 * Registries are loopback servers; the bundle rows need `npm run build`, the kpt row needs kpt (installed by
 * ensureKrmTools or failing with what to install).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { FnError } from '../../src/errors.js';
import { DecisionCacheFile, MAX_BYTES } from '../../src/probe/decision-cache-file.js';
import { createProber, DEFAULT_PROBE_SETTINGS, type ProbeOutcome } from '../../src/probe/index.js';
import { parseReference } from '../../src/reference/parse.js';
import { bundle, execFnAsync, podList, SECRET_LICENSE } from '../hardening/support.js';
import { ok, registryThat, startMisbehaving, type Misbehaving } from '../support/misbehaving.js';
import { ensureKrmTools, run } from '../support/tools.js';

const HEADER = '{"format":"proxy-private-images/decision-cache","version":2,';
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/;

describe('decision cache file: only its own file', function () {
  this.timeout(30_000);
  let s: Misbehaving;
  let dir: string;
  before(async () => {
    s = await startMisbehaving(registryThat(ok));
  });
  after(() => s.stop());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ppi-cachefile-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const image = (n = 1) => `${s.host}/org/app:${n}`;

  async function probe(cacheFile: string, images = [image()]): Promise<{ out?: Map<string, ProbeOutcome>; error?: FnError; warnings: readonly string[]; ms: number }> {
    const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, retries: 0, insecureRegistries: [s.host], cacheFile }, { env: {} });
    const started = Date.now();
    try {
      return { out: await prober.probeAll(images.map(parseReference)), warnings: prober.warnings?.() ?? [], ms: Date.now() - started };
    } catch (e) {
      if (!(e instanceof FnError)) throw e;
      return { error: e, warnings: [], ms: Date.now() - started };
    } finally {
      await prober.close();
    }
  }

  function refused(r: Awaited<ReturnType<typeof probe>>, why: RegExp): void {
    assert.ok(r.error, `not refused: ${JSON.stringify(r.out && [...r.out])}`);
    assert.equal(r.error.code, 'CACHE_FILE_REFUSED');
    assert.match(r.error.message, /^probe\.cacheFile ".*" /);
    assert.match(r.error.message, why);
    assert.match(r.error.message, /reads and replaces only a decision cache it wrote itself/);
  }

  /** What is at `path`, byte for byte: kind, mode, size, mtime, content hash or link target. */
  function snapshot(path: string): string {
    const st = lstatSync(path);
    const what = st.isSymbolicLink() ? `link->${readlinkSync(path)}` : st.isFile() && st.size < 64 * 1024 * 1024 ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'special';
    return JSON.stringify([st.mode, st.size, st.mtimeMs, st.ino, what]);
  }

  function leftovers(): string[] {
    return readdirSync(dir).filter((n) => n.endsWith('.tmp') || n.endsWith('.lock'));
  }

  it('an absent file is created: the header, mode 0600, no temp or lock file left; the next run makes no request', async () => {
    const cacheFile = join(dir, 'sub', 'decisions.json');
    const old = process.umask(0);
    try {
      const first = await probe(cacheFile);
      assert.equal([...first.out!.values()][0]!.verdict, 'public');
    } finally {
      process.umask(old);
    }
    assert.ok(readFileSync(cacheFile, 'utf8').startsWith(HEADER));
    assert.equal(statSync(cacheFile).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(dir, 'sub')).filter((n) => n !== 'decisions.json'), []);
    const before = s.hits.length;
    const second = await probe(cacheFile);
    assert.equal([...second.out!.values()][0]!.cached, true);
    assert.equal(s.hits.length, before, 'a cached run made a request');
  });

  it('a Kptfile (any file without the header) is refused before any probe, and left byte-identical', async () => {
    const cacheFile = join(dir, 'Kptfile');
    writeFileSync(cacheFile, 'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n');
    const before = snapshot(cacheFile);
    const hits = s.hits.length;
    refused(await probe(cacheFile), /is not a decision cache written by this function/);
    assert.equal(snapshot(cacheFile), before);
    assert.equal(s.hits.length, hits, 'probed although the run fails');
    assert.deepEqual(leftovers(), []);
  });

  it('a symbolic link (to a file, or dangling) is refused, and stays a link', async () => {
    const target = join(dir, 'target');
    writeFileSync(target, `${HEADER}\n"entries":{}}\n`);
    for (const link of [join(dir, 'link'), join(dir, 'dangling')]) {
      symlinkSync(link.endsWith('dangling') ? join(dir, 'nowhere') : target, link);
      const before = [snapshot(link), snapshot(target)];
      refused(await probe(link), /is a symbolic link/);
      assert.deepEqual([snapshot(link), snapshot(target)], before);
    }
    assert.equal(existsSync(join(dir, 'nowhere')), false, 'a dangling link was followed');
  });

  it('a directory and a device are refused', async () => {
    refused(await probe(dir), /is a directory/);
    refused(await probe('/dev/null'), /is a device/);
    assert.ok(statSync('/dev/null').isCharacterDevice());
  });

  it('a FIFO is refused at once, never opened for a blocking read', async function () {
    this.timeout(5_000);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await probe(fifo);
    refused(r, /is a FIFO \(named pipe\)/);
    assert.ok(r.ms < 1_000, `took ${r.ms} ms`);
    assert.ok(lstatSync(fifo).isFIFO());
  });

  it('a 400 MB file is refused fast and left as it was', async function () {
    this.timeout(5_000);
    const big = join(dir, 'big.json');
    writeFileSync(big, HEADER);
    truncateSync(big, 400 * 1024 * 1024); // sparse: no disk used
    const before = snapshot(big);
    const r = await probe(big);
    refused(r, /is 400\.0 MiB, larger than any decision cache this function writes \(8\.0 MiB\)/);
    assert.ok(r.ms < 1_000, `took ${r.ms} ms`);
    assert.equal(snapshot(big), before);
  });

  it('a cache of the first format, or of a newer version, is refused with a way out', async () => {
    const v1 = join(dir, 'v1.json');
    writeFileSync(v1, '{\n "version": 1,\n "entries": {}\n}\n');
    const before = snapshot(v1);
    refused(await probe(v1), /holds a decision cache of the first format \(version 1, without a header\).*point probe\.cacheFile at a new path, or delete that file/);
    assert.equal(snapshot(v1), before);
    const v3 = join(dir, 'v3.json');
    writeFileSync(v3, '{"format":"proxy-private-images/decision-cache","version":3,"entries":{}}\n');
    refused(await probe(v3), /format version "3", not 2/);
  });

  it('an empty file (mktemp) is taken as an empty cache', async () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    const r = await probe(empty);
    assert.equal([...r.out!.values()][0]!.verdict, 'public');
    assert.ok(readFileSync(empty, 'utf8').startsWith(HEADER));
  });

  it('forged entries are dropped with a warning that does not repeat them; the good one is used; the next write leaves them out', async () => {
    const cacheFile = join(dir, 'forged.json');
    const now = Date.now();
    const good = image(1);
    const entries: Record<string, unknown> = {
      [good]: { verdict: 'private', reason: 'HEAD answered 401', at: now },
      [image(2)]: { verdict: 'public', reason: 'ok \u001b]0;pwned\u0007\u001b[2J', at: now },
      [image(3)]: { verdict: 'trusted', reason: 'x', at: now },
      [image(4)]: { verdict: 'public', reason: 'x', at: now + 10 * 365 * 86_400_000 },
      [image(5)]: { verdict: 'public', reason: 'x', at: now, extra: 1 },
      '\u001b[31mnot-a-reference': { verdict: 'public', reason: 'x', at: now },
      [image(6)]: 'public',
    };
    writeFileSync(cacheFile, `${HEADER}"entries":${JSON.stringify(entries)}}`);
    const r = await probe(cacheFile, [1, 2, 3, 4, 5, 6].map(image));
    assert.equal(r.out!.get(good)!.verdict, 'private');
    assert.equal(r.out!.get(good)!.cached, true);
    for (const n of [2, 3, 4, 5, 6]) assert.equal(r.out!.get(image(n))!.cached, undefined, `forged entry ${n} was trusted`);
    const text = r.warnings.join('\n');
    assert.match(text, /dropped the entry for 127\.0\.0\.1:\d+\/org\/app:2: its reason holds control characters/);
    assert.match(text, /app:3: its verdict is not public, private or private-404/);
    assert.match(text, /app:4: its time is in the future/);
    assert.match(text, /dropped an entry whose key is not an image reference/);
    assert.match(text, /1 more invalid entries dropped/);
    assert.doesNotMatch(text, RAW_CONTROL);
    assert.doesNotMatch(text, /pwned|trusted/);
    const stored = JSON.parse(readFileSync(cacheFile, 'utf8')) as { entries: Record<string, { reason: string }> };
    for (const [k, e] of Object.entries(stored.entries)) {
      assert.ok(!RAW_CONTROL.test(k) && !RAW_CONTROL.test(e.reason), `a forged entry survived: ${JSON.stringify(k)}`);
    }
    assert.equal(Object.keys(stored.entries).length, 6, 'the good entry and five fresh decisions');
  });

  it('a file that stops being its own between read and write is not replaced (the run fails)', async () => {
    const cacheFile = join(dir, 'swapped.json');
    const c = new DecisionCacheFile(cacheFile, 3_600_000);
    await c.lookup([image()], Date.now());
    const target = join(dir, 'precious');
    writeFileSync(target, 'precious\n');
    symlinkSync(target, cacheFile);
    await assert.rejects(c.store(new Map([[image(), { verdict: 'public', reason: 'x' }]]), Date.now()), (e: FnError) => e.code === 'CACHE_FILE_REFUSED');
    assert.ok(lstatSync(cacheFile).isSymbolicLink());
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
    assert.deepEqual(leftovers(), []);
  });

  it('a lock held by a live run is waited for (bounded), then the decisions are not stored, with a warning', async () => {
    const cacheFile = join(dir, 'locked.json');
    writeFileSync(`${cacheFile}.lock`, '999999\n');
    const c = new DecisionCacheFile(cacheFile, 3_600_000, { lockWaitMs: 300 });
    const started = Date.now();
    await c.store(new Map([[image(), { verdict: 'public', reason: 'x' }]]), Date.now());
    assert.ok(Date.now() - started < 2_000);
    assert.equal(existsSync(cacheFile), false);
    assert.match(c.warnings().join('\n'), /could not take "locked\.json\.lock" within 0.3 s: 1 decisions of this run were not stored/);
    assert.ok(existsSync(`${cacheFile}.lock`), "another run's lock was removed");
  });

  it('a lock left by a crashed run (older than the stale limit) is broken', async () => {
    const cacheFile = join(dir, 'stale.json');
    writeFileSync(`${cacheFile}.lock`, '999999\n');
    const old = new Date(Date.now() - 120_000);
    utimesSync(`${cacheFile}.lock`, old, old);
    const c = new DecisionCacheFile(cacheFile, 3_600_000, { lockWaitMs: 300 });
    await c.store(new Map([[image(), { verdict: 'public', reason: 'x' }]]), Date.now());
    assert.deepEqual(c.warnings(), []);
    assert.ok(readFileSync(cacheFile, 'utf8').includes(image()));
    assert.deepEqual(leftovers(), []);
  });

  it('writes stay under the size cap: the newest entries are kept', async () => {
    const cacheFile = join(dir, 'full.json');
    const c = new DecisionCacheFile(cacheFile, 3_600_000);
    const many = new Map<string, ProbeOutcome>();
    for (let i = 0; i < 25_000; i++) many.set(`quay.io/org/app${i}:1`, { verdict: 'public', reason: 'r'.repeat(300) });
    await c.store(many, Date.now());
    assert.ok(statSync(cacheFile).size <= MAX_BYTES);
    const again = new DecisionCacheFile(cacheFile, 3_600_000);
    await again.lookup([], Date.now());
    assert.deepEqual(again.warnings(), []);
  });
});

describe('decision cache file: through the bundle', function () {
  this.timeout(180_000);
  let s: Misbehaving;
  let dir: string;
  before(async () => {
    bundle();
    s = await startMisbehaving(registryThat(ok));
  });
  after(() => s.stop());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ppi-cachefile-bundle-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const args = (cacheFile: string) => ['--app-slug', 'app', '--insecure-registry', s.host, '--cache-file', cacheFile];

  it('20 concurrent runs sharing one cache lose no decision', async () => {
    const cacheFile = join(dir, 'shared.json');
    const runs = Array.from({ length: 20 }, (_, r) => {
      const images = Array.from({ length: 5 }, (_, i) => `${s.host}/run${r}/img${i}:1`);
      return execFnAsync(podList(images), args(cacheFile), { env: { LICENSE_ID: SECRET_LICENSE } });
    });
    const results = await Promise.all(runs);
    for (const r of results) assert.equal(r.status, 0, r.stderr);
    for (const r of results) assert.doesNotMatch(r.stderr, /not stored/);
    const stored = JSON.parse(readFileSync(cacheFile, 'utf8')) as { entries: Record<string, unknown> };
    assert.equal(Object.keys(stored.entries).length, 100, `${100 - Object.keys(stored.entries).length} decisions were lost`);
    assert.deepEqual(readdirSync(dir), ['shared.json']);
  });

  it('a FIFO as the cache file: the run fails at once instead of hanging', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const child = spawn(process.execPath, [bundle(), ...args(fifo)], { stdio: 'pipe', env: { ...process.env, LICENSE_ID: SECRET_LICENSE } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.end(podList([`${s.host}/org/app:1`]));
    const code = await new Promise<number | 'hung'>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('hung');
      }, 15_000);
      child.on('exit', (c) => {
        clearTimeout(t);
        resolve(c ?? -1);
      });
    });
    assert.notEqual(code, 'hung', 'the run blocked on the FIFO');
    assert.equal(code, 1, stderr);
    assert.match(stderr, /probe\.cacheFile ".*fifo" is a FIFO \(named pipe\)/);
    assert.ok(lstatSync(fifo).isFIFO());
  });

  it('a forged entry is a warning on stderr, without its escape characters', async () => {
    const cacheFile = join(dir, 'forged.json');
    const image = `${s.host}/org/app:1`;
    writeFileSync(cacheFile, `${HEADER}"entries":${JSON.stringify({ [image]: { verdict: 'public', reason: '\u001b[2J\u001b]0;owned\u0007', at: Date.now() } })}}`);
    const r = await execFnAsync(podList([image]), args(cacheFile), { env: { LICENSE_ID: SECRET_LICENSE } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /\[warning\]: probe\.cacheFile ".*forged\.json": dropped the entry for 127\.0\.0\.1:\d+\/org\/app:1: its reason holds control characters/);
    assert.doesNotMatch(r.stderr + r.stdout, RAW_CONTROL);
    assert.doesNotMatch(r.stderr + r.stdout, /owned/);
    assert.match(r.stdout, /answered 200/, 'the image was probed, not taken from the forged entry');
  });
});

describe('decision cache file: aimed at the Kptfile through real kpt', function () {
  this.timeout(120_000);
  before(() => ensureKrmTools());

  function hashTree(root: string): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (d: string): void => {
      for (const name of readdirSync(d).sort()) {
        const p = join(d, name);
        const st = lstatSync(p);
        if (st.isDirectory()) walk(p);
        else out.set(relative(root, p), `${st.mode}:${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
      }
    };
    walk(root);
    return out;
  }

  it('kpt fn render fails, and the package stays byte-identical (the Kptfile is not replaced)', async () => {
    const s = await startMisbehaving(registryThat(ok));
    const root = mkdtempSync(join(tmpdir(), 'ppi-cachefile-kpt-'));
    try {
      const pkg = join(root, 'pkg');
      mkdirSync(pkg);
      writeFileSync(
        join(pkg, 'Kptfile'),
        `apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\npipeline:\n  mutators:\n    - exec: node ${bundle()}\n      configPath: fn-config.yaml\n`,
      );
      writeFileSync(
        join(pkg, 'fn-config.yaml'),
        `apiVersion: fn.proxy-private-images.dev/v1alpha1\nkind: ProxyPrivateImages\nmetadata:\n  name: proxy\n  annotations:\n    config.kubernetes.io/local-config: "true"\nappSlug: shop\nprobe:\n  insecureRegistries: ["${s.host}"]\n  cacheFile: ${join(pkg, 'Kptfile')}\n`,
      );
      writeFileSync(
        join(pkg, 'deployment.yaml'),
        `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ${s.host}/org/web:1\n`,
      );
      const before = hashTree(pkg);
      const r = run('kpt', ['fn', 'render', '.', '--allow-exec', '--truncate-output=false'], { cwd: pkg, env: { ...process.env, LICENSE_ID: SECRET_LICENSE } });
      const out = r.stdout + r.stderr;
      assert.notEqual(r.status, 0, out);
      assert.match(out, /probe\.cacheFile ".*Kptfile" is not a decision cache written by this function/);
      assert.deepEqual(hashTree(pkg), before, 'the package changed');
      assert.equal(s.hits.length, 0, 'the run probed although it was going to fail');
    } finally {
      rmSync(root, { recursive: true, force: true });
      await s.stop();
    }
  });
});
