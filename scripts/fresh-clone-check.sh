#!/usr/bin/env bash
# From an empty checkout of HEAD, `make run` must reach ready (npm install, build, start)
# and stop cleanly on SIGTERM. CI runs this after the suite; it needs the default ports free.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/perpmesh-fresh-XXXXXX)
trap 'kill -TERM -- -"$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
git clone -q . "$dir/perpmesh"
cd "$dir/perpmesh"
echo "fresh-clone: make run in $dir/perpmesh"
setsid make run >"$dir/out.log" 2>"$dir/err.log" </dev/null &
pid=$!
deadline=$((SECONDS + 600))
until grep -q "perpmesh is ready in" "$dir/err.log" 2>/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
    echo "fresh-clone: make run did not reach ready; last output:"
    tail -n 40 "$dir/err.log" "$dir/out.log"
    exit 1
  fi
  sleep 1
done
grep "perpmesh is ready in" "$dir/err.log"
status=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/readyz || true)
if [ "$status" != 200 ]; then
  echo "fresh-clone: /readyz answered $status"
  exit 1
fi
kill -TERM -- -"$pid"
for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
if kill -0 "$pid" 2>/dev/null; then
  echo "fresh-clone: still running 30 s after SIGTERM"
  exit 1
fi
echo "fresh-clone: make run reached ready and stopped cleanly"
