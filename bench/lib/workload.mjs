// Deterministic generator of large, realistic ResourceLists for the throughput bench.
//
// Mixed kinds (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod), init and
// ephemeral containers, comments, kpt-style annotations, about 150 distinct
// private images on four private registries plus a handful of public Docker Hub
// and registry.k8s.io images. Every image is decided by a glob, so the function
// makes no network request.

export const APP_SLUG = 'bench-app';
export const LICENSE_ID = 'bench-license';
export const PROXY_HOST = 'proxy.replicated.com';

export const PRIVATE_GLOBS = [
  'registry.example.com/**',
  'quay.io/acme/**',
  'ghcr.io/acme-corp/**',
  '123456789012.dkr.ecr.us-east-1.amazonaws.com/**',
];
export const PUBLIC_GLOBS = ['docker.io/**', 'registry.k8s.io/**'];

/** mulberry32: small deterministic PRNG. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PRIVATE_PREFIXES = [
  'registry.example.com/team-a',
  'registry.example.com/team-b/platform',
  'quay.io/acme',
  'ghcr.io/acme-corp',
  '123456789012.dkr.ecr.us-east-1.amazonaws.com/services',
];
const PUBLIC_IMAGES = [
  'nginx:1.27',
  'busybox:1.36',
  'redis:7.4-alpine',
  'docker.io/library/postgres:16.4',
  'index.docker.io/library/alpine:3.20',
  'docker.io/bitnami/kubectl:1.31',
  'registry.k8s.io/pause:3.10',
  'registry.k8s.io/ingress-nginx/controller:v1.11.2',
  'prom/node-exporter:v1.8.2',
  'grafana/grafana:11.2.0',
];

/** The ~150 distinct private images: one tag per repository (kustomize `images:` match by name). */
export function privateImages(count = 150) {
  const rnd = prng(42);
  const out = [];
  for (let i = 0; i < count; i++) {
    const prefix = PRIVATE_PREFIXES[i % PRIVATE_PREFIXES.length];
    const name = `${prefix}/svc-${String(i).padStart(3, '0')}`;
    const tag = `v${1 + (i % 4)}.${Math.floor(rnd() * 20)}.${Math.floor(rnd() * 10)}`;
    // Every 10th image is pinned by digest as well.
    const digest = i % 10 === 3 ? `@sha256:${hex(rnd, 64)}` : '';
    out.push({ name, ref: `${name}:${tag}${digest}` });
  }
  return out;
}

function hex(rnd, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(rnd() * 16).toString(16);
  return s;
}

const KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod'];
const API = { Deployment: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1', Job: 'batch/v1', CronJob: 'batch/v1', Pod: 'v1' };

function indent(text, n) {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l === '' ? l : pad + l))
    .join('\n');
}

// Sized so that 10,000 workloads stay under the function's 16 MiB input limit (about 1.5 KB each).
function container(name, image, rnd, withComment) {
  const main = name === 'main';
  const lines = [
    `- name: ${name}`,
    `  image: ${image}${withComment ? '  # pinned by release tooling' : ''}`,
    // every fourth main container passes an image in a flag, as operators do: work for image detection
    ...(main ? [`  args: ["--port=8080", "--log-level=info"${withComment ? ', "--helper-image=registry.k8s.io/pause:3.10"' : ''}]`] : []),
    `  ports:`,
    `  - containerPort: ${8000 + Math.floor(rnd() * 1000)}`,
    `    name: http`,
    `  env:`,
    `  - name: LOG_FORMAT`,
    `    value: "json"`,
    ...(main ? [`  - name: POD_NAME`, `    valueFrom:`, `      fieldRef:`, `        fieldPath: metadata.name`] : []),
    `  resources:`,
    `    requests: {cpu: 100m, memory: 128Mi}`,
    `    limits:`,
    `      memory: 256Mi`,
  ];
  return lines.join('\n');
}

function podSpec(i, rnd, images, kind) {
  const pick = () => images[Math.floor(rnd() * images.length)].ref;
  const pickPublic = () => PUBLIC_IMAGES[Math.floor(rnd() * PUBLIC_IMAGES.length)];
  const parts = [];
  parts.push('# containers below are managed by the platform team');
  if (i % 3 === 0) parts.push('initContainers:\n' + container('init-migrate', pick(), rnd, false));
  const containers = [container('main', pick(), rnd, i % 4 === 0)];
  if (i % 2 === 0) containers.push(container('sidecar', rnd() < 0.5 ? pickPublic() : pick(), rnd, false));
  parts.push('containers:\n' + containers.join('\n'));
  if (kind === 'Pod' && i % 2 === 1) {
    parts.push(
      'ephemeralContainers:\n' +
        `- name: debugger\n  image: ${pick()}\n  command: ["sh"]\n  stdin: true\n  tty: true`,
    );
  }
  if (kind === 'Job' || kind === 'CronJob' || kind === 'Pod') parts.push('restartPolicy: OnFailure');
  parts.push("nodeSelector:\n  kubernetes.io/os: linux\nsecurityContext:\n  runAsNonRoot: true\n  fsGroup: 2000");
  return parts.join('\n');
}

