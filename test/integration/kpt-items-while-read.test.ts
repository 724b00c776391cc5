/**
 * kpt `fn render` on a package whose workloads take the item-at-a-time path (kpt sends a block ResourceList): every
 * file is hashed before and after, against the same package rendered with no function at all (kpt itself rewrites
 * what it reads: one space before a comment, flow-style strings quoted). Files with nothing to change keep every
 * byte of that; files with private images change only in image lines and the `imagePullSecrets` lines added; the Secret gets a file of its own; a render that
 * fails leaves every file as it was. The ResourceList kpt sends (`kpt fn source`) is also given to the function
 * twice, once as it is and once read whole (a `%YAML 1.2` directive in front): the outputs are the same bytes.
 *
 * Needs kpt 1.0 and the bundle (`npm run build`); `ensureKrmTools` installs or names what is missing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { ensureBundle, ensureKrmTools, run } from '../support/tools.js';

const LICENSE = 'kpt-trim-license-7d1e';
const FILES: Record<string, string> = {
  Kptfile: `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: trim
  annotations:
    config.kubernetes.io/local-config: "true"
pipeline:
  mutators:
    - exec: proxy-private-images
      configPath: fn.yaml
`,
  'fn.yaml': `apiVersion: fn.proxy-private-images.dev/v1alpha1
kind: ProxyPrivateImages
metadata:
  name: fn
  annotations:
    config.kubernetes.io/local-config: "true"
appSlug: acme
images:
  private: ["quay.io/acme/**"]
  public: ["docker.io/library/**"]
imagesInValues:
  env: ["RELATED_IMAGE_*"]
`,
  // two workloads in one file, comments between and inside, flow style, an existing imagePullSecrets
  'apps.yaml': `# the web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: acme
  annotations:
    team: "R&D"   # an ampersand in a string
spec:
  template:
    spec:
      imagePullSecrets: [{name: mine}]
      containers:
        - name: web # the server
          image: quay.io/acme/web:1.0
          env:
            - {name: RELATED_IMAGE_DB, value: quay.io/acme/db:2}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: store, namespace: acme}
spec:
  template:
    spec:
      initContainers: [{name: init, image: docker.io/library/busybox:1.36}]
      containers:
        - name: store
          image: quay.io/acme/store:3
`,
  // every other built-in kind, one with an anchor and its alias inside the item (read whole)
  'batch.yaml': `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: acme}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - {name: a, image: &shared quay.io/acme/batch:1}
            - {name: b, image: *shared}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: acme}
spec:
  template:
    spec:
      containers: [{name: j, image: docker.io/library/redis:7}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: acme}
spec:
  template:
    spec:
      containers: [{name: d, image: quay.io/acme/agent:5}]
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: acme}
spec:
  containers: [{name: p, image: quay.io/acme/debug:6}]
`,
  // nothing to change in these: every byte stays
  'public.yaml': `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: cache, namespace: acme}
spec:
  template:
    spec:
      containers:
        - name: redis
          image: docker.io/library/redis:7   # public
---
apiVersion: v1
kind: ReplicationController
metadata: {name: old, namespace: acme}
spec:
  template:
    spec:
      containers: [{name: o, image: docker.io/library/nginx:1.25}]
---
apiVersion: v1
kind: PodTemplate
metadata: {name: tpl, namespace: acme}
template:
  spec:
    containers: [{name: t, image: docker.io/library/alpine:3}]
`,
  'other.yaml': `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: acme}
data:
  note: "quay.io/acme/web:1.0 is only mentioned here"
---
apiVersion: acme.io/v1
kind: Widget
metadata: {name: w, namespace: acme}
spec:
  image: quay.io/acme/widget:1   # a custom resource no fieldSpec names: left alone
`,
};

function hashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** Lines of `after` not in `before`, and the other way round (a multiset difference, in order). */
function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const count = (lines: string[]): Map<string, number> => lines.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
  const b = count(before.split('\n'));
  const a = count(after.split('\n'));
  const removed = [...b].flatMap(([l, n]) => Array<string>(Math.max(0, n - (a.get(l) ?? 0))).fill(l));
  const added = [...a].flatMap(([l, n]) => Array<string>(Math.max(0, n - (b.get(l) ?? 0))).fill(l));
  return { removed, added };
}

