//! What a power cut may take: a SIGKILL (`crash.rs`) leaves the kernel holding every page the
//! store wrote, a power cut does not. sled's flush writes its log and waits with
//! `sync_file_range`, which commits neither the log's growing length nor the disk's write
//! cache, and it never syncs the blob files it keeps large nodes in; its own `fsync` of the log
//! runs every 500 ms. Cairn syncs the log's data and each new blob file (`fdatasync`, which
//! sled never calls) after the store's last write and before it reports the write done, and
//! the blob files a store was opened with at its first write (one `syncfs`). The trace is
//! taken with `strace`, so no power needs cutting.

use cairn_tests::*;

/// One traced system call: the thread that made it, its name and text (after the thread's id).
struct Call {
    thread: String,
    name: String,
    line: String,
}

fn parse(trace: &str) -> Vec<Call> {
    trace
        .lines()
        .filter_map(|line| {
            let (thread, rest) = line.trim_start().split_once(' ')?;
            let rest = rest.trim_start();
            let name = rest.split('(').next()?.to_string();
            Some(Call {
                thread: thread.to_string(),
                name,
                line: rest.to_string(),
            })
        })
        .collect()
}

/// The file descriptor a call acts on (its first argument).
fn fd_of(call: &Call) -> Option<u32> {
    call.line
        .split('(')
        .nth(1)?
        .split([',', ')'])
        .next()?
        .trim()
        .parse()
        .ok()
}

/// The descriptor an `openat` returned.
fn opened_fd(call: &Call) -> Option<u32> {
    call.line.rsplit("= ").next()?.trim().parse().ok()
}

/// Run `args` as `node`'s acting person under `strace`; the calls traced.
fn traced(node: &Cairn, args: &[&str], trace: &std::path::Path) -> Vec<Call> {
    assert!(
        std::process::Command::new("strace")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success()),
        "strace is needed (apt-get install strace)"
    );
    let command = node.command();
    let mut traced = std::process::Command::new("strace");
    traced
        .args([
            "-f",
            "-qq",
            "-e",
            // prctl: each thread's name (sled's "log flusher", "sled-io-N"), for the
            // failure messages.
            "trace=openat,close,pwrite64,fsync,fdatasync,syncfs,write,prctl",
            "-o",
        ])
        .arg(trace)
        .arg(command.get_program())
        .args(command.get_args())
        .args(args);
    for (k, v) in command.get_envs() {
        match v {
            Some(v) => traced.env(k, v),
            None => traced.env_remove(k),
        };
    }
    let out = traced.output().expect("run cairn under strace");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&std::fs::read_to_string(trace).unwrap())
}

/// Where the command printed its result (the JSON on standard output).
fn reported(calls: &[Call]) -> usize {
    calls
        .iter()
        .position(|c| c.name == "write" && fd_of(c) == Some(1))
        .expect("the command printed its result")
}

/// Whether an `fdatasync` of one of `fds` comes between calls `from` and `to`.
/// A descriptor closed in between stops counting: its number may be given to another file.
fn data_synced(calls: &[Call], fds: &[u32], from: usize, to: usize) -> bool {
    let mut open = fds.to_vec();
    for c in &calls[from..to] {
        let Some(fd) = fd_of(c).filter(|fd| open.contains(fd)) else {
            continue;
        };
        match c.name.as_str() {
            "fdatasync" => return true,
            "close" => open.retain(|&o| o != fd),
            _ => {}
        }
        if open.is_empty() {
            return false;
        }
    }
    false
}

#[test]
fn a_write_reported_done_has_its_log_synced_to_the_disk_first() {
    let dir = tempfile::tempdir().unwrap();
    let site = new_unjoined_site(&dir.path().join("site"), "Power test").acting_as("ada", "222222");
    let args = [
        "learner",
        "add",
        "--number",
        "P-1",
        "--given-name",
        "Ada",
        "--family-name",
        "Power",
    ];
    let calls = traced(&site, &args, &dir.path().join("trace"));
    // The log's descriptors: sled's own, and the one the store opened to sync it.
    let log_fds: Vec<u32> = calls
        .iter()
        .filter(|c| c.name == "openat" && c.line.contains("/store/db\""))
        .filter_map(opened_fd)
        .collect();
    assert!(
        !log_fds.is_empty(),
        "the trace shows no open of the store's log"
    );
    let reported = reported(&calls);
    let last_write = calls[..reported]
        .iter()
        .rposition(|c| c.name == "pwrite64" && fd_of(c).is_some_and(|fd| log_fds.contains(&fd)))
        .expect("the command wrote to the log before reporting");
    assert!(
        data_synced(&calls, &log_fds, last_write, reported),
        "between the log's last write (call {last_write}) and the reported result (call {reported}) \
         nothing synced the log's data to the disk; the calls before it:\n{}",
        shown(&calls, last_write.saturating_sub(30), reported + 1)
    );
}

