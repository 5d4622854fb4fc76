"""LanceDB (IVF-PQ + scalar index, filters pushed into `where`) against the shipped hnswlib path.

Usage: python bench/lance_bench.py [--n 100000] [--queries 200] [--index-type IVF_PQ|IVF_HNSW_SQ]
                                   [--nprobes 20,50] [--refine 10] [--ef 100] [--hnsw] [--folder DIR]
                                   [--json OUT]

The data is ann_bench.py's ``clustered`` set (unit 256-d vectors from a 1,000-component mixture with
a 32-d shared subspace; queries are fresh draws), so the figures sit next to RESULTS.md section 1.
Each item gets a ``bucket`` in 0..99 drawn at random; the 2 % and 30 % filters are ``bucket < 2``
and ``bucket < 30``, run by LanceDB as a pre-filter through a BTREE scalar index (the filtered
ground truth is the exact top 10 among the allowed items). The ANN index is IVF-PQ (sqrt(n)
partitions, 8 dimensions per code byte) or IVF_HNSW_SQ (an HNSW graph per partition over 8-bit
scalar-quantised vectors, one partition per 50k rows). Reported: build time (table write, ANN
index, scalar index), size on disk, the RSS growth of this process from opening the table through
the last query, and recall@10 / p50 / p95 per nprobes (one query at a time, as a request is served).

``--hnsw`` also builds fashrec's own graph (``fashrec.index.ann``) over the same vectors and times the
same queries and filters through ``ann.search``, side by side; at 1M that build takes 12-50 minutes
on the 2-core reference box, so the 1M hnswlib row in RESULTS.md is section 1's measurement.
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from ann_bench import K, ground_truth, make_vectors, recall
from common import describe_machine, log, machine_info, markdown_table, percentiles_ms, rss_mib, write_json

FILTERS = {"none": None, "2%": 2, "30%": 30}


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build_lance(folder: Path, vectors: np.ndarray, buckets: np.ndarray, index_type: str) -> tuple[object, dict]:
    import lancedb
    import pyarrow as pa

    n, dim = vectors.shape
    started = time.perf_counter()
    db = lancedb.connect(str(folder))
    flat = pa.array(vectors.reshape(-1), type=pa.float32())
    data = pa.table({"id": pa.array(np.arange(n, dtype=np.int64)), "bucket": pa.array(buckets),
                     "vector": pa.FixedSizeListArray.from_arrays(flat, dim)})
    table = db.create_table("items", data=data, mode="overwrite")
    written = time.perf_counter()
    if index_type == "IVF_PQ":   # LanceDB's usual choice past ~100k rows: sqrt(n) partitions
        table.create_index(metric="cosine", num_partitions=max(16, int(math.sqrt(n))), num_sub_vectors=dim // 8,
                           vector_column_name="vector", index_type="IVF_PQ")
    else:                        # a graph per partition: few, large partitions
        table.create_index(metric="cosine", num_partitions=max(1, n // 50_000), vector_column_name="vector",
                           index_type=index_type)
    indexed = time.perf_counter()
    table.create_scalar_index("bucket", index_type="BTREE")
    done = time.perf_counter()
    return table, {"write_s": round(written - started, 2), "ann_index_s": round(indexed - written, 2),
                   "scalar_index_s": round(done - indexed, 2), "build_s": round(done - started, 2),
                   "disk_mib": round(folder_bytes(folder) / 2 ** 20, 1)}


def lance_queries(table, queries: np.ndarray, bucket_below: int | None, nprobes: int, refine: int, ef: int):
    found, times = [], []
    for i, q in enumerate(queries):
        t = time.perf_counter()
        query = table.search(q, vector_column_name="vector").metric("cosine").nprobes(nprobes)
        query = query.refine_factor(refine).limit(K).select(["id"])
        if ef:   # only the HNSW variants search a graph
            query = query.ef(ef)
        if bucket_below is not None:
            query = query.where(f"bucket < {bucket_below}", prefilter=True)
        ids = query.to_arrow()["id"].to_numpy()
        if i >= 3:   # the first few warm the index caches
            times.append(time.perf_counter() - t)
        found.append(ids)
    return found, times


def hnsw_queries(graph, vectors, queries, allowed):
    from fashrec.index import ann

    found, times = [], []
    for i, q in enumerate(queries):
        t = time.perf_counter()
        got = ann.search(graph, vectors, q, K, allowed=allowed)
        if i >= 3:
            times.append(time.perf_counter() - t)
        found.append(got.positions)
    return found, times


def row(engine: str, setting: str, flt: str, found, times, truth) -> dict:
    lat = percentiles_ms(times)
    out = {"engine": engine, "setting": setting, "filter": flt, "recall@10": round(recall(found, truth), 4),
           "p50_ms": round(lat["p50"], 3), "p95_ms": round(lat["p95"], 3)}
    log(f"  {out}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--nprobes", default="20,50")
    parser.add_argument("--refine", type=int, default=10)
    parser.add_argument("--ef", type=int, default=100, help="search breadth of the HNSW variants")
    parser.add_argument("--index-type", default="IVF_PQ", choices=["IVF_PQ", "IVF_HNSW_SQ", "IVF_HNSW_PQ"])
    parser.add_argument("--hnsw", action="store_true")
    parser.add_argument("--folder", type=Path, default=None, help="where the Lance table goes (default: a temp dir)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    info = machine_info(("numpy", "hnswlib", "lancedb", "pylance", "pyarrow"))
    log(f"n={args.n:,}; {describe_machine(info)}")
    vectors = make_vectors("clustered", args.n, 256, seed=args.n)
    queries = make_vectors("clustered", args.queries, 256, seed=10_000_019)
    buckets = np.random.default_rng(7).integers(0, 100, size=args.n).astype(np.int32)
    truths = {name: ground_truth(vectors, queries, K, None if b is None else buckets < b)
              for name, b in FILTERS.items()}
    folder = args.folder or Path(tempfile.mkdtemp(prefix="lance-bench-"))
    rss_before = rss_mib()
    table, build = build_lance(folder / f"clustered-{args.n}", vectors, buckets, args.index_type)
    log(f"lance build {build}")
    rows = []
    for nprobes in (int(x) for x in args.nprobes.split(",")):
        for name, b in FILTERS.items():
            ef = args.ef if args.index_type != "IVF_PQ" else 0
            found, times = lance_queries(table, queries, b, nprobes, args.refine, ef)
            setting = f"{args.index_type} nprobes={nprobes} refine={args.refine}"
            if args.index_type != "IVF_PQ":
                setting += f" ef={args.ef}"
            rows.append(row("lance", setting, name, found, times, truths[name]))
    build["rss_growth_mib"] = round(rss_mib() - rss_before, 1)
    hnsw_build = None
    if args.hnsw:
        from fashrec.index import ann

        started = time.perf_counter()
        graph = ann.build_hnsw(vectors)
        hnsw_build = {"build_s": round(time.perf_counter() - started, 2),
                      "graph_mib": round(graph.index_file_size() / 2 ** 20, 1)}
        log(f"hnsw build {hnsw_build}")
        for name, b in FILTERS.items():
            found, times = hnsw_queries(graph, vectors, queries, None if b is None else buckets < b)
            rows.append(row("hnswlib", f"shipped ef={ann.HNSW_EF_SEARCH}", name, found, times, truths[name]))
    headers = ["engine", "setting", "filter", "recall@10", "p50_ms", "p95_ms"]
    print(f"LanceDB build: {build}\nhnswlib build: {hnsw_build}")
    print(markdown_table(headers, [[r[h] for h in headers] for r in rows]))
    write_json(args.json, {"machine": info, "n": args.n, "queries": args.queries, "index_type": args.index_type,
                           "lance_build": build,
                           "hnsw_build": hnsw_build, "rows": rows})
    if args.folder is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
