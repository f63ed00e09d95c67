//! A printable certificate for a learner leaving a facility: one HTML page that prints on one
//! Letter or A4 sheet, with the signed credential embedded (and downloadable from the page) and a
//! QR code that carries the signed credential itself, compressed ([`crate::qr`]), inside a link
//! to the offline verifier page: a phone that scans the paper checks the signature there.
//!
//! The page's `<head>` and `<body>` tags are plain: the web interface inserts its toolbar after
//! `<body>` and a refresh before `</head>`.

use crate::qr;
use base64::Engine;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde_json::Value;

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
    list.join(" and ")
}

/// The certificate page for one signed credential, for the learner named `learner_name` (printed
/// exactly as the credential's name identity was hashed), whose QR code links to the verifier
/// page at `verifier_url`.
pub fn html(credential: &Value, learner_name: &str, verifier_url: &str) -> String {
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
    let qr = qr_content(credential, verifier_url)
        .ok()
        .and_then(|c| qr_svg(&c))
        .unwrap_or_default();

    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} — {learner}</title>
<style>
@page {{ margin: 12mm; }}
html, body {{ margin: 0; }}
body {{ font-family: Georgia, "Times New Roman", serif; color: #111; max-width: 184mm; margin: auto; font-size: 10.5pt; }}
.frame {{ border: 3px double #333; padding: 8mm 10mm; }}
h1 {{ font-size: 22pt; margin: 0 0 3mm; }} h2 {{ font-size: 11.5pt; margin: 4mm 0 1mm; }}
ul {{ margin: 0; padding-left: 6mm; }} p {{ margin: 2mm 0; }}
.who {{ font-size: 18pt; margin: 4mm 0; }} .small {{ font-size: 8pt; color: #444; word-break: break-all; }}
.row {{ display: flex; justify-content: space-between; align-items: flex-end; gap: 6mm; margin-top: 4mm; }}
.qr svg {{ width: 52mm; height: 52mm; display: block; }}
@media print {{ .noprint {{ display: none; }} }}
</style>
<script type="application/vc+ld+json" id="credential">
{embedded}
</script>
</head>
<body><div class="frame">
<p>{issuer} certifies that</p>
<p class="who"><strong>{learner}</strong></p>
<p>has earned</p>
<h1>{title}</h1>
<p>{level_line}{description}</p>
<h2>Criteria</h2><p>{criteria}</p>
{parts}{skills}{recognized}
<div class="row">
<div><p>Awarded {date}</p>
<p class="small">Credential {id}<br>Program {program}<br>Open Badges 3.0, signed {suites}</p>
<p class="small">To check this certificate, scan the code: it holds the signed credential and opens
the program's verifier page, which checks it on the phone, offline. The credential file can also
be checked with <code>cairn credential verify</code> or any Open Badges 3.0 verifier.</p></div>
<div class="qr">{qr}</div>
</div>
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
        program = escape_html(program_id(credential)),
        suites = escape_html(&suites(credential)),
    )
}
