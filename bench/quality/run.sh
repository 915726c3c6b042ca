#!/usr/bin/env bash
# Scores fiveaxis with the shared quality scorer on the shared development
# cases and on our own held-out-style cases (bench/quality/cases).
# Usage: bench/quality/run.sh [-v]
set -euo pipefail
cd "$(dirname "$0")/../.."
shared="${FIVEAXIS_SHARED:-$(pwd)/../shared}"
tmp=$(mktemp -d)
trap 'rm -rf "${tmp:?}"' EXIT
go build -o "$tmp/fiveaxis" ./cmd/fiveaxis
(cd "$shared/bench/quality/scorer" && go build -o "$tmp/qualityscore" .)
cmd="$tmp/fiveaxis review --repo {repo} --base main --head pr --format json --no-llm"
echo "== shared development cases"
"$tmp/qualityscore" -cases "$shared/bench/quality/dev" -cmd "$cmd" "$@" | tail -1
echo "== our held-out-style cases (bench/quality/cases)"
"$tmp/qualityscore" -cases bench/quality/cases -cmd "$cmd" "$@" | tail -1
