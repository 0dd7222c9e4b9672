#!/usr/bin/env bash
# Start-up time of `make run` (issue #16), measured the way a user meets it:
#   1. fresh: a clone of HEAD in a temp dir, `make run`: npm install, build, start, until the
#      ready line and then until the first strategy decision is visible through the gateway
#      API the dashboard polls (GET /api/decisions);
#   2. `make build` in the clone (the full tsc -b a fresh start leaves to the background);
#   3. unchanged: `make run` again in the built tree (the compiled output), RUNS times;
#   4. sources: the same tree with PERPMESH_START=source (tsx), for comparison.
# BASE=<rev>: also a built clone of <rev>, whose unchanged start alternates with HEAD's in
# step 3 (the before/after of a change, in the same run).
# Prints wall time per phase, the CPU seconds the whole `make run` process tree spent (waited
# for children included) and the load average, so a number from this shared machine can be
# read against its load. Every port is 0 (free ones; the HTTP port is read from the ready
# line), so it runs beside other systems. RUNS=n repeats the unchanged start (default 3).
#   bash scripts/measure-startup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
dir=$(mktemp -d /tmp/perpmesh-startup-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM -- -"$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# Every listener on a free port, the session data inside the clone: nothing shared with
# another running system.
export PERPMESH_CONFIG=
export PERPMESH__GATEWAY__HTTP__PORT=0 PERPMESH__GATEWAY__HTTP__HOST=127.0.0.1
for s in EXECUTION ACCOUNT MARKET_DATA STRATEGY; do
  export "PERPMESH__${s}__GRPC_PORT=0" "PERPMESH__${s}__GRPC_HOST=127.0.0.1"
done

tick=$(getconf CLK_TCK)
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# CPU seconds of every process in session $1 (user + system, plus their reaped children),
# but the background build and bundling (tsc, esbuild at nice 19), which the start does not
# wait for.
cpu_of_session() {
  local total=0 p fields
  for p in $(ps -o pid= -s "$1" 2>/dev/null); do
    grep -qE "typescript/bin/tsc|scripts/bundle.mjs|esbuild" "/proc/$p/cmdline" 2>/dev/null && continue
    fields=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || continue
    total=$((total + ${fields:-0}))
  done
  awk -v t="$total" -v k="$tick" 'BEGIN { printf "%.1f", t / k }'
}

# Starts `make run` in the clone ($2, default the clone of HEAD); prints "<phase> <s>" lines
# until the first decision.
measure() {
  local label=$1 tree=${2:-$dir/perpmesh}
  local out=$dir/$label.err started port install_at='' ready_at cpu_ready
  started=$(now)
  # Its own session (setsid execs make in place): the session id is $pid.
  setsid make -C "$tree" --no-print-directory run >"$dir/$label.out" 2>"$out" </dev/null &
  pid=$!
  local sid=$pid
  local deadline=$((SECONDS + 600))
  until grep -q "perpmesh is ready in" "$out" 2>/dev/null; do
    if [ "$label" = fresh ] && [ -z "$install_at" ] && [ -f "$tree/node_modules/.package-lock.json" ]; then
      install_at=$(since "$started")
    fi
    if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "measure-startup: $label: make run did not reach ready:"
      tail -n 30 "$out" "$dir/$label.out"
      exit 1
    fi
    sleep 0.1
  done
  ready_at=$(since "$started")
  cpu_ready=$(cpu_of_session "$sid")
  # What make has reaped by now is npm install (the start is still running).
  local cpu_install
  cpu_install=$(awk -v k="$tick" '{ sub(/^.*\) /, ""); printf "%.1f", ($14 + $15) / k }' "/proc/$pid/stat")
  port=$(sed -n 's/.*health http:\/\/localhost:\([0-9]*\)\/readyz.*/\1/p' "$out" | head -1)
  until curl -sf "http://127.0.0.1:$port/api/decisions?limit=1" | jq -e '.decisions | length > 0' >/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "measure-startup: $label: no decision on /api/decisions"
      exit 1
    fi
    sleep 0.1
  done
  local decided_at
  decided_at=$(since "$started")
  printf '%-10s %s ready %6s s  first decision %6s s  CPU to ready %6s s  load %s\n' \
    "$label" "${install_at:+npm install done ${install_at} s (CPU ${cpu_install} s), }" "$ready_at" \
    "$decided_at" "$cpu_ready" "$(cut -d' ' -f1-3 /proc/loadavg)"
  grep -o "perpmesh: [a-z].*" "$out" | grep -v "^perpmesh: *$" | sed "s/^/           /" || true
  kill -TERM -- -"$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
}

git clone -q . "$dir/perpmesh"
echo "measure-startup: clone of $(git rev-parse --short HEAD) in $dir/perpmesh; $(nproc) cores"
measure fresh
build_started=$(now)
build_cpu=$( (cd "$dir/perpmesh" && /usr/bin/time -f "%U %S" node scripts/build.mjs >/dev/null) 2>&1 | tail -1 |
  awk '{ printf "%.1f", $1 + $2 }')
printf '%-10s %6s s wall, CPU %s s  load %s\n' "make build" "$(since "$build_started")" "$build_cpu" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${BASE:-}" ]; then
  git clone -q . "$dir/base"
  git -C "$dir/base" checkout -q "$BASE"
  base_started=$(now)
  make -C "$dir/base" --no-print-directory build >/dev/null
  printf '%-10s %6s s wall (npm install and make build of %s)\n' "base" "$(since "$base_started")" \
    "$(git -C "$dir/base" rev-parse --short HEAD)"
fi
for i in $(seq 1 "$runs"); do
  [ -n "${BASE:-}" ] && measure "base$i" "$dir/base"
  measure "unchanged$i"
done
PERPMESH_START=source measure sources
