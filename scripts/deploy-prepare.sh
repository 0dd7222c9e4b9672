#!/usr/bin/env bash
# Prepares a machine with no image registry (like the project's dev/CI machines) to build
# and run perpmesh's containers:
#   1. Debian's docker.io, docker-compose (1.29) and debootstrap;
#   2. dockerd started in the background when no engine answers;
#   3. local base images built from Debian packages, tagged so deploy/Dockerfile and
#      docker-compose.yml resolve them, and written to deploy/.local.env:
#        NODE_IMAGE  Debian bookworm minbase + this machine's Node.js 20 binary and npm
#        NATS_IMAGE  the base + Debian's nats-server (2.9.10) + wget (healthcheck)
#        REDIS_IMAGE the base + Debian's redis-server
# Machines that reach Docker Hub need none of this: `make up` uses the official images.
#
# Why the host's Node.js: Debian bookworm ships nodejs 18; this machine's Node.js 20 comes
# from a NodeSource package whose apt source is disabled here, so copying the installed
# binary (it links only libc, libstdc++ and libgcc_s, all in minbase) is the offline way.
#
# Every image is tagged by a hash of what it is built from (this script, the apt mirror,
# the Node.js version, the image's Dockerfile), and saved under $PERPMESH_IMAGE_CACHE:
# a later run (CI) loads the saved file instead of running debootstrap again.
# Idempotent. Env: PERPMESH_IMAGE_CACHE (default ~/.cache/perpmesh-images),
# PERPMESH_DOCKERD_LOG (default /tmp/perpmesh-dockerd.log).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

CACHE_DIR=${PERPMESH_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/perpmesh-images}
DOCKERD_LOG=${PERPMESH_DOCKERD_LOG:-/tmp/perpmesh-dockerd.log}
ENV_FILE=deploy/.local.env

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
log() { echo "deploy-prepare: $*"; }

# 1. Packages.
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. The engine.
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: $DOCKERD_LOG)"
  as_root bash -c "setsid nohup dockerd >'$DOCKERD_LOG' 2>&1 </dev/null & echo \$! >/tmp/perpmesh-dockerd.pid"
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { log "dockerd did not answer within 30 s; see $DOCKERD_LOG"; exit 1; }
fi

# 3. Base images. The legacy builder when the CLI has no buildx plugin (Debian's docker.io).
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
node_version=$("$node_bin" --version)
case "$node_version" in v20.*) ;; *) log "need Node.js 20 on this machine, found $node_version"; exit 1 ;; esac
mkdir -p "$CACHE_DIR"

# load_or_build <repo> <hash> <build command...>: the image <repo>:<hash>, from the cache file
# when there is one, else built and saved.
load_or_build() {
  local repo=$1 hash=$2; shift 2
  local tag="$repo:$hash" file="$CACHE_DIR/${repo//\//_}-$hash.tar"
  if docker image inspect "$tag" >/dev/null 2>&1; then return; fi
  if [ -f "$file" ]; then log "loading $tag from $file"; docker load -q -i "$file" >/dev/null; return; fi
  log "building $tag"
  "$@" "$tag"
  docker save -o "$file.tmp" "$tag" && mv "$file.tmp" "$file"
}

build_node_base() {
  local tag=$1 root
  root=$(mktemp -d /tmp/perpmesh-rootfs.XXXXXX)
  as_root debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" >/dev/null
  as_root cp "$node_bin" "$root/usr/local/bin/node"
  # This machine's CA bundle (and the extra CAs it was built from): builds reach the npm
  # registry through whatever TLS interception this machine's network does.
  as_root cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
    as_root cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  fi
  as_root mkdir -p "$root/usr/local/lib/node_modules"
  as_root cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  as_root ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  as_root ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # The official node image's user: uid/gid 1000, named node.
  as_root chroot "$root" sh -c 'groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node'
  as_root sh -c "rm -rf '$root'/var/cache/apt/archives/*.deb '$root'/var/lib/apt/lists/* '$root'/usr/share/doc '$root'/usr/share/man '$root'/usr/share/locale"
  as_root tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' - "$tag" >/dev/null
  as_root rm -rf "$root"
}

build_from_dockerfile() {
  local dockerfile=$1 base=$2 tag=$3
  docker build -q --network host --build-arg "BASE_IMAGE=$base" -f "$dockerfile" -t "$tag" deploy/images >/dev/null
}

self_hash=$(sha256sum "$0" | cut -c1-12)
node_hash=$(printf '%s\n' "$self_hash" "$mirror" "$node_version" "$(npm --version)" \
  "$(sha256sum /etc/ssl/certs/ca-certificates.crt)" | sha256sum | cut -c1-12)
load_or_build perpmesh-local/node "$node_hash" build_node_base
NODE_IMAGE=perpmesh-local/node:$node_hash

for svc in nats redis; do
  h=$(cat <(echo "$node_hash") "deploy/images/$svc.Dockerfile" | sha256sum | cut -c1-12)
  load_or_build "perpmesh-local/$svc" "$h" build_from_dockerfile "deploy/images/$svc.Dockerfile" "$NODE_IMAGE"
  declare "${svc^^}_IMAGE=perpmesh-local/$svc:$h"
done

# 4. The gRPC token the stack's services share (a compose secret; never committed).
bash scripts/deploy-secrets.sh

cat >"$ENV_FILE" <<ENV
# Written by scripts/deploy-prepare.sh: local images for a machine with no registry.
NODE_IMAGE=$NODE_IMAGE
NATS_IMAGE=$NATS_IMAGE
REDIS_IMAGE=$REDIS_IMAGE
NATS_CONFIG=./deploy/nats/nats-2.9.conf
ENV
log "ready: $(grep -v "^#" "$ENV_FILE" | tr "\n" " ")"
