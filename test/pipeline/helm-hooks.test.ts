/**
 * Helm hooks and the pull Secret, through the pipeline (no helm here; test/helm/ runs the real binaries):
 * hooks list `<name>-hooks`, emitted as a pre-install/pre-upgrade hook with the lowest weight; regular workloads
 * keep the regular Secret; nothing in the output shares kind, name and namespace.
 */
import assert from 'node:assert/strict';
import { hookSecretName, isHelmHook, onlyHooks, pullSecretNameFor } from '../../src/secret/helm-hooks.js';
import { LICENSE, resourceList, runFn } from '../helpers/run.js';
import { parseDocument, type YAMLMap } from 'yaml';

const HOOK_ANNOTATIONS = {
  'helm.sh/hook': 'pre-install,pre-upgrade',
  'helm.sh/hook-weight': '-2147483648',
  'helm.sh/hook-delete-policy': 'before-hook-creation',
};

function workload(kind: 'Deployment' | 'Job' | 'Pod', name: string, image: string, opts: { ns?: string; hook?: string; pullSecrets?: string[] } = {}): string {
  const meta = [
    `    name: ${name}`,
    ...(opts.ns ? [`    namespace: ${opts.ns}`] : []),
    ...(opts.hook !== undefined ? ['    annotations:', `      helm.sh/hook: ${JSON.stringify(opts.hook)}`] : []),
  ].join('\n');
  const secrets = opts.pullSecrets ? `\n${kind === 'Pod' ? '    ' : '        '}imagePullSecrets: [${opts.pullSecrets.map((n) => `{name: ${n}}`).join(', ')}]` : '';
  if (kind === 'Pod') {
    return `- apiVersion: v1\n  kind: Pod\n  metadata:\n${meta}\n  spec:${secrets}\n    containers:\n    - name: c\n      image: ${image}`;
  }
  const apiVersion = kind === 'Job' ? 'batch/v1' : 'apps/v1';
  return `- apiVersion: ${apiVersion}\n  kind: ${kind}\n  metadata:\n${meta}\n  spec:\n    template:\n      spec:${secrets}\n        containers:\n        - name: c\n          image: ${image}`;
}

type Item = { kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec?: any };
const items = (out: { parsed: { items: Item[] } }): Item[] => out.parsed.items;
const find = (list: Item[], kind: string, name: string, ns?: string): Item[] => list.filter((i) => i.kind === kind && i.metadata.name === name && i.metadata.namespace === ns);
const podSpec = (i: Item): any => (i.kind === 'Pod' ? i.spec : i.spec.template.spec);
const keys = (list: Item[]): string[] => list.map((i) => `${i.kind}/${i.metadata.namespace ?? ''}/${i.metadata.name}`);

function assertUnique(list: Item[]): void {
  const k = keys(list);
  assert.deepEqual(k.filter((x, i) => k.indexOf(x) !== i), [], 'two objects share kind, name and namespace');
}

