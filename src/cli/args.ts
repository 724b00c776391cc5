/** Command-line flags -> config overrides. Flags win over the functionConfig's fields. */
import { parseArgs } from 'node:util';
import { FnError } from '../errors.js';

export const USAGE = `proxy-private-images: route private container images through a license-authenticated registry proxy.

A KRM function: reads a ResourceList (config.kubernetes.io/v1) on stdin, writes it to stdout with
private images rewritten to <proxy host>/proxy/<app slug>/<registry>/<repository>, a
kubernetes.io/dockerconfigjson pull Secret added, and imagePullSecrets wired into the workloads
that need it. Configure it with a ProxyPrivateImages functionConfig, a ConfigMap
(kpt fn eval -- appSlug=my-app ...), or the flags below.

Usage:
  proxy-private-images [flags] < resource-list.yaml > out.yaml
  proxy-private-images --stream [flags] < manifests.yaml > out.yaml    plain multi-document YAML in and out
  proxy-private-images check [flags] IMAGE...                         show how each image is decided, and why
  kubectl kustomize --enable-alpha-plugins (legacy exec plugin: config file as the only argument)

Flags (each sets the functionConfig field named in brackets):
  --app-slug SLUG            application slug used in proxy paths [appSlug] (required)
  --proxy-host HOST          proxy host, custom domain allowed [proxy.host] (default proxy.replicated.com)
  --docker-hub-host HOST     host written into proxy paths for Docker Hub images [proxy.dockerHubHost] (default docker.io)
  --proxy-public-images      route public images through <proxy host>/anonymous/... [proxyPublicImages]
  --license-from-env NAME    environment variable holding the license id [license.fromEnv] (default LICENSE_ID)
  --vendor-registry HOST     registry never rewritten but needing the Secret, repeatable [vendorRegistries]
  --pull-secret-name NAME    the Secret's name [pullSecret.name] (default <app slug>-registry)
  --namespace NS             extra namespace that gets the Secret, repeatable; "*" = every namespace seen [pullSecret.namespaces]
  --private GLOB             images decided private without a probe, repeatable [images.private]
  --public GLOB              images decided public without a probe, repeatable [images.public]
  --image-env GLOB           container env var names whose value is an image, repeatable [imagesInValues.env]
  --image-arg=GLOB           flags in command/args whose value is an image (--flag=IMAGE, --flag IMAGE), repeatable;
                             written with '=' since the glob starts with a dash: --image-arg='--*-image' [imagesInValues.args]
  --insecure-registry HOST   registry (host:port) probed over plain http, repeatable [probe.insecureRegistries]
  --ca-file FILE             extra CA bundle (PEM) for probing [probe.caFile]
  --cache-file FILE          persistent decision cache [probe.cacheFile]
  --timeout SECONDS          per probe request [probe.timeoutSeconds] (default 10)
  --deadline SECONDS         whole probing phase [probe.deadlineSeconds] (default 30)
  --on-error fail|private|public   what an inconclusive probe means [probe.onError] (default fail)
  --output resources|kustomization [output] (default resources)
  --config FILE              functionConfig file used when the ResourceList carries none
  --stream                   read and write a plain multi-document YAML stream instead of a ResourceList
  -h, --help                 this text
  --version                  the version

The license id is never printed; it is written only into the Secret's data.
Exit status: 0 on success (warnings allowed), 1 when a result has severity error or the input is invalid.
`;

export interface CliOptions {
  readonly command: 'run' | 'check' | 'help' | 'version';
  readonly stream: boolean;
  readonly configFile?: string;
  readonly overrides: Record<string, unknown>;
  readonly images: string[];
}

export function parseCli(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'app-slug': { type: 'string' },
        'proxy-host': { type: 'string' },
        'docker-hub-host': { type: 'string' },
        'proxy-public-images': { type: 'boolean' },
        'license-from-env': { type: 'string' },
        'vendor-registry': { type: 'string', multiple: true },
        'pull-secret-name': { type: 'string' },
        namespace: { type: 'string', multiple: true },
        private: { type: 'string', multiple: true },
        public: { type: 'string', multiple: true },
        'image-env': { type: 'string', multiple: true },
        'image-arg': { type: 'string', multiple: true },
        'insecure-registry': { type: 'string', multiple: true },
        'ca-file': { type: 'string' },
        'cache-file': { type: 'string' },
        timeout: { type: 'string' },
        deadline: { type: 'string' },
        'on-error': { type: 'string' },
        output: { type: 'string' },
        config: { type: 'string' },
        stream: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (e) {
    throw new FnError('USAGE', `${(e as Error).message} (see --help)`);
  }
  const v = parsed.values;
  const positionals = parsed.positionals;
  let command: CliOptions['command'] = 'run';
  if (v.help) command = 'help';
  else if (v.version) command = 'version';
  else if (positionals[0] === 'check') command = 'check';
  else if (positionals.length > 0) throw new FnError('USAGE', `unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);

  const o: Record<string, unknown> = {};
  const put = (path: string, value: unknown): void => {
    if (value === undefined) return;
    const segs = path.split('.');
    let node = o;
    for (const s of segs.slice(0, -1)) node = (node[s] ??= {}) as Record<string, unknown>;
    node[segs[segs.length - 1]!] = value;
  };
  put('appSlug', v['app-slug']);
  put('proxy.host', v['proxy-host']);
  put('proxy.dockerHubHost', v['docker-hub-host']);
  put('proxyPublicImages', v['proxy-public-images']);
  put('license.fromEnv', v['license-from-env']);
  put('vendorRegistries', v['vendor-registry']);
  put('pullSecret.name', v['pull-secret-name']);
  put('pullSecret.namespaces', v.namespace);
  put('images.private', v.private);
  put('images.public', v.public);
  put('imagesInValues.env', v['image-env']);
  put('imagesInValues.args', v['image-arg']);
  put('probe.insecureRegistries', v['insecure-registry']);
  put('probe.caFile', v['ca-file']);
  put('probe.cacheFile', v['cache-file']);
  put('probe.timeoutSeconds', seconds('--timeout', v.timeout));
  put('probe.deadlineSeconds', seconds('--deadline', v.deadline));
  put('probe.onError', v['on-error']);
  put('output', v.output);
  return {
    command,
    stream: v.stream ?? false,
    ...(v.config !== undefined && { configFile: v.config }),
    overrides: o,
    images: command === 'check' ? positionals.slice(1) : [],
  };
}

function seconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new FnError('USAGE', `${flag} takes a number of seconds, got ${JSON.stringify(value)}`);
  return n;
}
