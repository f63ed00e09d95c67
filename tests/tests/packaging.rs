//! What the Debian package is made of, checked without building it (CI builds, installs and
//! follows the runbook with it: deploy/runbook-check.sh): the manual pages and completions come
//! from the command line's definition; the units are valid and start what the package installs;
//! every file node/Cargo.toml packages exists; and root working on the service's folder leaves
//! every file to the service's user.

use cairn_tests::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn cairn(args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .env_remove("CAIRN_DATA")
        .env_remove("CAIRN_AS")
        .env_remove("CAIRN_SECRET")
        .args(args)
        .output()
        .expect("run cairn")
}

fn said(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn manual_pages_and_completions_come_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("man");
    let out = cairn(&["debug", "man", "--out", man.to_str().unwrap()]);
    assert!(out.status.success(), "{}", said(&out));
    let pages: Vec<String> = std::fs::read_dir(&man)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for page in [
        "cairn.1",
        "cairn-site-enroll.1",
        "cairn-bundle-export.1",
        "cairn-run.1",
        "cairn-serve.1",
    ] {
        assert!(pages.contains(&page.to_string()), "{page} in {pages:?}");
    }
    assert!(
        !pages.iter().any(|p| p.starts_with("cairn-debug")),
        "hidden commands have no page: {pages:?}"
    );
    // The pages say what --help says.
    let enroll = std::fs::read_to_string(man.join("cairn-site-enroll.1")).unwrap();
    assert!(enroll.contains("all 56 characters"), "{enroll}");
    let top = std::fs::read_to_string(man.join("cairn.1")).unwrap();
    assert!(top.contains("CAIRN_DATA"), "{top}");

    let comp = dir.path().join("completions");
    let out = cairn(&["debug", "completions", "--out", comp.to_str().unwrap()]);
    assert!(out.status.success(), "{}", said(&out));
    for file in ["cairn.bash", "_cairn", "cairn.fish"] {
        let text = std::fs::read_to_string(comp.join(file)).unwrap();
        assert!(text.contains("enroll") && text.contains("bundle"), "{file}");
    }
    // Bash can load it, and it completes the commands.
    let out = Command::new("bash")
        .arg("-c")
        .arg(
            ". \"$1\"; COMP_WORDS=(cairn bun); COMP_CWORD=1; COMP_LINE='cairn bun'; COMP_POINT=9; \
             _cairn cairn bun cairn; printf '%s\\n' \"${COMPREPLY[@]}\"",
        )
        .arg("bash")
        .arg(comp.join("cairn.bash"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "bundle");
}

/// The `[Service]` settings of a unit, as (key, value) in order.
fn unit(name: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(repo().join("deploy/systemd").join(name))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn setting<'a>(unit: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    unit.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[test]
fn the_units_are_hardened_valid_and_start_what_the_package_installs() {
    for name in ["cairn-hub.service", "cairn-site.service"] {
        let u = unit(name);
        for (key, value) in [
            ("User", "cairn"),
            ("Group", "cairn"),
            ("StateDirectory", "cairn"),
            ("StateDirectoryMode", "0700"),
            ("UMask", "0077"),
            ("NoNewPrivileges", "yes"),
            ("ProtectSystem", "strict"),
            ("ProtectHome", "yes"),
            ("PrivateTmp", "yes"),
            ("PrivateDevices", "yes"),
            ("RestartPreventExitStatus", "2"),
        ] {
            assert_eq!(setting(&u, key), [value], "{name}: {key}");
        }
        assert!(!setting(&u, "Restart").is_empty(), "{name} restarts");
        // The folder the units give the service is the one the packaged binary defaults to.
        assert_eq!(
            setting(&u, "Environment")
                .iter()
                .filter_map(|e| e.strip_prefix("CAIRN_DATA="))
                .collect::<Vec<_>>(),
            ["/var/lib/cairn"],
            "{name}"
        );
        // ExecStart is a command this binary takes: on a folder that holds something but no
        // node it stops with exit status 2 (which the unit does not restart), not with an
        // argument error.
        let exec = setting(&u, "ExecStart")[0];
        let args: Vec<&str> = exec.split_whitespace().collect();
        assert_eq!(args[0], "/usr/bin/cairn", "{name}");
        let stray = tempfile::tempdir().unwrap();
        std::fs::write(stray.path().join("notes.txt"), "not a node").unwrap();
        let out = Command::new(bin())
            .env("CAIRN_DATA", stray.path())
            .args(&args[1..])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {}", said(&out));
        assert!(
            said(&out).contains("is not a Cairn node"),
            "{name}: {}",
            said(&out)
        );
    }
    // On the empty folder the package makes, the site's unit serves the first-run page.
    the_site_unit_on_an_empty_folder_serves_the_first_run_page();
    // systemd's own check, on copies that start this build's binary (the installed units are
    // checked after `dpkg -i` in CI, where /usr/bin/cairn exists).
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze is not installed: the units' syntax is checked in CI only");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut copies = Vec::new();
    for name in ["cairn-hub.service", "cairn-site.service"] {
        let text = std::fs::read_to_string(repo().join("deploy/systemd").join(name))
            .unwrap()
            .replace("/usr/bin/cairn", &bin());
        let copy = dir.path().join(name);
        std::fs::write(&copy, text).unwrap();
        copies.push(copy);
    }
    // (`--man=no`: the manual pages the units name are installed by the package.)
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&copies)
        .output()
        .unwrap();
    // `verify` exits 0 on unknown keys and bad values, and only warns: any word from it fails.
    assert!(
        out.status.success() && said(&out).trim().is_empty(),
        "systemd-analyze verify: {}",
        said(&out)
    );
}

/// The site unit's `cairn run` (its arguments, on a loopback port of the system's choosing) on an
/// empty folder, such as the package's /var/lib/cairn, serves the page that sets the site up:
/// starting the unit is the first step of provisioning a site (RUNBOOK.md).
fn the_site_unit_on_an_empty_folder_serves_the_first_run_page() {
    let u = unit("cairn-site.service");
    let args: Vec<&str> = setting(&u, "ExecStart")[0].split_whitespace().collect();
    let web = args.iter().position(|a| *a == "--web").expect("--web");
    let mut rest: Vec<&str> = args[web + 2..].to_vec();
    rest.extend(&args[2..web]);
    assert_eq!(args[1], "run");
    let root = tempfile::tempdir().unwrap();
    let site = run_site(&root.path().join("empty"), "127.0.0.1:9", &rest);
    let page = http::send(&site.web, &http::Request::get("/")).unwrap();
    assert_eq!(page.location(), "/setup", "{page:?}");
    let page = http::send(&site.web, &http::Request::get("/setup")).unwrap();
    assert_eq!(page.status, 200);
    for field in ["name=\"site\"", "name=\"name\"", "name=\"pin2\""] {
        assert!(page.text().contains(field), "{field}: {}", page.text());
    }
    assert!(http::csrf_field(&page).is_some());
}

#[test]
fn every_file_the_package_lists_exists() {
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(repo().join("node/Cargo.toml")).unwrap()).unwrap();
    let deb = &manifest["package"]["metadata"]["deb"];
    let node = repo().join("node");
    for asset in deb["assets"].as_array().unwrap() {
        let source = asset[0].as_str().unwrap();
        // Built ones (target/release/…) are made by deploy/build-deb.sh.
        if source.starts_with("target/") {
            continue;
        }
        assert!(node.join(source).exists(), "{source} is missing");
    }
    let scripts = node.join(deb["maintainer-scripts"].as_str().unwrap());
    // (prerm is cargo-deb's own: it stops a running unit.)
    for script in ["postinst", "postrm"] {
        let path = scripts.join(script);
        let text = std::fs::read_to_string(&path).unwrap();
        // cargo-deb puts its part where the first `#DEBHELPER#` is, even inside a comment.
        assert_eq!(text.matches("#DEBHELPER#").count(), 1, "{script}");
        assert!(text.lines().any(|l| l == "#DEBHELPER#"), "{script}");
        assert!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o111 != 0,
            "{script} is executable"
        );
        let out = Command::new("sh").arg("-n").arg(&path).output().unwrap();
        assert!(out.status.success(), "{script}: {}", said(&out));
    }
    for unit in deb["systemd-units"].as_array().unwrap() {
        let dir = node.join(unit["unit-scripts"].as_str().unwrap());
        let name = unit["unit-name"].as_str().unwrap();
        assert!(dir.join(format!("{name}.service")).exists(), "{name}");
        assert_eq!(unit["enable"].as_bool(), Some(false), "{name}: not enabled");
        assert_eq!(unit["start"].as_bool(), Some(false), "{name}: not started");
    }
    for script in ["deploy/build-deb.sh", "deploy/runbook-check.sh"] {
        let out = Command::new("bash")
            .arg("-n")
            .arg(repo().join(script))
            .output()
            .unwrap();
        assert!(out.status.success(), "{script}: {}", said(&out));
    }
}

