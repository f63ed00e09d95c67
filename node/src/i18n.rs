//! Cairn's words for people: Fluent message catalogs (`locales/en.ftl`, `locales/es.ftl`), built
//! into the binary, used by the web app and the printed certificate, chosen per person (a
//! learner's profile language, or the language picked on the sign-in page or in the header). A
//! message missing from a catalog shows as `⟦key⟧`, which the browser tests look for; a unit test
//! fails when the two catalogs do not hold the same messages or when the code asks for one that
//! neither holds.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::LazyLock;

/// A language the web app speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// From a code such as `es` or `es-MX`; English otherwise.
    pub fn from_code(code: &str) -> Lang {
        if code.trim().to_lowercase().starts_with("es") {
            Lang::Es
        } else {
            Lang::En
        }
    }

    /// Exactly `en` or `es` (what a profile or a request may name); `None` for anything else.
    pub fn known(code: &str) -> Option<Lang> {
        match code {
            "en" => Some(Lang::En),
            "es" => Some(Lang::Es),
            _ => None,
        }
    }

    /// The code for `lang=` attributes.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// Every language.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];
}

const SOURCES: [(&str, &str); 2] = [
    ("en", include_str!("locales/en.ftl")),
    ("es", include_str!("locales/es.ftl")),
];

static BUNDLES: LazyLock<Vec<FluentBundle<FluentResource>>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(code, text)| {
            let lang: unic_langid::LanguageIdentifier = code.parse().unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![lang]);
            // Plain text out: no invisible isolation marks around values.
            bundle.set_use_isolating(false);
            let resource =
                FluentResource::try_new(text.to_string()).unwrap_or_else(|(r, errors)| {
                    tracing::error!("the {code} message catalog has errors: {errors:?}");
                    r
                });
            if let Err(errors) = bundle.add_resource(resource) {
                tracing::error!("the {code} message catalog repeats messages: {errors:?}");
            }
            bundle
        })
        .collect()
});

/// Messages in one language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tr {
    /// The language.
    pub lang: Lang,
}

impl Tr {
    /// Messages in `lang`.
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    fn bundle(&self) -> &'static FluentBundle<FluentResource> {
        &BUNDLES[match self.lang {
            Lang::En => 0,
            Lang::Es => 1,
        }]
    }

    /// The message `id`.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// A calendar date (`YYYY-MM-DD`, or the start of an RFC 3339 time) in words: "December 1,
    /// 2026", "1 de diciembre de 2026". Anything that is not a date is given back as it is, so a
    /// damaged record still shows what it holds.
    pub fn date_in_words(&self, date: &str) -> String {
        let ymd = date.get(..10).unwrap_or(date);
        match crate::domain::learners::parse_date(ymd) {
            Ok(d) => self.a(
                "date-in-words",
                &[
                    ("year", d.year().to_string()),
                    ("month", u8::from(d.month()).to_string()),
                    ("day", d.day().to_string()),
                ],
            ),
            Err(_) => date.to_string(),
        }
    }

    /// The message `id` with named values.
    pub fn a(&self, id: &str, args: &[(&str, String)]) -> String {
        let mut fa = FluentArgs::new();
        for (k, v) in args {
            // Numbers stay numbers, so plurals choose their form.
            match v.parse::<f64>() {
                Ok(n) if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()) => {
                    fa.set(*k, FluentValue::from(n))
                }
                _ => fa.set(*k, FluentValue::from(v.clone())),
            }
        }
        self.format(id, Some(&fa))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        let bundle = self.bundle();
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            return format!("⟦{id}⟧");
        };
        let mut errors = vec![];
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!("message {id} in {}: {errors:?}", self.lang.code());
        }
        text.into_owned()
    }
}

/// The printed certificate speaks through the same catalogs.
impl cairn_credentials::certificate::Words for Tr {
    fn lang(&self) -> &str {
        self.lang.code()
    }

    fn say(&self, id: &str, args: &[(&str, String)]) -> String {
        self.a(id, args)
    }

    fn date(&self, ymd: &str) -> String {
        self.date_in_words(ymd)
    }
}

/// Whether the catalogs hold a message `id`.
pub fn has(id: &str) -> bool {
    BUNDLES[0].has_message(id)
}