describe('Helm hooks get their own pull Secret', () => {
  it('a hook Job and a test Pod list <name>-hooks; the Secret is a pre-install,pre-upgrade hook with the lowest weight', async () => {
    const out = await runFn(resourceList([
      workload('Deployment', 'api', 'quay.io/acme/api:1'),
      workload('Job', 'migrate', 'quay.io/acme/migrate:1', { hook: 'pre-install,pre-upgrade' }),
      workload('Pod', 'smoke', 'quay.io/acme/smoke:1', { hook: 'test' }),
    ].join('\n')));
    assert.equal(out.exitCode, 0, out.stderr);
    const list = items(out);
    assertUnique(list);
    assert.deepEqual(podSpec(find(list, 'Deployment', 'api')[0]!).imagePullSecrets, [{ name: 'acme-registry' }]);
    assert.deepEqual(podSpec(find(list, 'Job', 'migrate')[0]!).imagePullSecrets, [{ name: 'acme-registry-hooks' }]);
    assert.deepEqual(podSpec(find(list, 'Pod', 'smoke')[0]!).imagePullSecrets, [{ name: 'acme-registry-hooks' }]);
    const [regular] = find(list, 'Secret', 'acme-registry');
    const [hook] = find(list, 'Secret', 'acme-registry-hooks');
    assert.equal(regular!.metadata.annotations, undefined);
    assert.deepEqual(hook!.metadata.annotations, HOOK_ANNOTATIONS);
    assert.deepEqual((hook as any).data, (regular as any).data, 'both hold the same credentials');
    assert.ok(out.parsed.results.some((r: any) => r.message.startsWith('pull Secret acme-registry-hooks created')));
  });

  it('a chart of regular objects only gets no hook Secret (Helm 3 never sends hooks)', async () => {
    const out = await runFn(resourceList(workload('Deployment', 'api', 'quay.io/acme/api:1')));
    assert.deepEqual(keys(items(out).filter((i) => i.kind === 'Secret')), ['Secret//acme-registry']);
  });

  it('a hook with only public images gets nothing; a hook in a namespace gets the hook Secret there', async () => {
    const out = await runFn(resourceList([
      workload('Job', 'notify', 'docker.io/library/busybox:1', { hook: 'post-install' }),
      workload('Job', 'seed', 'quay.io/acme/seed:1', { hook: 'pre-install', ns: 'db' }),
    ].join('\n')));
    assert.equal(out.exitCode, 0, out.stderr);
    const list = items(out);
    assert.equal(podSpec(find(list, 'Job', 'notify')[0]!).imagePullSecrets, undefined);
    assert.deepEqual(keys(list.filter((i) => i.kind === 'Secret')), ['Secret/db/acme-registry-hooks']);
  });

  it('hooks only (Helm 4 "separate" strategy): pullSecret.namespaces adds no regular copy, so the manifests run alone adds it', async () => {
    const config = 'appSlug: acme\n  pullSecret:\n    namespaces: [ops]\n  images:\n    private: ["quay.io/acme/**"]';
    const hooks = await runFn(resourceList(workload('Job', 'migrate', 'quay.io/acme/migrate:1', { hook: 'pre-upgrade' }), config));
    assert.deepEqual(keys(items(hooks).filter((i) => i.kind === 'Secret')), ['Secret//acme-registry-hooks']);
    const manifests = await runFn(resourceList(workload('Deployment', 'api', 'quay.io/acme/api:1'), config));
    assert.deepEqual(keys(items(manifests).filter((i) => i.kind === 'Secret')).sort(), ['Secret//acme-registry', 'Secret/ops/acme-registry']);
    assertUnique([...items(hooks), ...items(manifests)]);
  });

  it('running the function on its own output changes no item (the hook Secret is updated in place, not added again)', async () => {
    const first = await runFn(resourceList([
      workload('Deployment', 'api', 'quay.io/acme/api:1'),
      workload('Job', 'migrate', 'quay.io/acme/migrate:1', { hook: 'pre-install' }),
    ].join('\n')));
    assert.equal(first.exitCode, 0, first.stderr);
    const second = await runFn(first.stdout);
    assert.equal(second.exitCode, 0, second.stderr);
    assert.deepEqual(second.parsed.items, first.parsed.items);
    assert.ok(second.parsed.results.some((r: any) => r.message.startsWith('pull Secret acme-registry-hooks is up to date')));
  });

  it('an existing hook Secret with an old license is updated in place and keeps its hook annotations', async () => {
    const first = await runFn(resourceList(workload('Job', 'migrate', 'quay.io/acme/migrate:1', { hook: 'pre-install' })));
    const second = await runFn(first.stdout, { env: { LICENSE_ID: `${LICENSE}-renewed` } });
    assert.equal(second.exitCode, 0, second.stderr);
    const hooks = find(items(second), 'Secret', 'acme-registry-hooks');
    assert.equal(hooks.length, 1);
    assert.deepEqual(hooks[0]!.metadata.annotations, HOOK_ANNOTATIONS);
    const auths = JSON.parse(Buffer.from((hooks[0] as any).data['.dockerconfigjson'], 'base64').toString()).auths;
    assert.equal(auths['proxy.replicated.com'].username, `${LICENSE}-renewed`);
  });

  it('a regular Secret in the input that holds the hook Secret\'s name is an error, and nothing is changed', async () => {
    const taken = `- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: acme-registry-hooks\n  data: {a: Yg==}`;
    const out = await runFn(resourceList([taken, workload('Job', 'migrate', 'quay.io/acme/migrate:1', { hook: 'pre-install' })].join('\n')));
    assert.equal(out.exitCode, 1);
    const errors = out.parsed.results.filter((r: any) => r.severity === 'error');
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /already has a regular Secret acme-registry-hooks.*set pullSecret\.name/);
    assert.deepEqual(errors[0].resourceRef, { apiVersion: 'v1', kind: 'Secret', name: 'acme-registry-hooks' });
    assert.equal(podSpec(find(items(out), 'Job', 'migrate')[0]!).containers[0].image, 'quay.io/acme/migrate:1');
  });

  it('without a license id, one error, naming the regular Secret', async () => {
    const out = await runFn(resourceList([
      workload('Deployment', 'api', 'quay.io/acme/api:1'),
      workload('Job', 'migrate', 'quay.io/acme/migrate:1', { hook: 'pre-install' }),
    ].join('\n')), { env: {} });
    assert.equal(out.exitCode, 1);
    const errors = out.parsed.results.filter((r: any) => r.severity === 'error');
    assert.deepEqual(errors.map((e: any) => e.message.slice(0, 48)), ['the pull Secret acme-registry is needed but no l']);
  });

  it('a hook that already lists the regular Secret keeps that entry and gets the hook Secret once', async () => {
    const out = await runFn(resourceList(workload('Job', 'setup', 'quay.io/acme/setup:1', { hook: 'pre-install', pullSecrets: ['acme-registry'] })));
    assert.deepEqual(podSpec(find(items(out), 'Job', 'setup')[0]!).imagePullSecrets, [{ name: 'acme-registry' }, { name: 'acme-registry-hooks' }]);
    const again = await runFn(out.stdout);
    assert.deepEqual(podSpec(find(items(again), 'Job', 'setup')[0]!).imagePullSecrets, [{ name: 'acme-registry' }, { name: 'acme-registry-hooks' }]);
  });

  it('pullSecret.name sets both names', async () => {
    const config = 'appSlug: acme\n  pullSecret:\n    name: vendor-pull\n  images:\n    private: ["quay.io/acme/**"]';
    const out = await runFn(resourceList(workload('Job', 'migrate', 'quay.io/acme/migrate:1', { hook: 'pre-install' }), config));
    assert.deepEqual(keys(items(out).filter((i) => i.kind === 'Secret')), ['Secret//vendor-pull-hooks']);
  });
});

describe('helm-hooks.ts', () => {
  const item = (annotations: string): YAMLMap => parseDocument(`kind: Job\nmetadata:\n  name: x\n${annotations}`).contents as YAMLMap;

  it('any helm.sh/hook annotation makes a hook, as in Helm (an empty or unknown value too)', () => {
    assert.equal(isHelmHook(item('')), false);
    assert.equal(isHelmHook(item('  annotations: {other: x}\n')), false);
    assert.equal(isHelmHook(item('  annotations: {helm.sh/hook: ""}\n')), true);
    assert.equal(pullSecretNameFor(item('  annotations: {helm.sh/hook: test}\n'), 'p'), 'p-hooks');
    assert.equal(pullSecretNameFor(item(''), 'p'), 'p');
    assert.equal(hookSecretName('a'), 'a-hooks');
  });

  it('onlyHooks: some items, every one a hook', () => {
    assert.equal(onlyHooks([]), false);
    assert.equal(onlyHooks([item('  annotations: {helm.sh/hook: test}\n')]), true);
    assert.equal(onlyHooks([item('  annotations: {helm.sh/hook: test}\n'), item('')]), false);
  });
});
