#!/usr/bin/env bash
# Lints proto/ and regenerates libs/contracts/src/gen from it (buf + local ts-proto plugin,
# no network). The generated code is committed.
#   scripts/proto.sh          lint, then regenerate into libs/contracts/src/gen
#   scripts/proto.sh --check  lint, regenerate into a temp dir, fail if it differs from
#                             what is committed (stale or hand-edited generated code)
set -euo pipefail

cd "$(dirname "$0")/.."
GEN_DIR=libs/contracts/src/gen
BUF=node_modules/.bin/buf
PLUGIN=node_modules/.bin/protoc-gen-ts_proto

mode=generate
case "${1:-}" in
  '') ;;
  --check) mode=check ;;
  -h | --help)
    sed -n '2,7p' "$0"
    exit 0
    ;;
  *)
    echo "proto.sh: unknown argument '$1' (expected --check or nothing)" >&2
    exit 2
    ;;
esac

for tool in "$BUF" "$PLUGIN"; do
  if [[ ! -x "$tool" ]]; then
    echo "proto.sh: $tool is missing; run 'make setup' (npm ci) first" >&2
    exit 1
  fi
done

"$BUF" lint

if [[ "$mode" == generate ]]; then
  rm -rf "$GEN_DIR"
  "$BUF" generate
  echo "proto.sh: generated $GEN_DIR"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# --output prefixes every `out:` of buf.gen.yaml, so the fresh copy lands in $tmp/$GEN_DIR.
"$BUF" generate --output "$tmp"
if ! diff -r "$tmp/$GEN_DIR" "$GEN_DIR" >"$tmp/diff.txt" 2>&1; then
  echo "proto.sh --check: $GEN_DIR is stale: it differs from what proto/ generates." >&2
  echo "Run 'make proto' (scripts/proto.sh) and commit the result. Differences:" >&2
  head -n 40 "$tmp/diff.txt" >&2
  exit 1
fi
echo "proto.sh --check: $GEN_DIR is up to date"
