//! `cairn credential verify` with no node, and how a verification reads.

use super::Output;
use crate::domain::text::printable;
use crate::error::{Error, Result};
use cairn_credentials::verify::{self, NoTrustList, Standing, Verification};
use std::io::Read;
use std::path::Path;

/// `cairn credential verify` where no node is: the proof, the fields and the dates only.
pub fn verify_alone(file: &Path, name: Option<&str>) -> Result<Output> {
    let spec = super::plan::file_spec(file)?;
    if spec.size > verify::MAX_FILE as u64 {
        return Err(Error::invalid(format!(
            "{} is {} bytes; a credential file is at most {} bytes",
            file.display(),
            spec.size,
            verify::MAX_FILE
        )));
    }
    let mut bytes = Vec::new();
    super::files::open_regular(file)?
        .take(verify::MAX_FILE as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", file.display())))?;
    let v = crate::domain::credentials::verify(&bytes, &NoTrustList, name)?;
    let mut text = String::new();
    describe(&v, 0, &mut text);
    let mut out = Output::new(serde_json::to_value(&v).unwrap_or_default(), text);
    if !v.is_valid() || v.identity_matches == Some(false) {
        out.code = 3;
    }
    Ok(out)
}

/// Every string here comes from the file being checked: shown with [`printable`], so a forged
/// credential cannot move the cursor, clear a line or start a new one that reads "VALID".
pub(super) fn describe(v: &Verification, depth: usize, text: &mut String) {
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
