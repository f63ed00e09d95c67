//! A printable certificate for a learner leaving a facility: one HTML page that prints on one
//! Letter or A4 sheet, with the signed credential embedded (and downloadable from the page) and a
//! QR code that carries the signed credential itself, compressed ([`crate::qr`]), inside a link
//! to the offline verifier page: a phone that scans the paper checks the signature there.
//!
//! The page's `<head>` and `<body>` tags are plain: the web interface inserts its toolbar after
//! `<body>` and a refresh before `</head>`.
//!
//! Its words are the reader's: the caller supplies them through [`Words`] (the node from its
//! message catalogs), so this crate holds no translations; [`MESSAGES`] lists the ones it asks
//! for, and the node's tests check both catalogs hold each.

use crate::qr;
use base64::Engine;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde_json::Value;

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(n) => cur = n,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

/// What the certificate's QR code holds: the verifier link with the credential in it.
pub fn qr_content(credential: &Value, verifier_url: &str) -> Result<String, qr::QrError> {
    qr::link(verifier_url, credential)
}

/// The QR code as SVG (error correction M: a scuffed or folded paper still reads).
pub fn qr_svg(content: &str) -> Option<String> {
    QrCode::with_error_correction_level(content.as_bytes(), EcLevel::M)
        .ok()
        .map(|code| {
            code.render::<svg::Color>()
                .min_dimensions(240, 240)
                .quiet_zone(true)
                .build()
        })
}

/// The program a credential chains to: the endorser of its signing key, else its issuer.
fn program_id(credential: &Value) -> &str {
    match credential.pointer("/issuer/endorsement/0/issuer") {
        Some(p) if p.is_object() => s(p, &["id"]),
        _ => s(credential, &["issuer", "id"]),
    }
}

/// The cryptosuites of a credential's proofs, in order.
fn suites(credential: &Value) -> String {
    let list: Vec<&str> = match credential.get("proof") {
        Some(Value::Array(a)) => a.iter().map(|p| s(p, &["cryptosuite"])).collect(),
        Some(p) => vec![s(p, &["cryptosuite"])],
        None => vec![],
    };
    list.join(", ")
}

/// The certificate's words in the reader's language.
pub trait Words {
    /// The language's code, for the page's `lang` attribute.
    fn lang(&self) -> &str;
    /// The message `id` (one of [`MESSAGES`]) with its named values filled in, as plain text
    /// (the page escapes it).
    fn say(&self, id: &str, args: &[(&str, String)]) -> String;
    /// A calendar date, `YYYY-MM-DD`, in the reader's words ("December 1, 2026"). By default
    /// the date as it is.
    fn date(&self, ymd: &str) -> String {
        ymd.to_string()
    }
}

/// Every message the certificate asks [`Words`] for, and the values each takes.
pub const MESSAGES: &[(&str, &[&str])] = &[
    ("certificate-certifies", &["issuer"]),
    ("certificate-issuer-unnamed", &[]),
    ("certificate-has-earned", &[]),
    ("certificate-level", &["level"]),
    ("certificate-criteria", &[]),
    ("certificate-made-of", &[]),
    ("certificate-skills", &[]),
    ("certificate-recognized-for", &[]),
    ("certificate-awarded", &["date"]),
    ("certificate-credential-id", &["id"]),
    ("certificate-program-id", &["id"]),
    ("certificate-signed", &["suites"]),
    ("certificate-how-to-check", &[]),
    ("certificate-save-file", &[]),
];

