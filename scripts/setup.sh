#!/usr/bin/env bash
# Installs what perpmesh needs on a Debian/Ubuntu machine and starts local NATS
# (JetStream) and Redis on 127.0.0.1 when they do not already answer.
# Idempotent: safe to run before every test run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

NATS_PORT=${NATS_PORT:-4222}
REDIS_PORT=${REDIS_PORT:-6379}
SERVICES_DIR=${PERPMESH_SERVICES_DIR:-/tmp/perpmesh-dev-servers}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# 1. npm dependencies at the versions package-lock.json pins. `npm install`, not `npm ci`:
# the lock cannot list other platforms' optional binaries (biome, buf) when the registry
# this machine reaches serves only its own platform's, and `npm ci` refuses such a lock.
if [ ! -d node_modules/.bin ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm install --no-audit --no-fund --loglevel=error
fi

# 2. Debian packages we need: servers for integration tests, chromium for browser tests.
missing=()
command -v nats-server >/dev/null || missing+=(nats-server)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v curl >/dev/null || missing+=(curl)
# promtool (checks every service's /metrics in tests/deploy) ships in Debian's prometheus
# package; its server is not needed (a systemd machine starts it on :9090: stop it if unwanted).
command -v promtool >/dev/null || missing+=(prometheus)
# Debian's Chromium, driven by playwright-core in the dashboard's browser test.
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# 3. Start the servers when nothing answers on their ports.
mkdir -p "$SERVICES_DIR/nats" "$SERVICES_DIR/redis"
if ! port_open "$NATS_PORT"; then
  echo "setup: starting nats-server (JetStream) on 127.0.0.1:$NATS_PORT"
  setsid nohup nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$SERVICES_DIR/nats" \
    >"$SERVICES_DIR/nats.log" 2>&1 </dev/null &
fi
if ! port_open "$REDIS_PORT"; then
  echo "setup: starting redis-server on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
    --dir "$SERVICES_DIR/redis" --appendonly yes --save "" \
    --logfile "$SERVICES_DIR/redis.log"
fi

# 4. Wait until both really answer (JetStream enabled, Redis PONG).
node scripts/wait-for-servers.mjs "nats://127.0.0.1:$NATS_PORT" "redis://127.0.0.1:$REDIS_PORT"

# 5. Opt-in: a Docker engine and local base images for the container tests (tier `deploy`),
# on machines with no registry. PERPMESH_DOCKER=1 make setup
if [ "${PERPMESH_DOCKER:-}" = 1 ]; then bash scripts/deploy-prepare.sh; fi
