"""1M-item graphs searched on 4 KiB pages and on 2 MiB (transparent huge) pages, side by side in one
process: each graph file (``--m``: the M 16 graph fashrec built before ann.default_m and the M 32 graph it
builds from 500k items) loaded twice, once as hnswlib alone loads it (what a one-shot command searches)
and once through ``ann.load_hnsw`` and ``collapse_onto_huge_pages`` (what ``fashrec serve`` searches once
its background collapse is done); every round times every copy, in an order that alternates. Recall@10
against exact truth (the two copies of a graph must return the same rows), p50/p95 of ``ann.search`` at
the ef fashrec gives that graph (``ann.graph_ef``), what the collapse cost, how much of each block the
kernel put on huge pages, and each p50 against the first copy's (M 16 on 4 KiB pages: fashrec before).

Uses ann_bench.py's clustered 1M set and its cached graphs (build each once with ann_bench.py --sizes 1000000
--m M --graph-cache DIR):

    OPENBLAS_NUM_THREADS=1 python bench/huge_pages.py --graph-cache ~/.cache/fashrec-data/work-bench1m/ann-cache \
        --m 16,32 --json /tmp/huge-pages.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from ann_bench import DIM, K, ground_truth, make_vectors, recall
from common import log, markdown_table, percentiles_ms, report_header, rss_mib, write_json

from fashrec.index import ann, huge_pages


def plain_load(path: Path, n: int):
    """hnswlib's own load (nobody advises its block): what ann.load_hnsw did before huge_pages; the block is
    found the same way, only to report how much of it is on huge pages."""
    import hnswlib

    graph = hnswlib.Index(space="cosine", dim=DIM)
    _, block = huge_pages.allocated_by(lambda: graph.load_index(str(path), max_elements=n),
                                       at_least=path.stat().st_size // 2)
    graph.set_ef(ann.graph_ef(graph, n))
    return graph, block


def timed(graph, vectors, queries) -> tuple[list[float], list[np.ndarray]]:
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        got = ann.search(graph, vectors, q, K)
        times.append(time.perf_counter() - t)
        found.append(got.positions)
    return times, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph-cache", type=Path, required=True, help="ann_bench.py's --graph-cache")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--m", default="", help="the graphs' M, comma-separated (default: the M fashrec builds "
                                                "--n items with)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ms = [int(x) for x in args.m.split(",") if x] or [ann.default_m(args.n)]
    paths = {m: args.graph_cache / f"clustered-{args.n}-{DIM}-M{m}.hnsw" for m in ms}
    for m, path in paths.items():
        if not path.exists():
            parser.error(f"no cached graph {path}: build it with ann_bench.py --sizes {args.n} --data clustered "
                         f"--m {m} --graph-cache {args.graph_cache}")
    info = report_header("Large graphs on 4 KiB and on 2 MiB pages", thp=huge_pages.thp_mode(),
                         graphs={m: f"{p} ({p.stat().st_size / 2 ** 20:,.0f} MiB)" for m, p in paths.items()})

    log(f"drawing the {args.n:,} vectors and {args.queries} queries, exact truth ...")
    vectors = make_vectors("clustered", args.n, DIM, seed=args.n)
    queries = make_vectors("clustered", args.queries, DIM, seed=10_000_019)
    truth = ground_truth(vectors, queries, K)

    copies, blocks, loads = {}, {}, {}
    for m, path in paths.items():
        log(f"loading the M {m} graph twice ...")
        t = time.perf_counter()
        copies[f"M {m}, 4 KiB pages"], blocks[f"M {m}, 4 KiB pages"] = plain_load(path, args.n)
        loads[f"M {m}, 4 KiB pages"] = {"load_s": time.perf_counter() - t}
        t = time.perf_counter()
        huge = ann.load_hnsw(path, DIM, args.n)
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        collapsed = ann.collapse_onto_huge_pages(huge)
        loads[f"M {m}, 2 MiB pages"] = {"load_s": load_s, "collapse_s": time.perf_counter() - t,
                                        "collapsed": collapsed}
        copies[f"M {m}, 2 MiB pages"], blocks[f"M {m}, 2 MiB pages"] = huge, ann.graph_block(huge)
        log(f"M {m}: collapse {collapsed} in {loads[f'M {m}, 2 MiB pages']['collapse_s']:.2f}s")

    names = list(copies)
    times = {name: [] for name in names}
    per_round = {name: [] for name in names}
    found = {}
    for name in names:  # warm every copy (hnswlib's visited-list pool, the queries' cache lines)
        timed(copies[name], vectors, queries[:20])
    for r in range(args.rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            got_times, got = timed(copies[name], vectors, queries)
            times[name] += got_times
            per_round[name].append(percentiles_ms(got_times)["p50"])
            found[name] = got
        log(f"round {r + 1}: " + ", ".join(f"{n} {per_round[n][-1]:.3f} ms" for n in names))
    same = {m: all(np.array_equal(a, b) for a, b in zip(found[f"M {m}, 4 KiB pages"], found[f"M {m}, 2 MiB pages"]))
            for m in ms}

    rows, base = [], percentiles_ms(times[names[0]])["p50"]
    results = {}
    for name in names:
        lat = percentiles_ms(times[name])
        hugemib = blocks[name].huge_page_bytes() / 2 ** 20 if blocks[name] else 0.0
        graph = copies[name]
        results[name] = {"M": graph.M, "ef": ann.graph_ef(graph, args.n), "recall@10": recall(found[name], truth),
                         "p50_ms": lat["p50"], "p95_ms": lat["p95"], "p50_per_round_ms": per_round[name],
                         "anon_huge_mib": hugemib, **loads[name]}
        rows.append([name, results[name]["ef"], f"{results[name]['recall@10']:.3f}", f"{lat['p50']:.3f} ms",
                     f"{lat['p50'] / base:.2f}x", f"{lat['p95']:.3f} ms",
                     " / ".join(f"{v:.2f}" for v in per_round[name]), f"{hugemib:,.0f} MiB"])
    print(markdown_table(["graph", "ef", "recall@10", "p50", f"p50 vs {names[0]}", "p95", "p50 per round (ms)",
                          "on huge pages"], rows))
    collapse = ", ".join(f"M {m} {loads[f'M {m}, 2 MiB pages']['collapse_s']:.2f} s" for m in ms)
    print(f"\nsame rows on both page sizes: {same}; {args.queries} queries x {args.rounds} rounds each; collapse "
          f"{collapse}; RSS {rss_mib():,.0f} MiB with every copy")
    write_json(args.json, {"machine": info, "results": results, "same_rows": same})
    if not all(same.values()):
        raise SystemExit("the two copies of a graph returned different rows")


if __name__ == "__main__":
    main()
