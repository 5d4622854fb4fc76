"""LanceDB (an IVF index + a scalar index, filters pushed into `where`) against the shipped hnswlib path.

    # the store's shipped settings at 1M (RESULTS.md 9.2: one IVF_HNSW_SQ graph, m 16, ef_construction
    # 100, ef 300, refine 1, pylance's dataset, a broad filter post-filtering the top 100; --flat adds
    # Lance's exact pre-filtered scan):
    OPENBLAS_NUM_THREADS=1 nice -n 10 python bench/lance_bench.py --n 1000000 --index-type IVF_HNSW_SQ \\
        --partitions 1 --m 16 --ef-construction 100 --nprobes 1 --ef 300 --refine 1 --api lance \\
        --post-limit 0,100 --flat --folder ~/.cache/fashrec-data/work-bench1m/lance \\
        --graph-cache ~/.cache/fashrec-data/work-bench1m/ann-cache --json /tmp/lance-1m.json
    # IVF_SQ (RESULTS.md 9): ... --index-type IVF_SQ --partitions 256 --nprobes 8,64 --refine 20

The data is ann_bench.py's ``clustered`` set (unit 256-d vectors from a 1,000-component mixture with
a 32-d shared subspace, seed n; queries are fresh draws, seed 10,000,019), so the figures sit next to
RESULTS.md section 1, and ``--graph-cache`` reuses the very graph ann_bench.py and open_1m.py build
(one 1M hnswlib build serves all three). Each item gets a ``bucket`` in 0..99 drawn at random; the
2 % and 30 % filters are ``bucket < 2`` and ``bucket < 30``, run by LanceDB as a pre-filter through a
BTREE scalar index (the filtered ground truth is the exact top 10 among the allowed items). The ANN
index is IVF-PQ (sqrt(n) partitions, 8 dimensions per code byte), IVF_SQ / IVF_FLAT (sqrt(n)
partitions scanned whole, 8-bit or full vectors), or an HNSW variant (a graph per partition; by
default one partition per 50k rows); ``--partitions`` overrides either default.

With ``--folder`` the table, its build figures and the ground truth are kept and reused by the next
run with the same n, index type and partitions, so search settings can be swept without rebuilding.
The LanceDB queries run in a fresh process that opens the table from disk, so its RSS (after opening,
and at the end of the sweep) is what a reader of the store pays, not this process's copy of the
vectors. Reported: build time (table write, ANN index, scalar index), size on disk, that RSS, and
recall@10 / p50 / p95 per setting (one query at a time, as a request is served).

``--hnsw`` (or ``--graph-cache DIR``) also times fashrec's own graph (``fashrec.index.ann``, built
or loaded from the cache) on the same queries and filters through ``ann.search``, side by side.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ann_bench import K, build_or_load, ground_truth, make_vectors, recall
from common import bench_parser, hwm_mib, log, markdown_table, percentiles_ms, report_header, rss_mib, write_json

FILTERS = {"none": None, "2%": 2, "30%": 30}
DIM = 256
QUERY_SEED = 10_000_019  # ann_bench.py's query draw


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def draw(n: int, queries: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ann_bench.py's vectors and queries, and this bench's buckets."""
    vectors = make_vectors("clustered", n, DIM, seed=n)
    buckets = np.random.default_rng(7).integers(0, 100, size=n).astype(np.int32)
    return vectors, make_vectors("clustered", queries, DIM, seed=QUERY_SEED), buckets


