"""The hostile campaigns as a table: every test marked ``@pytest.mark.hostile(GROUP)``, run, counted by group.

Each parametrized case counts once (one catalog line, one batch line, one damaged file...). A case
"passed" when its test passed; a skip (a tool missing on this machine) is counted apart, never as a pass.

    python bench/hardening_report.py                    # all hostile cases under tests/
    python bench/hardening_report.py --json /tmp/hardening.json tests/cli/test_hardening.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from common import report_header

REPO = Path(__file__).resolve().parent.parent


class Tally:
    """A pytest plugin: the group of each collected hostile case, then the outcome of each."""

    def __init__(self) -> None:
        self.group: dict[str, str] = {}
        self.outcome: dict[str, str] = {}

    def pytest_collection_modifyitems(self, items) -> None:
        for item in items:
            mark = item.get_closest_marker("hostile")
            if mark is not None:
                self.group[item.nodeid] = mark.args[0] if mark.args else "ungrouped"

    def pytest_runtest_logreport(self, report) -> None:
        if report.nodeid not in self.group:
            return
        # a failure in setup or teardown fails the case; a pass is only the call phase passing
        if report.failed:
            self.outcome[report.nodeid] = "failed"
        elif report.skipped and report.nodeid not in self.outcome:
            self.outcome[report.nodeid] = "skipped"
        elif report.when == "call" and report.passed and report.nodeid not in self.outcome:
            self.outcome[report.nodeid] = "passed"

    def table(self) -> dict[str, Counter]:
        counts: dict[str, Counter] = defaultdict(Counter)
        for nodeid, group in self.group.items():
            counts[group]["tried"] += 1
            counts[group][self.outcome.get(nodeid, "not run")] += 1
        return dict(sorted(counts.items()))


def markdown(counts: dict[str, Counter]) -> str:
    lines = ["| group | tried | passed | failed | skipped |", "|---|---:|---:|---:|---:|"]
    total: Counter = Counter()
    for group, c in counts.items():
        total.update(c)
        lines.append(f"| {group} | {c['tried']} | {c['passed']} | {c['failed']} | {c['skipped']} |")
    lines.append(f"| **all** | {total['tried']} | {total['passed']} | {total['failed']} | {total['skipped']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(REPO / "tests")],
                        help="test files or folders (default: the checkout's tests/)")
    parser.add_argument("--json", type=Path, help="also write the counts here")
    args = parser.parse_args()
    # the tests' own packages: which cases skip, and how long they take, depend on the machine too
    report_header("Hostile cases by group", ("pytest", "numpy", "torch", "open_clip_torch", "pillow"))
    tally = Tally()
    started = time.perf_counter()
    code = pytest.main([*args.paths, "-q", "-m", "hostile", "-p", "no:cacheprovider"], plugins=[tally])
    counts = tally.table()
    print(f"\nhostile cases by group ({time.perf_counter() - started:.0f} s):\n")
    print(markdown(counts))
    if args.json:
        args.json.write_text(json.dumps({g: dict(c) for g, c in counts.items()}, indent=2) + "\n")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
