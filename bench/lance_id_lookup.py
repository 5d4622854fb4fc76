"""The Lance store's answer ids mapped to positions one at a time (as before 2026-12-03) or in one lookup,
interleaved query by query in one process on the same open index, so the machine's drift hits both alike.

    cd bench && OPENBLAS_NUM_THREADS=1 python lance_id_lookup.py ~/.cache/fashrec-data/work-lance10/store-1m \\
        --queries 200 --json /tmp/lance-id-lookup.json

The index is lance_filter.py --store's (open_1m.py's 1M generation in a Lance table; its ``share``
attribute lets 30 % through). Per case (no filter, the 30 % filter: both ANN paths, the second
post-filtered) the p50 of ``Index.nearest`` with each way, the first 20 queries left out, and the ratio.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from common import markdown_table, report_header, write_json

from fashrec.index import lance_store, open_index
from fashrec.index.ann import Neighbours
from fashrec.index.filters import Filter


def one_at_a_time(self, ids, distances, method):
    """LanceSearch._neighbours as it was: one ``Columns.position`` per id (no missing-id check: timing only)."""
    positions = [self.columns.position(i) for i in ids]
    scores = (1.0 - np.asarray(distances, np.float64)).astype(np.float32)
    order = np.argsort(-scores, kind="stable")
    return Neighbours(np.asarray(positions, np.int64)[order], scores[order], method)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="a Lance-backed fashrec index (lance_filter.py --store)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    info = report_header("Lance answer ids to positions: one lookup per id vs one for all",
                         packages=("numpy", "pylance", "lancedb"))
    index = open_index(args.store)
    together = lance_store.LanceSearch._neighbours
    ways = {"one at a time": one_at_a_time, "together": together}
    queries = np.asarray(index.image_vectors[np.random.default_rng(1).integers(0, len(index), args.queries)],
                         np.float32)
    rows = []
    for case, flt in (("none", None), ("30%", Filter({"share": {"thirty"}}))):
        times: dict[str, list[float]] = {w: [] for w in ways}
        for i, q in enumerate(queries):
            order = list(ways) if i % 2 else list(reversed(ways))
            answers = []
            for way in order:
                lance_store.LanceSearch._neighbours = ways[way]
                start = time.perf_counter()
                answers.append(index.nearest(q, 10, flt=flt).positions.tolist())
                times[way].append((time.perf_counter() - start) * 1000)
            assert answers[0] == answers[1], "the two ways must give the same answer"
        lance_store.LanceSearch._neighbours = together
        before, after = (float(np.median(times[w][20:])) for w in ways)
        rows.append({"case": case, "one_at_a_time_p50_ms": round(before, 2), "together_p50_ms": round(after, 2),
                     "ratio": round(after / before, 3)})
    print(markdown_table(list(rows[0]), [list(r.values()) for r in rows]))
    if args.json:
        write_json(args.json, {"machine": info, "queries": args.queries, "rows": rows})


if __name__ == "__main__":
    main()
