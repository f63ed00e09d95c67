//! Cairn's credentials checked by an independent implementation: Digital Bazaar's
//! `@digitalbazaar/vc` with the `eddsa-rdfc-2022` and `eddsa-jcs-2022` cryptosuites (pinned in
//! `credentials/interop/package.json`, installed from npm by the script), every proof of each
//! proof set checked. Needs node and npm; `.ci/run` makes sure they are there.

#[test]
fn digital_bazaar_verifies_cairns_credentials_and_refuses_a_tampered_one() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../credentials/interop/run.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(cairn_tests::bin())
        .env_remove("CAIRN_DATA")
        .env_remove("CAIRN_AS")
        .env_remove("CAIRN_SECRET")
        .output()
        .expect("bash");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "interop check failed:\n{text}");
    // Three badges, the micro-credential, its recognition and the learner's bundle verified,
    // both proofs of each; the tampered copy and the one with a corrupted second proof refused.
    assert_eq!(text.matches("\nverified (").count(), 6, "{text}");
    assert_eq!(
        text.matches("eddsa-rdfc-2022:true, eddsa-jcs-2022:true")
            .count(),
        6,
        "{text}"
    );
    for refused in ["tampered.json", "corrupted-second-proof.json"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("NOT verified") && l.contains(refused)),
            "{refused} was not refused:\n{text}"
        );
    }
}
