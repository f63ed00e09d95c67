//! Open Badges 3.0 credentials through the command line: signed where the award is made (the
//! program named as issuer, the site's key endorsed by it), the program's own copy from the hub,
//! verified with no store, refused with the right words when anything is changed or the signing
//! site is revoked.

use cairn_tests::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn award_ids(c: &Cairn, learner: &str) -> Vec<(String, Value)> {
    let r = c.run(&["learner", "show", learner]).ok().clone();
    r["awards"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `cairn credential verify` from a folder with no node in it.
fn verify_anywhere(file: &Path, extra: &[&str]) -> Run {
    let empty = tempfile::tempdir().unwrap();
    let mut args = vec!["credential", "verify", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    Cairn::new(&empty.path().join("nothing-here")).run(&args)
}

fn write_json(path: &Path, v: &Value) -> PathBuf {
    std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    path.to_path_buf()
}

#[test]
fn an_award_made_at_a_site_is_a_credential_anyone_can_verify_offline() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(
        &hub,
        &root.path().join("site"),
        "Southern Maine Women's Reentry Center",
    );
    sync_through(&hub, &[&site]);
    let f = root.path().join("log.txt");
    std::fs::write(&f, b"ticket log").unwrap();
    let learner = learner_with_award(&site, "SMW-1", "workready", &f);
    let (award, record) = award_ids(&site, &learner).remove(0);
    let file = root.path().join("badge.json");
    let cred = export_credential(&site, &award, &file);

    // What is in it.
    assert_eq!(
        cred["type"],
        serde_json::json!(["VerifiableCredential", "OpenBadgeCredential"])
    );
    assert_eq!(cred["@context"][0], "https://www.w3.org/ns/credentials/v2");
    assert_eq!(
        cred["@context"][1],
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
    );
    assert_eq!(cred["proof"][0]["cryptosuite"], "eddsa-rdfc-2022");
    assert_eq!(cred["proof"][1]["cryptosuite"], "eddsa-jcs-2022");
    assert!(
        cred["issuer"]["id"]
            .as_str()
            .unwrap()
            .starts_with("did:key:z6Mk")
    );
    // The program is the issuer people see; the site only by its key, which the program
    // endorsed.
    assert_eq!(cred["issuer"]["name"], "University of Maine System");
    assert!(cred["issuer"].get("description").is_none());
    assert_eq!(
        cred["issuer"]["endorsement"][0]["credentialSubject"]["id"],
        cred["issuer"]["id"]
    );
    assert_eq!(cred["validFrom"], record["awarded_at"]);
    let achievement = &cred["credentialSubject"]["achievement"];
    assert_eq!(achievement["name"], "WorkReady");
    assert_eq!(achievement["criteria"]["narrative"], "c");
    assert_eq!(achievement["tag"][0], "Level 1");
    // The learner by a salted hash only; evidence by content hash and a neutral name only (no
    // narrative text, no file name, no site name).
    let text = serde_json::to_string(&cred).unwrap();
    assert!(
        !text.contains("SMW-1")
            && !text.contains("did it")
            && !text.contains("log.txt")
            && !text.contains("Reentry"),
        "{text}"
    );
    let files: Vec<&Value> = cred["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["genre"] == "File")
        .collect();
    assert_eq!(files[0]["name"], "Evidence 2 (file)");
    assert!(
        files[0]["id"]
            .as_str()
            .unwrap()
            .starts_with("ni:///sha-256;")
    );

    // Verified with no store and no network.
    let r = verify_anywhere(&file, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json["result"]["standing"]["standing"], "not_checked");
    // The name as printed on the certificate ("G SMW-1"), however it is spaced; not folded.
    let r = verify_anywhere(&file, &["--name", "G  SMW-1"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json["result"]["identity_matches"], true);
    let r = verify_anywhere(&file, &["--name", "g smw-1"]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert_eq!(r.json["result"]["identity_matches"], false);
    let r = verify_anywhere(&file, &["--name", "Somebody Else"]);
    assert_eq!(r.code, 3);
    assert_eq!(r.json["result"]["identity_matches"], false);

    // The hub, once it holds the record, hands out the program's own copy of the award: same
    // credential id and content, issued and signed by the hub, no site key. It still knows the
    // site that signed the first copy.
    sync_through(&hub, &[&site]);
    let at_hub = export_credential(&hub, &award, &root.path().join("from-hub.json"));
    assert_eq!(at_hub["id"], cred["id"]);
    assert_eq!(
        at_hub["credentialSubject"]["achievement"],
        cred["credentialSubject"]["achievement"]
    );
    assert_eq!(
        at_hub["issuer"]["id"],
        cred["issuer"]["endorsement"][0]["issuer"]["id"]
    );
    assert!(
        !at_hub
            .to_string()
            .contains(cred["issuer"]["id"].as_str().unwrap())
    );
    let r = hub.run(&["credential", "verify", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        r.json["result"]["standing"],
        serde_json::json!({"standing": "admitted", "name": "Southern Maine Women's Reentry Center"})
    );

    // Any change is caught, in words.
    let mut changed = cred.clone();
    changed["credentialSubject"]["achievement"]["name"] = "WorkReady Plus".into();
    let r = verify_anywhere(
        &write_json(&root.path().join("changed.json"), &changed),
        &[],
    );
    assert_eq!(r.code, 3);
    assert!(
        r.json["ok"] == false
            && r.json["result"]["problems"][0]
                .as_str()
                .unwrap()
                .starts_with("the signature does not match"),
        "{}",
        r.stdout
    );
    let mut dated = cred.clone();
    dated["validFrom"] = "2020-01-01T00:00:00Z".into();
    assert_eq!(
        verify_anywhere(&write_json(&root.path().join("dated.json"), &dated), &[]).code,
        3
    );
    std::fs::write(root.path().join("junk.json"), b"{not json").unwrap();
    let r = verify_anywhere(&root.path().join("junk.json"), &[]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("not valid JSON"), "{}", r.stderr);
    let r = verify_anywhere(&root.path().join("missing.json"), &[]);
    assert_eq!(r.code, 3);

    // A second award reaches the hub, and the hub revokes the site before it has made the
    // program's copy. It comes on a USB stick: a hub that is running signs the copies of what a
    // sync session brought once the session is over, so a revocation after a session races
    // that run; importing a bundle signs nothing (exports and sessions sign first).
    earn(&site, &learner, "css-level-1", "second", &f);
    let second = award_ids(&site, &learner)
        .into_iter()
        .find(|(id, _)| *id != award)
        .unwrap()
        .0;
    let stick = root.path().join("second.cairn");
    site.run(&["bundle", "export", "--out", stick.to_str().unwrap()])
        .ok();
    hub.run(&["bundle", "import", stick.to_str().unwrap()]).ok();
    hub.run(&["site", "revoke", &node_id(&site)]).ok();
    // The program never vouches for an award of a revoked site: no program copy is made for
    // it, and the hub hands out only what the site signed, which it calls not valid.
    let second_file = root.path().join("second.json");
    let second_cred = export_credential(&hub, &second, &second_file);
    assert_eq!(second_cred["issuer"]["id"], cred["issuer"]["id"]);
    let at_hub_record = hub.run(&["learner", "show", &learner]).ok().clone();
    assert!(at_hub_record["awards"][&second]["program_credential"].is_null());
    assert!(at_hub_record["awards"][&award]["program_credential"].is_string());
    let r = hub.run(&["credential", "verify", second_file.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stdout);

    // Once the hub revokes the site, the program no longer trusts what its key signs.
    let r = hub.run(&["credential", "verify", file.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(
        r.json["result"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_pathway_micro_credential_names_its_parts_and_a_learner_takes_all_their_credentials() {
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    add_css_pathway(&hub);
    let f = root.path().join("e.txt");
    std::fs::write(&f, b"evidence").unwrap();
    let learner = learner_with_award(&hub, "UMS-7", "css-level-1", &f);
    let other = learner_with_award(&hub, "UMS-8", "workready", &f);
    for level in 2..=3 {
        earn(&hub, &learner, &format!("css-level-{level}"), "", &f);
    }
    let awards = award_ids(&hub, &learner);
    // Three levels, the micro-credential, and the recognition of the micro-credential.
    assert_eq!(awards.len(), 5);
    let (micro_id, micro) = awards.iter().find(|(_, a)| a["kind"] == "pathway").unwrap();
    let (recognition_id, recognition) = awards
        .iter()
        .find(|(_, a)| a["kind"] == "recognition")
        .unwrap();
    assert_eq!(recognition["recognition"], "css-as-cis");
    assert_eq!(&recognition["recognizes"], micro_id);
    let recognized = export_credential(&hub, recognition_id, &root.path().join("recognition.json"));
    assert_eq!(
        recognized["credentialSubject"]["achievement"]["name"],
        "9 college credits toward AS Computer Information Systems"
    );
    assert_eq!(
        recognized["credentialSubject"]["achievement"]["achievementType"],
        "ext:Recognition"
    );
    let micro_cred = export_credential(&hub, micro_id, &root.path().join("micro.json"));
    let achievement = &micro_cred["credentialSubject"]["achievement"];
    assert_eq!(achievement["achievementType"], "MicroCredential");
    assert_eq!(achievement["name"], "Computer Support Specialist");
    assert_eq!(
        achievement["alignment"][0]["targetType"],
        "ceterms:Credential"
    );
    assert!(
        achievement["alignment"][0]["targetDescription"]
            .as_str()
            .unwrap()
            .starts_with("9 credits")
    );
    // Its evidence is its three part credentials, by their credential ids.
    let mut part_ids: Vec<String> = Vec::new();
    for part in micro["parts"].as_array().unwrap() {
        let c = export_credential(&hub, part.as_str().unwrap(), &root.path().join("part.json"));
        if c["credentialSubject"]["achievement"]["tag"][0] != "Level 1" {
            assert_eq!(
                c["credentialSubject"]["achievement"]["alignment"][0]["targetName"],
                "Troubleshooting"
            );
        }
        part_ids.push(c["id"].as_str().unwrap().to_string());
    }
    let named: Vec<String> = micro_cred["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(named, part_ids);

    // All of a learner's credentials in one signed bundle; each inside verifies too.
    let all = root.path().join("all.json");
    hub.run(&[
        "credential",
        "export",
        "--learner",
        "UMS-7",
        "--out",
        all.to_str().unwrap(),
    ])
    .ok();
    let r = verify_anywhere(&all, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json["result"]["kind"], "ClrCredential");
    assert_eq!(r.json["result"]["contains"].as_array().unwrap().len(), 5);

    // The learner takes their own credentials, never another's.
    let me = [
        ("CAIRN_AS", ""),
        ("CAIRN_AS_LEARNER", "UMS-7"),
        ("CAIRN_SECRET", "4321"),
    ];
    let own = root.path().join("own.json");
    hub.run_as(
        &me,
        &[
            "credential",
            "export",
            micro_id,
            "--out",
            own.to_str().unwrap(),
        ],
    )
    .ok();
    let (other_award, _) = award_ids(&hub, &other).remove(0);
    let r = hub.run_as(
        &me,
        &[
            "credential",
            "export",
            &other_award,
            "--out",
            root.path().join("x.json").to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 3);
    assert!(!root.path().join("x.json").exists());

    // A printable certificate, made out by name, with the credential inside and a QR code.
    let html = root.path().join("certificate.html");
    hub.run(&[
        "credential",
        "certificate",
        micro_id,
        "--out",
        html.to_str().unwrap(),
    ])
    .ok();
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("G UMS-7"));
    // The QR code links to the verifier page with the credential in it.
    assert!(page.contains("<svg"));
    assert!(page.contains("Computer Support Specialist Level 2"));
    assert!(page.contains("9 college credits toward AS Computer Information Systems"));
    assert!(page.contains("<svg"));
    let start = page
        .find("<script type=\"application/vc+ld+json\" id=\"credential\">")
        .unwrap();
    let body = &page[start..];
    let json_text = &body[body.find('\n').unwrap()..body.find("</script>").unwrap()];
    let embedded: Value = serde_json::from_str(json_text).unwrap();
    assert_eq!(embedded, micro_cred);
    assert!(page.contains("<html lang=\"en\">") && page.contains("has earned"));

    // In the learner's language: asked for, or the learner's own interface language.
    let certificate = |extra: &[&str], name: &str| -> String {
        let out = root.path().join(name);
        let mut args = vec!["credential", "certificate", micro_id, "--out"];
        args.push(out.to_str().unwrap());
        args.extend_from_slice(extra);
        hub.run(&args).ok();
        std::fs::read_to_string(&out).unwrap()
    };
    let english_words = [
        "certifies that",
        "has earned",
        "Criteria",
        "Awarded",
        "Save the",
    ];
    let spanish = |page: &str| {
        assert!(page.contains("<html lang=\"es\">"));
        for w in [
            "certifica que",
            "ha obtenido",
            "Criterios",
            "Otorgado el",
            "Reconocido para",
        ] {
            assert!(
                page.contains(w),
                "{w} is missing from the Spanish certificate"
            );
        }
        for w in english_words {
            assert!(
                !page.contains(w),
                "{w} is in English on the Spanish certificate"
            );
        }
        assert!(page.contains("G UMS-7"));
    };
    spanish(&certificate(&["--lang", "es"], "es.html"));
    hub.run(&["learner", "edit", &learner, "--interface-language", "es"])
        .ok();
    spanish(&certificate(&[], "own.html"));
    let asked = certificate(&["--lang", "en"], "en.html");
    assert!(english_words.iter().all(|w| asked.contains(w)));
    let r = hub.run(&[
        "credential",
        "certificate",
        micro_id,
        "--lang",
        "fr",
        "--out",
        root.path().join("fr.html").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("en") && r.stderr.contains("es"));
    assert!(!root.path().join("fr.html").exists());
}
