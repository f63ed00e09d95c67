//! The workspace's `rust-version` is one it really builds with.
//!
//! CI builds the Debian package with that toolchain (`.ci/run`, docs/packaging.md): that is the
//! proof for the shipped code. The tests run on the current toolchain, so this test checks the
//! claim by what decides it, for every crate the workspace builds, tests included:
//! - every dependency declares the oldest Rust it builds with: ours must be at least the highest
//!   of those (`cargo metadata`, resolved for this platform, dev- and build-dependencies
//!   included);
//! - language features we use have a floor of their own (`LANGUAGE`): ours must be at least that;
//! - std APIs newer than the MSRV are flagged by clippy's `incompatible_msrv` lint, which
//!   `cargo clippy -- -D warnings` (CI) turns into an error; clippy reads the MSRV from
//!   `clippy.toml`, which must say the same version.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Language features the code uses, with the Rust release that made each stable.
const LANGUAGE: &[(&str, &str)] = &[
    ("edition 2024", "1.85"),
    ("let-chains (`if let … && let …`)", "1.88"),
];

fn version(v: &str) -> (u64, u64, u64) {
    let mut parts = v.trim().split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let host = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    let host = String::from_utf8_lossy(&host.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc names its host");
    let out = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            &host,
        ])
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON")
}

#[test]
fn rust_version_covers_every_dependency_and_feature_and_matches_clippy() {
    let meta = metadata();
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let packages = meta["packages"].as_array().unwrap();
    let (ours, theirs): (Vec<&Value>, Vec<&Value>) = packages
        .iter()
        .partition(|p| members.contains(&p["id"].as_str().unwrap()));

    // Every member that declares a rust-version declares the same one (they inherit it).
    let declared: Vec<(&str, &str)> = ours
        .iter()
        .filter_map(|p| Some((p["name"].as_str()?, p["rust_version"].as_str()?)))
        .collect();
    let msrv = declared
        .iter()
        .find(|(name, _)| *name == "cairn-node")
        .map(|(_, v)| *v)
        .expect("cairn-node declares rust-version (rust-version.workspace = true)");
    for (name, v) in &declared {
        assert_eq!(
            version(v),
            version(msrv),
            "{name} declares rust-version {v}, the workspace {msrv}"
        );
    }

    // At least the highest rust-version among the dependencies.
    let mut deps: Vec<(String, &str)> = theirs
        .iter()
        .filter_map(|p| {
            Some((
                format!("{} {}", p["name"].as_str()?, p["version"].as_str()?),
                p["rust_version"].as_str()?,
            ))
        })
        .collect();
    deps.sort_by_key(|(_, v)| std::cmp::Reverse(version(v)));
    let (top_name, top) = deps.first().expect("dependencies declare rust-versions");
    let needing: Vec<&str> = deps
        .iter()
        .filter(|(_, v)| version(v) == version(top))
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(
        version(msrv) >= version(top),
        "rust-version is {msrv}, but {top_name} needs {top} (so do: {}); raise it in Cargo.toml and clippy.toml",
        needing.join(", ")
    );

    // At least what the language features we use need.
    for (feature, since) in LANGUAGE {
        assert!(
            version(msrv) >= version(since),
            "rust-version is {msrv}, but {feature} needs {since}"
        );
    }

    // clippy checks std APIs against the same version, in every crate.
    let clippy = std::fs::read_to_string(workspace().join("clippy.toml"))
        .expect("clippy.toml at the workspace root");
    let clippy_msrv = clippy
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "msrv").then(|| v.trim().trim_matches('"').to_string())
        })
        .expect("clippy.toml sets msrv");
    assert_eq!(
        version(&clippy_msrv),
        version(msrv),
        "clippy.toml's msrv must equal rust-version"
    );
    eprintln!(
        "rust-version {msrv}: dependencies need at most {top} ({}); language features at most {}",
        needing.join(", "),
        LANGUAGE
            .iter()
            .map(|(_, v)| *v)
            .max_by_key(|v| version(v))
            .unwrap()
    );
}
