//! A printable certificate for a learner leaving a facility: one HTML page that prints on one
//! sheet, with the signed credential embedded (and downloadable from the page) and a QR code that
//! ties the paper to that exact credential.
//!
//! The QR code holds the credential's id, its issuer's DID and the SHA-256 of its canonical
//! (JCS) form. A printed page cannot carry a whole signed credential legibly, and a facility with
//! no internet has no web address to link to; with the digest, a recognizer given the credential
//! file (from this page, a USB stick or email) checks that it is the one printed here.

use base64::Engine;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What the QR code says.
pub fn qr_payload(credential: &Value) -> String {
    let canonical = serde_json_canonicalizer::to_vec(credential).unwrap_or_default();
    let id = credential.get("id").and_then(Value::as_str).unwrap_or("");
    let issuer = credential
        .get("issuer")
        .and_then(|i| i.get("id").or(Some(i)))
        .and_then(Value::as_str)
        .unwrap_or("");
    format!(
        "OB3 {id}\nissuer {issuer}\nsha256 {}",
        hex::encode(Sha256::digest(&canonical))
    )
}

/// Escape text for HTML content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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

/// The certificate page for one signed credential, for the learner named `learner_name`.
pub fn html(credential: &Value, learner_name: &str) -> String {
    let achievement = credential
        .pointer("/credentialSubject/achievement")
        .cloned()
        .unwrap_or(Value::Null);
    let date = s(credential, &["validFrom"]).get(..10).unwrap_or("");
    let level = achievement
        .get("tag")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut skills = String::new();
    let mut recognized = String::new();
    for a in achievement
        .get("alignment")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let line = match s(a, &["targetDescription"]) {
            "" => escape_html(s(a, &["targetName"])),
            d => format!(
                "{} — {}",
                escape_html(s(a, &["targetName"])),
                escape_html(d)
            ),
        };
        let list = if s(a, &["targetType"]) == "ceterms:Credential" {
            &mut recognized
        } else {
            &mut skills
        };
        list.push_str(&format!("<li>{line}</li>"));
    }
    let mut parts = String::new();
    for e in credential
        .get("evidence")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| s(e, &["genre"]) == "Credential")
    {
        parts.push_str(&format!("<li>{}</li>", escape_html(s(e, &["name"]))));
    }
    let section = |title: &str, items: &str| {
        if items.is_empty() {
            String::new()
        } else {
            format!("<h2>{title}</h2><ul>{items}</ul>")
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
    let qr = QrCode::with_error_correction_level(qr_payload(credential).as_bytes(), EcLevel::M)
        .map(|code| {
            code.render::<svg::Color>()
                .min_dimensions(180, 180)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} — {learner}</title>
<style>
@page {{ size: letter; margin: 18mm; }}
body {{ font-family: Georgia, "Times New Roman", serif; color: #111; max-width: 180mm; margin: auto; }}
.frame {{ border: 3px double #333; padding: 14mm; }}
h1 {{ font-size: 26pt; margin: 0 0 4mm; }} h2 {{ font-size: 13pt; margin: 6mm 0 2mm; }}
.who {{ font-size: 20pt; margin: 6mm 0; }} .small {{ font-size: 9pt; color: #444; word-break: break-all; }}
.row {{ display: flex; justify-content: space-between; align-items: flex-end; gap: 8mm; }}
.qr svg {{ width: 42mm; height: 42mm; }}
@media print {{ .noprint {{ display: none; }} }}
</style>
<script type="application/vc+ld+json" id="credential">
{embedded}
</script>
</head><body><div class="frame">
<p>{issuer} certifies that</p>
<p class="who"><strong>{learner}</strong></p>
<p>has earned</p>
<h1>{title}</h1>
<p>{level_line}{description}</p>
<h2>Criteria</h2><p>{criteria}</p>
{parts}{skills}{recognized}
<div class="row">
<div><p>Awarded {date}</p>
<p class="small">Credential {id}<br>Signed by {did}<br>Open Badges 3.0, proof eddsa-jcs-2022</p></div>
<div class="qr">{qr}</div>
</div>
<p class="small">To check this certificate, verify its credential file (for example with
<code>cairn credential verify FILE</code>, or any Open Badges 3.0 verifier); the QR code holds the
credential's id and fingerprint so the file can be matched to this page.</p>
<p class="noprint"><a download="credential.json" href="data:application/json;base64,{download}">Save the credential file</a></p>
</div></body></html>
"#,
        title = escape_html(s(&achievement, &["name"])),
        learner = escape_html(learner_name),
        issuer = escape_html(match s(credential, &["issuer", "name"]) {
            "" => "The issuer",
            n => n,
        }),
        level_line = if level.is_empty() {
            String::new()
        } else {
            format!("{}. ", escape_html(level))
        },
        description = escape_html(s(&achievement, &["description"])),
        criteria = escape_html(s(&achievement, &["criteria", "narrative"])),
        parts = section("Made of", &parts),
        skills = section("Skills", &skills),
        recognized = section("Recognized for", &recognized),
        id = escape_html(s(credential, &["id"])),
        did = escape_html(s(credential, &["issuer", "id"])),
    )
}
