"""The Lance store's graph answers re-scored by Lance (refine_factor 1: it reads the top k's full vectors
from the dataset) or by fashrec from the generation's own matrix (the graph's top k alone, then exact
scores), interleaved query by query in one process on the same open index: recall@10 against
open_1m.py's exact truth and p50 of ``Index.nearest``, unfiltered and with the 30 % filter
(post-filtered); the first 20 queries are left out of the p50, and both ways must return the same rows.

    cd bench && OPENBLAS_NUM_THREADS=1 python lance_rescore.py ~/.cache/fashrec-data/work-lance10/store-1m \\
        --json /tmp/lance-rescore.json
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from ann_bench import recall
from common import markdown_table, open_store, report_header, store_parser, write_json

from fashrec.index import lance_store
from fashrec.index.filters import Filter

CASES = (("none", None, "unfiltered"), ("30%", {"share": {"thirty"}}, "filter 30%"))


def by_lance(self, nearest, where, prefilter, method):
    """LanceSearch._run as it was: Lance re-scores the top k (refine_factor 1) and returns distances."""
    found = self.table.to_table(columns=self._select, nearest=nearest, filter=where, prefilter=prefilter)
    return self._neighbours(found["id"].to_pylist(), found["_distance"].to_numpy(), method)


def main() -> None:
    parser = store_parser(__doc__)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    info = report_header("Lance's re-scoring of the graph's top k, or fashrec's", packages=("numpy", "pylance", "lancedb"))
    ways = {"lance refine 1": by_lance, "fashrec re-scores": lance_store.LanceSearch._run}
    truths, queries, index = open_store(args)
    rows = []
    for case, where, key in CASES:
        found: dict[str, list] = {w: [] for w in ways}
        times: dict[str, list] = {w: [] for w in ways}
        for i, q in enumerate(queries):
            for way in (list(ways) if i % 2 else list(reversed(ways))):
                lance_store.LanceSearch._run = ways[way]
                start = time.perf_counter()
                got = index.nearest(q, 10, flt=Filter(dict(where)) if where else None)
                times[way].append((time.perf_counter() - start) * 1000)
                found[way].append(got.positions)
            assert set(found["lance refine 1"][-1].tolist()) == set(found["fashrec re-scores"][-1].tolist()), \
                f"query {i} ({case}): the two ways returned different rows"
        lance_store.LanceSearch._run = ways["fashrec re-scores"]
        truth = np.asarray(truths[key])
        base = float(np.median(times["lance refine 1"][20:]))
        for way in ways:
            p50 = float(np.median(times[way][20:]))
            rows.append([case, way, round(recall(found[way], truth), 4), round(p50, 2), round(p50 / base, 3)])
    print(markdown_table(["case", "re-scored by", "recall@10", "p50 ms", "p50 / Lance's"], rows))
    if args.json:
        write_json(args.json, {"machine": info, "queries": len(queries), "rows": rows})


if __name__ == "__main__":
    main()
