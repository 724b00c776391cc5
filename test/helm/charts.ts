/**
 * Charts the Helm tests write: the shapes vendors ship. Every image is decided by the config's globs
 * (quay.io/acme/** private, docker.io/library/** public), so no test needs a network.
 */
import { join } from 'node:path';
import { tempDir, writeFiles } from './support.js';

export const CONFIG = `apiVersion: fn.proxy-private-images.dev/v1alpha1
kind: ProxyPrivateImages
metadata:
  name: proxy-private-images
appSlug: acme
images:
  private: ["quay.io/acme/**"]
  public: ["docker.io/library/**"]
`;

/** The pull Secret names for appSlug acme. */
export const SECRET = 'acme-registry';
export const HOOK_SECRET = 'acme-registry-hooks';
export const PROXY = 'proxy.replicated.com/proxy/acme/';

/** Writes the config file and returns its path. */
export function writeConfig(dir: string = tempDir(), text: string = CONFIG): string {
  const path = join(dir, 'proxy-private-images.yaml');
  writeFiles(dir, { 'proxy-private-images.yaml': text });
  return path;
}

const NS = `{{- if .Values.global.namespaced }}
  namespace: {{ .Release.Namespace }}
  {{- end }}`;

interface Workload {
  /** metadata.name, a template expression allowed */
  readonly name: string;
  /** the `app` label (Deployments) */
  readonly app?: string;
  /** `name: image` of each container */
  readonly containers: Readonly<Record<string, string>>;
  /** lines under metadata after name (namespace, annotations), indented by 2 */
  readonly meta?: string;
  /** lines at the start of the pod spec (imagePullSecrets from values), indented by 6 */
  readonly pod?: string;
}

const containersYaml = (containers: Workload['containers']): string =>
  Object.entries(containers).map(([name, image]) => `        - name: ${name}\n          image: ${image}\n`).join('');

/** A Deployment template. */
function deployment(w: Workload): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${w.name}
${w.meta ?? ''}spec:
  selector:
    matchLabels: {app: ${w.app}}
  template:
    metadata:
      labels: {app: ${w.app}}
    spec:
${w.pod ?? ''}      containers:
${containersYaml(w.containers)}`;
}

/** A hook Job template (`helm.sh/hook` and other annotations in `meta`). */
function job(w: Workload): string {
  return `apiVersion: batch/v1
kind: Job
metadata:
  name: ${w.name}
${w.meta ?? ''}spec:
  template:
    spec:
      restartPolicy: Never
${w.pod ?? ''}      containers:
${containersYaml(w.containers)}`;
}

const PULL_SECRETS_FROM_VALUES = `      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
`;

/**
 * `shop`: a library chart (`common`) that defines the api Deployment, a subchart (`worker`), a pre-install and
 * pre-upgrade hook Job and a test Pod with private images, a post-install Job with a public image, a CRD in
 * crds/, a Service and a ConfigMap. With `--set global.namespaced=true` every object templates
 * `namespace: {{ .Release.Namespace }}`.
 */
export function writeShopChart(root: string = tempDir()): string {
  const chart = join(root, 'shop');
  writeFiles(chart, {
    'Chart.yaml': `apiVersion: v2
name: shop
version: 1.2.3
dependencies:
  - name: common
    version: 0.1.0
  - name: worker
    version: 0.1.0
`,
    'values.yaml': `global:
  namespaced: false
api:
  image: quay.io/acme/api:1.4.2
