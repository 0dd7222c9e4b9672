#!/usr/bin/env bash
# Creates deploy/secrets/perpmesh-token (the bearer token every gRPC server of the compose
# stack demands) when it is missing: 24 random bytes as hex. The folder is gitignored and
# only its owner may enter it; the file itself is world-readable because compose
# bind-mounts it into containers that run as uid 1000.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p deploy/secrets
chmod 700 deploy/secrets
if [ ! -s deploy/secrets/perpmesh-token ]; then
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >deploy/secrets/perpmesh-token
  chmod 644 deploy/secrets/perpmesh-token
fi
