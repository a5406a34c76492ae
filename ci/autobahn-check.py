#!/usr/bin/env python3
"""Fails (exit 1) when an Autobahn summary has a case that is not OK and that
ci/autobahn-expected.md does not explain with the same behaviour."""
import json
import re
import sys

summary_path, expected_path = sys.argv[1], sys.argv[2]
expected = {}
for line in open(expected_path, encoding="utf-8"):
    m = re.match(r"^- ([0-9][0-9.]*): ([A-Z-]+) — \S", line)
    if m:
        expected[m.group(1)] = m.group(2)

summary = json.load(open(summary_path, encoding="utf-8"))
bad = []
for agent, data in summary["agents"].items():
    for case, (behavior, close) in data["cases"].items():
        if behavior == "OK" and close == "OK":
            continue
        if expected.get(case) == behavior and close in ("OK", behavior):
            continue
        bad.append(f"{agent} {case}: behavior {behavior}, close {close}")
for line in bad:
    print("autobahn: unexplained:", line)
sys.exit(1 if bad else 0)
