#!/usr/bin/env python3
"""Pools the steady crowds of node/benches/alternate.sh's log and prints what docs/benchmarks.md
quotes: per binary and size, the median throughput of its steady crowds, the worst p99, the hub's
work and flushes a session; then the ratios of medians (each binary's largest size against its
smallest, and every binary against the first at each size) with a bootstrap's 95 % range.

Usage: python3 node/benches/pool.py LOG [--first-crowd-too]
"""

import random
import statistics
import sys
from collections import defaultdict

# Columns of a crowd's row after "NAME SIZE rROUND |", as node/benches/sync.rs prints them.
COLUMNS = ["label", "peak", "entries", "wall", "eps", "p50", "p95", "p99", "completed",
           "derived", "hub_ms", "sites_ms", "flushes"]
BOOTSTRAPS = 4000


def read(path, first_too):
    cells = defaultdict(list)
    order = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            head, sep, rest = line.partition("|")
            words = head.split()
            if not sep or len(words) != 3:
                continue
            name, size = words[0], int(words[1])
            fields = [c.strip() for c in rest.strip().strip("|").split("|")]
            if len(fields) != len(COLUMNS):
                sys.exit(f"pool.py: {path}:{number}: {len(fields)} columns, not {len(COLUMNS)}")
            row = dict(zip(COLUMNS, fields))
            crowd = int(row["label"].rsplit(" ", 1)[1])
            if crowd == 1 and not first_too:
                continue
            if name not in order:
                order.append(name)
            cells[(name, size)].append({k: float(row[k]) for k in COLUMNS[3:]})
    return order, cells


def ratio_range(a, b, rng):
    """The ratio of the medians of a and b, and a bootstrap's 95 % range of it."""
    ratios = sorted(
        statistics.median(rng.choices(a, k=len(a))) / statistics.median(rng.choices(b, k=len(b)))
        for _ in range(BOOTSTRAPS)
    )
    return (statistics.median(a) / statistics.median(b),
            ratios[int(0.025 * BOOTSTRAPS)], ratios[int(0.975 * BOOTSTRAPS) - 1])


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit(__doc__)
    order, cells = read(args[0], "--first-crowd-too" in sys.argv)
    if not cells:
        sys.exit(f"pool.py: no crowd rows in {args[0]}")
    print("| binary | sites | crowds | entries/s, median (range) | p99 ms, worst | hub ms a session | flushes a session |")
    print("|---|---|---|---|---|---|---|")
    for (name, size), rows in sorted(cells.items(), key=lambda c: (order.index(c[0][0]), c[0][1])):
        eps = [r["eps"] for r in rows]
        print(f"| {name} | {size} | {len(rows)} | {statistics.median(eps):,.0f} "
              f"({min(eps):,.0f}-{max(eps):,.0f}) | {max(r['p99'] for r in rows):.0f} | "
              f"{statistics.median(r['hub_ms'] for r in rows):.2f} | "
              f"{statistics.median(r['flushes'] for r in rows):.2f} |")
    rng = random.Random(19)
    pairs = []
    for name in order:
        sizes = sorted(s for (n, s) in cells if n == name)
        if len(sizes) > 1:
            pairs.append(((name, sizes[-1]), (name, sizes[0])))
    for other in order[1:]:
        for (n, s) in sorted(cells):
            if n == other and (order[0], s) in cells:
                pairs.append(((other, s), (order[0], s)))
    print()
    print("| ratio of medians | entries/s | 95 % |")
    print("|---|---|---|")
    for a, b in pairs:
        r, lo, hi = ratio_range([x["eps"] for x in cells[a]], [x["eps"] for x in cells[b]], rng)
        print(f"| {a[0]} {a[1]} / {b[0]} {b[1]} | {r:.3f} | {lo:.3f}-{hi:.3f} |")


if __name__ == "__main__":
    main()
