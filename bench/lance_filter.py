"""A selective filter on a 1M-row Lance dataset, its parts timed apart: the filter alone (row ids from
the scalar index, BTREE or BITMAP), the allowed rows' vectors read (float32 or a float16 copy), the
exact scores in numpy, against LanceDB's own pre-filtered paths (its flat scan, the HNSW graph).

    OPENBLAS_NUM_THREADS=1 nice -n 10 python bench/lance_filter.py --n 1000000 \\
        --folder ~/.cache/fashrec-data/work-bench1m/lance-filter \\
        --graph-table ~/.cache/fashrec-data/work-bench1m/lance/clustered-1000000-IVF_HNSW_SQ-p1-m16-efc100 \\
        --json /tmp/lance-filter.json

The data is lance_bench.py's (ann_bench.py's 1M ``clustered`` set, its queries and its ``bucket``
column 0..99), written once to ``--folder`` as a table holding the vectors twice (``vector`` float32,
``vector16`` float16) and the bucket twice (``bucket_btree`` with a BTREE index, ``bucket_bitmap``
with a BITMAP index), so each part is measured on identical rows in one run. Filters are
``bucket < B`` for the shares in ``--shares`` (percent). Truth: the exact float32 top 10 among the
allowed rows. ``--graph-table`` (a lance_bench.py table with its IVF_HNSW_SQ index) adds the
pre-filtered graph walk (ef 300, refine 1, as the store queries) on the same queries.

Each path runs in a fresh child process that opens the dataset from disk (its RSS is a reader's);
``--threads`` repeats the children with LANCE_CPU_THREADS / LANCE_IO_THREADS set, to see whether
Lance's thread pools matter on a small machine. Per path: recall@10, p50/p95 of the whole query, and
for the exact path the p50 of each part.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from ann_bench import K, ground_truth, recall
from common import describe_machine, hwm_mib, log, machine_info, markdown_table, percentiles_ms, rss_mib, write_json
from lance_bench import draw, folder_bytes

PATHS = ("exact-mapped", "exact-take", "exact-take16", "exact-scan", "lance-flat", "graph")


def write_table(folder: Path, vectors: np.ndarray, buckets: np.ndarray) -> dict:
    import lance
    import pyarrow as pa

    n, dim = vectors.shape
    started = time.perf_counter()
    data = pa.table({"id": pa.array(np.arange(n, dtype=np.int64)),
                     "bucket_btree": pa.array(buckets), "bucket_bitmap": pa.array(buckets),
                     "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), dim),
                     "vector16": pa.FixedSizeListArray.from_arrays(
                         pa.array(vectors.reshape(-1).astype(np.float16)), dim)})
    dataset = lance.write_dataset(data, str(folder), mode="overwrite")
    del data
    written = time.perf_counter()
    dataset.create_scalar_index("bucket_btree", "BTREE")
    dataset.create_scalar_index("bucket_bitmap", "BITMAP")
    np.save(folder.parent / "vectors16.npy", vectors.astype(np.float16))   # fashrec's mapped exact-search copy
    return {"write_s": round(written - started, 2), "scalar_s": round(time.perf_counter() - written, 2),
            "disk_mib": round(folder_bytes(folder) / 2 ** 20, 1)}


def top_k(matrix: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    # numpy has no BLAS for float16: widen first (part of the scoring time)
    scores = matrix.astype(np.float32, copy=False) @ q
    k = min(k, scores.size)
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top], kind="stable")]


def as_matrix(column, dtype) -> np.ndarray:
    flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return flat.reshape(-1, 256) if flat.dtype == dtype else flat.astype(dtype).reshape(-1, 256)


def exact_take(dataset, q: np.ndarray, where: str, column: str, parts: dict) -> np.ndarray:
    """Row ids from the scalar index, then the vectors taken by row id, scored in numpy; the ids of
    the best k read last (as the store would: ids are strings there)."""
    t0 = time.perf_counter()
    rows = dataset.to_table(columns=[], filter=where, with_row_id=True)["_rowid"].to_numpy()
    t1 = time.perf_counter()
    taken = dataset._take_rows(rows.tolist(), columns=[column])[column]
    matrix = as_matrix(taken, np.float32 if column == "vector" else np.float16)
    t2 = time.perf_counter()
    best = top_k(matrix, q, K)
    t3 = time.perf_counter()
    ids = dataset._take_rows(rows[best].tolist(), columns=["id"])["id"].to_numpy()
    t4 = time.perf_counter()
    for name, took in (("filter", t1 - t0), ("vectors", t2 - t1), ("score", t3 - t2), ("ids", t4 - t3)):
        parts.setdefault(name, []).append(took)
    return ids


def row_map(dataset) -> np.ndarray:
    """Row address -> position, from one scan of the id column (fashrec's positions are ids here)."""
    found = dataset.to_table(columns=["id"], with_row_address=True)
    addresses = found["_rowaddr"].to_numpy().astype(np.int64)
    table = np.full(int(addresses.max()) + 1, -1, np.int64)   # one fragment: addresses are offsets
    table[addresses] = found["id"].to_numpy()
    return table


def exact_mapped(dataset, mapping: np.ndarray, matrix: np.ndarray, q: np.ndarray, where: str,
                 parts: dict) -> np.ndarray:
    """Row addresses from the scalar index, mapped to positions, scored on a memory-mapped float16
    matrix (fashrec's exact-search copy of the vectors), as the local store scores its survivors."""
    from fashrec.index.ann import scores_of

    t0 = time.perf_counter()
    rows = dataset.to_table(columns=[], filter=where, with_row_address=True)["_rowaddr"].to_numpy()
    t1 = time.perf_counter()
    positions = mapping[rows.astype(np.int64)]
    t2 = time.perf_counter()
    scores = scores_of(matrix, q, positions)
    best = np.argpartition(-scores, K - 1)[:K]
    best = positions[best[np.argsort(-scores[best], kind="stable")]]
    t3 = time.perf_counter()
    for name, took in (("filter", t1 - t0), ("map", t2 - t1), ("score", t3 - t2)):
        parts.setdefault(name, []).append(took)
    return best


def exact_scan(dataset, q: np.ndarray, where: str, column: str, parts: dict) -> np.ndarray:
    """One filtered scan reading id and vector of the allowed rows (the scalar index picks them)."""
    t0 = time.perf_counter()
    found = dataset.to_table(columns=["id", column], filter=where)
    t1 = time.perf_counter()
    best = top_k(as_matrix(found[column], np.float32), q, K)
    t2 = time.perf_counter()
    parts.setdefault("scan", []).append(t1 - t0)
    parts.setdefault("score", []).append(t2 - t1)
    return found["id"].to_numpy()[best]


def lance_nearest(dataset, q: np.ndarray, where: str, use_index: bool) -> np.ndarray:
    nearest = {"column": "vector", "q": q, "k": K, "metric": "cosine"}
    nearest.update({"nprobes": 1, "ef": 300, "refine_factor": 1} if use_index else {"use_index": False})
    return dataset.to_table(columns=["id"], nearest=nearest, filter=where, prefilter=True)["id"].to_numpy()


def child(args) -> None:
    import lance

    data = np.load(args.truth)
    queries = data["queries"]
    before = rss_mib()
    path = args.child_path
    dataset = lance.dataset(str(args.graph_table if path == "graph" else args.folder))
    opened = rss_mib()
    column = "bucket_bitmap" if args.scalar == "BITMAP" else "bucket_btree"
    mapping = matrix = None
    if path == "exact-mapped":
        t = time.perf_counter()
        mapping = row_map(dataset)
        matrix = np.load(args.folder.parent / "vectors16.npy", mmap_mode="r")
        log(f"  row map of {len(mapping):,} rows built in {time.perf_counter() - t:.2f}s")
    rows = []
    for share in args.shares:
        where = f"{'bucket' if path == 'graph' else column} < {share}"
        found, times, parts = [], [], {}
        for i, q in enumerate(queries):
            t = time.perf_counter()
            if path == "exact-mapped":
                ids = exact_mapped(dataset, mapping, matrix, q, where, parts)
            elif path.startswith("exact-take"):
                ids = exact_take(dataset, q, where, "vector16" if path == "exact-take16" else "vector", parts)
            elif path == "exact-scan":
                ids = exact_scan(dataset, q, where, "vector", parts)
            else:
                ids = lance_nearest(dataset, q, where, use_index=path == "graph")
            if i >= 3:   # the first few warm the caches
                times.append(time.perf_counter() - t)
            found.append(ids)
        lat = percentiles_ms(times)
        rows.append({"path": path, "scalar": "BTREE" if path == "graph" else args.scalar, "share_pct": share,
                     "recall@10": round(recall(found, data[f"truth_{share}"]), 4),
                     "p50_ms": round(lat["p50"], 2), "p95_ms": round(lat["p95"], 2),
                     "parts_p50_ms": {k: round(percentiles_ms(v[3:])["p50"], 2) for k, v in parts.items()}})
        log(f"  {rows[-1]}")
    print(json.dumps({"rss_before_open_mib": round(before, 1), "rss_after_open_mib": round(opened, 1),
                      "peak_rss_mib": round(hwm_mib(), 1), "rows": rows}))


def run_child(args, path: str, scalar: str, threads: int | None) -> dict:
    cmd = [sys.executable, __file__, "--child-path", path, "--truth", str(args.truth), "--scalar", scalar,
           "--folder", str(args.folder), "--shares", ",".join(map(str, args.shares))]
    cmd += ["--graph-table", str(args.graph_table / "items.lance")] if path == "graph" else []
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    if threads:
        env.update(LANCE_CPU_THREADS=str(threads), LANCE_IO_THREADS=str(threads))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    sys.stderr.write(proc.stderr[-3000:])
    if proc.returncode != 0:
        raise SystemExit(f"the query process ({path}) failed (exit {proc.returncode})")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for r in out["rows"]:
        r["threads"] = threads or "default"
        r["reader_peak_rss_mib"] = out["peak_rss_mib"]
    return out


def parse_args() -> argparse.Namespace:
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--shares", type=ints, default=[1, 2, 5], help="filters bucket < B, B in percent")
    parser.add_argument("--paths", type=lambda s: s.split(","), default=list(PATHS), help=",".join(PATHS))
    parser.add_argument("--scalars", type=lambda s: s.split(","), default=["BTREE", "BITMAP"])
    parser.add_argument("--threads", type=ints, default=[0], help="LANCE_CPU/IO_THREADS per child (0: Lance's default)")
    parser.add_argument("--folder", type=Path, required=True, help="the side table (written once, reused)")
    parser.add_argument("--graph-table", type=Path, help="a lance_bench.py IVF_HNSW_SQ table of the same n")
    parser.add_argument("--json", default=None)
    parser.add_argument("--child-path", help=argparse.SUPPRESS)
    parser.add_argument("--truth", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scalar", default="BTREE", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.child_path:
        child(args)
        return
    info = machine_info(("numpy", "lance", "pyarrow"))
    info["load_avg_1m_start"] = round(os.getloadavg()[0], 2)
    log(f"n={args.n:,}; {describe_machine(info)}")
    vectors, queries, buckets = draw(args.n, args.queries)
    built = args.folder / "build.json"
    if not built.exists():
        log("writing the side table ...")
        stats = write_table(args.folder / "items.lance", vectors, buckets)
        built.write_text(json.dumps(stats))
    build = json.loads(built.read_text())
    args.truth = args.folder / f"truth-q{args.queries}-{'-'.join(map(str, args.shares))}.npz"
    if not args.truth.exists():
        log("exact ground truth ...")
        np.savez(args.truth, queries=queries,
                 **{f"truth_{b}": ground_truth(vectors, queries, K, buckets < b) for b in args.shares})
    del vectors
    args.folder = args.folder / "items.lance"
    rows, readers = [], {}
    for threads in args.threads:
        for path in args.paths:
            if path == "graph" and not args.graph_table:
                continue
            for scalar in (["BTREE"] if path == "graph" else args.scalars):
                log(f"{path} {scalar} threads={threads or 'default'}")
                out = run_child(args, path, scalar, threads)
                rows += out.pop("rows")
                readers[f"{path}-{scalar}-{threads}"] = out
    headers = ["path", "scalar", "threads", "share_pct", "recall@10", "p50_ms", "p95_ms", "parts_p50_ms",
               "reader_peak_rss_mib"]
    print(f"side table: {build}")
    print(markdown_table(headers, [[r[h] for h in headers] for r in rows]))
    info["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    write_json(args.json, {"machine": info, "n": args.n, "queries": args.queries, "build": build,
                           "readers": readers, "rows": rows})


if __name__ == "__main__":
    main()
