#!/usr/bin/env bash
# Build the Debian package: target/debian/cairn_VERSION-1_ARCH.deb (the path is printed last).
# It builds with whichever Rust toolchain is active (CI: RUSTUP_TOOLCHAIN=the rust-version).
#
#   deploy/build-deb.sh            needs cargo-deb: cargo install cargo-deb --locked
#
# Three steps, because the manual pages and completions come from the binary itself:
#   1. the release binary (profile `deb`: no debug info), with the `packaged` feature (its data
#      folder defaults to /var/lib/cairn) — the same build `cargo deb` would make;
#   2. `cairn debug man` and `cairn debug completions` write the manual pages and the bash,
#      zsh and fish completions from that binary's own command-line definition;
#   3. `cargo deb --no-build` packages the binary, those files and deploy/ (units, maintainer
#      scripts, kiosk launcher) as node/Cargo.toml's [package.metadata.deb] lists them.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo deb --version >/dev/null 2>&1; then
  echo "error: cargo-deb is not installed: cargo install cargo-deb --locked" >&2
  exit 2
fi

# The `deb` profile (Cargo.toml): release, without debug info. Its output is target/deb/, which
# cargo-deb reads where node/Cargo.toml's assets say target/release/.
target="${CARGO_TARGET_DIR:-target}"
cargo build --profile deb --locked -p cairn-node --bin cairn --features packaged

generated="$target/deb/deb-assets"
rm -rf "$generated"
"$target/deb/cairn" debug man --out "$generated/man" >/dev/null
gzip -9n "$generated"/man/*.1
"$target/deb/cairn" debug completions --out "$generated/completions" >/dev/null

cargo deb -p cairn-node --profile deb --no-build "$@"
