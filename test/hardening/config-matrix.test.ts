/**
 * Wrong types in every functionConfig field, table-driven over the JSON Schema in functionconfig/, in both forms
 * (ProxyPrivateImages and the ConfigMap `data` form of `kpt fn eval -- key=value`), through the bundle. Adding a field
 * to the schema adds its rows here. Each row: exit 1, stdout = the untouched input plus an error result, and the
 * message names the field's path.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { assertFailedWithInput, execFn, indent, LOOPBACK_IMAGE, podList, ROOT, SECRET_LICENSE, type ResourceListOut } from './support.js';

interface SchemaNode {
  type?: string;
  $ref?: string;
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

const schema = JSON.parse(readFileSync(join(ROOT, 'functionconfig', 'proxy-private-images.v1alpha1.schema.json'), 'utf8')) as SchemaNode & {
  definitions: Record<string, SchemaNode>;
};

function resolveRef(node: SchemaNode): SchemaNode {
  if (!node.$ref) return node;
  const name = node.$ref.replace('#/definitions/', '');
  return { ...schema.definitions[name]!, ...node, $ref: undefined } as SchemaNode;
}

interface Row {
  readonly field: string;
  readonly value: unknown;
  readonly message: RegExp;
}

const re = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Wrong values for a field of the ProxyPrivateImages form, with the message each must give. */
function typedRows(path: string, raw: SchemaNode): Row[] {
  const node = resolveRef(raw);
  const p = re(path);
  if (node.const !== undefined || node.enum) {
    return [{ field: path, value: 'bogus', message: new RegExp(`${p} must be (one of )?`) }];
  }
  switch (node.type) {
    case 'string':
      return [{ field: path, value: 42, message: new RegExp(`${p} must be string`) }];
    case 'boolean':
      return [{ field: path, value: 'yes', message: new RegExp(`${p} must be boolean`) }];
    case 'integer':
      return [
        { field: path, value: 1.5, message: new RegExp(`${p} must be integer`) },
        { field: path, value: '3', message: new RegExp(`${p} must be integer`) },
      ];
    case 'number':
      return [{ field: path, value: 'soon', message: new RegExp(`${p} must be number`) }];
    case 'array': {
      const item = resolveRef(node.items ?? {});
      const wrongItem = item.type === 'object' ? 'not-an-object' : 42;
      return [
        { field: path, value: 'a,b', message: new RegExp(`${p} must be array`) },
        { field: path, value: [wrongItem], message: new RegExp(`${p}\\[0\\] must be ${item.type}`) },
      ];
    }
    case 'object': {
      const rows: Row[] = [{ field: path, value: 'x', message: new RegExp(`${p} must be object`) }];
      if (node.properties && path !== 'metadata') {
        rows.push({ field: `${path}.bogusField`, value: 1, message: new RegExp(`unknown field ${p}\\.bogusField`) });
        for (const [k, v] of Object.entries(node.properties)) rows.push(...typedRows(`${path}.${k}`, v));
      }
      return rows;
    }
    default:
      throw new Error(`no wrong value for ${path} (${JSON.stringify(node)})`);
  }
}