def default_partitions(n: int, index_type: str) -> int:
    if "HNSW" not in index_type:   # LanceDB's usual choice past ~100k rows: sqrt(n) partitions
        return max(16, int(math.sqrt(n)))
    return max(1, n // 50_000)     # a graph per partition: few, large partitions


# -- building (once per folder) --------------------------------------------------------------------
def build_lance(folder: Path, vectors: np.ndarray, buckets: np.ndarray, index_type: str,
                partitions: int, graph: dict, scalar: str) -> dict:
    import lancedb
    import pyarrow as pa

    n, dim = vectors.shape
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    db = lancedb.connect(str(folder))
    flat = pa.array(vectors.reshape(-1), type=pa.float32())
    data = pa.table({"id": pa.array(np.arange(n, dtype=np.int64)), "bucket": pa.array(buckets),
                     "vector": pa.FixedSizeListArray.from_arrays(flat, dim)})
    table = db.create_table("items", data=data, mode="overwrite")
    del data, flat
    written = time.perf_counter()
    log(f"table written in {written - started:.0f}s; building {index_type} with {partitions} partitions ...")
    extra = {"num_sub_vectors": dim // 8} if index_type == "IVF_PQ" else {}
    if "HNSW" in index_type:
        extra.update(m=graph["m"], ef_construction=graph["ef_construction"])
    table.create_index(metric="cosine", num_partitions=partitions, vector_column_name="vector",
                       index_type=index_type, **extra)
    indexed = time.perf_counter()
    table.create_scalar_index("bucket", index_type=scalar)
    done = time.perf_counter()
    return {"write_s": round(written - started, 2), "ann_index_s": round(indexed - written, 2),
            "scalar_index_s": round(done - indexed, 2), "build_s": round(done - started, 2),
            "disk_mib": round(folder_bytes(folder) / 2 ** 20, 1), "partitions": partitions,
            "index_type": index_type, "n": n, "scalar": scalar, **({"graph": graph} if "HNSW" in index_type else {})}


def replace_scalar(table_dir: Path, scalar: str) -> dict:
    """Swap the bucket column's scalar index for another type (a new table version; the vectors and
    the ANN index are kept)."""
    import lancedb

    started = time.perf_counter()
    table = lancedb.connect(str(table_dir)).open_table("items")
    table.create_scalar_index("bucket", index_type=scalar, replace=True)
    took = round(time.perf_counter() - started, 2)
    log(f"bucket's scalar index replaced by {scalar} in {took}s")
    return {"scalar": scalar, "scalar_index_s": took}


def prepared(args, vectors: np.ndarray, queries: np.ndarray, buckets: np.ndarray) -> tuple[Path, dict, Path]:
    """The table (built, or reused from an earlier run of the same shape), its build figures, and the
    queries with their ground truths in a file the query process reads."""
    graph = {"m": args.m, "ef_construction": args.ef_construction}
    shape = f"-m{args.m}-efc{args.ef_construction}" if "HNSW" in args.index_type else ""
    table_dir = args.folder / f"clustered-{args.n}-{args.index_type}-p{args.partitions}{shape}"
    stats_path = table_dir.with_suffix(".build.json")
    if stats_path.exists() and table_dir.exists():
        build = {**json.loads(stats_path.read_text()), "cached": True}
        log(f"reusing {table_dir} (built in {build['build_s']:.0f}s)")
        if build.get("scalar", "BTREE") != args.scalar:
            build = {**build, **replace_scalar(table_dir, args.scalar)}
            stats_path.write_text(json.dumps({k: v for k, v in build.items() if k != "cached"}))
    else:
        build = build_lance(table_dir, vectors, buckets, args.index_type, args.partitions, graph, args.scalar)
        stats_path.write_text(json.dumps(build))
        build["cached"] = False
        log(f"lance build {build}")
    truth_path = args.folder / f"truth-clustered-{args.n}-q{args.queries}.npz"
    if not truth_path.exists():
        log("exact ground truth ...")
        truths = {name: ground_truth(vectors, queries, K, None if b is None else buckets < b)
                  for name, b in FILTERS.items()}
        np.savez(truth_path, queries=queries, **{f"truth_{k}": v for k, v in truths.items()})
    return table_dir, build, truth_path


# -- querying LanceDB, in a fresh process ------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One search setting of the sweep: how the query is sent (``api``), and its knobs."""

    api: str          # "lancedb": lancedb's query builder; "lance": pylance's dataset scanner
    nprobes: int
    refine: int       # 0: no refine step (the SQ/PQ distances are final)
    ef: int           # 0: not an HNSW variant
    post_limit: int   # 0: pre-filter; else post-filter the top post_limit (then keep the best K)
    fast: bool        # fast_search: indexed rows only
    flat: bool = False   # no ANN index: an exact scan of the (pre-filtered) rows

    def label(self, index_type: str, partitions: int) -> str:
        out = f"{self.api}: {index_type} p={partitions} nprobes={self.nprobes} refine={self.refine or 'none'}"
        out += f" ef={self.ef}" if self.ef else ""
        out += f" post-filter top {self.post_limit}" if self.post_limit else ""
        out += " fast_search" if self.fast else ""
        return f"{self.api}: flat (exact), pre-filter" if self.flat else out


def lancedb_query(table, q: np.ndarray, where: str | None, s: Setting) -> np.ndarray:
    limit = s.post_limit if (where and s.post_limit) else K
    query = table.search(q, vector_column_name="vector").metric("cosine").nprobes(s.nprobes).limit(limit)
    query = query.select(["id", "_distance"])   # named: Lance warns when a search leaves it out
    if s.refine:
        query = query.refine_factor(s.refine)
    if s.ef:
        query = query.ef(s.ef)
    if s.fast:
        query = query.fast_search()
    if s.flat:
        query = query.bypass_vector_index()
    if where:
        query = query.where(where, prefilter=not s.post_limit)
    return query.to_arrow()["id"].to_numpy()[:K]


def lance_query(dataset, q: np.ndarray, where: str | None, s: Setting) -> np.ndarray:
    limit = s.post_limit if (where and s.post_limit) else K
    nearest = {"column": "vector", "q": q, "k": limit, "metric": "cosine", "nprobes": s.nprobes}
    nearest.update({"refine_factor": s.refine} if s.refine else {})
    nearest.update({"ef": s.ef} if s.ef else {})
    nearest.update({"use_index": False} if s.flat else {})
    table = dataset.to_table(columns=["id", "_distance"], nearest=nearest, filter=where, prefilter=not s.post_limit,
                             fast_search=s.fast)
    return table["id"].to_numpy()[:K]


def lance_queries(handle, queries: np.ndarray, bucket_below: int | None, s: Setting):
    where = None if bucket_below is None else f"bucket < {bucket_below}"
    send = lance_query if s.api == "lance" else lancedb_query
    found, times = [], []
    for i, q in enumerate(queries):
        t = time.perf_counter()
        ids = send(handle, q, where, s)
        if i >= 3:   # the first few warm the index caches
            times.append(time.perf_counter() - t)
        found.append(ids)
    return found, times


def overhead_ms(apis: list[str], reps: int = 200) -> dict[str, float]:
    """p50 of a flat top-10 over a 1,000-row table, per API: the fixed cost of sending one query."""
    import lancedb
    import pyarrow as pa

    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((1000, DIM)).astype(np.float32)
    folder = Path(tempfile.mkdtemp(prefix="lance-overhead-"))
    try:
        table = lancedb.connect(str(folder)).create_table("items", data=pa.table({
            "id": pa.array(np.arange(1000, dtype=np.int64)), "bucket": pa.array(np.arange(1000, dtype=np.int32) % 100),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), DIM)}))
        flat = Setting("lancedb", 1, 0, 0, 0, False)
        out = {}
        for api in apis:
            handle = _lance_dataset(folder) if api == "lance" else table
            setting = Setting(api, 1, 0, 0, 0, False)
            _, times = lance_queries(handle, vectors[:reps], None, setting if api == "lance" else flat)
            out[api] = round(percentiles_ms(times)["p50"], 3)
        return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _lance_dataset(table_dir: Path):
    import lance

    return lance.dataset(str(table_dir / "items.lance"))


