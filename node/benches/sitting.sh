#!/usr/bin/env bash
# Every figure issue 19 asks for, one run each, in one sitting (docs/benchmarks.md):
#
#   node/benches/sitting.sh --program FILE [--open-from DIR ...] [--log FILE]
#
#   --program FILE   the program as JSON lines, for the PouchDB column; write it first with
#                    cargo run --release -p cairn-node --example bench_program -- 500 FILE
#   --open-from DIR  a hub store kept by the open run (a folder named hub-ENTRIES), as many as
#                    wanted; each is copied beside itself, opened with `cairn status` five times,
#                    and the copy removed (an interrupted run leaves a .tmpXXXXXX copy there).
#                    Make them first, one size at a time, into a folder KEEP on the same disk
#                    (about 4 minutes for 100k, 50 for 1M, 2.5 hours for 3M on the project's
#                    machine; a larger one grows from a copy of a smaller with
#                    CAIRN_BENCH_OPEN_FROM=KEEP/hub-ENTRIES: 3M from 1M in 84 minutes, round 36):
#                    TMPDIR=KEEP CAIRN_BENCH_SITES_IN=/dev/shm CAIRN_BENCH_OPEN=1000000 \
#                    CAIRN_BENCH_KEEP_STORE=KEEP cargo bench -p cairn-node --bench sync -- open
#   --log FILE       also write everything printed to FILE
#
# It builds the benchmarks (release profile; CARGO_TARGET_DIR is honoured), then runs, once
# each and in this order: the first sync (with automerge's sync of the same documents), 50 and
# 200 sites at once (5 crowds each), 50 and 200 sites at once again in one paired run with the
# hub on processor 0 and the simulated sites on processor 1, deriving what they received once
# each crowd is done (as sites on machines of their own), 13 crowds of each size taken in turn
# and each steady crowd's 200 / 50 ratio with the median's 95 % range (round 37; skipped unless
# both processors may be used), the slow link, 10,000 learners from one CSV file, PouchDB, and
# the open of each kept store. Any CAIRN_BENCH_ variable set outside is ignored. Run it with
# nothing else on the machine; on a virtual machine that hands freed memory back to its host,
# turn that off first (docs/benchmarks.md, round 23). About 20 minutes once built (round 37),
# and more while a copy of a large kept store is not yet in the page cache (round 27: 10 more
# minutes with a 3M store). Not part of `cargo test` or CI.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
program=""
stores=()
log=/dev/null
while [ $# -gt 0 ]; do
  case "$1" in
    --program) program=$(realpath "$2"); shift 2 ;;
    --open-from) stores+=("$(realpath "$2")"); shift 2 ;;
    --log) log=$2; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "sitting.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$program" ] || [ ! -f "$program" ]; then
  echo "sitting.sh: --program FILE is needed, and must exist (see --help)" >&2
  exit 2
fi
for dir in ${stores[@]+"${stores[@]}"}; do
  entries=${dir##*/hub-}
  case "$entries" in
    ''|*[!0-9]*) echo "sitting.sh: $dir is not a kept store (a folder named hub-ENTRIES)" >&2; exit 2 ;;
  esac
  if [ ! -d "$dir/store" ]; then
    echo "sitting.sh: $dir has no store in it" >&2
    exit 2
  fi
done
for tool in node npm /usr/bin/time; do
  if ! command -v "$tool" >/dev/null; then
    echo "sitting.sh: $tool is needed (PouchDB's run, the open runs)" >&2
    exit 2
  fi
done
# Settings left in the environment would change what is measured (or, CAIRN_BENCH_KEEP_STORE,
# replace a kept store with its copy).
while read -r name; do unset "$name"; done < <(compgen -e | grep '^CAIRN_BENCH_' || true)
exec > >(trap '' INT; tee -a "$log") 2>&1

cd "$here/.."
built=$(CARGO_TERM_COLOR=never cargo bench -p cairn-node --bench sync --bench live --no-run \
  --locked 2>&1) || { echo "$built" >&2; echo "sitting.sh: the benchmarks did not build" >&2; exit 1; }
sync=$(sed -n 's/.*Executable benches\/sync.rs (\(.*\))$/\1/p' <<<"$built")
live=$(sed -n 's/.*Executable benches\/live.rs (\(.*\))$/\1/p' <<<"$built")
if [ ! -x "$sync" ] || [ ! -x "$live" ]; then
  echo "sitting.sh: the benchmarks did not build:" >&2
  echo "$built" >&2
  exit 1
fi

step() {
  echo
  echo "== $(date -u +%H:%M:%S) $*"
}
step "first sync"
CAIRN_BENCH_LEARNERS=500 CAIRN_BENCH_SITES_IN=/dev/shm "$sync" --bench initial
step "50 sites at once"
CAIRN_BENCH_SESSIONS=50 CAIRN_BENCH_SITES_IN=/dev/shm "$sync" --bench concurrent
step "200 sites at once"
CAIRN_BENCH_SESSIONS=200 CAIRN_BENCH_SITES_IN=/dev/shm "$sync" --bench concurrent
# The hub alone: 200 simulated sites in one process cost more per session than 50 (more
# stores, one sled lock), and on the hub's processors that counts against the hub; deployed,
# every site has a machine of its own (docs/benchmarks.md, round 29).
# Each of processors 0 and 1 on its own: a cpuset or mask without one of them fails this.
# Paired: each size's crowds seconds from the other's, so the machine's drift over
# minutes falls on both (docs/benchmarks.md, round 37).
if taskset -c 0 true 2>/dev/null && taskset -c 1 true 2>/dev/null; then
  step "50 and 200 sites at once, paired, the hub on processor 0, the sites on 1, deriving after each crowd"
  CAIRN_BENCH_SESSIONS=50,200 CAIRN_BENCH_PAIRED=1 CAIRN_BENCH_CROWDS=13 \
    CAIRN_BENCH_SITES_IN=/dev/shm CAIRN_BENCH_HUB_CPUS=0 CAIRN_BENCH_SITES_CPUS=1 \
    CAIRN_BENCH_SITES_DERIVE_AFTER=1 "$sync" --bench concurrent
else
  step "skipped: the hub and the sites on processors of their own (needs processors 0 and 1)"
fi
step "slow link"
CAIRN_BENCH_SLOW_LEARNERS=10 "$sync" --bench slowlink
step "10,000 learners from one CSV file"
CAIRN_BENCH_ROSTER=10000 "$live" --bench import
step "PouchDB"
"$here/pouchdb/run.sh" --data "$program"
for dir in ${stores[@]+"${stores[@]}"}; do
  entries=${dir##*/hub-}
  step "open + status, $entries entries"
  # The copy goes beside the kept store (same disk), and is removed after.
  TMPDIR=$(dirname "$dir") CAIRN_BENCH_SITES_IN=/dev/shm CAIRN_BENCH_OPEN=$entries \
    CAIRN_BENCH_OPEN_FROM=$dir "$sync" --bench open
done
step "done"