function workload(i, rnd, images) {
  const kind = KINDS[i % KINDS.length];
  const name = `w-${String(i).padStart(5, '0')}`;
  const ns = `ns-${String(i % 25).padStart(2, '0')}`;
  const path = `${ns}/${kind.toLowerCase()}-${name}.yaml`;
  const meta = [
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${ns}`,
    '  labels:',
    `    app.kubernetes.io/name: ${name}`,
    '    app.kubernetes.io/part-of: bench',
    '  annotations:',
    `    config.kubernetes.io/index: '0'`,
    `    internal.config.kubernetes.io/path: '${path}'`,
  ].join('\n');
  const spec = podSpec(i, rnd, images, kind);
  const template = `template:\n  metadata:\n    labels:\n      app.kubernetes.io/name: ${name}\n  spec:\n${indent(spec, 4)}`;
  let body;
  switch (kind) {
    case 'Deployment':
      body = `spec:\n  replicas: 2  # scaled by HPA in production\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: ${name}\n${indent(template, 2)}`;
      break;
    case 'StatefulSet':
      body = `spec:\n  serviceName: ${name}\n  replicas: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: ${name}\n${indent(template, 2)}\n  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n      accessModes: ["ReadWriteOnce"]\n      resources:\n        requests:\n          storage: 1Gi`;
      break;
    case 'DaemonSet':
      body = `spec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: ${name}\n${indent(template, 2)}`;
      break;
    case 'Job':
      body = `spec:\n  backoffLimit: 3\n${indent(template, 2)}`;
      break;
    case 'CronJob':
      body = `spec:\n  schedule: "*/15 * * * *"\n  jobTemplate:\n    spec:\n${indent(template, 6)}`;
      break;
    case 'Pod':
      body = `spec:\n${indent(spec, 2)}`;
      break;
  }
  return `apiVersion: ${API[kind]}\nkind: ${kind}\n${meta}\n${body}`;
}

/** The function config used by the throughput bench: every decision from globs; `detect` sets imagesInValues.detect. */
export function functionConfigYaml({ detect } = {}) {
  return [
    'apiVersion: fn.proxy-private-images.dev/v1alpha1',
    'kind: ProxyPrivateImages',
    'metadata:',
    '  name: bench',
    `appSlug: ${APP_SLUG}`,
    'images:',
    '  private:',
    ...PRIVATE_GLOBS.map((g) => `  - "${g}"`),
    '  public:',
    ...PUBLIC_GLOBS.map((g) => `  - "${g}"`),
    ...(detect ? ['imagesInValues:', `  detect: "${detect}"`] : []),
  ].join('\n');
}

/**
 * Returns { resourceList, multiDoc, kustomization, privateCount } for n workloads.
 * resourceList: the function's stdin. multiDoc: the same items as a plain
 * multi-document file for kustomize. kustomization: a kustomization.yaml with
 * one `images:` entry per distinct private image.
 */
export function generate(n, { imageCount = 150, seed = 7, detect } = {}) {
  const rnd = prng(seed);
  const images = privateImages(imageCount);
  const items = [];
  for (let i = 0; i < n; i++) items.push(workload(i, rnd, images));
  const resourceList =
    'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n# generated by bench/lib/workload.mjs\nitems:\n' +
    items.map((it) => '- ' + indent(it, 2).slice(2)).join('\n') +
    '\nfunctionConfig:\n' +
    indent(functionConfigYaml({ detect }), 2) +
    '\n';
  const multiDoc = items.join('\n---\n') + '\n';
  const kustomization = kustomizationYaml(images.map((im) => im.name), 'workloads.yaml');
  return { resourceList, multiDoc, kustomization, images };
}

export function proxiedName(name) {
  // Docker Hub short names are out of scope here: every private image has a host.
  return `${PROXY_HOST}/proxy/${APP_SLUG}/${name}`;
}

export function kustomizationYaml(names, resourceFile) {
  return [
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    'resources:',
    `- ${resourceFile}`,
    'images:',
    ...names.flatMap((nm) => [`- name: ${nm}`, `  newName: ${proxiedName(nm)}`]),
    '',
  ].join('\n');
}
