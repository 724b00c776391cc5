/** The typed configuration every later stage reads; built by `load.ts`. */
import type { OnError } from '../decide/decide.js';
import type { FieldSpec } from '../find/images.js';
import type { ProbeSettings } from '../probe/types.js';

export const CONFIG_API_VERSION = 'fn.proxy-private-images.dev/v1alpha1';
export const CONFIG_KIND = 'ProxyPrivateImages';

export interface Config {
  readonly appSlug: string;
  readonly proxyHost: string;
  readonly dockerHubHost: string;
  readonly proxyPublicImages: boolean;
  readonly licenseId?: string;
  readonly licenseFromEnv: string;
  readonly vendorRegistries: readonly string[];
  /** The Replicated registry's custom domain (`registry.host`); `registry.replicated.com` when not set. */
  readonly registryHost: string;
  readonly pullSecretName: string;
  /** `pullSecret.emit: false`: no Secret is written, it comes from elsewhere. */
  readonly pullSecretEmit: boolean;
  readonly pullSecretNamespaces: readonly string[];
  readonly privateGlobs: readonly string[];
  readonly publicGlobs: readonly string[];
  readonly probe: ProbeSettings;
  readonly onError: OnError;
  readonly fieldSpecs: readonly FieldSpec[];
  readonly imagesInValues: ImagesInValues;
  readonly output: 'resources' | 'kustomization';
}

/** Image references in values operators read (env, command/args, ConfigMap data). */
export interface ImagesInValues {
  readonly env: readonly string[];
  readonly args: readonly string[];
  readonly configMaps: readonly { readonly name: string; readonly key: string }[];
  readonly detect: 'warn' | 'off';
}

export const REPLICATED_REGISTRY = 'registry.replicated.com';

export const DEFAULTS = {
  proxyHost: 'proxy.replicated.com',
  dockerHubHost: 'docker.io',
  vendorRegistries: ['registry.replicated.com'],
  licenseFromEnv: 'LICENSE_ID',
} as const;
