//! The offline verifier page compiled into `cairn` is what its sources build: esbuild, from the
//! pinned packages in credentials/verifier-page/package-lock.json, rebuilds
//! `dist/cairn-verifier.html` byte for byte.

use cairn_tests::npm_ci;
use std::process::Command;

#[test]
fn verifier_page_matches_its_sources() {
    let here = concat!(env!("CARGO_MANIFEST_DIR"), "/../credentials/verifier-page");
    npm_ci(here);
    let out = Command::new("node")
        .args(["build.mjs", "--check"])
        .current_dir(here)
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