`,
    'charts/common/Chart.yaml': 'apiVersion: v2\nname: common\nversion: 0.1.0\ntype: library\n',
    'charts/common/templates/_deployment.tpl': `{{- define "common.deployment" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  {{- if .root.Values.global.namespaced }}
  namespace: {{ .root.Release.Namespace }}
  {{- end }}
spec:
  selector:
    matchLabels: {app: {{ .name }}}
  template:
    metadata:
      labels: {app: {{ .name }}}
    spec:
      containers:
        - name: {{ .name }}
          image: {{ .image | quote }}
{{- end -}}
`,
    'charts/worker/Chart.yaml': 'apiVersion: v2\nname: worker\nversion: 0.1.0\n',
    'charts/worker/values.yaml': 'image: quay.io/acme/worker:3.1\n',
    'charts/worker/templates/deployment.yaml': deployment({ name: '{{ .Release.Name }}-worker', app: 'worker', meta: `  ${NS}\n`, containers: { worker: '{{ .Values.image }}' } }),
    'crds/widgets.yaml': `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.shop.acme.io
spec:
  group: shop.acme.io
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object}}
`,
    'templates/api.yaml': '{{ include "common.deployment" (dict "root" . "name" (printf "%s-api" .Release.Name) "image" .Values.api.image) }}\n',
    'templates/web.yaml': `# the storefront: a private image beside a public one
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  ${NS}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      initContainers:
        - name: assets
          image: "quay.io/acme/web-assets:2.0"
      containers:
        - name: web
          image: quay.io/acme/web:2.0
        - name: nginx
          image: docker.io/library/nginx:1.27
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-web
  ${NS}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`,
    'templates/configmap.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
  ${NS}
data:
  greeting: hello
`,
    'templates/migrate-job.yaml': job({
      name: '{{ .Release.Name }}-migrate',
      meta: `  ${NS}\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: "-5"\n    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded\n`,
      containers: { migrate: 'quay.io/acme/migrate:1.4.2' },
    }),
    'templates/notify-job.yaml': job({
      name: '{{ .Release.Name }}-notify',
      meta: `  ${NS}\n  annotations:\n    helm.sh/hook: post-install\n`,
      containers: { notify: 'docker.io/library/busybox:1.36' },
    }),
    'templates/tests/smoke.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-smoke
  ${NS}
  annotations:
    helm.sh/hook: test
spec:
  restartPolicy: Never
  containers:
    - name: smoke
      image: quay.io/acme/smoke:1.0
`,
  });
  return chart;
}

/** The dockerconfigjson a vendor SDK's values would hold: `{"auths":{}}`. */
export const SDK_DOCKERCONFIG = Buffer.from('{"auths":{}}').toString('base64');

/**
 * `sdk`: the pattern of vendor SDKs that inject a pull Secret: the chart ships its own dockerconfigjson Secret
 * named like the function's, and its pod specs (a hook's too) list `imagePullSecrets` from values.
 */
export function writeSdkChart(root: string = tempDir()): string {
  const chart = join(root, 'sdk');
  writeFiles(chart, {
    'Chart.yaml': 'apiVersion: v2\nname: sdk\nversion: 0.3.0\n',
    'values.yaml': `imagePullSecrets:
  - name: ${SECRET}
dockerconfigjson: ${SDK_DOCKERCONFIG}
`,
    'templates/secret.yaml': `apiVersion: v1
kind: Secret
metadata:
  name: ${SECRET}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: {{ .Values.dockerconfigjson }}
`,
    'templates/app.yaml': deployment({ name: '{{ .Release.Name }}-app', app: 'app', pod: PULL_SECRETS_FROM_VALUES, containers: { app: 'quay.io/acme/app:5.0' } }),
    'templates/hook.yaml': job({
      name: '{{ .Release.Name }}-setup',
      meta: '  annotations:\n    helm.sh/hook: pre-install\n',
      pod: PULL_SECRETS_FROM_VALUES,
      containers: { setup: 'quay.io/acme/setup:5.0' },
    }),
  });
  return chart;
}

/** `plain`: a Deployment with a public image and a ConfigMap: nothing to rewrite, no Secret. */
export function writePlainChart(root: string = tempDir()): string {
  const chart = join(root, 'plain');
  writeFiles(chart, {
    'Chart.yaml': 'apiVersion: v2\nname: plain\nversion: 1.0.0\n',
    'templates/all.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  mode: public
---
${deployment({ name: '{{ .Release.Name }}-nginx', app: 'nginx', containers: { nginx: 'docker.io/library/nginx:1.27' } })}`,
  });
  return chart;
}

/** `empty`: no templates at all. */
export function writeEmptyChart(root: string = tempDir()): string {
  const chart = join(root, 'empty');
  writeFiles(chart, { 'Chart.yaml': 'apiVersion: v2\nname: empty\nversion: 1.0.0\n' });
  return chart;
}

/** `jobs`: nothing but a pre-install hook Job with a private image. */
export function writeHooksOnlyChart(root: string = tempDir()): string {
  const chart = join(root, 'jobs');
  writeFiles(chart, {
    'Chart.yaml': 'apiVersion: v2\nname: jobs\nversion: 1.0.0\n',
    'templates/job.yaml': job({ name: '{{ .Release.Name }}-seed', meta: '  annotations:\n    helm.sh/hook: pre-install\n', containers: { seed: 'quay.io/acme/seed:1.0' } }),
  });
  return chart;
}

/** Every chart above, in one folder (`shop`, `sdk`, `plain`, `empty`, `jobs`). */
export function writeTestCharts(root: string = tempDir()): string {
  for (const write of [writeShopChart, writeSdkChart, writePlainChart, writeEmptyChart, writeHooksOnlyChart]) write(root);
  return root;
}