/// The uid and gid of `nobody`, the stand-in for the service's user.
fn nobody() -> (u32, u32) {
    let id = |flag: &str| {
        let out = Command::new("id").args([flag, "nobody"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

/// Every file under `dir` and `dir` itself belong to `uid`.
fn all_owned_by(dir: &Path, uid: u32) {
    let meta = std::fs::symlink_metadata(dir).unwrap();
    assert_eq!(
        meta.uid(),
        uid,
        "{} belongs to uid {}",
        dir.display(),
        meta.uid()
    );
    if meta.is_dir() {
        for e in std::fs::read_dir(dir).unwrap() {
            all_owned_by(&e.unwrap().path(), uid);
        }
    }
}

#[test]
fn root_on_another_users_folder_works_as_that_user() {
    if euid() != 0 {
        eprintln!("not root: root's commands on the service's folder are checked in CI (as root)");
        return;
    }
    let (uid, gid) = nobody();
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // The package's postinst makes the folder, empty, for the service's user.
    let give = |p: &Path| {
        std::fs::create_dir(p).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
    };
    let folder = root.path().join("node");
    give(&folder);
    let site = Cairn::new(&folder);
    // Root creates the node and its first admin while no service runs.
    site.run(&[
        "init",
        "--role",
        "site",
        "--name",
        "Ellsworth Adult Education",
    ])
    .ok();
    site.run(&[
        "user", "add", "--name", "ada", "--role", "admin", "--pin", "222222",
    ])
    .ok();
    all_owned_by(&folder, uid);
    let key = std::fs::metadata(folder.join("node.key")).unwrap();
    assert_eq!(key.permissions().mode() & 0o777, 0o600);

    // The service started by root runs as the folder's owner; root reaches it by its socket.
    let running = start_site(&folder, &[]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", running.pid())).unwrap();
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uids.split_whitespace()
            .skip(1)
            .all(|u| u == uid.to_string()),
        "{uids}"
    );
    assert_eq!(site.run(&["status"]).ok()["running"], true);
    // A backup root makes through the service is root's.
    let backup = root.path().join("backup");
    site.run(&["backup", "--out", backup.to_str().unwrap()])
        .ok();
    running.stop();
    assert_eq!(std::fs::metadata(&backup).unwrap().uid(), 0);
    all_owned_by(&folder, uid);

    // Restored by root into a new folder of the service's user: the copy is the user's.
    let restored = root.path().join("restored");
    give(&restored);
    Cairn::new(&restored)
        .run(&["restore", "--from", backup.to_str().unwrap()])
        .ok();
    all_owned_by(&restored, uid);
    assert_eq!(
        Cairn::new(&restored)
            .acting_as("ada", "222222")
            .run(&["user", "list"])
            .ok()["users"][0]["name"],
        "ada"
    );
    all_owned_by(&restored, uid);
}

fn euid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
