"""ANN benchmark: the shipped hnswlib settings against exact (numpy) search.

Everything goes through ``fashrec.index.ann`` (``build_hnsw`` / ``search``), so what is measured is
what ``fashrec`` ships: its M, ef_construction, default ef and the exact-search fallback rules.

Two kinds of synthetic unit vectors of the encoder's dimension (256):

- ``uniform``: i.i.d. Gaussian directions, the hardest case for any graph index (no structure);
- ``clustered``: a Gaussian mixture (1,000 components) whose points vary along a shared 32-dimension
  subspace plus small isotropic noise. Real image embeddings are clustered and have a low intrinsic
  dimension, so this is the closer stand-in for a catalog;
- ``real``: the image vectors of a built index (``--index DIR``), queries held out of the graph.

Queries are fresh draws from the same distribution (not catalog members). Per size and kind it
reports build time, memory, recall@10 and single-query latency for an ef sweep, the shipped default
path (which uses exact search below ``EXACT_MAX_ITEMS``), exact search, and filtered search with
2 % (exact fallback) and 30 % (hnswlib's filter) of the items allowed.

    OPENBLAS_NUM_THREADS=1 python bench/ann_bench.py --sizes 10000,100000 --json /tmp/ann-100k.json
    OPENBLAS_NUM_THREADS=1 nohup python bench/ann_bench.py --sizes 1000000 --graph-cache /tmp/ann-cache \
        --json /tmp/ann-1m.json > /tmp/ann-1m.log 2>&1 &
    python bench/ann_bench.py --data real --index shop.fashrec-index
"""

from __future__ import annotations

import argparse
import json
import math
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
from common import (
    Stopwatch,
    log,
    markdown_table,
    percentiles_ms,
    report_header,
    rss_mib,
    write_json,
)

from fashrec.index import ann

DIM = 256
K = 10
N_CLUSTERS = 1000
INTRINSIC_DIM = 32
NOISE = 0.3
GT_CHUNK = 65_536  # rows of the database scored at once when computing the ground truth


