//! `cairn credential verify` and `verifier-page` with no node, and how a verification reads.

use super::Output;
use crate::domain::text::printable;
use crate::error::{Error, Result};
use cairn_credentials::verify::{self, NoTrustList, Standing, Verification};
use std::io::Read;
use std::path::Path;

/// `cairn credential verify` where no node is: the proofs, the endorsement, the fields and the
/// dates, and the program when one is named.
pub fn verify_alone(file: &Path, name: Option<&str>, program: Option<&str>) -> Result<Output> {
    let trust = NoTrustList;
    let checked = crate::domain::credentials::program_check(program, &trust)?;
    let trust: &dyn verify::IssuerTrust = match &checked {
        Some(p) => p,
        None => &trust,
    };
    if let Some(payload) = super::plan::qr_payload(file) {
        return Ok(verdict(crate::domain::credentials::verify(
            payload.as_bytes(),
            trust,
            name,
        )?));
    }
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
    Ok(verdict(crate::domain::credentials::verify(
        &bytes, trust, name,
    )?))
}

/// `cairn credential verifier-page` where no node is: it trusts the programs named.
pub fn verifier_page_alone(out: &Path, programs: &[String]) -> Result<Output> {
    let trusted = crate::domain::credentials::named_programs(programs)?;
    let reply = crate::app::Reply::VerifierPage {
        html: cairn_credentials::verifier_page::page(&trusted),
        programs: trusted,
    };
    let mut plan = super::plan::Plan::new(crate::app::Request::CredentialVerifierPage {
        programs: programs.to_vec(),
    });
    plan.out = Some(out.to_path_buf());
    super::finish(&plan, &reply)
}

fn verdict(v: Verification) -> Output {
    let mut text = String::new();
    describe(&v, 0, &mut text);
    let mut out = Output::new(serde_json::to_value(&v).unwrap_or_default(), text);
    if !v.is_valid() || v.identity_matches == Some(false) {
        out.code = 3;
    }
    out
}

/// Every string here comes from the file being checked: shown with [`printable`], so a forged
/// credential cannot move the cursor, clear a line or start a new one that reads "VALID".
pub(super) fn describe(v: &Verification, depth: usize, text: &mut String) {
    let pad = "  ".repeat(depth);
    let what = printable(v.name.as_deref().unwrap_or("(unnamed)"));
    // A credential made out to someone else is not valid for the person asking: the verdict
    // never reads VALID then.
    if v.identity_matches == Some(false) {
        text.push_str(&format!(
            "{pad}NAME MISMATCH: {what} ({}) was not made out to the name given\n",
            v.kind
        ));
    } else if v.is_valid() {
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
    if !v.proofs.is_empty() {
        text.push_str(&format!(
            "{pad}  proofs checked: {} (every one)\n",
            v.proofs.join(", ")
        ));
    }
    for e in &v.endorsed_by {
        text.push_str(&format!(
            "{pad}  signing key endorsed by {} ({})\n",
            printable(e.name.as_deref().unwrap_or("an unnamed program")),
            printable(&e.program)
        ));
    }
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
            "{pad}  the name given does not match the learner's hashed identity (names are checked exactly as printed)\n"
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
