//! The offline verifier page: one static HTML file (built from `credentials/verifier-page/` with
//! esbuild; the built file is committed and a test checks it matches its sources) that decodes a
//! certificate's QR payload, checks every proof in the browser, checks the endorsement chain
//! against the programs it trusts, and shows the achievement, the program and the date.
//!
//! The page trusts the programs written into it: [`page`] writes them (the program's did:key and
//! name), so each program hands out its own copy. A copy that trusts no program checks
//! signatures only and says so ("UNCONFIRMED").

use serde::{Deserialize, Serialize};

/// The built page, as committed.
pub const BUILT: &str = include_str!("../verifier-page/dist/cairn-verifier.html");

const PROGRAMS_SLOT: &str = r#"<script type="application/json" id="cairn-programs">[]</script>"#;

/// A program the page trusts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedProgram {
    /// Its did:key.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// The page, trusting `programs`.
pub fn page(programs: &[TrustedProgram]) -> String {
    // In JSON, `<`, `>` and `&` occur only inside strings, where `\u003c`… mean the same; this
    // keeps a program's name from ending the script element.
    let json = serde_json::to_string(programs)
        .unwrap_or_else(|_| "[]".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    BUILT.replacen(
        PROGRAMS_SLOT,
        &format!(r#"<script type="application/json" id="cairn-programs">{json}</script>"#),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_page_has_one_slot_for_programs_and_names_are_escaped() {
        assert_eq!(BUILT.matches(PROGRAMS_SLOT).count(), 1);
        let p = page(&[TrustedProgram {
            id: "did:key:z6Mk".into(),
            name: "A </script><script>alert(1)</script> & co".into(),
        }]);
        assert!(!p.contains(PROGRAMS_SLOT));
        assert!(p.contains("did:key:z6Mk"));
        assert!(!p.contains("</script><script>alert"));
    }
}
