#!/bin/sh
# The kpt variant of render.sh: kustomize build, then `kpt fn eval - --exec proxy-private-images`, then
# `kpt fn sink`, which writes one file per resource into OUT_DIR (the Secret in <namespace>/secret_<name>.yaml;
# it holds the license id: encrypt it before committing, see README.md).
# Usage: render-kpt.sh SOURCE_DIR OUT_DIR [CONFIG]     (CONFIG defaults to SOURCE_DIR/proxy-private-images.yaml)
# Needs kustomize, kpt, node and proxy-private-images on PATH, and LICENSE_ID in the environment.
#
# The plain pipe `kustomize build | kpt fn eval - ... | kpt fn sink OUT` exits 0 with an empty OUT when the
# function fails (the pipe's status is kpt fn sink's), and fails on every later run because kpt fn sink
# refuses a folder that exists. Here each step must succeed before the next one runs; kpt fn sink writes a new
# folder beside OUT, which then replaces OUT by renaming: a failure leaves the previous render as it was.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 SOURCE_DIR OUT_DIR [CONFIG]" >&2; exit 2; }
src=$1
out=${2%/}
config=${3:-$src/proxy-private-images.yaml}

rendered=$(kustomize build "$src")
proxied=$(printf '%s\n' "$rendered" | kpt fn eval - --exec proxy-private-images --fn-config "$config")

mkdir -p "$(dirname "$out")"
next=$out.next.$$
old=$out.old.$$
trap 'rm -rf "$next"' EXIT
trap 'exit 1' HUP INT TERM
printf '%s\n' "$proxied" | kpt fn sink "$next"
# Two renames; were the script killed between them, OUT would be missing and the previous render in $old.
if [ -e "$out" ]; then mv "$out" "$old"; fi
mv "$next" "$out"
rm -rf "$old"
