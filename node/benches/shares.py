#!/usr/bin/env python3
"""Where a process's processor time went, from a `perf record --call-graph dwarf` profile.

    perf script -i perf.data --pid PID -F comm,tid,ip,sym > stacks.txt
    python3 node/benches/shares.py stacks.txt

PID is the hub's process (in `--bench concurrent` runs, the benchmark's own process; the
simulated sites run in a child). Each sample goes to the first group below that one of its
frames falls under, from the innermost frame out, or by its thread's name for sled's I/O threads
and the store's flusher; samples whose stack was cut off before any named frame count as
"other". Prints a Markdown table of samples and shares (docs/benchmarks.md, round 34).
"""
import collections
import sys

# (group, substrings of a frame's symbol), tried for each frame from the innermost out.
GROUPS = [
    ("TLS handshakes", ["tokio_rustls::common::handshake::MidHandshake", "rustls::server::hs::",
                        "tokio_rustls::server::Accept"]),
    ("TLS records", ["aes_gcm", "rustls::conn::ConnectionCommon<Data>::process_new_packets",
                     "rustls::record_layer"]),
    ("frames taken in (inflate)", ["cairn_sync_protocol::frame::inflate", "DeflateDecoder"]),
    ("frames sent (deflate)", ["deflate_quick", "DeflateEncoder", "frame::deflate"]),
    ("entries checked (verify_run)", ["cairn_sync_protocol::chain::verify_run"]),
    ("entries stored (append, sled batch)", ["append_runs_unflushed", "Tree::apply_batch"]),
    ("the site's scope", ["SiteScope::new"]),
    ("the answer (poll_transmit)", ["Session::poll_transmit"]),
    ("waiting for flushes (the tasks' side)", ["want_flushed", "Core::durable", "made_durable"]),
    ("the site's checkpoint and history record", ["peer::save", "Checkpoint", "peer::record"]),
]


def group(thread, frames):
    if thread.startswith("sled-io"):
        return "sled's I/O threads (log writes)"
    if thread == "cairn-flush":
        return "the flusher thread"
    if not thread.startswith("tokio-rt"):
        return f"other threads ({thread})"
    for frame in frames:
        for name, parts in GROUPS:
            if any(p in frame for p in parts):
                return "workers: " + name
    return "workers: other"


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) == 2 else 2)
    counts = collections.Counter()
    thread, frames = None, []
    with open(sys.argv[1], errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            if line[0] in " \t":
                frames.append(line.strip())
                continue
            if thread is not None:
                counts[group(thread, frames)] += 1
            thread, frames = line.split()[0], []
    if thread is not None:
        counts[group(thread, frames)] += 1
    total = sum(counts.values())
    if total == 0:
        sys.exit("shares.py: no samples in " + sys.argv[1])
    print("| where | samples | share |\n|---|---|---|")
    for name, n in counts.most_common():
        print(f"| {name} | {n:,} | {100 * n / total:.1f} % |")
    print(f"| all | {total:,} | |")


if __name__ == "__main__":
    main()
