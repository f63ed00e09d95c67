//! Text people type and text Cairn prints. What is typed is checked (length, no control
//! characters); what is printed from a record, a file or a peer is made harmless for a terminal,
//! so a name carrying `ESC [ 2 J` or a forged credential saying `\rVALID:` cannot paint on the
//! screen of the person reading it.

use crate::error::{Error, Result};
use std::borrow::Cow;

/// Characters that change how a terminal (or a bidirectional renderer) shows what follows:
/// C0 and C1 controls, DEL, and the Unicode bidirectional overrides and isolates.
fn is_steering(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// `value` with every steering character (newlines and tabs included) shown as `\u{..}`: for one
/// value printed inside a line.
pub fn printable(value: &str) -> Cow<'_, str> {
    escape(value, |_| false)
}

/// `text` with every steering character except line feeds and tabs shown as `\u{..}`: for whole
/// blocks of output whose lines Cairn itself wrote.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n' || c == '\t')
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_steering(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_steering(c) && !keep(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

macro_rules! fields {
    ($($(#[$doc:meta])* $f:ident = $key:literal, $english:literal;)*) => {
        /// A field people type into, named for messages in any language.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Field {
            $($(#[$doc])* $f,)*
        }

        impl Field {
            /// Every field.
            pub const ALL: &'static [Field] = &[$(Field::$f),*];

            /// Its name in English messages.
            pub fn english(self) -> &'static str {
                match self { $(Field::$f => $english,)* }
            }

            /// Its message key (`field-KEY` in the web's catalogs).
            pub fn key(self) -> &'static str {
                match self { $(Field::$f => $key,)* }
            }
        }
    };
}

fields! {
    /// A learner's given name.
    GivenName = "given-name", "given name";
    /// A learner's family name.
    FamilyName = "family-name", "family name";
    /// An institution.
    Institution = "institution", "institution";
    /// The institution's own id for a learner.
    InstitutionId = "institution-id", "institution's id";
    /// A primary language.
    PrimaryLanguage = "primary-language", "primary language";
    /// How socioeconomic status was determined.
    SesDetermination = "ses-determination", "socioeconomic status determination";
    /// A staff user's name.
    UserName = "user-name", "user name";
    /// A site's name.
    SiteName = "site-name", "site name";
    /// Why something was done.
    Reason = "reason", "reason";
    /// A catalog item's name.
    Name = "name", "name";
    /// A description.
    Description = "description", "description";
    /// An achievement's criteria.
    Criteria = "criteria", "criteria";
    /// What evidence to submit.
    EvidenceRequirements = "evidence-requirements", "evidence requirements";
    /// An Open Badges achievement type.
    AchievementType = "achievement-type", "achievement type";
    /// A program.
    Program = "program", "program";
    /// Who recognizes.
    Recognizer = "recognizer", "recognizer";
    /// A skill's name.
    SkillName = "skill-name", "skill name";
    /// A skill's framework.
    SkillFramework = "skill-framework", "skill framework";
    /// A skill's code.
    SkillCode = "skill-code", "skill code";
    /// A skill's address.
    SkillAddress = "skill-address", "skill address";
    /// A learner's narrative.
    Narrative = "narrative", "narrative";
    /// An assessor's feedback.
    Feedback = "feedback", "feedback";
    /// An outcome's details.
    Detail = "detail", "detail";
    /// A file's name.
    FileName = "file-name", "file name";
    /// The hub's network address.
    HubAddress = "hub-address", "hub address";
}

/// Check a one-line field: 1 to `max` characters (after trimming), no control characters.
pub fn check_line(field: Field, value: &str, max: usize) -> Result<()> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(
            Error::invalid(format!("the {} has 1 to {max} characters", field.english())).coded(
                "text-length",
                &[("field", field.key().into()), ("max", max.to_string())],
            ),
        );
    }
    if value.chars().any(is_steering) {
        return Err(control(field));
    }
    Ok(())
}

fn control(field: Field) -> Error {
    Error::invalid(format!(
        "the {} contains control characters (such as a terminal escape); type it again as plain text",
        field.english()
    ))
    .coded("text-control", &[("field", field.key().into())])
}

/// Check an optional one-line field: when given, as [`check_line`].
pub fn check_optional_line(field: Field, value: Option<&str>, max: usize) -> Result<()> {
    match value {
        Some(v) => check_line(field, v, max),
        None => Ok(()),
    }
}

/// Check a paragraph: 1 to `max` characters; line breaks and tabs allowed, other control
/// characters not.
pub fn check_paragraphs(field: Field, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() || value.chars().count() > max {
        return Err(
            Error::invalid(format!("the {} has 1 to {max} characters", field.english())).coded(
                "text-length",
                &[("field", field.key().into()), ("max", max.to_string())],
            ),
        );
    }
    if value
        .chars()
        .any(|c| is_steering(c) && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(control(field));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the input, nothing that steers a terminal survives, and plain text is kept.
        #[test]
        fn printed_text_never_steers_a_terminal(s in "\\PC{0,40}|[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}\\u{202a}-\\u{202e}a-z]{0,40}") {
            let shown = printable(&s);
            prop_assert!(!shown.chars().any(is_steering));
            let block = terminal_safe(&s);
            prop_assert!(!block.chars().any(|c| is_steering(c) && c != '\n' && c != '\t'));
            if !s.chars().any(is_steering) {
                prop_assert_eq!(shown.as_ref(), s.as_str());
            }
        }
    }

    #[test]
    fn escapes_are_refused_and_plain_text_accepted() {
        assert!(check_line(Field::Name, "Forklift \u{1b}[31mSafety", 100).is_err());
        assert!(check_line(Field::Name, "Lab\u{202e}gnp.exe", 100).is_err());
        assert!(check_line(Field::Name, "a\nb", 100).is_err());
        assert!(check_line(Field::Name, "María José O'Neil", 100).is_ok());
        assert!(check_line(Field::Name, &"x".repeat(101), 100).is_err());
        assert!(check_paragraphs(Field::Criteria, "line one\nline two\ttab", 100).is_ok());
        assert!(check_paragraphs(Field::Criteria, "bell\u{7}", 100).is_err());
    }
}
