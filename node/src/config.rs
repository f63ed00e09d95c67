//! The node's configuration file (`config.toml` in the data folder).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Whether a node is the program's hub or one of its sites.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    /// The program's central node: holds everything, admits sites, reconciles, reports.
    Hub,
    /// A site: a facility lab, a classroom, a kiosk.
    Site,
}

impl std::fmt::Display for NodeRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NodeRole::Hub => "hub",
            NodeRole::Site => "site",
        })
    }
}

/// The hub a site trusts, from its provisioning file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubLink {
    /// The hub's node id (text form).
    pub id: String,
    /// The hub's display name.
    pub name: String,
    /// Where to reach it (`host:port`), if it has a network address.
    pub address: Option<String>,
    /// The identifier the hub gave this site.
    pub site_id: String,
}

/// Contents of `config.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Hub or site.
    pub role: NodeRole,
    /// Display name ("Ellsworth Adult Education").
    pub name: String,
    /// The institution awarding credentials, as shown on them.
    #[serde(default)]
    pub institution: Option<String>,
    /// Whether staff with the developer role may add to the catalog at this site.
    #[serde(default)]
    pub allow_site_authoring: bool,
    /// A site's hub, once joined.
    #[serde(default)]
    pub hub: Option<HubLink>,
    /// Where a hub listens for sites.
    #[serde(default)]
    pub listen: Option<String>,
    /// The program's web address, named on its credentials (hub; sites learn it from the hub).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_url: Option<String>,
    /// What the program is, in a sentence, as its credentials describe it (hub).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_description: Option<String>,
    /// Where the program hosts the offline verifier page (`cairn credential verifier-page`):
    /// certificates' QR codes link there (hub; sites learn it from the hub).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier_url: Option<String>,
    /// Identities credentials carry (hashed) besides the learner's name (hub).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credential_identifiers: Vec<IdentifierKind>,
}

/// An identity a program may choose to put (hashed) in its credentials besides the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentifierKind {
    /// The learner's email address, as `emailAddress`.
    Email,
    /// The institution's id for the learner, as `sisSourcedId`.
    StudentId,
}

/// Where certificates' QR codes link when the program named no verifier page: an address that
/// never resolves (`.invalid`), so a phone shows the link and a saved copy of the page, or
/// `cairn credential verify`, still reads it.
pub const DEFAULT_VERIFIER_URL: &str = "https://verify.invalid/cairn";

/// Check a web address from the configuration: http(s), no spaces or control characters.
pub fn check_url(what: &str, url: &str) -> std::result::Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{what} `{url}` must start with https:// or http://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Err(format!("{what} `{url}` names no host"));
    }
    if url.len() > 300 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{what} must be at most 300 characters with no spaces or control characters"
        ));
    }
    if url.contains('#') {
        return Err(format!(
            "{what} `{url}` must not have a #fragment (the QR code's payload goes there)"
        ));
    }
    Ok(())
}

impl Config {
    /// Check what a person may have typed into the file.
    fn validate(&self) -> std::result::Result<(), String> {
        if let Some(url) = &self.program_url {
            check_url("program_url", url)?;
        }
        if let Some(url) = &self.verifier_url {
            check_url("verifier_url", url)?;
        }
        if let Some(d) = &self.program_description
            && (d.chars().count() > 1000 || d.chars().any(char::is_control))
        {
            return Err(
                "program_description must be one paragraph of at most 1000 characters".into(),
            );
        }
        Ok(())
    }
}

impl Config {
    /// Read `config.toml` from `dir`.
    pub fn load(dir: &Path) -> Result<Config> {
        let path = dir.join("config.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Usage(format!(
                    "{} is not a Cairn node (no config.toml); create one with `cairn init`",
                    dir.display()
                ))
            } else {
                Error::storage(&format!("could not read {}", path.display()), e)
            }
        })?;
        let config: Config = toml::from_str(&text)
            .map_err(|e| Error::storage_msg(format!("{} is not valid: {e}", path.display())))?;
        config
            .validate()
            .map_err(|e| Error::storage_msg(format!("{} is not valid: {e}", path.display())))?;
        Ok(config)
    }

    /// Write `config.toml` to `dir` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self)
            .map_err(|e| Error::storage("encoding the configuration", e))?;
        write_atomically(&dir.join("config.toml"), text.as_bytes(), false)
    }
}

/// Write a file by writing a temporary file, syncing it, and renaming it into place.
pub fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let _ = private;
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent()
        && let Ok(d) = std::fs::File::open(parent)
    {
        let _ = d.sync_all();
    }
    Ok(())
}