/// The certificate page for one signed credential, for the learner named `learner_name` (printed
/// exactly as the credential's name identity was hashed), whose QR code links to the verifier
/// page at `verifier_url`, in the words of `words`.
pub fn html(
    credential: &Value,
    learner_name: &str,
    verifier_url: &str,
    words: &dyn Words,
) -> String {
    let say = |id: &str| words.say(id, &[]);
    let achievement = credential
        .pointer("/credentialSubject/achievement")
        .cloned()
        .unwrap_or(Value::Null);
    let title = s(&achievement, &["name"]);
    let date = s(credential, &["validFrom"]).get(..10).unwrap_or("");
    // The level travels as a tag written "Level N" (OB 3.0 has no level member); the reader
    // gets it in their own words, and any other tag as it is.
    let level = match achievement
        .get("tag")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .and_then(Value::as_str)
    {
        None | Some("") => String::new(),
        Some(tag) => match tag.strip_prefix("Level ").map(str::parse::<u8>) {
            Some(Ok(n)) => format!(
                "{} ",
                words.say("certificate-level", &[("level", n.to_string())])
            ),
            _ => format!("{tag}. "),
        },
    };
    let mut skills = Vec::new();
    let mut recognized = Vec::new();
    for a in achievement
        .get("alignment")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let line = match s(a, &["targetDescription"]) {
            "" => s(a, &["targetName"]).to_string(),
            d => format!("{} — {d}", s(a, &["targetName"])),
        };
        if s(a, &["targetType"]) == "ceterms:Credential" {
            recognized.push(line);
        } else {
            skills.push(line);
        }
    }
    let parts: Vec<String> = credential
        .get("evidence")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| s(e, &["genre"]) == "Credential")
        .map(|e| s(e, &["name"]).to_string())
        .collect();
    let section = |title: String, items: &[String]| -> Markup {
        html! {
            @if !items.is_empty() {
                h2 { (title) }
                ul { @for item in items { li { (item) } } }
            }
        }
    };
    let pretty = serde_json::to_string_pretty(credential).unwrap_or_default();
    // Inside <script>, `</script` ends the element and `<!--` followed by `<script` makes the
    // parser skip the real end tag (an evidence file named `<!--<script>` once blanked the page
    // below it). In JSON, `<`, `>` and `&` occur only inside strings, where `\u003c`... mean the same.
    let embedded = pretty
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let download = base64::engine::general_purpose::STANDARD.encode(pretty.as_bytes());
    let qr = qr_content(credential, verifier_url)
        .ok()
        .and_then(|c| qr_svg(&c))
        .unwrap_or_default();
    let issuer = match s(credential, &["issuer", "name"]) {
        "" => say("certificate-issuer-unnamed"),
        n => n.to_string(),
    };
    let page = html! {
        (DOCTYPE)
        html lang=(words.lang()) {
            head {
                meta charset="utf-8";
                title { (title) " — " (learner_name) }
                style { (PreEscaped(STYLE)) }
                script type="application/vc+ld+json" id="credential" {
                    "\n" (PreEscaped(embedded)) "\n"
                }
            }
            body {
                div.frame {
                    p { (words.say("certificate-certifies", &[("issuer", issuer)])) }
                    p.who { strong { (learner_name) } }
                    p { (say("certificate-has-earned")) }
                    h1 { (title) }
                    p { (level) (s(&achievement, &["description"])) }
                    h2 { (say("certificate-criteria")) }
                    p { (s(&achievement, &["criteria", "narrative"])) }
                    (section(say("certificate-made-of"), &parts))
                    (section(say("certificate-skills"), &skills))
                    (section(say("certificate-recognized-for"), &recognized))
                    div.row {
                        div {
                            p { (words.say("certificate-awarded", &[("date", words.date(date))])) }
                            p.small.ids {
                                (words.say("certificate-credential-id", &[("id", s(credential, &["id"]).to_string())]))
                                br;
                                (words.say("certificate-program-id", &[("id", program_id(credential).to_string())]))
                                br;
                                (words.say("certificate-signed", &[("suites", suites(credential))]))
                            }
                            p.small { (say("certificate-how-to-check")) }
                        }
                        // The QR code is SVG that `qrcode` drew from the payload: markup, not text.
                        div.qr { (PreEscaped(qr)) }
                    }
                    p.noprint {
                        a download="credential.json" href=(format!("data:application/json;base64,{download}")) {
                            (say("certificate-save-file"))
                        }
                    }
                }
            }
        }
    };
    page.into_string()
}

