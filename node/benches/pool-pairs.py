#!/usr/bin/env python3
"""Pools the per-crowd ratios of paired runs (`CAIRN_BENCH_PAIRED=1`: the table of crowd, 50
sites' entries/s, 200 sites' entries/s and their ratio that node/benches/sync.rs prints) from
one or more logs, and prints their median with the same distribution-free 95 % range that
sync.rs's `median_range` gives one run (the sign test's order statistics).

Usage: python3 node/benches/pool-pairs.py LOG...
"""
import re, sys, statistics
ratios=[]
for path in sys.argv[1:]:
    for line in open(path):
        m=re.match(r'\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*([\d.]+)\s*\|\s*$', line)
        if m:
            ratios.append(int(m.group(3))/int(m.group(2)))
v=sorted(ratios); n=len(v)
below=0.0; j=0; term=0.5**n
for i in range(n):
    if below+term>0.025: break
    below+=term; j=i+1; term=term*(n-i)/(i+1)
print(n, "pairs; median %.3f; 95%% %.3f-%.3f; at or above 1: %d" % (statistics.median(v), v[j-1], v[n-j], sum(r>=1 for r in v)))
