#!/usr/bin/env python3
"""Sums PostgreSQL's statement durations by statement, from the server's log.

Run a benchmark with `log_min_duration_statement = 0` (see docs/performance.md), then feed this
the part of the log the run wrote: `tail -c +OFFSET postgresql.log | bench/profile/statements.py`.
Prints each statement's total and mean time and its share, largest first. Statements are grouped
by their first line as the log writes it (literals folded), so the same prepared statement is one
row; `with input as (` is the enrolment upsert (`rollcall-db`'s apply.rs).
"""
import re
import sys
from collections import defaultdict

LINE = re.compile(r"duration: ([0-9.]+) ms\s+(?:statement|execute [^:]*|bind [^:]*|parse [^:]*):\s*(.*)")
totals = defaultdict(lambda: [0.0, 0])
current = None
for raw in sys.stdin:
    m = LINE.search(raw)
    if m:
        current = [float(m.group(1)), m.group(2)]
        key = " ".join(current[1].split())
        key = re.sub(r"'[^']*'", "'?'", key)
        key = re.sub(r"\b\d+\b", "N", key)[:110]
        totals[key][0] += current[0]
        totals[key][1] += 1
all_ms = sum(t for t, _ in totals.values()) or 1.0
print(f"{'total s':>9} {'calls':>7} {'mean ms':>8} {'share':>6}  statement")
for key, (ms, calls) in sorted(totals.items(), key=lambda kv: -kv[1][0])[:25]:
    print(f"{ms / 1000:9.2f} {calls:7d} {ms / calls:8.2f} {100 * ms / all_ms:5.1f}%  {key}")
print(f"{all_ms / 1000:9.2f} in all")
