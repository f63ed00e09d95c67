//! The program is the issuer people see, and what the learner takes home names no facility.
//!
//! One story, with a hub whose program has a web address, a description, a verifier page and
//! chooses to carry the student id: a facility awards Levels 1–3 (so the micro-credential and
//! its recognition too), with an evidence file whose name and a narrative whose words name the
//! facility. Then:
//! - the site-signed copies name the program (not the site), carry the hub's endorsement of the
//!   site's key, and check out against the program's identifier alone;
//! - after one sync round trip the program-signed copies are at the site; they carry no site key;
//! - no credential, certificate or QR payload holds the site's name, the file name or the
//!   narrative;
//! - every kind of credential (badge, micro-credential, recognition, learner bundle, the
//!   endorsement) passes 1EdTech's JSON Schemas kept in tests/data/schemas;
//! - Digital Bazaar's eddsa-rdfc-2022 and eddsa-jcs-2022 suites verify every proof of every one,
//!   and refuse a copy whose second proof is corrupted;
//! - `credential verify --name` checks the name exactly as printed (NFC) and a mismatch never
//!   reads VALID.

use cairn_tests::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const SITE: &str = "Southern Maine Women's Reentry Center";
const FILE_NAME: &str = "Maria_Lopez_DOC48213_resume.txt";
const NARRATIVE: &str =
    "I fixed the printer in Unit B of the Southern Maine Women's Reentry Center";
const NAME: &str = "María José O'Neil";