# -- data ----------------------------------------------------------------------------------------
def _unit(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def make_vectors(kind: str, n: int, dim: int, seed: int, structure_seed: int = 1234) -> np.ndarray:
    """``n`` unit vectors; ``structure_seed`` fixes the mixture so base and queries share it."""
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        out = np.empty((n, dim), dtype=np.float32)
        for s in range(0, n, GT_CHUNK):  # chunked: 1M x 256 doubles at once would be 2 GB
            out[s:s + GT_CHUNK] = rng.standard_normal((min(GT_CHUNK, n - s), dim), dtype=np.float32)
        return _unit(out)
    if kind == "clustered":
        structure = np.random.default_rng(structure_seed)
        centres = structure.standard_normal((N_CLUSTERS, dim), dtype=np.float32)
        basis = structure.standard_normal((INTRINSIC_DIM, dim), dtype=np.float32) / math.sqrt(INTRINSIC_DIM)
        out = np.empty((n, dim), dtype=np.float32)
        for s in range(0, n, GT_CHUNK):
            m = min(GT_CHUNK, n - s)
            assign = rng.integers(N_CLUSTERS, size=m)
            latent = rng.standard_normal((m, INTRINSIC_DIM), dtype=np.float32)
            out[s:s + m] = (centres[assign] + latent @ basis
                            + NOISE * rng.standard_normal((m, dim), dtype=np.float32))
        return _unit(out)
    raise ValueError(f"unknown data kind {kind!r}")


def real_vectors(index_dir: Path, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Image embeddings of a built index, with ``n_queries`` random items held out as queries.

    The closest stand-in for production: real encoder output on a real catalog (held-out items play
    the shopper's photo, which is never in the catalog itself).
    """
    from fashrec.index import open_index

    vectors = open_index(index_dir).image_vectors
    order = np.random.default_rng(0).permutation(vectors.shape[0])
    return np.ascontiguousarray(vectors[order[n_queries:]]), np.ascontiguousarray(vectors[order[:n_queries]])


def ground_truth(vectors: np.ndarray, queries: np.ndarray, k: int,
                 allowed: np.ndarray | None = None) -> np.ndarray:
    """Exact top-k positions per query (chunked over the database to bound memory)."""
    nq = queries.shape[0]
    best_scores = np.full((nq, k), -np.inf, dtype=np.float32)
    best_ids = np.full((nq, k), -1, dtype=np.int64)
    for s in range(0, vectors.shape[0], GT_CHUNK):
        scores = queries @ vectors[s:s + GT_CHUNK].T
        if allowed is not None:
            scores[:, ~allowed[s:s + GT_CHUNK]] = -np.inf
        ids = np.broadcast_to(np.arange(s, s + scores.shape[1]), scores.shape)
        all_scores = np.concatenate([best_scores, scores], axis=1)
        all_ids = np.concatenate([best_ids, ids], axis=1)
        top = np.argpartition(-all_scores, k - 1, axis=1)[:, :k]
        best_scores = np.take_along_axis(all_scores, top, axis=1)
        best_ids = np.take_along_axis(all_ids, top, axis=1)
    return best_ids


def recall(found: list[np.ndarray], truth: np.ndarray) -> float:
    """Mean share of the true top-k found (-1 marks slots a tiny filtered set could not fill)."""
    hits = []
    for f, t in zip(found, truth):
        t = t[t >= 0]
        if t.size:
            hits.append(len(set(f.tolist()) & set(t.tolist())) / t.size)
    return float(np.mean(hits)) if hits else float("nan")


# -- measurements ----------------------------------------------------------------------------------
@contextmanager
def exact_threshold(value: int) -> Iterator[None]:
    """Temporarily change ann.EXACT_MAX_ITEMS (0 forces the graph even on small catalogs)."""
    saved = ann.EXACT_MAX_ITEMS
    ann.EXACT_MAX_ITEMS = value
    try:
        yield
    finally:
        ann.EXACT_MAX_ITEMS = saved


def time_queries(graph, vectors, queries, *, ef=None, allowed=None, repeats_cap: int | None = None):
    """Single-query latency (one thread, as a CLI request is served) plus the results and method."""
    qs = queries if repeats_cap is None else queries[:repeats_cap]
    for q in qs[:5]:  # warm caches and hnswlib's visited-list pool
        ann.search(graph, vectors, q, K, allowed=allowed, ef=ef)
    found, times, methods = [], [], set()
    for q in qs:
        t = time.perf_counter()
        got = ann.search(graph, vectors, q, K, allowed=allowed, ef=ef)
        times.append(time.perf_counter() - t)
        found.append(got.positions)
        methods.add(got.method)
    return found, times, "/".join(sorted(methods))


def build_or_load(vectors: np.ndarray, m: int, cache: Path | None, tag: str,
                  huge_pages: bool = False) -> tuple[object, dict]:
    """Build with ann.build_hnsw (or reload a graph this script built before, with its build stats, and
    with ``huge_pages`` move it onto them)."""
    n, dim = vectors.shape
    if cache:
        graph_path, stats_path = cache / f"{tag}.hnsw", cache / f"{tag}.json"
        if graph_path.exists() and stats_path.exists():
            graph = ann.load_hnsw(graph_path, dim, n)  # as fashrec loads one (its ef, its huge-page advice)
            stats = json.loads(stats_path.read_text())
            log(f"loaded cached graph {graph_path} (built in {stats['build_s']:.0f}s)")
            if huge_pages:
                with Stopwatch() as sw:
                    moved = hasattr(ann, "collapse_onto_huge_pages") and ann.collapse_onto_huge_pages(graph)
                log(f"onto huge pages: {moved} ({sw.seconds:.1f}s)")
                stats = {**stats, "huge_pages": bool(moved), "collapse_s": sw.seconds}
            return graph, {**stats, "cached": True}
    before = rss_mib()
    log(f"building HNSW over {n:,} x {dim} (M={m}, ef_construction={ann.HNSW_EF_CONSTRUCTION}) ...")
    with Stopwatch() as sw:
        graph = ann.build_hnsw(vectors, m=m)
    stats = {"build_s": sw.seconds, "build_rate_per_s": n / sw.seconds,
             "rss_delta_mib": rss_mib() - before, "index_mib": graph.index_file_size() / 2 ** 20}
    log(f"built in {sw.seconds:.1f}s ({stats['build_rate_per_s']:.0f} items/s), "
        f"index {stats['index_mib']:.0f} MiB")
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
        graph.save_index(str(cache / f"{tag}.hnsw"))
        (cache / f"{tag}.json").write_text(json.dumps(stats))
    return graph, {**stats, "cached": False}


def bench_case(kind: str, n: int, m: int, args) -> dict:
    log(f"== {kind} n={n:,} M={m}")
    if kind == "real":
        vectors, queries = real_vectors(args.index, args.queries)
        n = vectors.shape[0]
    else:
        vectors = make_vectors(kind, n, args.dim, seed=n)
        queries = make_vectors(kind, args.queries, args.dim, seed=10_000_019)
    truth = ground_truth(vectors, queries, K)
    tag = f"{kind}-{n}-{vectors.shape[1]}-M{m}" if kind != "real" else None  # never reuse a graph of another index
    graph, build = build_or_load(vectors, m, args.graph_cache if tag else None, tag or "", args.huge_pages)
    rows = []

    def add(mode: str, ef, found, times, method, truth_):
        lat = percentiles_ms(times)
        rows.append({"mode": mode, "ef": ef, "method": method, "recall@10": recall(found, truth_),
                     "p50_ms": lat["p50"], "p95_ms": lat["p95"], "queries": len(times)})
        log(f"  {mode:<14} ef={ef!s:<5} {method:<14} recall@10={rows[-1]['recall@10']:.4f} "
            f"p50={lat['p50']:.3f}ms p95={lat['p95']:.3f}ms")

    # Exact numpy search: the recall-1.0 reference and what the fallback costs at this size.
    found, times, method = time_queries(None, vectors, queries, repeats_cap=args.exact_queries)
    add("exact", None, found, times, method, truth)
    # The ef sweep on the graph itself (EXACT_MAX_ITEMS=0 so small sizes use HNSW too).
    with exact_threshold(0):
        for ef in args.ef:
            found, times, method = time_queries(graph, vectors, queries, ef=ef)
            add("hnsw", ef, found, times, method, truth)
    # What `fashrec` does by default at this size (may be exact below EXACT_MAX_ITEMS).
    found, times, method = time_queries(graph, vectors, queries)
    add("shipped", shipped_ef(n, graph), found, times, method, truth)
    # Filters: a random subset allowed, ground truth restricted to it.
    rng = np.random.default_rng(7)
    for share in args.filter_shares:
        allowed = rng.random(n) < share
        truth_f = ground_truth(vectors, queries, K, allowed)
        efs = args.ef if n_allowed_uses_graph(n, int(allowed.sum())) else [None]
        for ef in efs:
            found, times, method = time_queries(graph, vectors, queries, ef=ef, allowed=allowed,
                                                repeats_cap=args.filtered_queries)
            add(f"filter {share:.0%}", ef or shipped_ef(n, graph), found, times, method, truth_f)
    del graph
    return {"data": kind, "n": n, "dim": vectors.shape[1], "M": m, "ef_construction": ann.HNSW_EF_CONSTRUCTION,
            "build": build, "vectors_mib": vectors.nbytes / 2 ** 20, "rows": rows}


def shipped_ef(n: int, graph=None) -> int:
    """The ef fashrec searches ``graph`` of ``n`` items with (its M decides since ann.graph_ef; a checkout from
    before ann.default_ef: one ef)."""
    if hasattr(ann, "graph_ef"):
        return ann.graph_ef(graph, n)
    return ann.default_ef(n) if hasattr(ann, "default_ef") else ann.HNSW_EF_SEARCH


def shipped_m(n: int) -> int:
    """The M fashrec builds a graph of ``n`` items with (one M before ann.default_m)."""
    return ann.default_m(n) if hasattr(ann, "default_m") else ann.HNSW_M


def n_allowed_uses_graph(n: int, n_allowed: int) -> bool:
    """Mirror of ann.search's rule, so the ef sweep is only repeated where ef changes anything."""
    return not (n <= ann.EXACT_MAX_ITEMS or n_allowed <= ann.EXACT_MAX_ITEMS
                or n_allowed < ann.EXACT_SHARE * n)


# -- output ----------------------------------------------------------------------------------------
def print_case(case: dict) -> None:
    b = case["build"]
    print(f"\n### {case['data']} vectors, n={case['n']:,}, dim={case['dim']}, M={case['M']}, "
          f"ef_construction={case['ef_construction']}")
    print(f"build {b['build_s']:.1f}s ({b['build_rate_per_s']:.0f} items/s{', cached' if b.get('cached') else ''}), "
          f"hnswlib index {b['index_mib']:.0f} MiB, RSS +{b['rss_delta_mib']:.0f} MiB at build, "
          f"vectors {case['vectors_mib']:.0f} MiB\n")
    print(markdown_table(["mode", "ef", "method", "recall@10", "p50 ms", "p95 ms", "queries"],
                         [[r["mode"], r["ef"], r["method"], r["recall@10"], r["p50_ms"], r["p95_ms"],
                           r["queries"]] for r in case["rows"]]))


def verdict(cases: list[dict], target_recall: float, target_p50: float) -> list[str]:
    lines = []
    for c in cases:
        ok = [r for r in c["rows"] if r["mode"] == "hnsw" and r["recall@10"] >= target_recall
              and r["p50_ms"] <= target_p50]
        best = min(ok, key=lambda r: r["p50_ms"]) if ok else None
        lines.append(f"{c['data']} n={c['n']:,} M={c['M']}: " + (
            f"smallest passing ef={best['ef']} (recall {best['recall@10']:.3f}, p50 {best['p50_ms']:.2f} ms)"
            if best else f"no ef in the sweep reaches recall@10>={target_recall} at p50<={target_p50} ms"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    parser.add_argument("--sizes", type=ints, default=[10_000, 100_000])
    parser.add_argument("--data", type=lambda s: s.split(","), default=["uniform", "clustered"],
                        help="uniform, clustered, and/or real (the image vectors of --index; --sizes ignored)")
    parser.add_argument("--index", type=Path, help="a built fashrec index, for --data real")
    parser.add_argument("--m", type=ints, default=[], help="HNSW M values to build (default: the M fashrec "
                                                          "builds each size with)")
    parser.add_argument("--huge-pages", action="store_true",
                        help="move a cached graph onto huge pages before its queries, as fashrec serve does "
                             "(ann.collapse_onto_huge_pages)")
    parser.add_argument("--ef", type=ints, default=[32, 64, 128, 256])
    parser.add_argument("--dim", type=int, default=DIM)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--exact-queries", type=int, default=100, help="queries timed for exact search")
    parser.add_argument("--filtered-queries", type=int, default=200)
    parser.add_argument("--filter-shares", type=lambda s: [float(x) for x in s.split(",")], default=[0.02, 0.30])
    parser.add_argument("--graph-cache", type=Path, help="save/reuse built graphs here (1M builds are slow)")
    parser.add_argument("--target-recall", type=float, default=0.98)
    parser.add_argument("--target-p50-ms", type=float, default=2.0)
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()

    info = report_header("ANN benchmark")
    large = (f" (M={shipped_m(ann.HNSW_LARGE_ITEMS)}, ef={shipped_ef(ann.HNSW_LARGE_ITEMS)} from "
             f"{ann.HNSW_LARGE_ITEMS:,} items)" if hasattr(ann, "default_ef") else "")
    print(f"shipped: M={ann.HNSW_M}, ef_construction={ann.HNSW_EF_CONSTRUCTION}, ef={ann.HNSW_EF_SEARCH}{large}, "
          f"exact below {ann.EXACT_MAX_ITEMS:,} items or {ann.EXACT_SHARE:.0%} allowed; k={K}")
    if "real" in args.data and not args.index:
        parser.error("--data real needs --index DIR")
    plan = [(kind, n, m) for n in args.sizes for kind in args.data if kind != "real"
            for m in (args.m or [shipped_m(n)])]
    plan += [("real", 0, m) for m in (args.m or [ann.HNSW_M]) if "real" in args.data]
    cases = []
    for kind, n, m in plan:
        cases.append(bench_case(kind, n, m, args))
        print_case(cases[-1])
        write_json(args.json, {"machine": info, "cases": cases})  # partial results survive a stop
    print("\n## Target: recall@10 >= {} at p50 <= {} ms\n".format(args.target_recall, args.target_p50_ms))
    for line in verdict(cases, args.target_recall, args.target_p50_ms):
        print(f"- {line}")
    info["load_avg_1m_end"] = round(__import__("os").getloadavg()[0], 2)
    write_json(args.json, {"machine": info, "cases": cases,
                           "verdict": verdict(cases, args.target_recall, args.target_p50_ms)})


if __name__ == "__main__":
    main()
