//! `cairn demo` end to end: it runs, and what it leaves behind is what its story says.

use cairn_tests::*;

#[test]
fn the_demo_tells_the_whole_story_and_leaves_nodes_that_agree_with_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("demo");
    let r = Cairn::new(&root.path().join("unused")).run(&["demo", "--keep", dir.to_str().unwrap()]);
    let out = r.ok().clone();

    // The micro-credential verifies with no store, and at the hub names its signer and the
    // learner it was made out to. The facility signed it offline; the hub's bundle brought back
    // the program-signed copy, which is what the facility now hands out: signed by the hub,
    // with no endorsement and nothing about the facility.
    assert_eq!(out["verification"]["problems"], serde_json::json!([]));
    assert_eq!(out["verification"]["kind"], "OpenBadgeCredential");
    assert_eq!(
        out["verification_at_hub"]["standing"],
        serde_json::json!({"standing": "admitted", "name": "University of Maine System"})
    );
    assert_eq!(out["verification_at_hub"]["identity_matches"], true);
    let cred: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out["credential"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(cred["issuer"]["name"], "University of Maine System");
    assert!(cred["issuer"].get("endorsement").is_none(), "{cred}");
    assert!(!cred.to_string().contains("Southern Maine"), "{cred}");
    let hub_id = Cairn::new(&dir.join("hub")).run(&["id"]).ok().clone();
    let facility = Cairn::new(&dir.join("facility")).acting_as("ada", "222222");
    let maria = facility
        .run(&["learner", "show", "SMWRC-0001"])
        .ok()
        .clone();
    let micro = &maria["awards"][out["micro_credential_award"].as_str().unwrap()];
    let site_copy: serde_json::Value =
        serde_json::from_str(micro["credential"].as_str().unwrap()).unwrap();
    let program_copy: serde_json::Value =
        serde_json::from_str(micro["program_credential"].as_str().unwrap()).unwrap();
    assert_eq!(program_copy, cred);
    assert_ne!(site_copy["issuer"]["id"], cred["issuer"]["id"]);
    assert_eq!(
        site_copy["issuer"]["endorsement"][0]["issuer"]["id"], cred["issuer"]["id"],
        "the site's key is endorsed by the program (hub {hub_id})"
    );
    assert_eq!(
        cred["credentialSubject"]["achievement"]["achievementType"],
        "MicroCredential"
    );
    assert_eq!(
        cred["evidence"].as_array().unwrap().len(),
        3,
        "names its three parts"
    );
    let v = Cairn::new(&root.path().join("nothing")).run(&[
        "credential",
        "verify",
        out["credential"].as_str().unwrap(),
    ]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    assert!(
        std::fs::read_to_string(out["certificate"].as_str().unwrap())
            .unwrap()
            .contains("Maria Lopez")
    );

    // The hub holds all four learners (two per site, one site by TLS, one by USB bundle); each
    // site only its own.
    assert_eq!(out["hub_learners"], 4);
    for (site, numbers) in [
        ("facility", ["SMWRC-0001", "SMWRC-0002"]),
        ("rural", ["EAE-0001", "EAE-0002"]),
    ] {
        let c = Cairn::new(&dir.join(site)).acting_as("ada", "222222");
        let list = c.run(&["learner", "list"]).ok()["learners"]
            .as_array()
            .unwrap()
            .clone();
        let mut got: Vec<&str> = list.iter().map(|l| l["number"].as_str().unwrap()).collect();
        got.sort();
        assert_eq!(got, numbers, "{site}");
    }
    let hub = Cairn::new(&dir.join("hub")).acting_as("op", "111111");
    hub.run(&["check"]).ok();
    // Every site's learner has the same document at the hub.
    let at_hub = learner_heads(&dir.join("hub"));
    for site in ["facility", "rural"] {
        for (l, heads) in learner_heads(&dir.join(site)) {
            assert_eq!(at_hub.get(&l), Some(&heads), "{site} {l}");
        }
    }

    // The outcomes shown, against the story: CSS attempted by Maria and Jo, completed by Maria;
    // EMCC Ready attempted by Dee and Sam, completed by Dee.
    let row = |pathway: &str, group: &str| {
        out["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["pathway"] == pathway && r["group"] == group)
            .map(|r| {
                (
                    r["attempted"].as_u64().unwrap(),
                    r["completed"].as_u64().unwrap(),
                )
            })
            .unwrap()
    };
    assert_eq!(row("css", "all learners"), (2, 1));
    assert_eq!(row("css", "impacted by poverty"), (2, 1));
    assert_eq!(row("css", "BIPOC"), (1, 1));
    assert_eq!(row("emcc-ready", "all learners"), (2, 1));
    assert_eq!(row("emcc-ready", "BIPOC"), (1, 1));

    // Text mode tells it step by step and ends with where things are; --keep refuses a used folder.
    let again = Cairn::new(&root.path().join("unused"))
        .command()
        .args(["demo", "--keep", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(3));
    let text = std::process::Command::new(bin())
        .args([
            "demo",
            "--keep",
            root.path().join("demo2").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("[9/9] Done") && text.contains("Try next:"),
        "{text}"
    );
}