def settings(args) -> list[Setting]:
    hnsw = "HNSW" in args.index_type
    out = [Setting(api, nprobes, refine, ef if hnsw else 0, post, fast)
            for api, nprobes, ef, refine, post, fast in itertools.product(
                args.api, args.nprobes, args.ef if hnsw else [0], args.refine, args.post_limit,
                [False, True] if args.fast_search else [False])
            if not (hnsw and ef < max(K, post) * max(1, refine))]   # LanceDB refuses ef < k x refine
    return out + ([Setting(api, 1, 0, 0, 0, False, flat=True) for api in args.api] if args.flat else [])


def child(args) -> None:
    """Open the table from disk and run the sweep; print RSS and rows as one JSON line."""
    import lancedb

    data = np.load(args.truth)
    queries = data["queries"]
    before = rss_mib()
    table = lancedb.connect(str(args.child)).open_table("items")
    dataset = _lance_dataset(args.child) if "lance" in args.api else None
    after_open = rss_mib()
    rows = []
    for s in settings(args):
        for name, b in FILTERS.items():
            if (s.post_limit or s.flat) and b is None:
                continue   # post-filtering and the exact scan are sweeps of filtered queries only
            if args.skip_prefiltered_ann and b is not None and not (s.post_limit or s.flat):
                continue
            found, times = lance_queries(dataset if s.api == "lance" else table, queries, b, s)
            rows.append(row("lance", s.label(args.index_type, args.partitions), name, found, times,
                            data[f"truth_{name}"]))
    peak = hwm_mib()
    filter_only = {name: filter_ms(dataset if dataset is not None else table, f"bucket < {b}")
                   for name, b in FILTERS.items() if b is not None}
    print(json.dumps({"rss_before_open_mib": round(before, 1), "rss_after_open_mib": round(after_open, 1),
                      "rss_end_mib": round(rss_mib(), 1), "peak_rss_mib": round(peak, 1),
                      "overhead_p50_ms": overhead_ms(args.api), "filter_only_p50_ms": filter_only,
                      "rows": rows}))


