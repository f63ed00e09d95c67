#!/usr/bin/env bash
# How to store a document's snapshot (issue 19, round 38; docs/benchmarks.md).
#
#   node/benches/snapshot-compression/run.sh STORE [DOCUMENTS]
#
# STORE is a copy of a node's store folder (the `store` folder inside a node's data folder; a
# `CAIRN_BENCH_OPEN=N CAIRN_BENCH_KEEP_STORE=DIR cargo bench -p cairn-node --bench sync -- open`
# run keeps a hub's). The tool opens it with sled, so it must not be a running node's. It loads
# up to DOCUMENTS (default 3,000) of its snapshots and prints, per way of storing them, the bytes
# and the time per document, then the same for a new learner's small record.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
store="${1:?usage: run.sh STORE [DOCUMENTS]}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
cargo build --release --manifest-path "$here/Cargo.toml" >&2
"$CARGO_TARGET_DIR/release/cairn-snapshot-compression" "$store" "${2:-3000}"
