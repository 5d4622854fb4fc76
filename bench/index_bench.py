"""Index benchmark: `fashrec index` build time and peak memory on real catalogs.

Each run is the real command in a child process (``python -m fashrec index ... --json``) with its
own FASHREC_HOME and a fresh index folder; its peak RSS is the child's own (see
common.run_measured for why that needs care). Per catalog it measures the first build, a no-op re-run
(nothing changed: hashing only) and an update after editing 1 % of the titles (re-encodes those).

    python bench/index_bench.py                                   # both catalogs, default encoder
    python bench/index_bench.py --catalog catalog.example.jsonl --model /path/to/model-dir
    python bench/index_bench.py --limit 2000 --json /tmp/index-bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from common import (
    REPO,
    log,
    markdown_table,
    report_header,
    run_measured,
    write_json,
)

DEFAULT_CATALOGS = [REPO / "catalog.example.jsonl", Path("~/.cache/fashrec-data/catalog.jsonl").expanduser()]
EDIT_SHARE = 0.01


def encoder_problem(model: str | None) -> str | None:
    """Why the encoder cannot be used (say so plainly instead of failing deep in a child run)."""
    from fashrec.encoder import DEFAULT_MODEL, resolve_spec
    from fashrec.errors import ModelError

    try:
        resolve_spec(model or DEFAULT_MODEL)
    except ModelError as exc:
        return f"{exc.message} ({exc.hint})" if exc.hint else exc.message
    return None


def copy_catalog(source: Path, dest: Path, *, limit: int | None, edit_share: float = 0.0) -> int:
    """Copy (the first ``limit`` lines of) a catalog with absolute image paths; optionally edit titles.

    Absolute paths let the copy live in a scratch folder; editing titles changes the text digest, so
    the indexer must re-encode exactly those items.
    """
    base = source.resolve().parent
    out, n = [], 0
    every = int(round(1 / edit_share)) if edit_share else 0
    with open(source, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if limit is not None and n >= limit:
                break
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if not isinstance(row, dict) or not isinstance(row.get("image"), str):
                continue
            image = Path(row["image"]).expanduser()
            row["image"] = str(image if image.is_absolute() else base / image)
            if every and n % every == 0:
                row["title"] = f"{row.get('title') or ''} (edited)"
            out.append(json.dumps(row, ensure_ascii=False))
            n += 1
    dest.write_text("\n".join(out) + "\n", encoding="utf-8")
    return n


def run_index(catalog: Path, index_dir: Path, home: Path, model: str | None, batch_size: int) -> dict:
    """One `fashrec index` child: wall time, peak RSS and its JSON report."""
    cmd = [sys.executable, "-m", "fashrec", "index", str(catalog), "--index", str(index_dir), "--json",
           "--batch-size", str(batch_size)]
    if model:
        cmd += ["--model", model]
    env = {**os.environ, "FASHREC_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    run = run_measured(cmd, env=env, cwd=REPO)
    if run["exit"] != 0:
        raise RuntimeError(f"fashrec index failed ({run['exit']}): {run['stderr'][-2000:]}")
    return {**run, "report": json.loads(run["stdout"])}


def folder_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) / 2 ** 20


def bench_catalog(source: Path, args, work: Path) -> dict:
    name = source.name if source.parent == REPO else str(source)
    work.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(work / "index", ignore_errors=True)  # always a first build from nothing
    catalog = work / "catalog.jsonl"
    n = copy_catalog(source, catalog, limit=args.limit)
    index_dir, home = work / "index", work / "home"
    rows = []
    for step in ("first build", "no-op re-run", f"{EDIT_SHARE:.0%} titles edited"):
        if step.endswith("edited"):
            copy_catalog(source, catalog, limit=args.limit, edit_share=EDIT_SHARE)
        log(f"{name}: {step} ({n} lines) ...")
        run = run_index(catalog, index_dir, home, args.model, args.batch_size)
        rep = run["report"]
        encoded = rep["added"] + rep["updated"]
        rows.append({"step": step, "items": rep["total"], "encoded": encoded, "skipped": len(rep["skipped"]),
                     "wall_s": run["wall_s"], "indexer_s": rep["seconds"], "cpu_s": run["cpu_s"],
                     "items_per_s": encoded / rep["seconds"] if encoded and rep["seconds"] else None,
                     "peak_rss_mib": run["peak_rss_mib"], "index_mib": folder_mib(index_dir),
                     "encoder": rep["encoder"]})
        log(f"  {rows[-1]['wall_s']:.1f}s wall, {rows[-1]['peak_rss_mib']:.0f} MiB peak, {encoded} encoded")
    return {"catalog": name, "lines": n, "limit": args.limit, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalog", type=Path, action="append",
                        help="catalog JSONL (repeatable; default: the example and fashion-products catalogs)")
    parser.add_argument("--model", help="encoder spec (default: fashrec-mini, the shipped encoder)")
    parser.add_argument("--limit", type=int, help="only the first N products of each catalog")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep the indexes (default: a "
                        "temporary folder); refine_latency.py and ann_bench.py --data real can reuse them")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()

    info = report_header("Index benchmark", ("numpy", "hnswlib", "torch", "open_clip_torch", "pillow"),
                         threads=os.environ.get("FASHREC_THREADS", "default"))
    problem = encoder_problem(args.model)
    if problem:
        print(f"**Not run: {problem}.** Pass --model DIR (any open_clip model folder) to bench another encoder.")
        write_json(args.json, {"machine": info, "not_run": problem})
        sys.exit(2)
    print(f"encoder: {args.model or 'fashrec-mini (default)'}\n")

    results, missing = [], []
    with tempfile.TemporaryDirectory(prefix="fashrec-index-bench-") as tmp:
        scratch = args.keep.expanduser() if args.keep else Path(tmp)
        for number, source in enumerate(args.catalog or DEFAULT_CATALOGS):
            source = source.expanduser()
            if not source.is_file():
                missing.append(str(source))
                print(f"- catalog not found, skipped: {source}")
                continue
            results.append(bench_catalog(source, args, scratch / f"{number}-{source.stem}"))
            write_json(args.json, {"machine": info, "model": args.model, "results": results, "missing": missing})

    headers = ["catalog", "step", "items", "encoded", "skipped", "wall s", "indexer s", "items/s",
               "peak RSS MiB", "index MiB"]
    table = [[r["catalog"], row["step"], row["items"], row["encoded"], row["skipped"], row["wall_s"],
              row["indexer_s"], row["items_per_s"], row["peak_rss_mib"], row["index_mib"]]
             for r in results for row in r["rows"]]
    print(markdown_table(headers, table))
    if results:
        print(f"\nencoder identifier: {results[0]['rows'][0]['encoder']}")


if __name__ == "__main__":
    main()
