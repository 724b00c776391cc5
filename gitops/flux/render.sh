#!/bin/sh
# CI render step for Flux (or any GitOps tool that applies plain manifests from git or an OCI artifact):
# kustomize build, then proxy-private-images over the stream, then two files:
#   OUT/resources.yaml     everything else (commit it)
#   OUT/pull-secrets.yaml  the image pull Secret(s); they hold the license id: encrypt before committing
#                          (sops --encrypt --in-place --encrypted-regex '^(data|stringData)$' OUT/pull-secrets.yaml)
#                          or keep them out of git and apply them separately.
# Usage: render.sh SOURCE_DIR OUT_DIR [CONFIG]     (CONFIG defaults to SOURCE_DIR/proxy-private-images.yaml)
# Needs kustomize, node and proxy-private-images on PATH, and LICENSE_ID in the environment.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 SOURCE_DIR OUT_DIR [CONFIG]" >&2; exit 2; }
src=$1
out=$2
config=${3:-$src/proxy-private-images.yaml}

# Each step stops the script on failure: an empty render must never be committed.
rendered=$(kustomize build "$src")
proxied=$(printf '%s\n' "$rendered" | proxy-private-images --stream --config "$config")

mkdir -p "$out"
printf '%s\n' "$proxied" | awk -v res="$out/resources.yaml" -v sec="$out/pull-secrets.yaml" '
  function flush(   f) {
    if (doc == "") return
    f = (doc ~ /(^|\n)kind: Secret\n/ && doc ~ /(^|\n)type: kubernetes\.io\/dockerconfigjson\n/) ? sec : res
    printf "%s%s", (n[f]++ ? "---\n" : ""), doc > f
    doc = ""
  }
  BEGIN { printf "" > res; printf "" > sec }
  /^---$/ { flush(); next }
  { doc = doc $0 "\n" }
  END { flush() }
'
