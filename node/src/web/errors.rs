//! What went wrong, in the person's language. A refusal carrying a message key (see
//! `error::Code`) reads as `error-KEY` with its values; any other refusal reads as the message of
//! its kind; the node's own failures read as "nothing you sent was lost, tell a staff member",
//! and go to the log. No command-line flag or server path ever reaches a page.

use super::i18n::Tr;
use crate::error::{Error, RefusalKind};

/// Message keys refusals carry (`Error::coded`); each needs `error-KEY` in both catalogs.
pub const CODES: &[&str] = &[
    "evidence-empty",
    "too-many-files",
    "file-too-large",
    "already-awarded",
    "already-assessed",
    "award-needs-proficient",
    "learner-number",
    "email",
    "year-of-birth",
    "date-format",
    "language",
    "number-taken",
    "lives-elsewhere",
    "staff-secret",
    "learner-pin",
    "user-exists",
    "last-admin",
    "no-role",
    "text-length",
    "text-control",
    "catalog-id",
    "roster-line",
    "roster-too-large",
    "roster-empty",
    "catalog-taken",
    "level",
    "pathway-parts",
    "credits",
    "site-id",
    "site-revoked",
    "transfer-too-large",
    "not-provisioning",
    "provisioning-other-site",
];

/// The message for an error.
pub fn message(tr: &Tr, e: &Error) -> String {
    if let Some(code) = e.code() {
        let args: Vec<(&str, String)> = code
            .args
            .iter()
            .map(|(k, v)| {
                // A field is named in the person's language.
                if *k == "field" {
                    (*k, tr.t(&format!("field-{v}")))
                } else {
                    (*k, v.clone())
                }
            })
            .collect();
        return tr.a(&format!("error-{}", code.key), &args);
    }
    match e {
        Error::Refused(r) => tr.t(match r.kind {
            RefusalKind::Invalid => "error-invalid",
            RefusalKind::NotFound => "error-not-found",
            RefusalKind::Unauthorized => "error-unauthorized",
            RefusalKind::Rule => "error-rule",
            RefusalKind::Duplicate => "error-duplicate",
            RefusalKind::Forged => "error-forged",
            RefusalKind::TooManyTries => "error-too-many-tries",
        }),
        Error::Usage(_) => tr.t("error-invalid"),
        Error::Unreachable(_) => tr.t("error-unreachable"),
        Error::Storage(_) => {
            tracing::error!("a web request failed: {}", e.chain());
            tr.t("error-node-trouble")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Lang, ids};

    #[test]
    fn every_code_has_a_message_in_both_languages() {
        for lang in Lang::ALL {
            let known = ids(lang);
            for code in CODES {
                assert!(
                    known.iter().any(|k| k == &format!("error-{code}")),
                    "error-{code} is missing in {lang:?}"
                );
            }
        }
    }

    /// Every key the domain attaches to a refusal is listed here (so it has its messages).
    #[test]
    fn every_code_the_domain_uses_is_listed() {
        let sources = [
            include_str!("../domain/lifecycle.rs"),
            include_str!("../domain/learners.rs"),
            include_str!("../domain/people.rs"),
            include_str!("../domain/text.rs"),
            include_str!("../domain/catalog.rs"),
            include_str!("../domain/roster.rs"),
            include_str!("../sync/provision.rs"),
            include_str!("../app/site_ops.rs"),
        ];
        for src in sources {
            for (i, _) in src.match_indices(".coded(") {
                let rest = &src[i + 7..];
                let start = rest.find('"').unwrap() + 1;
                let end = start + rest[start..].find('"').unwrap();
                let key = &rest[start..end];
                assert!(CODES.contains(&key), "{key} is not in web::errors::CODES");
            }
        }
    }

    #[test]
    fn a_refusal_reads_in_the_persons_language_without_flags() {
        let e = Error::invalid("evidence needs a narrative (--narrative) or a file (--file)")
            .coded("evidence-empty", &[]);
        let es = message(&Tr::new(Lang::Es), &e);
        assert!(!es.contains("--") && !es.contains('⟦'), "{es}");
        let field = crate::domain::text::check_line(crate::domain::text::Field::GivenName, "", 10)
            .unwrap_err();
        let es = message(&Tr::new(Lang::Es), &field);
        assert!(!es.contains("given") && !es.contains('⟦'), "{es}");
    }
}
