"""A 1M-item graph searched on 4 KiB pages and on 2 MiB (transparent huge) pages, side by side in one
process: the same graph file loaded twice, once as hnswlib alone loads it (what a one-shot command
searches) and once through ``ann.load_hnsw`` and ``collapse_onto_huge_pages`` (what ``fashrec serve``
searches once its background collapse is done); rounds alternate which copy goes first. Recall@10
against exact truth (both copies must return the same rows), p50/p95 of ``ann.search`` at the shipped
ef, what the collapse cost, and how much of each block the kernel put on huge pages.

Uses ann_bench.py's clustered 1M set and its cached graph (build it once with ann_bench.py --sizes 1000000
--graph-cache DIR):

    OPENBLAS_NUM_THREADS=1 python bench/huge_pages.py --graph-cache ~/.cache/fashrec-data/work-bench1m/ann-cache \\
        --json /tmp/huge-pages.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from ann_bench import DIM, K, ground_truth, make_vectors, recall
from common import log, markdown_table, percentiles_ms, report_header, rss_mib, write_json

from fashrec.index import ann, huge_pages


def anon_huge_mib(block: huge_pages.Block | None) -> float:
    """AnonHugePages inside the mappings that hold ``block`` (0 when None)."""
    if block is None:
        return 0.0
    inside, kib = False, 0
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()[0]
        if "-" in head and ":" not in head:
            start, end = (int(part, 16) for part in head.split("-"))
            inside = start < block.start + block.length and end > block.start
        elif inside and head == "AnonHugePages:":
            kib += int(line.split()[1])
    return kib / 1024


def plain_load(path: Path, n: int):
    """hnswlib's own load (nobody advises its block): what ann.load_hnsw did before huge_pages."""
    import hnswlib

    graph = hnswlib.Index(space="cosine", dim=DIM)
    before = huge_pages.anonymous_ranges()
    graph.load_index(str(path), max_elements=n)
    grown = [r for r in huge_pages.new_ranges(before, huge_pages.anonymous_ranges()) if r[1] - r[0] > 2 ** 28]
    block = huge_pages.block_within(*max(grown, key=lambda r: r[1] - r[0])) if grown else None
    graph.set_ef(ann.default_ef(n))
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
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    path = args.graph_cache / f"clustered-{args.n}-{DIM}-M{ann.HNSW_M}.hnsw"
    if not path.exists():
        parser.error(f"no cached graph {path}: build it with ann_bench.py --sizes {args.n} --data clustered "
                     f"--graph-cache {args.graph_cache}")
    info = report_header("A large graph on 4 KiB and on 2 MiB pages", thp=huge_pages.thp_mode(),
                         graph=str(path), graph_mib=round(path.stat().st_size / 2 ** 20))

    log(f"drawing the {args.n:,} vectors and {args.queries} queries, exact truth ...")
    vectors = make_vectors("clustered", args.n, DIM, seed=args.n)
    queries = make_vectors("clustered", args.queries, DIM, seed=10_000_019)
    truth = ground_truth(vectors, queries, K)

    log("loading the graph twice ...")
    t = time.perf_counter()
    small_pages, small_block = plain_load(path, args.n)
    plain_s = time.perf_counter() - t
    t = time.perf_counter()
    huge = ann.load_hnsw(path, DIM, args.n)
    load_s = time.perf_counter() - t
    block = ann.graph_block(huge)
    t = time.perf_counter()
    collapsed = ann.collapse_onto_huge_pages(huge)
    collapse_s = time.perf_counter() - t
    log(f"collapse: {collapsed} in {collapse_s:.2f}s; block {block}")

    copies = {"4 KiB pages": small_pages, "2 MiB pages": huge}
    times = {name: [] for name in copies}
    per_round = {name: [] for name in copies}
    found = {}
    for name, graph in copies.items():  # warm both (hnswlib's visited-list pool, the queries' cache lines)
        timed(graph, vectors, queries[:20])
    for r in range(args.rounds):
        order = list(copies) if r % 2 == 0 else list(reversed(copies))
        for name in order:
            got_times, got = timed(copies[name], vectors, queries)
            times[name] += got_times
            per_round[name].append(percentiles_ms(got_times)["p50"])
            found[name] = got
        log(f"round {r + 1}: " + ", ".join(f"{n} {per_round[n][-1]:.3f} ms" for n in copies))
    same = all(np.array_equal(a, b) for a, b in zip(found["4 KiB pages"], found["2 MiB pages"]))

    rows, base = [], percentiles_ms(times["4 KiB pages"])["p50"]
    results = {}
    for name in copies:
        lat = percentiles_ms(times[name])
        hugemib = anon_huge_mib(small_block if name == "4 KiB pages" else block)
        results[name] = {"recall@10": recall(found[name], truth), "p50_ms": lat["p50"], "p95_ms": lat["p95"],
                         "p50_per_round_ms": per_round[name], "anon_huge_mib": hugemib}
        rows.append([name, f"{results[name]['recall@10']:.3f}", f"{lat['p50']:.3f} ms",
                     f"{lat['p50'] / base:.2f}x", f"{lat['p95']:.3f} ms",
                     " / ".join(f"{v:.2f}" for v in per_round[name]), f"{hugemib:,.0f} MiB"])
    print(markdown_table(["graph memory", "recall@10", "p50", "p50 vs 4 KiB", "p95", "p50 per round (ms)",
                          "on huge pages"], rows))
    print(f"\nsame rows for every query: {same}; ef {ann.default_ef(args.n)}; {args.queries} queries x "
          f"{args.rounds} rounds each; load {plain_s:.1f} s (hnswlib) / {load_s:.1f} s (load_hnsw, with its CRC "
          f"check off); collapse {collapse_s:.2f} s ({collapsed}); RSS {rss_mib():,.0f} MiB with both copies")
    write_json(args.json, {"machine": info, "results": results, "same_rows": same, "collapse_s": collapse_s,
                           "collapsed": collapsed, "load_s": {"hnswlib": plain_s, "load_hnsw": load_s},
                           "block": None if block is None else {"start": block.start, "length": block.length}})
    if not same:
        raise SystemExit("the two copies returned different rows")


if __name__ == "__main__":
    main()
