/**
 * kustomize's legacy exec plugin protocol (`kubectl kustomize --enable-alpha-plugins` with the binary at
 * `$KUSTOMIZE_PLUGIN_HOME/fn.proxy-private-images.dev/v1alpha1/proxyprivateimages/ProxyPrivateImages`): argv[1] is
 * a temp file holding the config YAML, stdin is a multi-document stream of the resources, and stdout must be a
 * multi-document stream (added resources are kept). The pipeline reads and writes streams itself; this only
 * recognises the invocation.
 */

/**
 * The plugin's config text when kustomize runs the binary as a legacy exec plugin, else undefined. kustomize sets
 * `KUSTOMIZE_PLUGIN_CONFIG_ROOT` / `KUSTOMIZE_PLUGIN_CONFIG_STRING`, and the only argument is the temp file that
 * holds the plugin's config. `args` are the arguments after the script; `readFile` throws when there is no such file.
 */
export function legacyPluginConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string,
): string | undefined {
  if (env.KUSTOMIZE_PLUGIN_CONFIG_ROOT === undefined && env.KUSTOMIZE_PLUGIN_CONFIG_STRING === undefined) return undefined;
  const first = args[0];
  if (first === undefined || first.startsWith('-')) return undefined;
  try {
    return readFile(first);
  } catch {
    // not a readable file (missing, a directory): an ordinary command line such as `check IMAGE`
    return undefined;
  }
}
