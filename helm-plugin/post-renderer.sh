#!/bin/sh
# Launcher of the proxy-private-images Helm 4 post-renderer plugin (docs/helm.md).
# Helm writes the rendered manifests (hooks included) to stdin and appends the --post-renderer-args values to
# the arguments; the result goes to stdout. It runs the function of the checkout this folder belongs to
# (../dist/proxy-private-images.js, built by `npm run build`), else `proxy-private-images` from PATH.
set -u

# `helm plugin install DIR` links the plugin folder; -P resolves the link to the checkout.
here=$(CDPATH='' cd -P -- "$(dirname -- "$0")" && pwd -P) || exit 1
bundle="$here/../dist/proxy-private-images.js"

# Helm 4 keeps a post-renderer plugin's stderr to itself and reports only `plugin "..." exited with error`
# (also with --debug). Where Linux shows Helm's own stderr, the function's messages go there instead, when that
# is a terminal or a pipe: in a regular file (`2> log`) Helm would write over them from its own offset, and a
# socket cannot be opened by path at all.
helm_stderr="/proc/$PPID/fd/2"
if [ -w "$helm_stderr" ] && [ ! -f "$helm_stderr" ] && (: 2>>"$helm_stderr") 2>/dev/null; then
  exec 2>>"$helm_stderr"
fi

# --stream: Helm sends a plain manifest stream, and an empty one (a chart that renders nothing) is answered with
# a comment line, since Helm 4 refuses a post-renderer's empty output.
if [ -f "$bundle" ]; then
  exec node "$bundle" --stream "$@"
fi
if command -v proxy-private-images >/dev/null 2>&1; then
  exec proxy-private-images --stream "$@"
fi
echo "proxy-private-images Helm plugin: the function is neither at $bundle (run \`npm ci && npm run build\` in that checkout) nor on PATH" >&2
exit 1
