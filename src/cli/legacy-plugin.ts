/**
 * Plain multi-document YAML streams <-> ResourceList, for two callers that do not speak ResourceList:
 *
 * - kustomize's legacy exec plugin (`kubectl kustomize --enable-alpha-plugins` with the binary at
 *   `$KUSTOMIZE_PLUGIN_HOME/fn.proxy-private-images.dev/v1alpha1/proxyprivateimages/ProxyPrivateImages`):
 *   argv[1] is a temp file holding the config YAML, stdin is a multi-document stream of the resources,
 *   stdout must be a multi-document stream (added resources are kept).
 * - `proxy-private-images --stream` in CI and Argo CD pipes: `kustomize build . | proxy-private-images --stream ...`.
 *
 * Each document's node is moved as it is, so comments, key order and scalar styles survive both ways.
 * Pure: no process, env or file access here except `isLegacyPluginInvocation`'s existence check.
 */
import { existsSync, statSync } from 'node:fs';

/**
 * True when kustomize runs the binary as a legacy exec plugin: kustomize sets
 * `KUSTOMIZE_PLUGIN_CONFIG_ROOT` / `KUSTOMIZE_PLUGIN_CONFIG_STRING`, and the only argument is the temp file that
 * holds the plugin's config. `args` are the arguments after the script (process.argv.slice(2)).
 */
export function isLegacyPluginInvocation(args: readonly string[], env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.KUSTOMIZE_PLUGIN_CONFIG_ROOT === undefined && env.KUSTOMIZE_PLUGIN_CONFIG_STRING === undefined) return false;
  const first = args[0];
  if (first === undefined || first.startsWith('-')) return false;
  try {
    return existsSync(first) && statSync(first).isFile();
  } catch {
    return false;
  }
}
