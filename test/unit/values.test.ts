/** Images in values: the name globs, the detection heuristic, and what the finder takes from env, command/args and ConfigMaps. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ImagesInValues } from '../../src/config/config.js';
import { detectImage, flagOf } from '../../src/find/detect.js';
import { displayPath, expandLists, type FieldSpec } from '../../src/find/images.js';
import { compileNameGlob } from '../../src/find/name-glob.js';
import { findValues, type ValueFinds } from '../../src/find/values.js';
import { readInput } from '../../src/read/input.js';
import { formatReference, parseReference } from '../../src/reference/parse.js';

describe('name globs (env names, flags, ConfigMap names and keys)', () => {
  it('* is any run of characters, none included; everything else is literal', () => {
    const m = (g: string, n: string): boolean => compileNameGlob(g)(n);
    assert.ok(m('CSI_*_IMAGE', 'CSI_ATTACHER_IMAGE'));
    assert.ok(m('CSI_*_IMAGE', 'CSI__IMAGE'));
    assert.ok(!m('CSI_*_IMAGE', 'CSI_IMAGE'), 'the prefix and suffix do not overlap');
    assert.ok(m('--*-image', '--engine-image'));
    assert.ok(!m('--*-image', '--engine-images'));
    assert.ok(m('*', ''));
    assert.ok(m('a*b*c', 'abc') && m('a*b*c', 'aXbYc') && !m('a*b*c', 'acb'));
    assert.ok(m('x.y', 'x.y') && !m('x.y', 'xzy'), 'a dot is a dot');
    assert.ok(m('a?', 'a?') && !m('a?', 'ab'), '? is literal here');
    assert.ok(!m('engineImage', 'EngineImage'), 'case matters');
  });

  it('agrees with a regular expression oracle on random globs and names', () => {
    const unit = fc.constantFrom('a', 'b', '-', '*');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b', '-'), maxLength: 10 }), (glob, name) => {
        const oracle = new RegExp(`^${glob.split('*').map((p) => p.replace(/[-]/g, '\\-')).join('.*')}$`);
        assert.equal(compileNameGlob(glob)(name), oracle.test(name), `${glob} ${name}`);
      }),
      { numRuns: 5000 },
    );
  });

  it('takes linear time on names built to make a backtracking matcher explode', () => {
    const name = 'a'.repeat(200_000) + 'c';
    const glob = '*a*a*a*a*a*a*a*a*b*c';
    assert.ok(!new RegExp(`^${glob.split('*').join('.*')}$`).test('a'.repeat(30) + 'c'), 'the oracle agrees on a short name');
    const start = process.hrtime.bigint();
    assert.equal(compileNameGlob(glob)(name), false);
    assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 200, 'took more than 200 ms');
  });
});

describe('detectImage: which strings are taken for images', () => {
  const digest = 'sha256:' + 'a'.repeat(64);
  it('an explicit registry host (dot, port or localhost) and a tag or digest', () => {
    for (const s of [
      'quay.io/acme/api:1.0',
      'docker.io/longhornio/longhorn-engine:v1.12.1',
      'localhost/x:1',
      'localhost:5000/x:1',
      'registry.example.com:443/a/b/c@' + digest,
      'ghcr.io/a/b:1@' + digest,
      '[::1]:5000/a:1',
      'my-registry.registry.svc.cluster.local:5000/app:v1',
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/svc:v2',
    ]) {
      assert.equal(formatReference(detectImage(s)!), formatReference(parseReference(s)), s);
    }
  });

  it('not URLs, paths, host:port, label keys, key=value, flags, short names, scripts or other text', () => {
    for (const s of [
      'nginx:1.25',
      'library/nginx:1.25',
      'longhornio/longhorn-engine:v1.12.1',
      'quay.io/acme/api',
      'https://quay.io/acme/api:1',
      'http://longhorn-backend:9500/v1',
      'http://127.0.0.1:19115/',
      'oci://ghcr.io/acme/chart:1.0',
      '/etc/ssl/certs:ro',
      '/var/lib/x/y:1',
      './config/app:1',
      '../a/b:1',
      '~/a.b/c:1',
      'localhost:5000',
      '10.0.0.1:8080',
      'prometheus-k8s.monitoring.svc:9090',
      'node-role.kubernetes.io/control-plane:NoSchedule',
      'kubernetes.io/arch:amd64',
      'app.kubernetes.io/name=web',
      'image=quay.io/acme/api:1',
      '--engine-image',
      'kube-system/kubelet',
      'github.com/acme/tool@v1.2.3',
      'admin@example.com',
      'quay.io/Acme/api:1',
      'quay.io/acme/api:1 --flag',
      ' quay.io/acme/api:1',
      'quay.io/acme/api:1\n',
      'docker run quay.io/acme/api:1',
      '{"image": "quay.io/acme/api:1"}',
      'quay.io/acme/api:' + 'x'.repeat(600),
      '',
    ]) {
      assert.equal(detectImage(s), undefined, JSON.stringify(s));
    }
  });

  it('no web URL is an image', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (url) => assert.equal(detectImage(url), undefined, url)),
      { numRuns: 2000 },
    );
  });

  it('every reference with a host and a tag is taken, as the grammar parses it', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
    const component = fc.stringMatching(/^[a-z0-9]+([._-][a-z0-9]+){0,2}$/);
    const tag = fc.stringMatching(/^[\w][\w.-]{0,12}$/);
    fc.assert(
      fc.property(fc.array(label, { minLength: 2, maxLength: 3 }), fc.option(fc.integer({ min: 1, max: 65535 })), fc.array(component, { minLength: 1, maxLength: 3 }), tag, (host, port, path, t) => {
        const domain = host.join('.') + (port === null ? '' : `:${port}`);
        if (/(^|\.)kubernetes\.io$/.test(host.join('.'))) return;
        const s = `${domain}/${path.join('/')}:${t}`;
        assert.equal(formatReference(detectImage(s)!), formatReference(parseReference(s)), s);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('flagOf: command and args elements that are flags', () => {
  it('splits --flag=VALUE at the first =, and takes --flag and -f alone', () => {
    assert.deepEqual(flagOf('--engine-image=quay.io/a:1'), { flag: '--engine-image', value: 'quay.io/a:1' });
    assert.deepEqual(flagOf('--opts=a=b'), { flag: '--opts', value: 'a=b' });
    assert.deepEqual(flagOf('--engine-image'), { flag: '--engine-image' });
    assert.deepEqual(flagOf('-f'), { flag: '-f' });
    assert.deepEqual(flagOf('-Dimage.name=x'), { flag: '-Dimage.name', value: 'x' });
    assert.deepEqual(flagOf('--x='), { flag: '--x', value: '' });
  });

  it('is not a flag: a value, key=value, a lone dash, three dashes, a flag with spaces', () => {
    for (const s of ['quay.io/a:1', 'key=value', '-', '--', '---x', '--=x', '--a b=c', '- x']) assert.equal(flagOf(s), undefined, s);
  });
});

const RULES_OFF: ImagesInValues = { env: [], args: [], configMaps: [], detect: 'off' };

function find(items: string, settings: Partial<ImagesInValues>, fieldSpecs: FieldSpec[] = []): ValueFinds {
  const input = readInput(`apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${items}`);
  return findValues(expandLists(input.objects, input.aliases), { ...RULES_OFF, ...settings }, fieldSpecs, input.aliases);
}

const show = (f: ValueFinds['fields'][number]): string => `${f.object.ref.name} ${f.path} ${f.prefix ?? ''}|${f.image ?? JSON.stringify(f.value)}`;

const DEPLOYMENT = (containers: string): string => `- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: op, namespace: ops}
  spec:
    template:
      spec:
        containers:
${containers}`;

describe('findValues: what the rules name', () => {
  it('env values by name, both flag forms, the value of a flag at the end of command in args[0]', () => {
    const f = find(
      DEPLOYMENT(`        - name: c
          image: quay.io/acme/op:1
          command: [op, --engine-image, quay.io/acme/engine:1, --reloader=quay.io/acme/reloader:1, --last-image]
          args: [quay.io/acme/last:1, --engine-image=quay.io/acme/engine:2, --other, quay.io/acme/x:1]
          env:
          - {name: LOG, value: info}
          - {name: CSI_ATTACHER_IMAGE, value: quay.io/acme/attacher:1}
          - {name: CSI_EMPTY_IMAGE}`),
      { env: ['CSI_*_IMAGE'], args: ['--*-image', '--reloader'] },
    );
    assert.deepEqual(f.fields.map(show), [
      'op spec.template.spec.containers[0].env[1].value |quay.io/acme/attacher:1',
      'op spec.template.spec.containers[0].command[2] |quay.io/acme/engine:1',
      'op spec.template.spec.containers[0].command[3] --reloader=|quay.io/acme/reloader:1',
      'op spec.template.spec.containers[0].args[0] |quay.io/acme/last:1',
      'op spec.template.spec.containers[0].args[1] --engine-image=|quay.io/acme/engine:2',
    ]);
    for (const field of f.fields) {
      assert.equal(field.source, 'value');
      assert.equal(field.podSpec, undefined, 'the pods that pull it are the operator\'s, not this pod spec');
    }
    assert.deepEqual(f.problems, []);
    assert.deepEqual(f.candidates, [], 'detection is off');
  });

  it('init and ephemeral containers, CronJobs and Pods, and containers on fieldSpecs paths', () => {
    const f = find(
      `- apiVersion: batch/v1
  kind: CronJob
  metadata: {name: cj}
  spec:
    jobTemplate:
      spec:
        template:
          spec:
            initContainers:
            - {name: i, image: x, env: [{name: A_IMAGE, value: quay.io/a/i:1}]}
            containers: []
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
  spec:
    containers: []
    ephemeralContainers:
    - {name: e, image: x, args: [--a-image, quay.io/a/e:1]}
- apiVersion: ci.example.com/v1
  kind: Runner
  metadata: {name: r}
  spec:
    pools:
    - containers:
      - {name: c, image: x, env: [{name: B_IMAGE, value: quay.io/a/r:1}]}`,
      { env: ['*_IMAGE'], args: ['--a-image'] },
      [{ kind: 'Runner', path: 'spec/pools[]/containers[]/image' }],
    );
    assert.deepEqual(f.fields.map(show), [
      'cj spec.jobTemplate.spec.template.spec.initContainers[0].env[0].value |quay.io/a/i:1',
      'p spec.ephemeralContainers[0].args[1] |quay.io/a/e:1',
      'r spec.pools[0].containers[0].env[0].value |quay.io/a/r:1',
    ]);
  });

  it('a container a fieldSpec names again is scanned once', () => {
    const f = find(DEPLOYMENT(`        - {name: c, image: x, env: [{name: A_IMAGE, value: quay.io/a/x:1}], args: [quay.io/a/y:1]}`), { env: ['*_IMAGE'], detect: 'warn' }, [
      { group: 'apps', kind: 'Deployment', path: 'spec/template/spec/containers[]/image' },
      { kind: 'Deployment', path: 'spec/template/spec/containers/image' },
    ]);
    assert.deepEqual(f.fields.map(show), ['op spec.template.spec.containers[0].env[0].value |quay.io/a/x:1']);
    assert.deepEqual(f.candidates.map((c) => c.field.path), ['spec.template.spec.containers[0].args[0]']);
  });

  it('through aliases and merge keys, as Kubernetes reads them; one node shared by two workloads is one node', () => {
    const f = find(
      `- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: a}
  spec:
    template:
      spec:
        containers: &cs
        - name: c
          image: x
          env:
          - &base {name: ENGINE_IMAGE, value: quay.io/a/engine:1}
          - {<<: *base, name: OTHER_IMAGE}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: b}
  spec:
    template:
      spec:
        containers: *cs`,
      { env: ['*_IMAGE'] },
    );
    assert.deepEqual(f.fields.map(show), [
      'a spec.template.spec.containers[0].env[0].value |quay.io/a/engine:1',
      'a spec.template.spec.containers[0].env[1].value |quay.io/a/engine:1',
      'b spec.template.spec.containers[0].env[0].value |quay.io/a/engine:1',
      'b spec.template.spec.containers[0].env[1].value |quay.io/a/engine:1',
    ]);
    assert.equal(new Set(f.fields.map((x) => x.node)).size, 1, 'the merged value is the anchor\'s node');
  });

  it('ConfigMap data by ConfigMap name and key (merge keys too); other ConfigMaps and keys are left alone', () => {
    const f = find(
      `- apiVersion: v1
  kind: ConfigMap
  metadata: {name: acme-config, namespace: ops}
  data:
    <<: {defaultImage: quay.io/a/default:1}
    engineImage: quay.io/a/engine:1
    logLevel: info
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: other}
  data: {engineImage: quay.io/a/not-this:1}`,
      { configMaps: [{ name: 'acme-*', key: '*Image' }] },
    );
    assert.deepEqual(f.fields.map(show), ['acme-config data.engineImage |quay.io/a/engine:1', 'acme-config data.defaultImage |quay.io/a/default:1']);
  });

  it('a flag a rule names with nothing after it, or another flag after it; an env var set by valueFrom', () => {
    const f = find(
      DEPLOYMENT(`        - name: c
          image: x
          args: [--engine-image, --debug, --share-manager-image]
          env:
          - name: X_IMAGE
            valueFrom: {configMapKeyRef: {name: images, key: x}}
          - name: Y_IMAGE
            valueFrom: {fieldRef: {fieldPath: metadata.name}}`),
      { env: ['*_IMAGE'], args: ['--*-image'] },
    );
    assert.deepEqual(f.fields, []);
    const at = 'spec.template.spec.containers[0]';
    assert.deepEqual(
      f.problems.map((p) => [p.kind, p.name, p.glob, displayPath(p.segments), p.configMapKey]),
      [
        ['value-from', 'X_IMAGE', '*_IMAGE', `${at}.env[0].valueFrom`, { name: 'images', key: 'x' }],
        ['value-from', 'Y_IMAGE', '*_IMAGE', `${at}.env[1].valueFrom`, undefined],
        ['followed-by-flag', '--engine-image', '--*-image', `${at}.args[0]`, undefined],
        ['no-value', '--share-manager-image', '--*-image', `${at}.args[2]`, undefined],
      ],
    );
  });

  it('a value that is not a string under a rule is a field (an error later), not skipped', () => {
    const f = find(DEPLOYMENT(`        - {name: c, image: x, args: [--engine-image, 5], env: [{name: A_IMAGE, value: {x: 1}}]}`), { env: ['*_IMAGE'], args: ['--engine-image'] });
    assert.deepEqual(f.fields.map((x) => [x.path, x.image, typeof x.value]), [
      ['spec.template.spec.containers[0].env[0].value', undefined, 'object'],
      ['spec.template.spec.containers[0].args[1]', undefined, 'number'],
    ]);
  });
});

describe('findValues: detection', () => {
  it('takes image-like values no rule names, with the rule that would name each', () => {
    const f = find(
      DEPLOYMENT(`        - name: c
          image: quay.io/acme/op:1
          command: [op, --engine-image, quay.io/acme/engine:1, quay.io/acme/positional:1, --url=http://x:80/y]
          args: [--reloader=quay.io/acme/reloader:1, --named-image, quay.io/acme/named:1]
          env:
          - {name: HELPER, value: quay.io/acme/helper:1}
          - {name: ADDR, value: "db.ops.svc:5432"}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: settings}
  data: {img: "registry.example.com/x/y:2", url: "https://registry.example.com/x/y:2"}`),
      { args: ['--named-image'], detect: 'warn' },
    );
    assert.deepEqual(
      f.candidates.map((c) => `${c.field.object.ref.name} ${c.field.path} ${c.field.prefix ?? ''}|${c.field.image} ${c.rule ?? '(none)'}`),
      [
        'op spec.template.spec.containers[0].env[0].value |quay.io/acme/helper:1 imagesInValues.env: ["HELPER"]',
        'op spec.template.spec.containers[0].command[2] |quay.io/acme/engine:1 imagesInValues.args: ["--engine-image"]',
        'op spec.template.spec.containers[0].command[3] |quay.io/acme/positional:1 (none)',
        'op spec.template.spec.containers[0].args[0] --reloader=|quay.io/acme/reloader:1 imagesInValues.args: ["--reloader"]',
        'settings data.img |registry.example.com/x/y:2 imagesInValues.configMaps: [{name: "settings", key: "img"}]',
      ],
    );
    assert.deepEqual(f.fields.map(show), ['op spec.template.spec.containers[0].args[2] |quay.io/acme/named:1'], 'a value a rule names is no candidate');
  });

  it('finds nothing with detect: off and no rules, and does not walk at all', () => {
    const f = find(DEPLOYMENT(`        - {name: c, image: x, args: [quay.io/a/b:1]}`), {});
    assert.deepEqual([f.fields, f.candidates, f.problems], [[], [], []]);
  });
});
