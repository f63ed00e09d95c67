#!/usr/bin/env bash
# What other storage layouts would give for a node's open time (issue 19; docs/benchmarks.md).
#
#   node/benches/storage-alternatives/run.sh STORE WORK [COPIES...]
#
# STORE is a node's store folder (the `store` folder inside a node's data folder; a
# `CAIRN_BENCH_OPEN=N CAIRN_BENCH_KEEP_STORE=DIR cargo bench -p cairn-node --bench sync -- open`
# run keeps the hub's). WORK is an empty folder on the same kind of disk with room for each copy
# (about the store's size times COPIES; one layout at a time, removed after it is measured).
# COPIES (default: 1 2) are how many times the store's keys are written over.
#
# For each layout and copy count: copy, one untimed open, then five timed opens in fresh
# processes (wall seconds by bash's clock, peak RSS by `/usr/bin/time`). Prints a Markdown table of medians.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
store="${1:?usage: run.sh STORE WORK [COPIES...]}"
work="${2:?usage: run.sh STORE WORK [COPIES...]}"
shift 2
copies=("$@")
[ ${#copies[@]} -gt 0 ] || copies=(1 2)
[ -x /usr/bin/time ] || { echo "run.sh needs /usr/bin/time (Debian package: time)" >&2; exit 1; }
mkdir -p "$work"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$work/target}"
cargo build --release --locked --manifest-path "$here/Cargo.toml" >&2
tool="$CARGO_TARGET_DIR/release/cairn-storage-alternatives"

"$tool" census "$store"
echo
echo "| layout | copies | source keys | sled keys | on disk | open, median of 5 (s) | peak RSS, median (MB) | five runs (s) |"
echo "|---|---|---|---|---|---|---|---|"
for n in "${copies[@]}"; do
  for layout in sled034 bulk-log bulk-log-snapshots bulk-no-ids sled1; do
    dst="$work/$layout-x$n"
    rm -rf "$dst"
    copied=$("$tool" copy "$layout" "$store" "$dst" --copies "$n")
    echo "$copied" >&2
    keys=$(echo "$copied" | sed -E 's/copied ([0-9]+) keys.*/\1/')
    sled_keys=$(echo "$copied" | sed -E 's/.*, ([0-9]+) of them.*/\1/')
    size=$(du -sb "$dst" | cut -f1)
    "$tool" open "$layout" "$dst" >/dev/null
    runs=()
    for _ in 1 2 3 4 5; do
      # Wall time from bash's clock (microseconds); peak RSS from /usr/bin/time.
      start=$EPOCHREALTIME
      kb=$( { /usr/bin/time -f "%M" "$tool" open "$layout" "$dst" >/dev/null; } 2>&1 | tail -1)
      end=$EPOCHREALTIME
      runs+=("$(echo "$start $end" | awk '{printf "%.3f", $2 - $1}') $kb")
    done
    median_s=$(printf '%s\n' "${runs[@]}" | cut -d' ' -f1 | sort -n | sed -n 3p)
    median_kb=$(printf '%s\n' "${runs[@]}" | cut -d' ' -f2 | sort -n | sed -n 3p)
    all=$(printf '%s\n' "${runs[@]}" | cut -d' ' -f1 | paste -sd/ | sed 's#/# / #g')
    echo "| $layout | $n | $keys | $sled_keys | $((size / 1000000)) MB | $median_s | $((median_kb / 1000)) | $all |"
    rm -rf "$dst"
  done
done
