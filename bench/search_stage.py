"""The search stage of `fashrec search` (what follows encoding the query), on `fashrec eval search`'s queries.

Encoding the words dominates a query's latency and varies with the machine's load, so this times only
``timing_ms["search"]`` of :meth:`fashrec.search.Searcher.text` (rules planner, k = 10): filters, both
nearest-neighbour searches, the guard, a shortfall's counts and near misses. Run it from two checkouts
alternately, on the same index, to compare them side by side (``PYTHONPATH`` picks the checkout; this
file only needs ``make_queries`` and ``Searcher``, which every checkout has)::

    PYTHONPATH=/path/to/old python bench/search_stage.py --index ~/.cache/fashrec-data/catalog.eval-refine/index
    PYTHONPATH=. python bench/search_stage.py --index ~/.cache/fashrec-data/catalog.eval-refine/index
"""

from __future__ import annotations

import argparse
import json
import statistics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--n", type=int, default=100, help="queries (eval search's, seed 0)")
    parser.add_argument("--reps", type=int, default=3, help="passes over the queries (the first is warm-up)")
    parser.add_argument("--label", default="", help="a name for this checkout in the output")
    args = parser.parse_args()

    from fashrec.encoder import load_encoder
    from fashrec.evaluation.search import make_queries
    from fashrec.index import open_index
    from fashrec.planner import create_planner
    from fashrec.search import Searcher

    # Only now: common.py puts this script's checkout first on sys.path, and PYTHONPATH's checkout is the
    # one measured (fashrec, once imported, keeps its own folder for the rest of its modules).
    from common import report_header

    report_header("The search stage of `fashrec search`", ("numpy", "hnswlib"))
    index = open_index(args.index)
    searcher = Searcher(index, load_encoder(index.encoder_spec), create_planner("rules"))
    queries = make_queries(index.products, args.n, 0)
    ms: list[float] = []
    for rep in range(args.reps):
        times = [searcher.text(q.text, k=10).timing_ms["search"] for q in queries]
        if rep:                       # the first pass warms the caches (prompt tables, mapped pages)
            ms += times
    ms.sort()
    print(json.dumps({"label": args.label, "queries": len(queries), "samples": len(ms),
                      "p50_ms": round(statistics.median(ms), 3), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 3),
                      "mean_ms": round(statistics.fmean(ms), 3)}))


if __name__ == "__main__":
    main()
