#!/bin/sh
# CI render step for Flux (or any GitOps tool that applies plain manifests from git or an OCI artifact):
# kustomize build, then proxy-private-images over the stream, then two files:
#   OUT/resources.yaml     everything else (commit it)
#   OUT/pull-secrets.yaml  the image pull Secret(s); they hold the license id: encrypt before committing
#                          (sops --encrypt --in-place --encrypted-regex '^(data|stringData)$' OUT/pull-secrets.yaml)
#                          or keep them out of git and apply them separately. Empty when no Secret is needed.
# Usage: render.sh SOURCE_DIR OUT_DIR [CONFIG]     (CONFIG defaults to SOURCE_DIR/proxy-private-images.yaml)
# Needs kustomize, node and proxy-private-images on PATH, and LICENSE_ID in the environment.
#
# Safe to re-run, and safe when it fails: nothing is written until kustomize and the function have both
# succeeded; both files are then written to temporary files beside the targets and renamed over them, so a
# failure at any step (a full disk included) leaves the previous render as it was, and no temporary file behind.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 SOURCE_DIR OUT_DIR [CONFIG]" >&2; exit 2; }
src=$1
out=$2
config=${3:-$src/proxy-private-images.yaml}

# Each step stops the script on failure: an empty render must never be committed.
rendered=$(kustomize build "$src")
proxied=$(printf '%s\n' "$rendered" | proxy-private-images --stream --config "$config")

# Prints the documents of the function's output that are pull Secrets (want=secrets) or the others (want=resources).
split() {
  printf '%s\n' "$proxied" | awk -v want="$1" '
    function flush(   secret) {
      if (doc == "") return
      secret = doc ~ /(^|\n)kind: Secret\n/ && doc ~ /(^|\n)type: kubernetes\.io\/dockerconfigjson\n/
      if ((want == "secrets") == secret) printf "%s%s", (n++ ? "---\n" : ""), doc
      doc = ""
    }
    /^---$/ { flush(); next }
    { doc = doc $0 "\n" }
    END { flush() }
  '
}

mkdir -p "$out"
res_tmp=$out/.resources.yaml.tmp.$$
sec_tmp=$out/.pull-secrets.yaml.tmp.$$
trap 'rm -f "$res_tmp" "$sec_tmp"' EXIT
trap 'exit 1' HUP INT TERM
# set -C: never write through a name that exists already (a leftover, or someone else's link)
(set -C && split resources > "$res_tmp" && split secrets > "$sec_tmp")
mv -f "$res_tmp" "$out/resources.yaml"
mv -f "$sec_tmp" "$out/pull-secrets.yaml"
