"""fashrec's two stores side by side on one catalog: ``Index.nearest`` on a local index against the same
generation indexed with ``--store lance`` (filters pushed into LanceDB's ``where``).

Usage: python bench/lance_store.py --local DIR --lance DIR [DIR...] [--queries 200] [--json OUT]

Several ``--lance`` folders are measured in turn, e.g. an index folder and a folder holding only a copy
of its ``manifest.json`` (a reader that builds its products and facts from the dataset alone).

Both folders must index the same catalog with the same encoder (e.g. the eval-refine index, and a copy
of it re-published with ``fashrec index CATALOG --index COPY --store lance``, which re-encodes nothing).
Queries are the image vectors of products drawn at random (as ``similar`` and the anchor step ask);
filters are an attribute value held by about 2 % and one held by about 30 % of the products (an
``attr=value`` as ``--where`` gives it). Ground truth is the exact top 10 under the filter, from the
local index's vectors. Each store is opened in a fresh child process: open time and RSS after open
and after the queries; then recall@10 and p50/p95 per filter, one query at a time, both stores in
the same run (so their latencies compare; absolute times depend on the machine's load).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import log, markdown_table, percentiles_ms, report_header, rss_mib, write_json

K = 10


def pick_filters(index) -> dict[str, tuple[str, str] | None]:
    """An attribute value nearest 2 % of the products and one nearest 30 % (none: no filter)."""
    n = len(index)
    shares = [(len(pos) / n, attr, value) for attr in index.vocabulary.attributes()
              for value, pos in index.columns.postings(attr).items()]
    pick = {name: min(shares, key=lambda s: abs(s[0] - target))[1:] for name, target in (("2%", 0.02), ("30%", 0.30))}
    return {"none": None, **pick}


def child(folder: Path, queries: int, seed: int) -> dict:
    """Open one index, run every query under every filter; what it took."""
    from fashrec.index import open_index
    from fashrec.index.filters import Filter

    base = rss_mib()
    started = time.perf_counter()
    index = open_index(folder)
    opened = {"open_s": round(time.perf_counter() - started, 3), "rss_open_mib": round(rss_mib() - base, 1)}
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(index), size=queries, replace=False)
    out: dict = {"store": index.info()["store"]["kind"], **opened, "filters": {}}
    for name, pair in pick_filters(index).items():
        flt = Filter(include={pair[0]: {pair[1]}}) if pair else None
        found, times = [], []
        for i, p in enumerate(picks):
            t = time.perf_counter()
            got = index.nearest(index.image_vectors[p], K, flt=flt)
            if i >= 3:   # the first few warm caches
                times.append(time.perf_counter() - t)
            found.append([index.products[int(x)].id for x in got.positions])
        share = float(index.mask(flt).mean()) if flt else 1.0
        out["filters"][name] = {"where": f"{pair[0]}={pair[1]}" if pair else "", "share": round(share, 4),
                                "found": found, "method": got.method, **percentiles_ms(times)}
    out["rss_end_mib"] = round(rss_mib() - base, 1)
    return out


def truth(folder: Path, queries: int, seed: int) -> dict[str, list[list[str]]]:
    """Exact top 10 per query and filter, from the local index's vectors."""
    from fashrec.index import ann, open_index
    from fashrec.index.filters import Filter

    index = open_index(folder)
    picks = np.random.default_rng(seed).choice(len(index), size=queries, replace=False)
    out = {}
    for name, pair in pick_filters(index).items():
        allowed = index.mask(Filter(include={pair[0]: {pair[1]}})) if pair else None
        out[name] = [[index.products[int(x)].id for x in ann.exact_search(index.image_vectors, index.image_vectors[p],
                                                                             K, allowed).positions] for p in picks]
    return out


def run_child(folder: Path, queries: int, seed: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", str(folder), "--queries", str(queries),
                           "--seed", str(seed)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local", type=Path)
    parser.add_argument("--lance", type=Path, nargs="+")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.queries, args.seed)))
        return
    info = report_header("fashrec's local and Lance stores side by side", ("numpy", "hnswlib", "lancedb", "pylance",
                                                                             "pyarrow"))
    exact = truth(args.local, args.queries, args.seed)
    folders = [args.local, *args.lance]
    runs = [{**run_child(folder, args.queries, args.seed), "folder": folder.name} for folder in folders]
    rows = []
    for run in runs:
        for name, got in run["filters"].items():
            hits = sum(len(set(f) & set(t)) for f, t in zip(got["found"], exact[name]))
            wanted = sum(len(t) for t in exact[name])
            rows.append([f"{run['store']} ({run['folder']})", got["method"], f"{name} ({got['where'] or 'no filter'}, {got['share']:.1%})",
                         round(hits / max(wanted, 1), 4), round(got["p50"], 2), round(got["p95"], 2)])
    opens = [[f"{r['store']} ({r['folder']})", r["open_s"], r["rss_open_mib"], r["rss_end_mib"]] for r in runs]
    print(markdown_table(["store", "open s", "RSS after open MiB", "RSS after queries MiB"], opens))
    print(markdown_table(["store", "method", "filter", "recall@10", "p50 ms", "p95 ms"], rows))
    write_json(args.json, {"machine": info, "queries": args.queries, "opens": opens, "rows": rows})


if __name__ == "__main__":
    main()
