#!/usr/bin/env bash
# The PouchDB column of Cairn's sync benchmarks (issue 19), re-measured in one run:
#
#   node/benches/pouchdb/run.sh                 # 500 learners, as docs/benchmarks.md
#   node/benches/pouchdb/run.sh --smoke         # 6 learners, 2 and 3 sites: a check that it works
#   node/benches/pouchdb/run.sh --learners N --data FILE --keep-alive --sites 50,200 ...
#
# 1. Cairn writes the program (`cargo run --release -p cairn-node --example bench_program`: the
#    same learners, enrollments, evidence, assessments and signed awards as node/benches/sync.rs)
#    as JSON lines, unless --data FILE gives such a file already.
# 2. npm installs package.json's pinned pouchdb and express-pouchdb (package-lock.json) into a
#    temporary folder, and compare.mjs runs there: a PouchDB server (express-pouchdb, leveldb), a
#    byte-counting relay on loopback, and the sites' PouchDB databases (leveldb) replicating.
# Any other option goes to compare.mjs (see its header). The temporary folder is removed at exit.
# Not part of `cargo test` or CI: it downloads packages and takes a few minutes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
learners=500
data=""
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --learners) learners=$2; shift 2 ;;
    --data) data=$(realpath "$2"); shift 2 ;;
    --smoke) learners=6; pass+=(--slow-learners 2 --sites 2,3 --timeout-s 300); shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) pass+=("$1"); shift ;;
  esac
done
case "$learners" in ''|*[!0-9]*) echo "run.sh: --learners needs a whole number" >&2; exit 2 ;; esac

node "$here/compare.mjs" --check "${pass[@]}" # options checked before anything is built or installed

work=$(mktemp -d "${TMPDIR:-/tmp}/cairn-pouchdb.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

if [ -z "$data" ]; then
  data="$work/program.jsonl"
  echo "run.sh: Cairn generates $learners learners' records (cargo, release profile)" >&2
  (cd "$repo" && timeout 3600 cargo run --release --quiet -p cairn-node --example bench_program \
    -- "$learners" "$data")
fi

echo "run.sh: installing pouchdb and express-pouchdb into $work" >&2
cp "$here/package.json" "$here/package-lock.json" "$here/compare.mjs" "$work/"
(cd "$work" && timeout 900 npm ci --no-audit --no-fund --loglevel=error >&2)

echo "run.sh: load average before the run: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores" >&2
timeout 3600 node "$work/compare.mjs" --data "$data" --work "$work/db" "${pass[@]}"
