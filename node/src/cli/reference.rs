//! Manual pages and shell completions, generated from the command line's own definition
//! (`args.rs`) so they never disagree with `--help`. The Debian package is built with them
//! (deploy/build-deb.sh runs `cairn debug man` and `cairn debug completions`).

use super::Output;
use super::args::Cli;
use crate::error::{Error, Result};
use clap::CommandFactory;
use serde_json::json;
use std::path::{Path, PathBuf};

fn files_in(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

fn written(out: &Path, what: &str, files: Vec<String>) -> Output {
    Output::new(
        json!({"out": out, "files": files}),
        format!("Wrote {} {what} to {}.", files.len(), out.display()),
    )
}

fn make_dir(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out)
        .map_err(|e| Error::storage(&format!("could not create {}", out.display()), e))
}

/// One manual page per command that people use (hidden ones left out): `cairn.1`,
/// `cairn-site.1`, `cairn-site-enroll.1`, …
pub fn man_pages(out: &PathBuf) -> Result<Output> {
    make_dir(out)?;
    clap_mangen::generate_to(Cli::command(), out).map_err(|e| {
        Error::storage(
            &format!("could not write the manual pages to {}", out.display()),
            e,
        )
    })?;
    Ok(written(out, "manual pages", files_in(out)?))
}

/// Completions for bash, zsh and fish.
pub fn completions(out: &PathBuf) -> Result<Output> {
    use clap_complete::Shell;
    make_dir(out)?;
    let mut cmd = Cli::command();
    let mut files = Vec::new();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let path = clap_complete::generate_to(shell, &mut cmd, "cairn", out).map_err(|e| {
            Error::storage(
                &format!(
                    "could not write the {shell} completions to {}",
                    out.display()
                ),
                e,
            )
        })?;
        files.push(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    Ok(written(out, "completion files", files))
}
