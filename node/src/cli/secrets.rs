//! Secrets typed at the command line stay out of the process list: a new PIN or password comes
//! from the `CAIRN_NEW_SECRET` variable, a prompt (asked twice) in a terminal, or one line of
//! standard input in a script — `--pin`/`--password` on the command line remain for convenience,
//! and `--pin -` asks the same way.

use crate::error::{Error, Result};
use std::io::{BufRead, IsTerminal, Read};

/// Ask for a secret on the terminal without echo, if there is one.
pub fn prompt(question: &str) -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    rpassword::prompt_password(question)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// A new secret, from `CAIRN_NEW_SECRET`, else a prompt (twice), else one line of standard input.
pub fn new_secret(what: &str) -> Result<String> {
    if let Ok(s) = std::env::var("CAIRN_NEW_SECRET")
        && !s.trim().is_empty()
    {
        return Ok(s.trim().to_string());
    }
    if std::io::stdin().is_terminal() {
        let first = prompt(&format!("{what}: ")).unwrap_or_default();
        let again = prompt(&format!("{what} again: ")).unwrap_or_default();
        if first.is_empty() {
            return Err(Error::Usage(format!("no {what} was typed")));
        }
        if first != again {
            return Err(Error::invalid(
                "the two entries differ; nothing was changed",
            ));
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(1024)
        .read_line(&mut line)
        .map_err(|e| Error::storage("reading standard input", e))?;
    let line = line.trim().to_string();
    if line.is_empty() {
        return Err(Error::Usage(format!(
            "give the {what} on standard input, in CAIRN_NEW_SECRET, or with --pin/--password"
        )));
    }
    Ok(line)
}

/// `--pin VALUE` as given, or `--pin -` read as [`new_secret`] reads it.
pub fn pin_argument(pin: Option<String>, what: &str) -> Result<Option<String>> {
    match pin.as_deref() {
        Some("-") => new_secret(what).map(Some),
        _ => Ok(pin),
    }
}