/** Wrong values for a `data` key of the ConfigMap form (every value arrives as a string there). */
function configMapRows(path: string, raw: SchemaNode): Row[] {
  const node = resolveRef(raw);
  const p = re(path);
  const notString: Row = { field: path, value: 42, message: new RegExp(`ConfigMap data ${p} must be a string`) };
  if (node.enum) return [notString, { field: path, value: 'bogus', message: new RegExp(`${p} must be one of`) }];
  switch (node.type) {
    case 'string':
      return [notString];
    case 'boolean':
      return [notString, { field: path, value: 'yes', message: new RegExp(`${p} must be true or false, got "yes"`) }];
    case 'integer':
    case 'number':
      return [notString, { field: path, value: 'soon', message: new RegExp(`${p} must be a number, got "soon"`) }];
    case 'array': {
      const item = resolveRef(node.items ?? {});
      if (item.type === 'object') return [notString, { field: path, value: 'not json', message: new RegExp(`${p} must be a JSON list`) }];
      return [notString];
    }
    case 'object': {
      const rows: Row[] = [{ field: path, value: 'x', message: new RegExp(`${p} must be object`) }];
      if (node.properties) for (const [k, v] of Object.entries(node.properties)) rows.push(...configMapRows(`${path}.${k}`, v));
      return rows;
    }
    default:
      throw new Error(`no wrong value for ${path}`);
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const segs = path.split('.');
  let node = target;
  for (const s of segs.slice(0, -1)) node = (node[s] ??= {}) as Record<string, unknown>;
  node[segs[segs.length - 1]!] = value;
}

const BASE = { apiVersion: 'fn.proxy-private-images.dev/v1alpha1', kind: 'ProxyPrivateImages', appSlug: 'app' };

const typed: Row[] = [];
for (const [k, v] of Object.entries(schema.properties!)) {
  if (k === 'apiVersion' || k === 'kind') continue; // covered in bad-input.test.ts (the wrong kind of functionConfig)
  typed.push(...typedRows(k, v));
}
const configMap: Row[] = [];
for (const [k, v] of Object.entries(schema.properties!)) {
  if (k === 'apiVersion' || k === 'kind' || k === 'metadata') continue;
  configMap.push(...configMapRows(k, v));
}

function leaves(node: SchemaNode, prefix = ''): string[] {
  const n = resolveRef(node);
  if (n.type === 'object' && n.properties) return Object.entries(n.properties).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
  return [prefix];
}

describe('hardening: every functionConfig field with a wrong value', function () {
  this.timeout(120_000);
  // a loopback registry on the discard port: if a row ever passed by mistake, the probe stays on this machine
  const image = LOOPBACK_IMAGE;

  it('the tables cover every field of the schema', () => {
    const all = leaves(schema).filter((l) => l !== 'apiVersion' && l !== 'kind');
    for (const leaf of all) {
      assert.ok(typed.some((r) => r.field === leaf), `no ProxyPrivateImages row for ${leaf}`);
      if (leaf !== 'metadata') assert.ok(configMap.some((r) => r.field === leaf), `no ConfigMap row for ${leaf}`);
    }
  });

  describe('ProxyPrivateImages form', () => {
    for (const row of typed) {
      it(`${row.field}: ${JSON.stringify(row.value)}`, () => {
        const fc: Record<string, unknown> = structuredClone(BASE);
        setPath(fc, row.field, row.value);
        const input = podList([image], JSON.stringify(fc));
        const r = execFn(input, [], { env: { LICENSE_ID: SECRET_LICENSE } });
        const out = assertFailedWithInput(r, input, row.message);
        assert.match(r.stderr, /^proxy-private-images: invalid functionConfig: /);
        assert.ok(!out.items.some((i) => i['kind'] === 'Secret'));
      });
    }

    it('appSlug missing', () => {
      const input = podList([image], JSON.stringify({ ...BASE, appSlug: undefined }));
      assertFailedWithInput(execFn(input, []), input, /appSlug is required/);
    });

    it('several problems at once: every one is listed, each with its path', () => {
      const input = podList([image], JSON.stringify({ ...BASE, proxy: { host: 7 }, probe: { retries: -1, onError: 'maybe' }, extra: true }));
      const r = execFn(input, []);
      assertFailedWithInput(r, input, /invalid functionConfig: .* \(and 3 more\)/);
      for (const m of [/unknown field extra/, /proxy\.host must be string/, /probe\.retries must be >= 0/, /probe\.onError must be one of "fail", "private", "public"/]) assert.match(r.stderr, m);
    });
  });

  describe('ConfigMap data form', () => {
    for (const row of configMap) {
      it(`${row.field}=${JSON.stringify(row.value)}`, () => {
        const fc = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'function-input' }, data: { appSlug: 'app', [row.field]: row.value } };
        const input = podList([image], JSON.stringify(fc));
        const r = execFn(input, [], { env: { LICENSE_ID: SECRET_LICENSE } });
        assertFailedWithInput(r, input, row.message);
        assert.match(r.stderr, /^proxy-private-images: invalid functionConfig: /);
      });
    }

    it('keys named like Object built-ins (__proto__, constructor, toString) are unknown fields, never silently dropped', () => {
      for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'probe.__proto__', '__proto__.retries']) {
        const input = podList([image]).replace(
          /$/,
          `functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n  data:\n    appSlug: app\n    ${JSON.stringify(key)}: "1"\n`,
        );
        const r = execFn(input, [], { env: { LICENSE_ID: SECRET_LICENSE } });
        assertFailedWithInput(r, input, new RegExp(`unknown field ${re(JSON.stringify(key))} in ConfigMap data`));
      }
    });

    it('an unknown key names it', () => {
      const fc = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { appSlug: 'app', 'probe.timeout': '5' } };
      const input = podList([image], JSON.stringify(fc));
      assertFailedWithInput(execFn(input, []), input, /unknown field "probe\.timeout" in ConfigMap data/);
    });
  });

  describe('flags with a bad value: worded by the field the flag sets', () => {
    for (const [args, message] of [
      [['--on-error', 'maybe'], /probe\.onError must be one of "fail", "private", "public"/],
      [['--namespace', 'Bad_NS'], /pullSecret\.namespaces\[0\] must match pattern/],
      [['--output', 'json'], /output must be one of "resources", "kustomization"/],
      [['--proxy-host', 'a b'], /proxy\.host must match pattern/],
      [['--deadline', '1e9'], /probe\.deadlineSeconds must be <= 86400/],
    ] as [string[], RegExp][]) {
      it(args.join(' '), () => {
        const input = podList([image]);
        assertFailedWithInput(execFn(input, ['--app-slug', 'app', ...args], { env: { LICENSE_ID: SECRET_LICENSE } }), input, message);
      });
    }
  });

  describe('pullSecret.namespaces mixing "*" with names', () => {
    // Decision: not an error. "*" adds every namespace seen in the input and the names add theirs (a union), which
    // is what "all of mine, plus monitoring that another package creates" needs.
    it('is the union of every namespace seen and the names', () => {
      const fc = { ...BASE, images: { private: ['127.0.0.9/**'] }, pullSecret: { namespaces: ['*', 'extra'] } };
      // decided by the glob: nothing is probed; no port, since a private image is rewritten
      const input = `${podList(['127.0.0.9/org/api:1'], JSON.stringify(fc))}`.replace(
        'items:\n',
        'items:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: other}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c, namespace: third}\n',
      );
      const r = execFn(input, [], { env: { LICENSE_ID: SECRET_LICENSE } });
      assert.equal(r.status, 0, r.stderr);
      const out = parse(r.stdout) as ResourceListOut;
      const ns = out.items.filter((i) => i['kind'] === 'Secret').map((i) => (i['metadata'] as { namespace?: string }).namespace).sort();
      assert.deepEqual(ns, ['extra', 'ns', 'other', 'third']);
    });

    it('"*" twice, or a bad name next to "*", is an error naming the entry', () => {
      for (const [namespaces, message] of [
        [['*', '*'], /pullSecret\.namespaces must NOT have duplicate items/],
        [['*', 'Bad_NS'], /pullSecret\.namespaces\[1\] must match pattern/],
        [['*', ''], /pullSecret\.namespaces\[1\] must match pattern/],
      ] as [string[], RegExp][]) {
        const input = podList([image], JSON.stringify({ ...BASE, pullSecret: { namespaces } }));
        assertFailedWithInput(execFn(input, []), input, message);
      }
    });
  });

  it('a config error in the ConfigMap form of `kpt fn eval -- k=v` keeps the flow-style functionConfig as it was', () => {
    const input = podList([image]) + `functionConfig:\n${indent('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: function-input}\ndata: {appSlug: app, probe.retries: "many"}\n', 2)}`;
    const r = execFn(input, []);
    assertFailedWithInput(r, input, /probe\.retries must be a number, got "many"/);
    assert.ok(r.stdout.startsWith(input), 'the input text is kept byte for byte, the results appended');
  });
});