fn export(c: &Cairn, args: &[&str], out: &Path) -> Value {
    let mut all = vec!["credential", "export"];
    all.extend_from_slice(args);
    all.extend(["--out", out.to_str().unwrap()]);
    c.run(&all).ok();
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

fn awards(c: &Cairn, learner: &str) -> serde_json::Map<String, Value> {
    c.run(&["learner", "show", learner]).ok()["awards"]
        .as_object()
        .unwrap()
        .clone()
}

/// `cairn credential verify` where no node is.
fn verify_anywhere(what: &str, extra: &[&str]) -> Run {
    let empty = tempfile::tempdir().unwrap();
    let mut args = vec!["credential", "verify", what];
    args.extend_from_slice(extra);
    Cairn::new(&empty.path().join("nothing-here")).run(&args)
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = format!("{}/data/schemas/{name}", env!("CARGO_MANIFEST_DIR"));
    let schema: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_valid(v: &jsonschema::Validator, what: &str, doc: &Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what} fails the schema: {errors:#?}");
}

fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    path
}

#[test]
fn the_program_issues_and_what_the_learner_takes_home_names_no_facility() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let hub = new_hub(&root.path().join("hub"));
    configure(
        &hub,
        r#"program_url = "https://www.maine.edu/micro-credentials"
program_description = "Stackable micro-credentials of the University of Maine System"
verifier_url = "https://verify.example.org/cairn"
credential_identifiers = ["student-id"]"#,
    );
    add_css_pathway(&hub);
    let site = new_site(&hub, &root.path().join("site"), SITE);
    sync_through(&hub, &[&site]);
    let hub_did = format!(
        "did:key:{}",
        hub.run(&[
            "credential",
            "verifier-page",
            "--out",
            out.join("page.html").to_str().unwrap()
        ])
        .ok()["programs"][0]["id"]
            .as_str()
            .unwrap()
            .trim_start_matches("did:key:")
    );
    let site_id = node_id(&site);

    let learner = add_learner(
        &site,
        "SMW-7",
        "María José",
        "O'Neil",
        &["--institution-id", "DOC-48213", "--pin", "4321"],
    );
    let file = root.path().join(FILE_NAME);
    std::fs::write(&file, b"resume of a learner").unwrap();
    for level in 1..=3 {
        earn(
            &site,
            &learner,
            &format!("css-level-{level}"),
            NARRATIVE,
            &file,
        );
    }
    let held = awards(&site, &learner);
    assert_eq!(
        held.len(),
        5,
        "three levels, the micro-credential, its recognition"
    );

    // The site-signed copies: the program by name, the site's key endorsed by the program.
    let mut site_copies = Vec::new();
    for (id, _) in &held {
        let c = export(&site, &[id], &out.join(format!("site-{id}.json")));
        assert_eq!(c["issuer"]["name"], "University of Maine System");
        assert_eq!(
            c["issuer"]["url"],
            "https://www.maine.edu/micro-credentials"
        );
        let signer = c["issuer"]["id"].as_str().unwrap().to_string();
        assert_ne!(signer, hub_did);
        let endorsement = &c["issuer"]["endorsement"][0];
        assert_eq!(endorsement["issuer"]["id"], hub_did.as_str());
        assert_eq!(endorsement["credentialSubject"]["id"], signer.as_str());
        let suites: Vec<&str> = c["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["cryptosuite"].as_str().unwrap())
            .collect();
        assert_eq!(suites, ["eddsa-rdfc-2022", "eddsa-jcs-2022"]);
        // A verifier who knows only the program's identifier checks the chain.
        let path = out.join(format!("site-{id}.json"));
        let r = verify_anywhere(path.to_str().unwrap(), &["--program", &hub_did]);
        assert_eq!(r.code, 0, "{}", r.stdout);
        assert_eq!(
            r.json["result"]["endorsed_by"][0]["program"],
            hub_did.as_str()
        );
        let r = verify_anywhere(
            path.to_str().unwrap(),
            &[
                "--program",
                "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            ],
        );
        assert_eq!(r.code, 3, "another program's identifier: {}", r.stdout);
        // The learner by salted hashes only: the name as printed, and the student id the
        // program chose to carry.
        let ids = c["credentialSubject"]["identifier"].as_array().unwrap();
        let types: Vec<&str> = ids
            .iter()
            .map(|i| i["identityType"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["name", "sisSourcedId"]);
        for (i, value) in ids.iter().zip([NAME, "DOC-48213"]) {
            assert_eq!(
                i["identityHash"],
                cairn_credentials::open_badges::identity_hash(value, i["salt"].as_str().unwrap())
            );
        }
        site_copies.push(c);
    }
    let site_certificate = {
        let path = out.join("site-certificate.html");
        site.run(&[
            "credential",
            "certificate",
            held.keys().next().unwrap(),
            "--out",
            path.to_str().unwrap(),
        ])
        .ok();
        std::fs::read_to_string(&path).unwrap()
    };
    let site_bundle = export(
        &site,
        &["--learner", "SMW-7"],
        &out.join("site-bundle.json"),
    );

    // The name exactly as printed, in any Unicode form; anything else is a mismatch that never
    // reads VALID.
    let micro_id = held
        .iter()
        .find(|(_, a)| a["kind"] == "pathway")
        .unwrap()
        .0
        .clone();
    let micro = out.join(format!("site-{micro_id}.json"));
    for same in [NAME, "Mari\u{301}a Jose\u{301} O'Neil"] {
        let r = verify_anywhere(micro.to_str().unwrap(), &["--name", same]);
        assert_eq!(r.code, 0, "{same}: {}", r.stdout);
        assert_eq!(r.json["result"]["identity_matches"], true);
    }
    for other in ["Maria Jose O'Neil", "maría josé o'neil"] {
        let r = verify_anywhere(micro.to_str().unwrap(), &["--name", other]);
        assert_eq!(r.code, 3, "{other}: {}", r.stdout);
        assert_eq!(r.json["ok"], false);
        assert_eq!(r.json["result"]["identity_matches"], false);
        let empty = tempfile::tempdir().unwrap();
        // As a person reads it: plain text, not --json.
        let r = std::process::Command::new(bin())
            .env_remove("CAIRN_DATA")
            .args(["--data", empty.path().join("x").to_str().unwrap()])
            .args([
                "credential",
                "verify",
                micro.to_str().unwrap(),
                "--name",
                other,
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&r.stdout);
        assert_eq!(r.status.code(), Some(3), "{other}: {text}");
        assert!(text.contains("NAME MISMATCH"), "{text}");
        assert!(
            !text.contains("VALID"),
            "a mismatch must not read VALID:\n{text}"
        );
    }

    // One round trip: the awards reach the hub; before the next session the hub signs the
    // program's copies, which come back in it.
    let h = start_hub(&hub.dir);
    assert_eq!(sync(&site, &h.addr).code, 0);
    assert_eq!(sync(&site, &h.addr).code, 0);
    h.stop();
    let back = awards(&site, &learner);
    let mut program_copies = Vec::new();
    for (id, a) in &back {
        let text = a["program_credential"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} has no program-signed copy at the site: {a}"));
        let c: Value = serde_json::from_str(text).unwrap();
        assert_eq!(c["issuer"]["id"], hub_did.as_str());
        assert!(c["issuer"].get("endorsement").is_none());
        // Exports prefer it.
        assert_eq!(
            export(&site, &[id], &out.join(format!("program-{id}.json"))),
            c
        );
        let path = out.join(format!("program-{id}.json"));
        assert_eq!(
            verify_anywhere(path.to_str().unwrap(), &["--program", &hub_did]).code,
            0
        );
        program_copies.push(c);
    }
    let site_bundle_after = export(
        &site,
        &["--learner", "SMW-7"],
        &out.join("site-bundle-2.json"),
    );
    let hub_bundle = export(&hub, &["--learner", "SMW-7"], &out.join("hub-bundle.json"));
    let cert_path = out.join("certificate.html");
    site.run(&[
        "credential",
        "certificate",
        &micro_id,
        "--out",
        cert_path.to_str().unwrap(),
    ])
    .ok();
    let certificate = std::fs::read_to_string(&cert_path).unwrap();
    let qr_credentials: Vec<Value> = program_copies
        .iter()
        .chain(&site_copies)
        .map(|c| {
            let digits = cairn_credentials::qr::encode(c).unwrap();
            cairn_credentials::qr::decode(&digits).unwrap()
        })
        .collect();
    let sites = hub.run(&["site", "list"]).ok()["sites"].clone();
    let endorsement: Value = serde_json::from_str(
        sites[0]["site"]["endorsement"]
            .as_str()
            .expect("the site's endorsement"),
    )
    .unwrap();

    // Nothing names the facility, the file or the narrative; the program's copies carry no
    // site key at all.
    let site_did = site_copies[0]["issuer"]["id"].as_str().unwrap().to_string();
    let mut everything: Vec<(String, String)> = Vec::new();
    for (i, c) in site_copies.iter().enumerate() {
        everything.push((format!("site copy {i}"), c.to_string()));
    }
    for (what, c) in [
        ("site bundle", &site_bundle),
        ("site bundle after", &site_bundle_after),
        ("hub bundle", &hub_bundle),
        ("endorsement", &endorsement),
    ] {
        everything.push((what.into(), c.to_string()));
    }
    everything.push(("site-signed certificate".into(), site_certificate));
    let mut program_side: Vec<(String, String)> = program_copies
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("program copy {i}"), c.to_string()))
        .collect();
    program_side.push(("hub bundle".into(), hub_bundle.to_string()));
    program_side.push(("certificate".into(), certificate.clone()));
    for (i, c) in qr_credentials.iter().enumerate() {
        let what = format!("QR payload {i}");
        if i < program_copies.len() {
            program_side.push((what.clone(), c.to_string()));
        }
        everything.push((what, c.to_string()));
    }
    everything.extend(program_side.iter().cloned());
    for (what, text) in &everything {
        for secret in [
            SITE,
            "Southern Maine Women&#39;s Reentry Center",
            "Reentry",
            FILE_NAME,
            "DOC48213",
            "DOC-48213",
            "fixed the printer",
            "Unit B",
        ] {
            assert!(!text.contains(secret), "{what} contains {secret:?}");
        }
    }
    for (what, text) in &program_side {
        assert!(!text.contains(&site_did), "{what} carries the site's key");
        assert!(
            !text.contains(&site_id),
            "{what} carries the site's node id"
        );
        assert!(
            !text.contains("endorsement"),
            "{what} carries an endorsement"
        );
    }
    // The certificate names the learner as the credential hashed the name, and the program.
    assert!(certificate.contains("<strong>María José O'Neil</strong>"));
    assert!(certificate.contains("University of Maine System"));

    // 1EdTech's JSON Schemas.
    let ob = schema("ob_v3p0_achievementcredential_schema.json-ld.json");
    let endorsements = schema("ob_v3p0_endorsementcredential_schema.json-ld.json");
    for (i, c) in site_copies.iter().chain(&program_copies).enumerate() {
        assert_valid(&ob, &format!("credential {i}"), c);
    }
    for c in &qr_credentials {
        assert_valid(&ob, "a QR code's credential", c);
    }
    assert_valid(&endorsements, "the endorsement", &endorsement);
    assert_valid(
        &endorsements,
        "the endorsement inside a credential",
        &site_copies[0]["issuer"]["endorsement"][0],
    );
    let clr = schema("clr_v2p0_clrcredential_schema.json");
    for (what, b) in [
        ("site bundle", &site_bundle),
        ("site bundle after", &site_bundle_after),
        ("hub bundle", &hub_bundle),
    ] {
        assert_valid(&clr, what, b);
    }
    let kinds: std::collections::BTreeSet<&str> = program_copies
        .iter()
        .map(|c| {
            c["credentialSubject"]["achievement"]["achievementType"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["Badge", "MicroCredential", "ext:Recognition"]
    );

    // Digital Bazaar's suites verify every proof of every kind; a corrupted second proof fails.
    let interop = concat!(env!("CARGO_MANIFEST_DIR"), "/../credentials/interop");
    npm_ci(interop);
    let mut files = vec![
        write(&out, "db-endorsement.json", &endorsement),
        out.join("site-bundle.json"),
        out.join("site-bundle-2.json"),
        out.join("hub-bundle.json"),
    ];
    for (id, _) in &back {
        files.push(out.join(format!("site-{id}.json")));
        files.push(out.join(format!("program-{id}.json")));
    }
    let run = |args: &[&Path], expect_failure: bool| {
        let mut cmd = std::process::Command::new("node");
        cmd.arg(format!("{interop}/verify.mjs"));
        if expect_failure {
            cmd.arg("--expect-failure");
        }
        let r = cmd.args(args).output().expect("node");
        let text =
            String::from_utf8_lossy(&r.stdout).into_owned() + &String::from_utf8_lossy(&r.stderr);
        (r.status.success(), text)
    };
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (ok, text) = run(&refs, false);
    assert!(ok, "Digital Bazaar refused one:\n{text}");
    assert_eq!(text.matches("verified (").count(), files.len(), "{text}");
    assert!(
        text.contains("eddsa-rdfc-2022:true, eddsa-jcs-2022:true"),
        "{text}"
    );
    let mut second = program_copies[0].clone();
    second["proof"][1]["proofValue"] = second["proof"][0]["proofValue"].clone();
    let bad = write(&out, "corrupted-second-proof.json", &second);
    let (ok, text) = run(&[&bad], true);
    assert!(ok, "a corrupted second proof was accepted:\n{text}");
}
