/**
 * The bad-input matrix, through the real bundle (`node dist/proxy-private-images.js`), one test per row.
 *
 * Two failure shapes, asserted per row:
 * - input that cannot be read as one ResourceList: stdout EMPTY, `proxy-private-images: <what and where>` on
 *   stderr, exit 1 (nothing on stdout that a tool could take for a result);
 * - a readable ResourceList with a bad image or config: stdout = the input items untouched plus error `results`,
 *   the problem on stderr, exit 1 (kpt and kustomize fail on the exit code and write nothing).
 * Never a stack trace, never exit 0 with partial output.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  assertFailedWithInput,
  assertRejected,
  execFn,
  podList,
  RL_HEAD,
  LOOPBACK_IMAGE,
  SECRET_LICENSE,
  aliasBomb,
  ENV,
  OK_ARGS,
  type ResourceListOut,
} from './support.js';


describe('hardening: bad input through the bundle', function () {
  this.timeout(120_000);

  describe('unreadable input: empty stdout, one line on stderr, exit 1', () => {
    it('empty stdin', () => {
      assertRejected(execFn('', OK_ARGS, { env: ENV }), /no input: expected a ResourceList/);
    });

    it('only white space and comments', () => {
      assertRejected(execFn('\n  \n', OK_ARGS, { env: ENV }), /no input/);
      assertRejected(execFn('# just a comment\n', OK_ARGS, { env: ENV }), /no input: .*only comments or empty documents/);
      assertRejected(execFn('---\n# nothing\n---\n', OK_ARGS, { env: ENV }), /no input/);
    });

    it('not YAML: names the line and column', () => {
      const r = execFn(`${RL_HEAD}items: [\n  - a: }\n`, OK_ARGS, { env: ENV });
      assertRejected(r, /input is not valid YAML/);
      assert.match(r.stderr, /at line \d+, column \d+/);
    });

    it('YAML errors name the problem and the place, never a piece of the input', () => {
      const secretItem = `- apiVersion: kots.io/v1beta1\n  kind: License\n  metadata: {name: l}\n  spec: {licenseID: ${SECRET_LICENSE}}\n`;
      for (const [input, message] of [
        // the parser's message would quote the whole rest of the input
        [`- a: b\n|${RL_HEAD}items:\n${secretItem}`, /input is not valid YAML/],
        [`|${SECRET_LICENSE}\n${RL_HEAD}items:\n${secretItem}`, /input is not valid YAML/],
        [`${RL_HEAD}items:\n${secretItem}- apiVersion: v1\n  kind: ConfigMap\n  data: {a: "\\q${SECRET_LICENSE}"}\n`, /input is not valid YAML/],
        [`${RL_HEAD}items:\n- apiVersion: v1\n  kind: ConfigMap\n  data: {a: b}\n%${SECRET_LICENSE}\n`, /input is not valid YAML/],
      ] as [string, RegExp][]) {
        const r = execFn(input, OK_ARGS);
        assertRejected(r, message);
        assert.match(r.stderr, /at line \d+, column \d+/);
        assert.ok(!r.stderr.includes(SECRET_LICENSE), `stderr quotes the input:\n${r.stderr}`);
        assert.ok(r.stderr.length < 1000, `stderr is ${r.stderr.length} characters`);
      }
    });

    it('binary garbage', () => {
      const r = execFn(Buffer.from([0x00, 0xff, 0xfe, 0x01, 0x02, 0x7f, 0x80, 0x0a]), OK_ARGS, { env: ENV });
      assertRejected(r, /not valid YAML|not a ResourceList/);
    });

    it('YAML that is neither a ResourceList nor a manifest stream (a scalar, a list, an object without kind)', () => {
      assertRejected(execFn('hello\n', OK_ARGS), /not a ResourceList or a Kubernetes manifest stream: expected a mapping .*got string "hello"/);
      assertRejected(execFn('- a\n- b\n', OK_ARGS), /not a ResourceList or a Kubernetes manifest stream: expected a mapping .*got a list/);
      assertRejected(execFn('items: []\n', OK_ARGS), /document 1 of the stream has no apiVersion/);
      assertRejected(execFn('apiVersion: v1\nkind: ConfigMap\n---\n- a\n', OK_ARGS), /document 2 of the stream must be a mapping/);
    });

    it('one object that is not a ResourceList (a Deployment, a List) is read as a one-document stream', () => {
      for (const doc of ['apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n', 'apiVersion: v1\nkind: List\nitems: []\n']) {
        const r = execFn(doc, OK_ARGS);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, doc, 'nothing to change: the document comes back byte for byte');
      }
    });

    it('ResourceList with an unknown apiVersion', () => {
      assertRejected(execFn('apiVersion: v9\nkind: ResourceList\nitems: []\n', OK_ARGS), /unsupported ResourceList apiVersion "v9"/);
    });

    it('items not a list', () => {
      assertRejected(execFn(`${RL_HEAD}items: {a: 1}\n`, OK_ARGS), /ResourceList\.items must be a list, got a mapping/);
      assertRejected(execFn(`${RL_HEAD}items: nope\n`, OK_ARGS), /ResourceList\.items must be a list, got string "nope"/);
    });

    it('an item that is not a mapping names its index', () => {
      assertRejected(execFn(`${RL_HEAD}items:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n- 42\n`, OK_ARGS), /items\[1\] must be a mapping .*got number 42/);
    });

    it('items without apiVersion or kind name the index and the object', () => {
      assertRejected(execFn(`${RL_HEAD}items:\n- kind: Pod\n  metadata: {name: web}\n`, OK_ARGS), /items\[0\] \(metadata\.name "web"\) has no apiVersion/);
      assertRejected(execFn(`${RL_HEAD}items:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n- apiVersion: v1\n  metadata: {name: b}\n`, OK_ARGS), /items\[1\] \(metadata\.name "b"\) has no kind/);
      assertRejected(execFn(`${RL_HEAD}items:\n- apiVersion: v1\n  kind: ""\n`, OK_ARGS), /items\[0\] has no kind/);
    });

    it('a multi-document stream of ResourceLists', () => {
      const r = execFn(`${RL_HEAD}items: []\n---\n${RL_HEAD}items: []\n`, OK_ARGS);
      assertRejected(r, /document 1 of the stream is a ResourceList: a stream holds Kubernetes objects, one per document/);
    });

    it('duplicate keys, at the top and inside an item, name the line', () => {
      assertRejected(execFn(`${RL_HEAD}items: []\nitems: []\n`, OK_ARGS), /Map keys must be unique at line 4, column 1/);
      const inItem = `${RL_HEAD}items:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    containers:\n    - name: c\n      image: nginx\n      image: quay.io/a/b\n`;
      assertRejected(execFn(inItem, OK_ARGS), /Map keys must be unique at line 11/);
    });

    it('an alias bomb (billion laughs) is refused quickly, before expansion', () => {
      const r = execFn(`${RL_HEAD}items: []\nfunctionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  data:\n${aliasBomb()}`.replace('  data:\n', '  metadata:\n    annotations:\n'), OK_ARGS);
      assertRejected(r, /aliases that expand too far \(more than 10000 nodes\)/);
      const inItems = `${RL_HEAD}items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n  data:\n  ${aliasBomb().replace(/\n  /g, '\n    ')}`;
      assertRejected(execFn(inItems, OK_ARGS), /aliases that expand too far/);
    });

    it('an alias without an anchor names the line, not the alias (its name could be anything, even a secret)', () => {
      const input = `${RL_HEAD}items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n  data: {a: *${SECRET_LICENSE}}\n`;
      const r = execFn(input, OK_ARGS);
      assertRejected(r, /input uses an alias at line 7, column \d+ whose anchor is not defined before it/);
      assert.ok(!r.stderr.includes(SECRET_LICENSE), r.stderr);
      assert.doesNotMatch(r.stderr, /expand too far/);
    });

    it('modest aliases (anchors a vendor uses for shared values) are fine', () => {
      const input = `${RL_HEAD}items:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a, namespace: ns, labels: &l {app: x}}\n  spec:\n    containers:\n    - name: c\n      image: &img quay.io/org/api:1\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: b, namespace: ns, labels: *l}\n  spec:\n    containers:\n    - name: c\n      image: *img\n`;
      const r = execFn(input, OK_ARGS, { env: ENV });
      assert.equal(r.status, 0, r.stderr);
      const out = parse(r.stdout) as ResourceListOut;
      const images = out.items.filter((i) => i['kind'] === 'Pod').map((i) => (i as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image);
      assert.deepEqual(images, ['proxy.replicated.com/proxy/app/quay.io/org/api:1', 'proxy.replicated.com/proxy/app/quay.io/org/api:1']);
    });

    it('deeply nested YAML (flow and block) fails with a message, not a crash', () => {
      const flow = `${RL_HEAD}items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n  data: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
      const r1 = execFn(flow, OK_ARGS);
      assertRejected(r1, /input is not valid YAML/);
      assert.match(r1.stderr, /nest/i);
      let block = `${RL_HEAD}items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n  data:\n`;
      for (let i = 0; i < 3000; i++) block += `${' '.repeat(4 + i)}k:\n`;
      block += `${' '.repeat(4 + 3000)}v\n`;
      const r2 = execFn(block, OK_ARGS);
      assertRejected(r2, /input is not valid YAML/);
      assert.match(r2.stderr, /nest/i);
    });

    it('functionConfig that is not a mapping', () => {
      assertRejected(execFn(`${RL_HEAD}items: []\nfunctionConfig: [a]\n`, OK_ARGS), /functionConfig must be a mapping, got a list/);
    });

    it('JSON that is not valid', () => {
      assertRejected(execFn('{"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": [}', OK_ARGS), /input is not valid YAML/);
    });
  });

  describe('readable input with a bad image: the input items untouched plus error results, exit 1', () => {
    const cases: [string, string, RegExp][] = [
      ['a number', '123', /image must be a string, got number 123/],
      ['a list', '[quay.io/a/b]', /image must be a string, got a mapping or list/],
      ['a mapping', '{name: quay.io/a/b}', /image must be a string, got a mapping or list/],
      ['null', 'null', /image must be a string, got nothing/],
      ['a boolean', 'true', /image must be a string, got boolean true/],
      ['empty', '""', /invalid image reference "": empty/],
      ['an uppercase repository', 'quay.io/Org/api:1', /invalid image reference "quay.io\/Org\/api:1": repository name must be lowercase/],
      ['an uppercase short name', 'Nginx', /invalid image reference "Nginx"/],
      ['a short digest', 'nginx@sha256:abc', /invalid image reference "nginx@sha256:abc": invalid digest/],
      ['an uppercase sha256 digest', `nginx@sha256:${'A'.repeat(64)}`, /invalid sha256 digest: want 64 lowercase hex/],
      ['a bad tag', 'nginx:-x', /invalid tag "-x"/],
      ['white space', "' nginx'", /leading or trailing white space/],
      ['a bad port', 'localhost:99999/a', /invalid port/],
      ['an empty path component', 'quay.io//a', /empty path component/],
      ['a 300-character name', `quay.io/${'a'.repeat(300)}`, /longer than 255 characters/],
    ];
    for (const [what, image, message] of cases) {
      it(`image ${what}`, () => {
        const input = podList(['docker.io/library/nginx:1', image]);
        const r = execFn(input, OK_ARGS, { env: ENV });
        const out = assertFailedWithInput(r, input, message);
        const err = out.results!.find((x) => x.severity === 'error')!;
        assert.equal(err.field?.path, 'spec.containers[0].image');
        assert.deepEqual(err.resourceRef, { apiVersion: 'v1', kind: 'Pod', name: 'p1', namespace: 'ns' });
        // stderr names the object and field too
        assert.match(r.stderr, /^proxy-private-images: \[error\] v1\/Pod\/ns\/p1 spec\.containers\[0\]\.image: /m);
        // nothing was rewritten, no Secret added
        assert.equal(out.items.length, 2);
      });
    }

    it('several bad images: every one is reported', () => {
      const input = podList(['Bad/Name', 'quay.io/ok/one:1', 'x@sha256:1']);
      const r = execFn(input, OK_ARGS, { env: ENV });
      const out = assertFailedWithInput(r, input, /Bad\/Name/);
      assert.equal(out.results!.filter((x) => x.severity === 'error').length, 2);
      assert.match(r.stderr, /p2 spec\.containers\[0\]\.image: invalid image reference "x@sha256:1"/);
    });

    it('a bad image in a custom resource field (fieldSpecs) names that path', () => {
      const fc = `apiVersion: fn.proxy-private-images.dev/v1alpha1\nkind: ProxyPrivateImages\nappSlug: app\nimages: {private: ['quay.io/**']}\nfieldSpecs:\n- {group: example.com, kind: Thing, path: spec/image}\n`;
      const input = `${RL_HEAD}items:\n- apiVersion: example.com/v1\n  kind: Thing\n  metadata: {name: t}\n  spec:\n    image: quay.io/NOT/valid\nfunctionConfig:\n${fc.replace(/^/gm, '  ')}`;
      const r = execFn(input, [], { env: ENV });
      const out = assertFailedWithInput(r, input, /invalid image reference "quay.io\/NOT\/valid"/);
      assert.equal(out.results!.find((x) => x.severity === 'error')!.field?.path, 'spec.image');
    });
  });

  describe('functionConfig of the wrong kind: untouched input plus an error result', () => {
    it('a Deployment as functionConfig', () => {
      const input = podList([LOOPBACK_IMAGE], 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n');
      assertFailedWithInput(execFn(input, [], { env: ENV }), input, /functionConfig must be a ProxyPrivateImages \(apiVersion fn\.proxy-private-images\.dev\/v1alpha1\) or a ConfigMap, got "Deployment" "apps\/v1"/);
    });

    it('a ProxyPrivateImages with the wrong apiVersion', () => {
      const input = podList([LOOPBACK_IMAGE], 'apiVersion: fn.proxy-private-images.dev/v2\nkind: ProxyPrivateImages\nappSlug: app\n');
      assertFailedWithInput(execFn(input, [], { env: ENV }), input, /apiVersion must be fn\.proxy-private-images\.dev\/v1alpha1, got "fn\.proxy-private-images\.dev\/v2"/);
    });

    it('a ConfigMap whose data is not a mapping', () => {
      const input = podList([LOOPBACK_IMAGE], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: [appSlug]\n');
      assertFailedWithInput(execFn(input, [], { env: ENV }), input, /ConfigMap data must be a mapping/);
    });

    it('no appSlug anywhere', () => {
      const input = podList([LOOPBACK_IMAGE]);
      assertFailedWithInput(execFn(input, [], { env: ENV }), input, /invalid functionConfig: appSlug is required/);
    });
  });

  describe('JSON input', () => {
    it('works and answers in JSON', () => {
      const input = JSON.stringify(parse(podList(['quay.io/org/api:1', 'nginx:1.25'])));
      const r = execFn(input, OK_ARGS, { env: ENV });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout[0], '{');
      const out = JSON.parse(r.stdout) as ResourceListOut;
      assert.equal(out.items.length, 3);
      assert.equal((out.items[0] as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image, 'proxy.replicated.com/proxy/app/quay.io/org/api:1');
      assert.equal((out.items[1] as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image, 'nginx:1.25');
      assert.equal(out.items[2]!['kind'], 'Secret');
    });

    it('a failing JSON run answers in JSON with the untouched items', () => {
      const input = JSON.stringify(parse(podList(['quay.io/Org/api:1'])));
      const r = execFn(input, OK_ARGS, { env: ENV });
      assertFailedWithInput(r, input, /repository name must be lowercase/);
      assert.equal(r.stdout[0], '{');
      JSON.parse(r.stdout);
    });
  });

  describe('command line', () => {
    for (const [args, message] of [
      [['--bogus'], /Unknown option '--bogus'/],
      [['extra'], /unexpected argument "extra"/],
      [['--timeout', 'abc'], /--timeout takes a number of seconds, got "abc"/],
      [['--config', '/nonexistent/fn-config.yaml'], /cannot read --config \/nonexistent\/fn-config\.yaml: ENOENT/],
    ] as [string[], RegExp][]) {
      it(args.join(' '), () => assertRejected(execFn(podList(['nginx']), args), message));
    }

    describe('--config FILE that is not a usable functionConfig', () => {
      const dir = mkdtempSync(join(tmpdir(), 'ppi-badconfig-'));
      after(() => rmSync(dir, { recursive: true, force: true }));
      const fcHead = 'apiVersion: fn.proxy-private-images.dev/v1alpha1\nkind: ProxyPrivateImages\nappSlug: app\n';
      for (const [name, text, message] of [
        ['not YAML', 'a: [\n', /--config \S+ is not valid YAML: .* at line 2, column 1$/m],
        ['a list', '- a\n', /--config \S+ must hold a mapping/],
        ['two documents', `${fcHead}---\na: 1\n`, /--config \S+ holds 2 YAML documents, expected one functionConfig/],
        ['an alias bomb', `${fcHead}metadata:\n  annotations:\n${aliasBomb().replace(/^/gm, '  ')}`, /--config \S+ uses YAML aliases that expand too far/],
        ['a duplicate key', `${fcHead}appSlug: again\n`, /--config \S+ is not valid YAML: Map keys must be unique at line 4, column 1$/m],
        ['a bad field', `${fcHead}probe: {retries: lots}\n`, /invalid functionConfig: probe\.retries must be integer/],
      ] as [string, string, RegExp][]) {
        it(name, () => {
          const file = join(dir, `${name.replace(/\W/g, '-')}.yaml`);
          writeFileSync(file, text);
          const input = podList(['quay.io/org/a:1']);
          const r = execFn(input, ['--config', file], { env: ENV });
          if (name === 'a bad field') assertFailedWithInput(r, input, message);
          else assertRejected(r, message);
          assert.doesNotMatch(r.stderr, /internal error|parseAllDocuments/);
        });
      }
    });
  });
});