/// The message ids a catalog defines.
pub fn ids(lang: Lang) -> Vec<String> {
    let text = SOURCES[match lang {
        Lang::En => 0,
        Lang::Es => 1,
    }]
    .1;
    text.lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn both_catalogs_hold_the_same_messages_and_parse_cleanly() {
        let en: BTreeSet<String> = ids(Lang::En).into_iter().collect();
        let es: BTreeSet<String> = ids(Lang::Es).into_iter().collect();
        let only_en: Vec<_> = en.difference(&es).collect();
        let only_es: Vec<_> = es.difference(&en).collect();
        assert!(
            only_en.is_empty() && only_es.is_empty(),
            "missing in Spanish: {only_en:?}; missing in English: {only_es:?}"
        );
        for (code, text) in SOURCES {
            assert!(
                FluentResource::try_new(text.to_string()).is_ok(),
                "the {code} catalog does not parse"
            );
        }
        for id in &en {
            for lang in Lang::ALL {
                let t = Tr::new(lang).a(id, &[]);
                assert!(!t.contains('⟦'), "{id} in {lang:?}");
            }
        }
    }

    /// Every message the code asks for by a literal id exists (ids built at run time — errors,
    /// fields, enum values — are checked by their own tests).
    #[test]
    fn every_message_the_code_names_exists() {
        let sources = [
            include_str!("web/mod.rs"),
            include_str!("web/layout.rs"),
            include_str!("web/learner.rs"),
            include_str!("web/staff.rs"),
            include_str!("web/hub.rs"),
            include_str!("web/operate.rs"),
            include_str!("web/first_run.rs"),
            include_str!("web/errors.rs"),
            include_str!("web/words.rs"),
            include_str!("domain/credentials.rs"),
        ];
        let known: BTreeSet<String> = ids(Lang::En).into_iter().collect();
        let mut missing = BTreeSet::new();
        for src in sources {
            for pat in [".t(\"", ".a(\""] {
                for (i, _) in src.match_indices(pat) {
                    let rest = &src[i + pat.len()..];
                    if let Some(end) = rest.find('"') {
                        let id = &rest[..end];
                        if !id.contains('{') && !known.contains(id) {
                            missing.insert(id.to_string());
                        }
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "messages the code names but no catalog holds: {missing:?}"
        );
    }

    /// The certificate's messages, named in another crate, are in both catalogs and take the
    /// values the certificate gives them (a value the catalog does not use, or one it uses that
    /// is not given, is a mistake in one of the two).
    #[test]
    fn the_certificates_messages_are_in_both_catalogs_with_their_values() {
        for (id, values) in cairn_credentials::certificate::MESSAGES {
            for lang in Lang::ALL {
                let tr = Tr::new(lang);
                let bare = tr.t(id);
                assert!(!bare.contains('⟦'), "{id} is missing in {lang:?}");
                let args: Vec<(&str, String)> =
                    values.iter().map(|v| (*v, format!("<{v}>"))).collect();
                let filled = tr.a(id, &args);
                for v in *values {
                    assert!(
                        filled.contains(&format!("<{v}>")),
                        "{id} in {lang:?} drops ${v}"
                    );
                }
                assert!(
                    !filled.contains("{$"),
                    "{id} in {lang:?} wants a value not given: {filled}"
                );
            }
        }
    }

    /// A refused roster says how many lines need fixing in words a reader can follow: one
    /// line or several, never "line(s)".
    #[test]
    fn a_refused_roster_counts_its_lines_in_plain_words() {
        let (en, es) = (Tr::new(Lang::En), Tr::new(Lang::Es));
        let args = |count: &str| [("line", "3".to_string()), ("count", count.to_string())];
        let one = en.a("error-roster-line", &args("1"));
        assert!(
            one.starts_with("Nothing was imported. Line 3 of the roster needs fixing. Check"),
            "{one}"
        );
        let four = en.a("error-roster-line", &args("4"));
        assert!(
            four.contains("4 lines of the roster need fixing. The first is line 3. Check"),
            "{four}"
        );
        let uno = es.a("error-roster-line", &args("1"));
        assert!(
            uno.contains("Hay que corregir la línea 3 de la lista. Compruebe"),
            "{uno}"
        );
        let cuatro = es.a("error-roster-line", &args("4"));
        assert!(
            cuatro.contains(
                "Hay que corregir 4 líneas de la lista. La primera es la línea 3. Compruebe"
            ),
            "{cuatro}"
        );
        for text in [one, four, uno, cuatro] {
            assert!(!text.contains("(s)") && !text.contains('\n'), "{text}");
        }
    }

    #[test]
    fn dates_read_in_words_in_both_languages() {
        let (en, es) = (Tr::new(Lang::En), Tr::new(Lang::Es));
        assert_eq!(en.date_in_words("2026-12-01T14:30:05Z"), "December 1, 2026");
        assert_eq!(es.date_in_words("2026-12-01"), "1 de diciembre de 2026");
        assert_eq!(en.date_in_words("2026-01-31"), "January 31, 2026");
        // Not a date: shown as it is.
        assert_eq!(en.date_in_words("2026-02-30"), "2026-02-30");
        assert_eq!(es.date_in_words("soon"), "soon");
        assert_eq!(en.date_in_words(""), "");
        for lang in Lang::ALL {
            let tr = Tr::new(lang);
            let months: std::collections::HashSet<String> = (1..=12)
                .map(|m| tr.date_in_words(&format!("2026-{m:02}-15")))
                .collect();
            assert_eq!(
                months.len(),
                12,
                "a month shares its name in {lang:?}: {months:?}"
            );
            for m in &months {
                assert!(
                    m.contains("15") && m.contains("2026") && !m.contains('-'),
                    "{m}"
                );
            }
        }
    }

    proptest::proptest! {
        /// Whatever a record holds, a date is shown: in words when it is one, as it is when not.
        #[test]
        fn any_text_gives_a_date_in_words_or_itself(text in "\\PC{0,24}", y in 1i32..9999, m in 1u8..=12, d in 1u8..=28) {
            for lang in Lang::ALL {
                let tr = Tr::new(lang);
                let shown = tr.date_in_words(&text);
                proptest::prop_assert!(!shown.contains('⟦'));
                let date = format!("{y:04}-{m:02}-{d:02}");
                let words = tr.date_in_words(&date);
                proptest::prop_assert!(words.contains(&y.to_string()) && words.contains(&d.to_string()), "{}", words);
                proptest::prop_assert!(!words.contains(&date));
            }
        }
    }

    #[test]
    fn values_and_plurals_fill_in() {
        let en = Tr::new(Lang::En);
        assert!(
            !en.a("entries-count", &[("count", "1".into())])
                .contains('⟦')
        );
        assert_ne!(
            en.a("entries-count", &[("count", "1".into())]),
            en.a("entries-count", &[("count", "2".into())])
        );
    }
}