const STYLE: &str = r#"
@page { margin: 12mm; }
html, body { margin: 0; }
body { font-family: Georgia, "Times New Roman", serif; color: #111; max-width: 184mm; margin: auto; font-size: 10.5pt; }
.frame { border: 3px double #333; padding: 8mm 10mm; }
h1 { font-size: 22pt; margin: 0 0 3mm; } h2 { font-size: 11.5pt; margin: 4mm 0 1mm; }
ul { margin: 0; padding-left: 6mm; } p { margin: 2mm 0; }
.who { font-size: 18pt; margin: 4mm 0; } .small { font-size: 8pt; color: #444; }
.ids { word-break: break-all; }
.row { display: flex; justify-content: space-between; align-items: flex-end; gap: 6mm; margin-top: 4mm; }
.qr svg { width: 52mm; height: 52mm; display: block; }
@media print { .noprint { display: none; } }
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Words that show which message was asked for, with its values.
    struct Marked;
    impl Words for Marked {
        fn lang(&self) -> &str {
            "xx"
        }
        fn say(&self, id: &str, args: &[(&str, String)]) -> String {
            let values: String = args.iter().map(|(k, v)| format!(" {k}={v}")).collect();
            format!("«{id}{values}»")
        }
    }

    fn credential(learner_data: &str) -> Value {
        json!({
            "id": "urn:uuid:1",
            "validFrom": "2026-11-30T10:00:00Z",
            "issuer": {"id": "did:key:z6MkProgram", "name": learner_data},
            "credentialSubject": {"achievement": {
                "name": learner_data, "description": learner_data,
                "criteria": {"narrative": learner_data}, "tag": ["Level 2"],
                "alignment": [{"targetName": learner_data, "targetType": "ceterms:Credential"}]
            }},
            "evidence": [{"genre": "Credential", "name": learner_data}],
            "proof": [{"cryptosuite": "eddsa-rdfc-2022"}, {"cryptosuite": "eddsa-jcs-2022"}]
        })
    }

    #[test]
    fn every_fixed_word_comes_from_the_readers_words_and_data_is_escaped() {
        let hostile = "<script>alert(1)</script>";
        let page = html(&credential(hostile), hostile, "https://v.example/", &Marked);
        assert!(page.starts_with("<!DOCTYPE html><html lang=\"xx\">"));
        for (id, _) in MESSAGES {
            let optional = [
                "certificate-issuer-unnamed",
                "certificate-made-of",
                "certificate-skills",
            ];
            assert!(
                optional.contains(id) || page.contains(&format!("«{id}")),
                "{id} is not on the page"
            );
        }
        assert!(page.contains("«certificate-level level=2»"));
        assert!(page.contains("«certificate-signed suites=eddsa-rdfc-2022, eddsa-jcs-2022»"));
        assert!(page.contains("«certificate-awarded date=2026-11-30»"));
        // No English left in the page's own words.
        for english in [
            "certifies that",
            "has earned",
            "Criteria",
            "Awarded",
            "Save the",
            "scan the",
        ] {
            assert!(!page.contains(english), "{english} is printed in English");
        }
        // Every piece of data is text, never markup; the embedded credential cannot end its
        // element.
        assert!(!page.contains(hostile));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_eq!(page.matches("</script>").count(), 1);
        // The web app inserts its bar and refresh at the plain tags.
        assert_eq!(page.matches("<body>").count(), 1);
        assert_eq!(page.matches("</head>").count(), 1);
    }

    #[test]
    fn an_unnamed_issuer_and_an_unknown_tag_still_read() {
        let mut c = credential("Welding");
        c["issuer"]["name"] = json!("");
        c["credentialSubject"]["achievement"]["tag"] = json!(["Advanced"]);
        let page = html(&c, "Ana", "https://v.example/", &Marked);
        assert!(page.contains("«certificate-certifies issuer=«certificate-issuer-unnamed»»"));
        assert!(page.contains("<p>Advanced. Welding</p>"));
    }
}
