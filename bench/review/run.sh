#!/usr/bin/env bash
# run.sh [DIR]: build fiveaxis, generate the large PR in DIR (default
# /tmp/fiveaxis-large-pr, reused when it exists) and time
#   fiveaxis review --no-llm --format json
# on it with the type-checked analyzers off and on, N times each (default 3,
# env RUNS), printing wall time, CPU time (user, sys; children included) and
# peak RSS from /usr/bin/time -v. The machine is shared: the load average
# printed first says how much the wall times are inflated.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-/tmp/fiveaxis-large-pr}
runs=${RUNS:-3}
bin=$(mktemp -d)/fiveaxis
(cd "$root" && go build -o "$bin" ./cmd/fiveaxis)
[ -d "$dir" ] || "$root/bench/review/gen.sh" "$dir"
echo "repo: $dir ($(git -C "$dir" diff --shortstat main pr))"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-4s %8s %8s %8s %10s %9s\n' analyzers run wall_s user_s sys_s peak_rss_mb findings
for a in false true; do
  for i in $(seq 1 "$runs"); do
    out=$(mktemp); tv=$(mktemp)
    set +e
    /usr/bin/time -v "$bin" review --no-llm --repo "$dir" --base main --head pr --format json --analyzers="$a" >"$out" 2>"$tv"
    rc=$?
    set -e
    if [ "$rc" -gt 1 ]; then echo "review failed (exit $rc):"; cat "$tv"; exit 1; fi
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tv" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    user=$(sed -n 's/.*User time (seconds): //p' "$tv")
    sys=$(sed -n 's/.*System time (seconds): //p' "$tv")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tv")
    n=$(grep -o '"rule":' "$out" | wc -l)
    printf '%-10s %-4s %8.2f %8.2f %8.2f %10.0f %9s\n' "$a" "$i" "$wall" "$user" "$sys" "$((rss / 1024))" "$n"
    if [ "$a" = true ] && [ "$i" = 1 ]; then
      grep -o '"analyzers: [^"]*"' "$out" | head -1 || true
    fi
    rm -f "$out" "$tv"
  done
done
