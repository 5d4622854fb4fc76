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

``--store DIR`` times the store itself end to end instead: fashrec's ``Index`` (``open_index``, as the
pipeline opens it) over a Lance table of open_1m.py's 1M generation (the same clustered vectors; its
``share`` attribute lets 2 % or 30 % through), written once into DIR by the store's own writer
(``lance_store.write_lance``: fashrec's schema and scalar indexes, one IVF_HNSW_SQ graph; ~10 min here),
the item store and mapped file hard-linked from ``--source``; ``--vectors float16`` adds the same
generation with a float16 mapped file (``DIR-float16``, searching DIR's table); ``--rederive`` searches
copies whose mapped files this checkout derived again instead (``DIR-codes``, ``DIR-codes-float16``:
the same item store and table, with the codes a large matrix gets since pq8). ``Index.nearest`` with
no filter, the 30 % and the 2 % filter, and "2%-new" (a different 2 % filter each query: nothing
gathered before is reused); per case recall@10 against open_1m.py's exact truth, the first query
apart (``first_ms``), p50/p95 of the rest, Lance's where alone, and the reader's peak RSS:

    OPENBLAS_NUM_THREADS=1 nice -n 10 python bench/lance_filter.py --store ~/.cache/fashrec-data/work-lance6/store-1m \\
        --queries 100 --vectors float32,float16 --threads 0,1 --json /tmp/lance-store-1m.json

Each path runs in a fresh child process that opens the dataset from disk (its RSS is a reader's);
``--threads`` repeats the children with LANCE_CPU_THREADS / LANCE_IO_THREADS set, to see whether
Lance's thread pools matter on a small machine. Per path: recall@10, p50/p95 of the whole query, and
for the exact path the p50 of each part.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from ann_bench import K, ground_truth, recall
from common import bench_parser, hwm_mib, log, markdown_table, percentiles_ms, report_header, rss_mib, write_json
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
    found = dataset.to_table(columns=["id", "_distance"], nearest=nearest, filter=where, prefilter=True)
    return found["id"].to_numpy()   # _distance named: Lance warns when a search leaves it out


# -- the store end to end (--store): fashrec's own Lance-backed Index on open_1m.py's 1M index ------------
def build_store(source: Path, folder: Path) -> Path:
    """A Lance-backed fashrec index of the very generation open_1m.py wrote at ``source`` (once): its item
    store and mapped file hard-linked, the Lance table written by the store's own writer
    (``lance_store.write_lance``: fashrec's schema, scalar indexes, one IVF_HNSW_SQ graph), and a
    manifest naming the version it reached."""
    import dataclasses

    from fashrec.index import items
    from fashrec.index.lance_store import LanceChanges, write_lance
    from fashrec.index.manifest import read_manifest, write_manifest
    from fashrec.index.stores import LANCE_FOLDER, StoreSpec

    if (folder / "manifest.json").exists():
        return folder
    manifest = read_manifest(source)
    folder.mkdir(parents=True, exist_ok=True)
    for name in (manifest.items_file, manifest.mapped_file, manifest.vectors_file):
        if not (folder / name).exists():
            os.link(source / name, folder / name)
    dimension = int(manifest.encoder["dimension"])
    conn = items.connect(folder / manifest.items_file, readonly=True)
    loaded = items.load_all(conn, dimension)
    conn.close()
    started, notes = time.perf_counter(), []
    record = write_lance(StoreSpec("lance", LANCE_FOLDER), folder, None, 0, LanceChanges([], []), loaded,
                         dimension, notes)
    took = round(time.perf_counter() - started, 1)
    log(f"Lance table written and indexed in {took}s: {record} {notes}")
    (folder / "store-build.json").write_text(json.dumps({"write_lance_s": took, "record": record}))
    write_manifest(folder, dataclasses.replace(manifest, store=record))
    return folder


def float16_copy(store: Path, folder: Path) -> Path:
    """The same generation with float16 exact-search matrices (``FASHREC_INDEX_VECTORS=float16``'s mapped
    file, derived anew by this checkout: ``open_1m.rederive``) searching ``store``'s Lance dataset (named by
    its absolute path, as ``--store lance:URI`` records it): the float16 matrix next to the float32 one on
    one table."""
    from open_1m import rederive

    return rederive(store, folder, vectors="float16", store=store)


STORE_CASES = ("none", "30%", "2%", "2%-new")


def store_filter(case: str, j: int, spare: list[int]):
    """The filter of query ``j`` in ``case``: open_1m.py's share attribute (2 % "two", 30 % "thirty");
    "new filter" leaves out a different 2 % member (outside the query's true top 10) per query, so no
    search reuses a mask or the rows an earlier one gathered: a first search with a filter."""
    from fashrec.index.filters import Filter

    if case == "none":
        return None
    if case == "30%":
        return Filter({"share": {"thirty"}})
    return Filter({"share": {"two"}}, exclude_ids={f"p{spare[j]}"} if "new" in case else set())


def store_child(args) -> None:
    """Open the Lance-backed index as the pipeline does (``open_index``) and time ``Index.nearest``."""
    from open_1m import rss_parts

    from fashrec.index import open_index
    from fashrec.index.lance_where import where_sql

    data = np.load(args.truth)
    queries, spare = data["queries"], data["spare"].tolist()
    before = rss_parts()
    started = time.perf_counter()
    index = open_index(args.child_store)
    out = {"open_s": round(time.perf_counter() - started, 2), "rss_before_open_mib": before,
           "rss_after_open_mib": rss_parts(), "matrix": str(index.image_vectors.dtype), "rows": []}
    for case in args.cases:
        truth = data["truth_none" if case == "none" else "truth_30" if case == "30%" else "truth_2"]
        found, times = [], []
        for j, q in enumerate(queries):
            flt = store_filter(case, j, spare)
            t = time.perf_counter()
            got = index.nearest(q, K, flt=flt)
            times.append(time.perf_counter() - t)
            found.append(got.positions)
        lat = percentiles_ms(times[1:])   # the case's first query apart: the filter's first use
        where = where_sql(store_filter(case, 0, spare))
        alone = []
        for _ in range(20 if where else 0):   # Lance's where alone, as the exact path asks it
            t = time.perf_counter()
            index.searcher.table.to_table(columns=[], filter=where, with_row_address=True)
            alone.append(time.perf_counter() - t)
        out["rows"].append({"case": case, "method": got.method, "recall@10": round(recall(found, truth), 4),
                            "first_ms": round(times[0] * 1e3, 1), "p50_ms": round(lat["p50"], 2),
                            "p95_ms": round(lat["p95"], 2),
                            "where_p50_ms": round(percentiles_ms(alone[3:])["p50"], 2) if alone else None,
                            "rss_after_mib": rss_parts()})
        log(f"  {out['rows'][-1]}")
    out["peak_rss_mib"] = round(hwm_mib(), 1)
    print(json.dumps(out))


def source_truth(args) -> Path:
    """``--source-truth``, or else the truth file open_1m.py wrote beside ``--source`` (in its --workdir, as
    ``truth-N-Q.json``: N items, Q queries): the one for ``--n`` and ``--queries``, or the only one for
    ``--n`` with at least ``--queries`` queries. Asked before the store is built, so that a missing or
    ambiguous truth stops the run before its ~10 minutes of writing, naming the files it could use."""
    if args.source_truth is not None:
        try:
            count = len(json.loads(args.source_truth.read_text())["unfiltered"])
        except (OSError, ValueError, KeyError) as exc:
            raise SystemExit(f"--source-truth {args.source_truth}: not an open_1m.py truth file ({exc})") from None
        if count < args.queries:
            raise SystemExit(f"--source-truth {args.source_truth} has the truth of {count} queries, fewer than "
                             f"--queries {args.queries}")
        return args.source_truth
    folder = args.source.parent
    counts = {}
    for path in sorted(folder.glob(f"truth-{args.n}-*.json")):
        queries = path.stem.rpartition("-")[2]
        if queries.isdigit():
            counts[path] = int(queries)
    exact = folder / f"truth-{args.n}-{args.queries}.json"
    fitting = [path for path, queries in counts.items() if queries >= args.queries]
    if exact in counts:
        return exact
    if len(fitting) == 1:
        return fitting[0]
    names = ", ".join(path.name for path in counts) or "none"
    if fitting:
        raise SystemExit(f"several open_1m.py truth files in {folder} fit --n {args.n} --queries {args.queries}: "
                         f"{names}; name one with --source-truth")
    fewer = f"give --queries {max(counts.values())} or fewer, " if counts else ""
    raise SystemExit(f"no open_1m.py truth file in {folder} for --n {args.n} with {args.queries} queries or more "
                     f"(truth-{args.n}-Q.json files there: {names}): {fewer}run bench/open_1m.py --workdir {folder} "
                     f"--n {args.n} --queries {args.queries}, or name one with --source-truth")


def store_truth_path(args) -> Path:
    """Where :func:`store_truth` keeps what it made from ``args.source_truth``: named by a hash of that truth
    file's content as well as --queries. Named by --queries alone, a cache made from one truth file (another
    --source-truth, another of open_1m.py's truth files beside --source, the same file written again with
    other answers) was reused with another, and every recall measured against the wrong answers. The
    content rather than the path and mtime: the same truth copied or written again keeps its cache, and
    a different one never matches."""
    digest = hashlib.sha256(args.source_truth.read_bytes()).hexdigest()[:16]
    return args.store.parent / f"store-truth-q{args.queries}-{digest}.npz"


def store_truth(args) -> Path:
    """open_1m.py's queries and exact ground truths (its truth file, the first ``--queries`` of them),
    and the member each "new filter" query leaves out; made once per truth file (:func:`store_truth_path`)."""
    from ann_bench import make_vectors
    from open_1m import buckets

    path = store_truth_path(args)
    if path.exists():
        return path
    truths = json.loads(args.source_truth.read_text())
    queries = make_vectors("clustered", len(truths["unfiltered"]), 256, seed=10_000_019)[:args.queries]
    members = np.flatnonzero(buckets(args.n) == 0)
    two = truths["filter 2%"][:args.queries]
    spare = [next(int(m) for m in np.roll(members, -37 * j) if int(m) not in set(two[j])) for j in range(args.queries)]
    np.savez(path, queries=queries, spare=np.array(spare), truth_none=np.array(truths["unfiltered"][:args.queries]),
             truth_2=np.array(two), truth_30=np.array(truths["filter 30%"][:args.queries]))
    return path


def store_main(args, info: dict) -> None:
    """``--store``: the Lance-backed fashrec index end to end, a fresh reader process per matrix dtype
    and thread setting."""
    # Every run, even with a cache of the store's truth there: the cache is named by the truth file
    args.source_truth = source_truth(args)
    log(f"ground truth: {args.source_truth}")
    store = build_store(args.source, args.store)
    folders = {"float32": store}
    if "float16" in args.vectors:
        folders["float16"] = float16_copy(store, args.store.parent / (args.store.name + "-float16"))
    derived = {}
    if args.rederive:   # this checkout's derive of the same generation (codes since pq8), on the same table
        from open_1m import rederive

        for dtype in args.vectors:
            suffix = "-codes" + ("" if dtype == "float32" else f"-{dtype}")
            folders[dtype] = rederive(store, args.store.parent / (args.store.name + suffix), vectors=dtype, store=store)
            derived[dtype] = json.loads((folders[dtype] / "derive.json").read_text())
            log(f"{dtype}: {folders[dtype]} derived {derived[dtype]}")
    truth = store_truth(args)
    rows, readers = [], {}
    for threads in args.threads:
        for dtype in args.vectors:
            log(f"store, {dtype} matrix, threads={threads or 'default'}")
            cmd = [sys.executable, __file__, "--child-store", str(folders[dtype]), "--truth", str(truth),
                   "--folder", str(args.store), "--cases", ",".join(args.cases)]
            out = run_proc(cmd, threads, f"store {dtype}")
            for r in out.pop("rows"):
                rows.append({"matrix": dtype, "threads": threads or "default", **r,
                             "reader_peak_rss_mib": out["peak_rss_mib"]})
            readers[f"{dtype}-{threads}"] = out
    headers = ["matrix", "threads", "case", "method", "recall@10", "first_ms", "p50_ms", "p95_ms", "where_p50_ms",
               "reader_peak_rss_mib"]
    print(f"store build: {json.loads((store / 'store-build.json').read_text())}")
    print(markdown_table(headers, [[r[h] for h in headers] for r in rows]))
    info["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    write_json(args.json, {"machine": info, "n": args.n, "queries": args.queries, "readers": readers, "rows": rows,
                           "folders": {k: str(v) for k, v in folders.items()}, "derive": derived})


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


def run_proc(cmd: list[str], threads: int | None, what: str) -> dict:
    """Run one reader process (one BLAS thread; Lance's pools at ``threads``, 0: its default); its JSON."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    if threads:
        env.update(LANCE_CPU_THREADS=str(threads), LANCE_IO_THREADS=str(threads))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    sys.stderr.write(proc.stderr[-3000:])
    if proc.returncode != 0:
        raise SystemExit(f"the query process ({what}) failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_child(args, path: str, scalar: str, threads: int | None) -> dict:
    cmd = [sys.executable, __file__, "--child-path", path, "--truth", str(args.truth), "--scalar", scalar,
           "--folder", str(args.folder), "--shares", ",".join(map(str, args.shares))]
    cmd += ["--graph-table", str(args.graph_table / "items.lance")] if path == "graph" else []
    out = run_proc(cmd, threads, path)
    for r in out["rows"]:
        r["threads"] = threads or "default"
        r["reader_peak_rss_mib"] = out["peak_rss_mib"]
    return out


def parse_args() -> argparse.Namespace:
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    words = lambda s: [x for x in s.split(",") if x]  # noqa: E731
    parser = bench_parser(__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--shares", type=ints, default=[1, 2, 5], help="filters bucket < B, B in percent")
    parser.add_argument("--paths", type=words, default=list(PATHS), help=",".join(PATHS))
    parser.add_argument("--scalars", type=words, default=["BTREE", "BITMAP"])
    parser.add_argument("--threads", type=ints, default=[0], help="LANCE_CPU/IO_THREADS per child (0: Lance's default)")
    parser.add_argument("--folder", type=Path, help="the side table (written once, reused)")
    parser.add_argument("--graph-table", type=Path, help="a lance_bench.py IVF_HNSW_SQ table of the same n")
    store = parser.add_argument_group("the store end to end (--store)")
    store.add_argument("--store", type=Path, help="the Lance-backed fashrec index (built once from --source)")
    store.add_argument("--source", type=Path, default=Path("~/.cache/fashrec-data/work-bench1m/open-1m/index").expanduser(),
                       help="open_1m.py's 1M index, whose generation the store indexes")
    store.add_argument("--source-truth", type=Path,
                       help="open_1m.py's ground truth of the same queries (default: the truth-N-Q.json it wrote "
                            "beside --source for --n and --queries, or the only one with enough queries)")
    store.add_argument("--vectors", type=words, default=["float32", "float16"], help="exact-search matrices to time")
    store.add_argument("--cases", type=words, default=list(STORE_CASES), help=",".join(STORE_CASES).replace("%", "%%"))
    store.add_argument("--rederive", action="store_true",
                       help="search copies of the generation whose mapped files this checkout derived again "
                            "(DIR-codes, DIR-codes-float16: product-quantisation codes), on DIR's Lance table")
    parser.add_argument("--child-path", help=argparse.SUPPRESS)
    parser.add_argument("--child-store", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--truth", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scalar", default="BTREE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not (args.folder or args.store):
        parser.error("give --folder (the side table) or --store (the store end to end)")
    return args


def main() -> None:
    args = parse_args()
    if args.child_path:
        child(args)
        return
    if args.child_store:
        store_child(args)
        return
    title = "The Lance-backed store end to end" if args.store else "A selective filter on a Lance table"
    # lancedb: the store's writer (--store); the side table is pylance's alone
    info = report_header(f"{title}, {args.n:,} items", ("numpy", "pylance", "lancedb", "pyarrow"))
    info["load_avg_1m_start"] = round(os.getloadavg()[0], 2)
    if args.store:
        store_main(args, info)
        return
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