/// Calls `from..to` of a trace, one a line with their thread and its name, for a failure
/// message: this test failed once on a loaded machine, and which thread wrote what after the
/// sync is what tells a missing sync from sled's periodic flusher writing something later.
fn shown(calls: &[Call], from: usize, to: usize) -> String {
    let name_of = |thread: &str| {
        calls
            .iter()
            .find(|c| c.thread == thread && c.line.starts_with("prctl(PR_SET_NAME"))
            .and_then(|c| c.line.split('"').nth(1))
            .unwrap_or("")
            .to_string()
    };
    calls[from..to.min(calls.len())]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let line: String = c.line.chars().take(100).collect();
            format!(
                "{:>5} {} {:<14} {line}",
                from + i,
                c.thread,
                name_of(&c.thread)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_large_file_reported_stored_has_its_blob_files_synced_first() {
    // sled keeps a node larger than 128 KiB in a file of its own (`store/blobs/LSN`), which it
    // never syncs; a piece of evidence is stored in chunks of 256 KiB.
    let root = tempfile::tempdir().unwrap();
    let hub = new_hub(&root.path().join("hub"));
    let site = new_site(&hub, &root.path().join("site"), "Power test");
    // The catalog reaches the site on a bundle.
    let bundle = root.path().join("catalog.cairn");
    let site_id = node_id(&site);
    hub.run(&[
        "bundle",
        "export",
        "--out",
        bundle.to_str().unwrap(),
        "--for",
        &site_id,
    ])
    .ok();
    site.run(&["bundle", "import", bundle.to_str().unwrap()])
        .ok();
    let learner = add_learner(&site, "P-2", "Ada", "Power", &[]);
    let enrollment = enroll(&site, &learner, "workready");
    let file = distinct_file(root.path(), "portfolio.pdf", 700 * 1024, 7);
    let args = [
        "evidence",
        "submit",
        "--enrollment",
        &enrollment,
        "--narrative",
        "a portfolio",
        "--file",
        file.to_str().unwrap(),
    ];
    let calls = traced(&site, &args, &root.path().join("trace"));
    let reported = reported(&calls);
    // Each blob file the command created before reporting, and where.
    let created: Vec<(usize, String)> = calls[..reported]
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.name == "openat" && c.line.contains("/blobs/") && c.line.contains("O_CREAT")
        })
        .filter_map(|(i, c)| Some((i, c.line.split('"').nth(1)?.to_string())))
        .collect();
    assert!(
        !created.is_empty(),
        "storing a 700 KiB file created no blob file: the test no longer covers blobs"
    );
    for (at, path) in &created {
        // Opened again after it was written, and that descriptor synced, before the result.
        assert!(
            synced_one_by_one(&calls[..reported], path, *at),
            "blob {path}, written at call {at}, was not synced before the result (call {reported})"
        );
    }

    // The next command opens a store that has blob files. It syncs them once, with one
    // `syncfs` (the process that wrote them may not have), and not one by one: a large hub has
    // thousands of them, and its first write after opening would wait for them all.
    let args = [
        "learner",
        "add",
        "--number",
        "P-3",
        "--given-name",
        "Grace",
        "--family-name",
        "Power",
    ];
    let calls = traced(&site, &args, &root.path().join("trace2"));
    let result = self::reported(&calls);
    assert!(
        calls[..result].iter().any(|c| c.name == "syncfs"),
        "a store opened with blob files did not sync them before its first write was reported"
    );
    for (_, path) in &created {
        assert!(
            !synced_one_by_one(&calls, path, 0),
            "blob {path}, there when the store opened, was synced one by one"
        );
    }
}

/// Whether `path` is opened for reading after call `from` and that descriptor then synced.
fn synced_one_by_one(calls: &[Call], path: &str, from: usize) -> bool {
    calls[from..].iter().enumerate().any(|(i, c)| {
        c.name == "openat"
            && c.line.contains(&format!("\"{path}\""))
            && c.line.contains("O_RDONLY")
            && opened_fd(c).is_some_and(|fd| data_synced(calls, &[fd], from + i, calls.len()))
    })
}
