#!/usr/bin/env bash
# gen.sh DIR [PACKAGES FILES]: create the large-PR benchmark repository in DIR
# (must not exist). main holds a small Go module (go.mod and one doc.go per
# package); pr adds FILES-1 Go files and one test per package and edits each
# doc.go: by default 30 packages x 9 files = 300 changed files, about 41,000
# added lines of stdlib-only service code with a sprinkling of patterns the
# rules report. See gen/main.go.
set -euo pipefail
dir=${1:?usage: gen.sh DIR [PACKAGES FILES]}
cd "$(dirname "$0")/../.."
go run ./bench/review/gen -out "$dir" -packages "${2:-30}" -files "${3:-9}"
git -C "$dir" diff --shortstat main pr