def filter_ms(handle, where: str, reps: int = 30) -> float:
    """p50 of evaluating a filter alone (the allowed ids, no vector search): a pre-filter's floor."""
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        if hasattr(handle, "to_table"):
            handle.to_table(columns=["id"], filter=where)
        else:
            handle.search().where(where).select(["id"]).limit(None).to_arrow()
        times.append(time.perf_counter() - t)
    return round(percentiles_ms(times[3:])["p50"], 3)


def run_child(args, table_dir: Path, truth_path: Path) -> dict:
    ints = lambda xs: ",".join(str(x) for x in xs)  # noqa: E731
    cmd = [sys.executable, __file__, "--child", str(table_dir), "--truth", str(truth_path),
           "--n", str(args.n), "--index-type", args.index_type, "--partitions", str(args.partitions),
           "--nprobes", ints(args.nprobes), "--ef", ints(args.ef), "--refine", ints(args.refine),
           "--api", ",".join(args.api), "--post-limit", ints(args.post_limit)] + (["--fast-search"] if args.fast_search else []) \
        + (["--flat"] if args.flat else []) + (["--skip-prefiltered-ann"] if args.skip_prefiltered_ann else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    sys.stderr.write(proc.stderr[-4000:])
    if proc.returncode != 0:
        raise SystemExit(f"the LanceDB query process failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- fashrec's hnswlib path, in this process ---------------------------------------------------------
def hnsw_side(args, vectors: np.ndarray, queries: np.ndarray, buckets: np.ndarray, truth_path: Path):
    from fashrec.index import ann

    truths = np.load(truth_path)
    before = rss_mib()
    if args.graph_cache:
        m = ann.default_m(args.n)  # the M fashrec builds this size with
        graph, stats = build_or_load(vectors, m, args.graph_cache, f"clustered-{args.n}-{DIM}-M{m}")
    else:
        graph, stats = build_or_load(vectors, ann.default_m(args.n), None, "")
    build = {"build_s": round(stats["build_s"], 1), "graph_mib": round(graph.index_file_size() / 2 ** 20, 1),
             "cached": stats["cached"], "graph_rss_mib": round(rss_mib() - before, 1),
             "vectors_mib": round(vectors.nbytes / 2 ** 20, 1)}
    log(f"hnsw {build}")
    rows = []
    for name, b in FILTERS.items():
        allowed = None if b is None else buckets < b
        found, times = [], []
        for i, q in enumerate(queries):
            t = time.perf_counter()
            got = ann.search(graph, vectors, q, K, allowed=allowed)
            if i >= 3:
                times.append(time.perf_counter() - t)
            found.append(got.positions)
        rows.append(row("hnswlib", f"shipped M={graph.M} ef={ann.graph_ef(graph, args.n)} ({got.method})", name, found, times,
                        truths[f"truth_{name}"]))
    return build, rows


def row(engine: str, setting: str, flt: str, found, times, truth) -> dict:
    lat = percentiles_ms(times)
    out = {"engine": engine, "setting": setting, "filter": flt, "recall@10": round(recall(found, truth), 4),
           "p50_ms": round(lat["p50"], 3), "p95_ms": round(lat["p95"], 3)}
    log(f"  {out}")
    return out


def parse_args() -> argparse.Namespace:
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    parser = bench_parser(__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--index-type", default="IVF_PQ", choices=["IVF_PQ", "IVF_SQ", "IVF_FLAT", "IVF_HNSW_SQ", "IVF_HNSW_PQ"])
    parser.add_argument("--partitions", type=int, help="IVF partitions (default: sqrt(n) for IVF_PQ, n/50k else)")
    parser.add_argument("--m", type=int, default=20, help="graph degree of the HNSW variants (LanceDB's default)")
    parser.add_argument("--ef-construction", type=int, default=300, help="build breadth of the HNSW variants")
    parser.add_argument("--nprobes", type=ints, default=[20, 50])
    parser.add_argument("--refine", type=ints, default=[10], help="refine factors to sweep")
    parser.add_argument("--ef", type=ints, default=[100], help="search breadths of the HNSW variants to sweep")
    parser.add_argument("--api", type=lambda s: s.split(","), default=["lancedb"],
                        help="query paths to sweep: lancedb (its query builder), lance (pylance's dataset scanner)")
    parser.add_argument("--post-limit", type=ints, default=[0],
                        help="0: pre-filter (default); N: also post-filter the top N (filtered queries only)")
    parser.add_argument("--flat", action="store_true", help="also time an exact pre-filtered scan (filtered queries)")
    parser.add_argument("--skip-prefiltered-ann", action="store_true",
                        help="filtered queries only post-filtered or flat (the pre-filtered graph walk is slow)")
    parser.add_argument("--fast-search", action="store_true", help="also sweep fast_search (indexed rows only)")
    parser.add_argument("--scalar", default="BTREE", choices=["BTREE", "BITMAP"],
                        help="scalar index on bucket (a reused table gets it replaced if it has the other)")
    parser.add_argument("--hnsw", action="store_true", help="also time fashrec's hnswlib path (built here)")
    parser.add_argument("--graph-cache", type=Path, help="as --hnsw, reusing/saving ann_bench.py's graph cache")
    parser.add_argument("--folder", type=Path, default=None, help="keep the table here and reuse it (default: a temp dir)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--truth", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.partitions is None:
        args.partitions = default_partitions(args.n, args.index_type)
    return args


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    info = report_header(f"LanceDB against hnswlib, {args.n:,} items, {args.index_type}",
                         ("numpy", "hnswlib", "lancedb", "pylance", "pyarrow"))
    info["load_avg_1m_start"] = round(os.getloadavg()[0], 2)
    keep = args.folder is not None
    args.folder = args.folder or Path(tempfile.mkdtemp(prefix="lance-bench-"))
    args.folder.mkdir(parents=True, exist_ok=True)
    vectors, queries, buckets = draw(args.n, args.queries)
    table_dir, build, truth_path = prepared(args, vectors, queries, buckets)
    build["disk_mib"] = round(folder_bytes(table_dir) / 2 ** 20, 1)
    lance = run_child(args, table_dir, truth_path)
    rows = lance.pop("rows")
    hnsw_build = None
    if args.hnsw or args.graph_cache:
        hnsw_build, hnsw_rows = hnsw_side(args, vectors, queries, buckets, truth_path)
        rows += hnsw_rows
    headers = ["engine", "setting", "filter", "recall@10", "p50_ms", "p95_ms"]
    print(f"LanceDB build: {build}\nLanceDB reader RSS: {lance}\nhnswlib: {hnsw_build}")
    print(markdown_table(headers, [[r[h] for h in headers] for r in rows]))
    info["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    write_json(args.json, {"machine": info, "n": args.n, "queries": args.queries, "index_type": args.index_type,
                           "lance_build": build, "lance_reader": lance, "hnsw_build": hnsw_build, "rows": rows})
    if not keep:
        shutil.rmtree(args.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
