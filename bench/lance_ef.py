"""The Lance store's graph search at two ``ef`` settings, interleaved query by query in one process on the
same open index: recall@10 against open_1m.py's exact truth and p50 of ``Index.nearest``, unfiltered and
with the 30 % filter (post-filtered), the first 20 queries left out of the p50.

    cd bench && OPENBLAS_NUM_THREADS=1 python lance_ef.py ~/.cache/fashrec-data/work-lance10/store-1m \\
        --efs 300,500 --json /tmp/lance-ef.json

The index is lance_filter.py --store's (open_1m.py's 1M generation in a Lance table); ``--truth`` is
open_1m.py's truth file for it (its queries are ann_bench's clustered queries, regenerated here).
A query's ef is max(the store's EF, the one asked), so an ef below the store's own measures the store's.
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


def main() -> None:
    parser = store_parser(__doc__)
    parser.add_argument("--efs", default="300,500")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    info = report_header("The Lance store's graph search at two ef settings", packages=("numpy", "pylance", "lancedb"),
                         store_ef=lance_store.EF)
    efs = [int(e) for e in args.efs.split(",")]
    truths, queries, index = open_store(args)
    rows = []
    for case, where, key in CASES:
        found: dict[int, list] = {e: [] for e in efs}
        times: dict[int, list] = {e: [] for e in efs}
        for i, q in enumerate(queries):
            for ef in (efs if i % 2 else list(reversed(efs))):
                start = time.perf_counter()
                got = index.nearest(q, 10, flt=Filter(dict(where)) if where else None, ef=ef)
                times[ef].append((time.perf_counter() - start) * 1000)
                found[ef].append(got.positions)
        truth = np.asarray(truths[key])
        base = float(np.median(times[efs[0]][20:]))
        for ef in efs:
            p50 = float(np.median(times[ef][20:]))
            rows.append([case, max(ef, lance_store.EF), round(recall(found[ef], truth), 4), round(p50, 2),
                         round(p50 / base, 3)])
    print(markdown_table(["case", "ef", "recall@10", "p50 ms", f"p50 / ef {max(efs[0], lance_store.EF)}"], rows))
    if args.json:
        write_json(args.json, {"machine": info, "queries": len(queries), "rows": rows})


if __name__ == "__main__":
    main()
