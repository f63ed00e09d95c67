#!/usr/bin/env python3
"""Opens two stopped nodes' data folders in turn with `cairn status`, each run a new process as an
operator's would be (needs GNU time, Debian's `time` package, for the peak RSS), and prints what docs/benchmarks.md quotes: per folder the median wall time
and peak RSS, then the ratio of the first folder's time to the second's within each pair, its
median and the 95 % range of that median (sign-test order statistics). Which folder goes first
alternates from pair to pair, so that the machine's drift and the page cache fall on both alike.

Usage: python3 node/benches/open-pairs.py CAIRN DATA_A DATA_B [PAIRS, default 51]

Run `cairn status` on each folder once before, untimed, if a folder was just written or copied:
the first open after that reads what the page cache does not hold yet.
"""

import math
import statistics
import subprocess
import sys
import tempfile
import time


def status(cairn, data):
    """One `cairn --data DATA status`: seconds and peak RSS in MB.

    The peak RSS is GNU time's (`/usr/bin/time -f %M`), as node/benches/sync.rs reads it: a
    child this script started directly would report at least this script's own peak, which
    Linux carries over to a process across exec. The time is this script's clock around the
    whole (GNU time's own start is the same for both folders)."""
    with tempfile.NamedTemporaryFile("r") as rss, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name,
                               cairn, "--data", data, "status"],
                              stdout=subprocess.DEVNULL, stderr=err, check=False)
        took = time.perf_counter() - started
        if done.returncode != 0:
            err.seek(0)
            sys.exit(f"open-pairs.py: cairn status on {data} exited with {done.returncode}: "
                     f"{err.read().decode(errors='replace')[-2000:]}")
        return took, int(rss.read().split()[-1]) / 1024


def median_range(values):
    """The median of `values` and the 95 % range of it: the order statistics a sign test gives."""
    v = sorted(values)
    n = len(v)
    # The largest k with P(Binomial(n, 1/2) < k) <= 2.5 %: v[k-1] and v[n-k] bound the median.
    k, below = 0, 0.0
    while k < n and below + math.comb(n, k) / 2 ** n <= 0.025:
        below += math.comb(n, k) / 2 ** n
        k += 1
    if k == 0:
        return statistics.median(v), None
    return statistics.median(v), (v[k - 1], v[n - k])


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    cairn, a, b = sys.argv[1:4]
    pairs = int(sys.argv[4]) if len(sys.argv) == 5 else 51
    if pairs < 1:
        sys.exit("open-pairs.py: PAIRS must be at least 1")
    runs = {a: [], b: []}
    for i in range(pairs):
        for data in ((a, b) if i % 2 == 0 else (b, a)):
            runs[data].append(status(cairn, data))
    for data in (a, b):
        secs = [r[0] for r in runs[data]]
        rss = [r[1] for r in runs[data]]
        print(f"{data}: median {statistics.median(secs) * 1e3:.1f} ms "
              f"({min(secs) * 1e3:.1f}-{max(secs) * 1e3:.1f}), "
              f"peak RSS median {statistics.median(rss):.1f} MB, {len(secs)} runs")
    ratios = [x[0] / y[0] for x, y in zip(runs[a], runs[b])]
    mid, bounds = median_range(ratios)
    within = f", 95 % {bounds[0]:.3f}-{bounds[1]:.3f}" if bounds else ""
    faster = sum(r < 1 for r in ratios)
    print(f"{a} / {b}: pairs' median {mid:.3f}{within}; {a} faster in {faster} of {len(ratios)}")


if __name__ == "__main__":
    main()
