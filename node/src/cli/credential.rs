//! `cairn credential ...`: export, print and verify Open Badges 3.0 credentials.

use super::Output;
use super::args::CredentialCommand;
use crate::domain::credentials::{self, ProgramTrust};
use crate::domain::people::Actor;
use crate::domain::text::printable;
use crate::error::{Error, Result};
use crate::node::Node;
use cairn_credentials::verify::{self, IssuerTrust, NoTrustList, Standing, Verification};
use serde_json::json;
use std::path::Path;

fn write(out: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = out.with_extension("partial");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, out))
        .map_err(|e| Error::storage(&format!("cannot write {}", out.display()), e))
}

/// Export and certificate commands (they need the store).
pub fn run(node: &Node, actor: &Actor, cmd: CredentialCommand) -> Result<Output> {
    match cmd {
        CredentialCommand::Export {
            award,
            learner,
            out,
        } => {
            let (credential, what) = match (award, learner) {
                (_, Some(l)) => (
                    credentials::export_learner(node, actor, &l)?,
                    "all of the learner's credentials (a ClrCredential)",
                ),
                (Some(a), None) => (
                    credentials::export_award(node, actor, &a)?,
                    "an Open Badges 3.0 credential",
                ),
                (None, None) => {
                    return Err(Error::Usage("name an award, or --learner".into()));
                }
            };
            let text = serde_json::to_string_pretty(&credential)
                .map_err(|e| Error::invalid(e.to_string()))?;
            write(&out, text.as_bytes())?;
            Ok(Output::new(
                json!({"out": out, "credential": credentials::summary(&credential)}),
                format!(
                    "Wrote {what} to {}.\nAnyone can check it offline: cairn credential verify {}",
                    out.display(),
                    out.display()
                ),
            ))
        }
        CredentialCommand::Certificate { award, out } => {
            let html = credentials::certificate(node, actor, &award)?;
            write(&out, html.as_bytes())?;
            Ok(Output::new(
                json!({"out": out}),
                format!(
                    "Wrote the certificate to {}. Open it in a browser and print it; it carries the signed credential inside.",
                    out.display()
                ),
            ))
        }
        CredentialCommand::Verify { file, name } => verify(&node.dir, &file, name.as_deref()),
    }
}

/// `cairn credential verify`: no store needed; the node's trust records are used when `data`
/// holds a node that can be opened.
pub fn verify(data: &Path, file: &Path, name: Option<&str>) -> Result<Output> {
    let meta = std::fs::metadata(file)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", file.display())))?;
    if meta.len() > verify::MAX_FILE as u64 {
        return Err(Error::invalid(format!(
            "{} is {} bytes; a credential file is at most {} bytes",
            file.display(),
            meta.len(),
            verify::MAX_FILE
        )));
    }
    let bytes = std::fs::read(file)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", file.display())))?;
    let mut note = None;
    let trust: Box<dyn IssuerTrust> = if data.join("config.toml").exists() {
        match Node::open(data).and_then(|n| ProgramTrust::of(&n)) {
            Ok(t) => Box::new(t),
            Err(e) => {
                note = Some(format!(
                    "(the program's trust records at {} could not be read: {e}; only the proof was checked)",
                    data.display()
                ));
                Box::new(NoTrustList)
            }
        }
    } else {
        Box::new(NoTrustList)
    };
    let now = time::OffsetDateTime::now_utc();
    let v = verify::verify_bytes(&bytes, now, trust.as_ref(), name)
        .map_err(|problem| Error::invalid(format!("{}: {problem}", file.display())))?;
    let mut text = String::new();
    describe(&v, 0, &mut text);
    if let Some(n) = note {
        text.push_str(&n);
        text.push('\n');
    }
    let mut out = Output::new(serde_json::to_value(&v).unwrap_or_default(), text);
    if !v.is_valid() || v.identity_matches == Some(false) {
        out.code = 3;
    }
    Ok(out)
}

/// Every string here comes from the file being checked: shown with [`printable`], so a forged
/// credential cannot move the cursor, clear a line or start a new one that reads "VALID".
fn describe(v: &Verification, depth: usize, text: &mut String) {
    let pad = "  ".repeat(depth);
    let what = printable(v.name.as_deref().unwrap_or("(unnamed)"));
    if v.is_valid() {
        text.push_str(&format!("{pad}VALID: {what} ({})\n", v.kind));
    } else {
        text.push_str(&format!("{pad}NOT VALID: {what} ({})\n", v.kind));
    }
    text.push_str(&format!(
        "{pad}  issued by {} ({}) on {}\n",
        printable(v.issuer_name.as_deref().unwrap_or("an unnamed issuer")),
        printable(v.issuer.as_deref().unwrap_or("no id")),
        printable(v.valid_from.as_deref().unwrap_or("no date"))
    ));
    match &v.standing {
        Standing::Admitted { name } => text.push_str(&format!(
            "{pad}  signed by {}, trusted by this node's program\n",
            printable(name)
        )),
        Standing::NotChecked => text.push_str(&format!(
            "{pad}  signature checked; whether the signer belongs to a program was not (no node here)\n"
        )),
        _ => {}
    }
    match v.identity_matches {
        Some(true) => text.push_str(&format!("{pad}  made out to the name given\n")),
        Some(false) => text.push_str(&format!(
            "{pad}  NOT made out to the name given (the learner's hashed identity does not match)\n"
        )),
        None => {}
    }
    for p in &v.problems {
        text.push_str(&format!("{pad}  - {}\n", printable(p)));
    }
    for c in &v.contains {
        describe(c, depth + 1, text);
    }
}
