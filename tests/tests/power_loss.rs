//! What a power cut may take: a SIGKILL (`crash.rs`) leaves the kernel holding every page the
//! store wrote, a power cut does not. sled's flush writes its log and waits with
//! `sync_file_range`, which commits neither the log's growing length nor the disk's write
//! cache; its own `fsync` runs every 500 ms. Cairn syncs the log's data (`fdatasync`, which sled
//! never calls) after the store's last write and before it reports the write done. The trace
//! is taken with `strace`, so no power needs cutting.

use cairn_tests::*;

/// One traced system call: its process, name and text.
struct Call {
    pid: String,
    name: String,
    line: String,
}

fn parse(trace: &str) -> Vec<Call> {
    trace
        .lines()
        .filter_map(|line| {
            let (pid, rest) = line.trim_start().split_once(' ')?;
            let rest = rest.trim_start();
            let name = rest.split('(').next()?.to_string();
            Some(Call {
                pid: pid.to_string(),
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

#[test]
fn a_write_reported_done_has_its_log_synced_to_the_disk_first() {
    assert!(
        std::process::Command::new("strace")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success()),
        "strace is needed (apt-get install strace)"
    );
    let dir = tempfile::tempdir().unwrap();
    let site = new_unjoined_site(&dir.path().join("site"), "Power test").acting_as("ada", "222222");
    let trace = dir.path().join("trace");
    let command = site.command();
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
    let envs: Vec<_> = command
        .get_envs()
        .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
        .collect();
    let mut traced = std::process::Command::new("strace");
    traced
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=openat,pwrite64,fsync,fdatasync,write",
            "-o",
        ])
        .arg(&trace)
        .arg(program)
        .args(args)
        .args([
            "learner",
            "add",
            "--number",
            "P-1",
            "--given-name",
            "Ada",
            "--family-name",
            "Power",
        ]);
    for (k, v) in envs {
        match v {
            Some(v) => traced.env(k, v),
            None => traced.env_remove(k),
        };
    }
    let out = traced.output().expect("run cairn under strace");
    assert!(
        out.status.success(),
        "learner add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = parse(&std::fs::read_to_string(&trace).unwrap());
    // The log's descriptors, and which of them the store opened to sync (sled opens its own
    // read-write).
    let log_fds: Vec<u32> = calls
        .iter()
        .filter(|c| c.name == "openat" && c.line.contains("/store/db\""))
        .filter_map(opened_fd)
        .collect();
    assert!(
        !log_fds.is_empty(),
        "the trace shows no open of the store's log"
    );
    // The result reaches the person as the JSON on standard output.
    let reported = calls
        .iter()
        .position(|c| c.name == "write" && fd_of(c) == Some(1))
        .expect("the command printed its result");
    let last_write = calls[..reported]
        .iter()
        .rposition(|c| c.name == "pwrite64" && fd_of(c).is_some_and(|fd| log_fds.contains(&fd)))
        .expect("the command wrote to the log before reporting");
    let synced = calls[last_write..reported]
        .iter()
        .any(|c| c.name == "fdatasync" && fd_of(c).is_some_and(|fd| log_fds.contains(&fd)));
    let processes: std::collections::BTreeSet<&str> =
        calls.iter().map(|c| c.pid.as_str()).collect();
    assert!(
        synced,
        "between the log's last write (call {last_write}) and the reported result (call {reported}) \
         nothing synced the log's data to the disk ({} processes traced)",
        processes.len()
    );
}
