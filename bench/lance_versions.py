"""Disk growth of a ``--store lance`` index over incremental runs, with and without pruning old versions.

Usage: python bench/lance_versions.py CATALOG [--items 2000] [--runs 5] [--share 0.05] [--workdir DIR] [--json OUT]

The first ``--items`` products of CATALOG are indexed once with ``fashrec index --store lance`` (the real
command); the folder is copied, and both copies get the same ``--runs`` incremental runs, each
repricing a different ``--share`` of the products (a metadata change: Lance deletes nothing, merges the
changed rows on ``id`` and folds them into its indexes, each a new version). One copy runs with
``FASHREC_LANCE_KEEP_S=never`` (no pruning: how fashrec behaved before), the other with ``0`` (prune every
version but the published and the previous generation's at once). After each run: the Lance dataset's
bytes on disk and its version count, side by side.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import bench_parser, log, markdown_table, report_header, write_json

MODES = {"never": "no pruning", "0": "pruned (keep 0 s)"}


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def versions(dataset: Path) -> int:
    import lancedb

    return len(lancedb.connect(str(dataset)).open_table("items").list_versions())


def index(catalog: Path, folder: Path, keep: str, *extra: str) -> float:
    env = {**os.environ, "FASHREC_LANCE_KEEP_S": keep}
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "fashrec", "index", str(catalog), "--index", str(folder), *extra],
                         capture_output=True, text=True, env=env)
    if run.returncode != 0:
        sys.exit(f"fashrec index failed: {run.stderr[-2000:]}")
    return time.perf_counter() - started


def reprice(rows: list[dict], catalog: Path, turn: int, share: float) -> None:
    step = max(1, int(1 / share))
    for i, row in enumerate(rows):
        if i % step == turn % step:
            row["price"] = float(10 + turn)
    catalog.write_text("".join(json.dumps(r) + "\n" for r in rows))


def main() -> None:
    ap = bench_parser(__doc__)
    ap.add_argument("catalog", type=Path)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--share", type=float, default=0.05)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    info = report_header("Lance store disk growth over incremental runs", ("numpy", "lancedb", "pylance", "pyarrow"))
    work = Path(args.workdir or tempfile.mkdtemp(prefix="lance-versions-"))
    work.mkdir(parents=True, exist_ok=True)
    with open(args.catalog) as fh:
        rows = [json.loads(line) for _, line in zip(range(args.items), fh)]
    catalog = work / "catalog.jsonl"
    catalog.write_text("".join(json.dumps(r) + "\n" for r in rows))
    first = work / "never"
    shutil.rmtree(first, ignore_errors=True)
    log(f"indexing {len(rows)} products once")
    built = index(catalog, first, "never", "--store", "lance")
    shutil.rmtree(work / "0", ignore_errors=True)
    shutil.copytree(first, work / "0")
    table = [{"run": 0, **{f"{m} MB": round(du(work / m / "lance") / 1e6, 2) for m in MODES},
              **{f"{m} versions": versions(work / m / "lance") for m in MODES}}]
    for turn in range(1, args.runs + 1):
        reprice(rows, catalog, turn, args.share)
        seconds = {m: round(index(catalog, work / m, m), 1) for m in MODES}
        table.append({"run": turn, **{f"{m} MB": round(du(work / m / "lance") / 1e6, 2) for m in MODES},
                      **{f"{m} versions": versions(work / m / "lance") for m in MODES},
                      **{f"{m} s": seconds[m] for m in MODES}})
        log(f"run {turn}: {table[-1]}")
    headers = list(table[-1])
    print(markdown_table(headers, [[row.get(h, "") for h in headers] for row in table]))
    if args.json:
        info["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
        write_json(args.json, {"machine": info, "items": len(rows), "share": args.share,
                               "build_s": round(built, 1), "modes": MODES, "runs": table})


if __name__ == "__main__":
    main()
