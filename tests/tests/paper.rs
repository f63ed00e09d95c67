//! The certificate on paper, checked as a recognizer with a phone would: Debian's headless
//! Chromium renders the certificate, zbarimg decodes its QR code from the screenshot, and the
//! offline verifier page (opened from file://, every other request refused) says VALID for what
//! the code holds and INVALID for a tampered copy; `cairn credential verify` reads the same
//! code. The print preview is one page on Letter and on A4. Screenshots and PDFs are kept in
//! `test-artifacts/paper/`.

use cairn_tests::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn paper(args: &[&str]) -> Value {
    let here = concat!(env!("CARGO_MANIFEST_DIR"), "/paper");
    let out = Command::new("node")
        .arg(format!("{here}/paper.mjs"))
        .args(args)
        .output()
        .expect("node");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "paper.mjs {args:?} failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|_| panic!("{text}"))
}

/// Decode the QR code in a PNG with zbarimg.
fn zbar(png: &Path) -> String {
    let out = Command::new("zbarimg")
        .args(["--raw", "-q", "-Sbinary"])
        .arg(png)
        .output()
        .expect("zbarimg (.ci/run installs zbar-tools)");
    assert!(
        out.status.success(),
        "zbarimg read no code in {}",
        png.display()
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim_end_matches('\n')
        .to_string()
}

/// Print one award's certificate, decode its QR code and check it with the verifier page.
fn print_and_scan(site: &Cairn, award: &str, dir: &Path) -> (String, Value) {
    std::fs::create_dir_all(dir).unwrap();
    let cert = dir.join("certificate.html");
    site.run(&[
        "credential",
        "certificate",
        award,
        "--out",
        cert.to_str().unwrap(),
    ])
    .ok();
    let pages = paper(&["print", cert.to_str().unwrap(), dir.to_str().unwrap()]);
    assert_eq!(
        pages["letter"], 1,
        "the certificate prints on one Letter page"
    );
    assert_eq!(pages["a4"], 1, "the certificate prints on one A4 page");
    let code = zbar(&dir.join("qr.png"));
    (code, pages)
}

#[test]
fn a_phone_checks_the_paper_certificate_offline() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Debian's chromium is needed at {chromium}"
    );
    npm_ci(concat!(env!("CARGO_MANIFEST_DIR"), "/paper"));
    let artifacts = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../test-artifacts/paper"
    ));

    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    configure(&hub, r#"verifier_url = "https://verify.example.org/cairn""#);
    add_css_pathway(&hub);
    let site = new_site(
        &hub,
        &root.path().join("site"),
        "Southern Maine Women's Reentry Center",
    );
    sync_through(&hub, &[&site]);
    let learner = add_learner(&site, "SMW-1", "María José", "O'Neil", &["--pin", "4321"]);
    let file = root.path().join("ticket-log.txt");
    std::fs::write(&file, b"ticket log").unwrap();
    for level in 1..=3 {
        earn(
            &site,
            &learner,
            &format!("css-level-{level}"),
            "Fixed it",
            &file,
        );
    }
    let record = site.run(&["learner", "show", &learner]).ok().clone();
    let micro = record["awards"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, a)| a["kind"] == "pathway")
        .unwrap()
        .0
        .clone();

    // The program's verifier page, trusting the program (the hub's did:key).
    let page = root.path().join("verify.html");
    let made = site
        .run(&[
            "credential",
            "verifier-page",
            "--out",
            page.to_str().unwrap(),
        ])
        .ok()
        .clone();
    let program = made["programs"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(made["programs"][0]["name"], "University of Maine System");

    // Before the round trip: the site-signed copy, its key endorsed by the program.
    let (code, _) = print_and_scan(&site, &micro, &artifacts.join("site-copy"));
    assert!(
        code.starts_with("HTTPS://VERIFY.EXAMPLE.ORG/cairn#1"),
        "the QR code holds a link to the verifier page: {code}"
    );
    let seen = paper(&["check", page.to_str().unwrap(), &code, "María José O'Neil"]);
    assert_eq!(seen["verdict"], "VALID", "{seen}");
    assert!(
        seen["reason"].as_str().unwrap().contains("endorsed"),
        "{seen}"
    );
    assert_eq!(
        seen["details"]["Achievement"],
        "Computer Support Specialist"
    );
    assert_eq!(seen["details"]["Program"], "University of Maine System");
    assert_eq!(seen["details"]["Program identifier"], program.as_str());
    assert_eq!(
        seen["details"]["Awarded"],
        record["awards"][&micro]["awarded_at"].as_str().unwrap()[..10]
    );
    assert!(
        seen["name"]
            .as_str()
            .unwrap()
            .starts_with("The credential was made out"),
        "{seen}"
    );
    assert_eq!(
        seen["requests"],
        serde_json::json!([]),
        "the page went online"
    );

    // After one round trip: the program-signed copy.
    let h = start_hub(&hub.dir);
    assert_eq!(sync(&site, &h.addr).code, 0);
    assert_eq!(sync(&site, &h.addr).code, 0);
    h.stop();
    let (code, _) = print_and_scan(&site, &micro, &artifacts.join("program-copy"));
    let seen = paper(&["check", page.to_str().unwrap(), &code, "Maria Jose O'Neil"]);
    assert_eq!(seen["verdict"], "VALID", "{seen}");
    assert!(
        seen["reason"].as_str().unwrap().contains("program itself"),
        "{seen}"
    );
    assert!(
        seen["name"].as_str().unwrap().starts_with("MISMATCH"),
        "{seen}"
    );

    // A copy of the code with one digit changed.
    let (head, digits) = code.split_once('#').unwrap();
    let mut tampered: Vec<u8> = digits.as_bytes().to_vec();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'7' { b'3' } else { b'7' };
    let tampered = format!("{head}#{}", String::from_utf8(tampered).unwrap());
    let seen = paper(&["check", page.to_str().unwrap(), &tampered]);
    assert_eq!(seen["verdict"], "INVALID", "{seen}");

    // The page as shipped, trusting no program, checks signatures only and says so.
    let bare = root.path().join("bare.html");
    let empty = tempfile::tempdir().unwrap();
    Cairn::new(&empty.path().join("none"))
        .run(&[
            "credential",
            "verifier-page",
            "--out",
            bare.to_str().unwrap(),
        ])
        .ok();
    let seen = paper(&["check", bare.to_str().unwrap(), &code]);
    assert_eq!(seen["verdict"], "UNCONFIRMED", "{seen}");

    // `cairn credential verify` reads the same code: the link, or its digits.
    let nowhere = Cairn::new(&empty.path().join("none"));
    let r = nowhere.run(&["credential", "verify", &code, "--program", &program]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json["result"]["issuer"], program.as_str());
    let r = nowhere.run(&["credential", "verify", digits]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = nowhere.run(&["credential", "verify", &tampered]);
    assert_eq!(r.code, 3, "{}", r.stdout);
}