describe('kpt fn render: workloads found while the ResourceList is read', function () {
  this.timeout(120_000);
  let root: string;
  let env: NodeJS.ProcessEnv;
  before(() => {
    ensureKrmTools();
    root = mkdtempSync(join(tmpdir(), 'ppi-kpt-trim-'));
    const bin = join(root, 'bin');
    mkdirSync(bin);
    copyFileSync(ensureBundle(), join(bin, 'proxy-private-images'));
    chmodSync(join(bin, 'proxy-private-images'), 0o755);
    env = { ...process.env, PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}`, LICENSE_ID: LICENSE };
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const pkg = (name: string, files: Record<string, string> = FILES): string => {
    const dir = join(root, name);
    mkdirSync(dir);
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
    return dir;
  };

  it('changes only image lines and adds imagePullSecrets; files with nothing to change keep every byte', () => {
    // what kpt writes with no function in the pipeline
    const base = pkg('baseline', { ...FILES, Kptfile: FILES['Kptfile']!.replace(/pipeline:[\s\S]*$/, '') });
    const noop = run('kpt', ['fn', 'render', '.'], { cwd: base, env });
    assert.equal(noop.status, 0, noop.stdout + noop.stderr);
    const dir = pkg('ok');
    const before = hashes(base);
    before.set('Kptfile', hashes(dir).get('Kptfile')!);
    const r = run('kpt', ['fn', 'render', '.', '--allow-exec', '--truncate-output=false'], { cwd: dir, env });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(!(r.stdout + r.stderr).includes(LICENSE), 'the license id is not in kpt output');
    const after = hashes(dir);
    for (const f of ['Kptfile', 'fn.yaml', 'public.yaml', 'other.yaml']) assert.equal(after.get(f), before.get(f), `${f} keeps every byte`);
    const newFiles = [...after.keys()].filter((f) => !before.has(f));
    assert.deepEqual(newFiles, ['acme/secret_acme-registry.yaml'], 'the Secret gets a file of its own, nothing else is new');
    assert.deepEqual([...before.keys()].filter((f) => !after.has(f)), [], 'no file is deleted');
    const secret = readFileSync(join(dir, newFiles[0]!), 'utf8');
    assert.ok(!secret.includes(LICENSE), 'the id is only inside the base64 data');
    assert.match(secret, /type: kubernetes\.io\/dockerconfigjson/);

    for (const f of ['apps.yaml', 'batch.yaml']) {
      const { removed, added } = lineDiff(readFileSync(join(base, f), 'utf8'), readFileSync(join(dir, f), 'utf8'));
      assert.ok(removed.length > 0, `${f} changed`);
      for (const l of removed) assert.match(l, /image: |value: '?quay\.io|imagePullSecrets: \[\{name: mine\}\]/, `${f}: only image lines change, not: ${l}`);
      for (const l of added) assert.match(l, /proxy\.replicated\.com\/proxy\/acme\/quay\.io\/acme\/|imagePullSecrets:|- name: acme-registry/, `${f}: added ${l}`);
    }
    const apps = readFileSync(join(dir, 'apps.yaml'), 'utf8');
    assert.match(apps, /imagePullSecrets: \[\{name: mine\}, \{"?name"?: "?acme-registry"?\}\]/);
    assert.match(apps, /value: '?proxy\.replicated\.com\/proxy\/acme\/quay\.io\/acme\/db:2'?\}/, 'the env value a rule names is rewritten');
    assert.match(apps, /team: "R&D" +# an ampersand in a string/);
    const batch = readFileSync(join(dir, 'batch.yaml'), 'utf8');
    assert.match(batch, /image: &shared '?proxy\.replicated\.com\/proxy\/acme\/quay\.io\/acme\/batch:1'?\}/);
    assert.match(batch, /image: \*shared\}/);
  });

  it('a failing render leaves every file as it was', () => {
    const dir = pkg('fail', { ...FILES, 'fn.yaml': FILES['fn.yaml']!.replace('appSlug: acme', 'appSlug: "Not A Slug"') });
    const before = hashes(dir);
    const r = run('kpt', ['fn', 'render', '.', '--allow-exec', '--truncate-output=false'], { cwd: dir, env });
    assert.notEqual(r.status, 0, 'the render fails');
    assert.match(r.stdout + r.stderr, /appSlug/);
    assert.deepEqual(hashes(dir), before, 'every file keeps every byte');
  });

  it('the ResourceList kpt sends gives the same bytes read an item at a time and read whole', () => {
    const dir = pkg('source');
    const src = run('kpt', ['fn', 'source', '.', '--fn-config', 'fn.yaml'], { cwd: dir, env });
    assert.equal(src.status, 0, src.stderr);
    const text = src.stdout;
    assert.match(text, /^apiVersion: config\.kubernetes\.io\/v1\nkind: ResourceList\nitems:\n/, 'kpt sends a block ResourceList');
    const fn = (input: string): ReturnType<typeof run> => run(process.execPath, [ensureBundle()], { input, env });
    const fast = fn(text);
    const whole = fn(`%YAML 1.2\n---\n${text}`);
    assert.equal(fast.status, 0, fast.stderr);
    assert.equal(fast.status, whole.status);
    assert.equal(fast.stderr, whole.stderr);
    assert.equal(fast.stdout, whole.stdout.replace(/^%YAML 1\.2\n---\n/, ''));
    assert.match(fast.stdout, /proxy\.replicated\.com\/proxy\/acme\/quay\.io\/acme\/store:3/);
  });
});
