#!/usr/bin/env bash
# Steady crowds side by side: benchmark binaries of the `sync` bench, each at each crowd size in
# turn, round after round, with the hub on a processor of its own (rounds 29-33 of
# docs/benchmarks.md). Alternating is what makes two builds comparable on a machine whose speed
# drifts; node/benches/pool.py reads the log this writes.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: node/benches/alternate.sh [--rounds N] [--sizes 50,200] [--crowds 5] [--log FILE] NAME=BINARY...

Runs every NAME's benchmark binary at every size, in that order, N rounds (default 3), each run
`concurrent` with the hub on processor 0 and the sites on processor 1, the sites' stores in
/dev/shm, their derivation held until each crowd is done, and 5 crowds a run. Each crowd's table
row is written to the log (default: standard output) behind "NAME SIZE rROUND", so that

    python3 node/benches/pool.py LOG

can pool the steady crowds (2-5) of every run and print medians and ratios with their 95 %
ranges.

A binary is what `cargo bench -p cairn-node --bench sync --no-run` builds (it prints the path:
target/release/deps/sync-HASH); copy it out before building the next revision. Run from the
repository's root, with nothing else running: a build beside a run measures the build.

  --rounds N     rounds of every NAME at every size (default 3; one round of two binaries at
                 50 and 200 sites takes about 8 minutes on a 2-core machine)
  --sizes LIST   crowd sizes, comma-separated (default 50,200)
  --crowds N     crowds a run (default 5; the first is not pooled)
  --log FILE     append the rows to FILE instead of printing them
Environment: TMPDIR is where the hub's stores go (on disk, as a hub's are).
EOF
}

rounds=3 sizes=50,200 crowds=5 log=/dev/stdout
runs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --crowds) crowds=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *=*) runs+=("$1"); shift ;;
    *) echo "alternate.sh: not an option or NAME=BINARY: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#runs[@]} -gt 0 ] || { echo "alternate.sh: no NAME=BINARY given (see --help)" >&2; exit 2; }
case "$rounds$crowds" in *[!0-9]*) echo "alternate.sh: --rounds and --crowds take numbers" >&2; exit 2 ;; esac
for r in "${runs[@]}"; do
  [ -x "${r#*=}" ] || { echo "alternate.sh: not an executable: ${r#*=}" >&2; exit 2; }
done
[ "$(nproc)" -ge 2 ] || { echo "alternate.sh: needs 2 processors (the hub on one, the sites on the other)" >&2; exit 2; }

# The benchmark reads its data from the crate's folder.
cd "$(dirname "$0")/.."
IFS=, read -r -a size_list <<<"$sizes"
for round in $(seq 1 "$rounds"); do
  for size in "${size_list[@]}"; do
    for r in "${runs[@]}"; do
      name=${r%%=*} bin=${r#*=}
      echo "alternate.sh: $(date -u +%H:%M:%S) round $round, $name at $size sites" >&2
      out=$(CAIRN_BENCH_SESSIONS="$size" CAIRN_BENCH_CROWDS="$crowds" \
        CAIRN_BENCH_SITES_IN=/dev/shm CAIRN_BENCH_HUB_CPUS=0 CAIRN_BENCH_SITES_CPUS=1 \
        CAIRN_BENCH_SITES_DERIVE_AFTER=1 "$bin" --bench concurrent 2>&1) || {
        echo "alternate.sh: $name at $size sites failed:" >&2
        printf '%s\n' "$out" | tail -20 >&2
        exit 1
      }
      printf '%s\n' "$out" | grep -E "^\| $size, crowd [0-9]+ \|" | sed "s/^/$name $size r$round /" >>"$log"
    done
  done
done
