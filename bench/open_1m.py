"""An open 1M-item index: memory and search quality, the lean open (mapped file) next to the old one.

The index is built from the ANN benchmark's 1M clustered set (``bench/ann_bench.py``: the same vectors,
queries and graph, reusing its ``--graph-cache``), written through fashrec's own writers: an item store
with 1M rows (small metadata, both vectors), the graph, the mapped file, a manifest. Two attribute
values are drawn so that filters let 2 % and 30 % of the items through, as the ANN benchmark's random
masks do. Then, in fresh processes:

- ``lean``: ``open_index`` as shipped (maps the vectors, reads no row);
- ``today``: the same files opened by fashrec as it was before the lean open (``--baseline-repo``, e.g. a
  checkout of 0b77653~1: every row read, float32 copies of both matrices, 1M Product objects), through a
  manifest that does not name the mapped file;
- ``lean-before``: the lean open of another checkout (``--lean-baseline``) on the same files, e.g. main
  before exact search read a large matrix's rows by positioned reads instead of through the mapping.

Each reports RSS after opening and peak RSS after the queries, recall@10 against exact ground truth,
and single-query p50 for unfiltered searches (at the shipped ef=128 and at ``--efs``), 2 % and 30 %
filtered searches through ``Index.nearest``; "2 %, new filter" gives every query a filter of its own
(the 2 % less one item outside that query's true top 10), so nothing an earlier search cached is reused.

RSS is also split into anonymous memory and mapped file pages (after opening and after each case):
through the mapping, the 2 % filter's exact fallback read 20k scattered rows of the image matrix and
left most of its pages mapped (the kernel's fault-around; clean file pages it can drop and re-read).

Results: bench/RESULTS.md section 12 (run 2026-12-01 at load 7-9; the 1M graph took 68 minutes to build
at nice 10 on the shared 2-core machine; ``--wait-graph`` lets this script write its item store while
ann_bench.py or lance_bench.py builds the graph into the same cache).

    OPENBLAS_NUM_THREADS=1 nice -n 10 python bench/open_1m.py --graph-cache ~/.cache/fashrec-data/work-bench1m/ann-cache \\
        --workdir ~/.cache/fashrec-data/work-bench1m/open-1m --wait-graph 5400 --baseline-repo /tmp/base-open \\
        --json /tmp/open-1m.json     # /tmp/base-open: git worktree add /tmp/base-open 0b77653~1
    OPENBLAS_NUM_THREADS=1 nice -n 10 python bench/open_1m.py --graph-cache ~/.cache/fashrec-data/work-bench1m/ann-cache \\
        --workdir ~/.cache/fashrec-data/work-bench1m/open-1m --modes lean-before,lean --lean-baseline /tmp/base-map \\
        --json /tmp/open-1m-mem.json   # /tmp/base-map: git worktree add --detach /tmp/base-map e92bee9
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if "--repo" in sys.argv:
    # A child measures the checkout it is given: fashrec is imported from there before common.py puts
    # this script's checkout first on sys.path (and ann_bench imports fashrec).
    sys.path.insert(0, sys.argv[sys.argv.index("--repo") + 1])
    import fashrec  # noqa: E402,F401

from ann_bench import build_or_load, ground_truth, make_vectors, recall  # noqa: E402
from common import hwm_mib, log, markdown_table, percentiles_ms, report_header, write_json  # noqa: E402

N = 1_000_000
DIM = 256
K = 10
SHARES = {"two": 0.02, "thirty": 0.30}


def rss_mib() -> float:
    return rss_parts()["rss"]


def rss_parts() -> dict[str, float]:
    """VmRSS split into anonymous memory (the process's own) and mapped file pages (page cache the kernel
    may drop and re-read; with fault-around, scattered row reads map whole neighbourhoods of a file)."""
    keys = {"VmRSS:": "rss", "RssAnon:": "anon", "RssFile:": "file"}
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.split(":")[0] + ":" in keys:
                out[keys[line.split(":")[0] + ":"]] = int(line.split()[1]) / 1024
    return out


# -- building the index once ----------------------------------------------------------------------------
def buckets(n: int) -> np.ndarray:
    draw = np.random.default_rng(5).random(n)
    return np.where(draw < SHARES["two"], 0, np.where(draw < SHARES["two"] + SHARES["thirty"], 1, 2))


def build(args) -> Path:
    from fashrec.index import columns, items, mapped
    from fashrec.index.manifest import read_manifest

    folder = args.workdir / "index"
    n = args.n
    if (folder / "manifest.json").exists():
        if read_manifest(folder).hnsw.get("M") != shipped_m(n):
            attach_graph(folder, n, args)  # a generation of an earlier M: the same rows, the shipped graph
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    vectors = make_vectors("clustered", n, DIM, seed=n)
    text = make_vectors("clustered", n, DIM, seed=n + 1)
    names = np.array(["two", "thirty", "rest"])[buckets(n)]
    log(f"writing {n:,} rows to the item store ...")
    conn = items.connect(folder / "items-1.sqlite")
    items.migrate(conn)
    with conn:
        for start in range(0, n, 50_000):
            rows = [(f"p{i}", f"{i:064x}", f"{i:064x}",
                     {"id": f"p{i}", "image": f"/img/{i}.jpg", "title": f"product {i}",
                      "attributes": {"share": str(names[i]), "color": ("red", "blue", "black")[i % 3]},
                      "price": float(i % 200)}, vectors[i], text[i]) for i in range(start, min(n, start + 50_000))]
            items.upsert(conn, rows)
    del vectors, text, rows
    loaded = items.load_all(conn, DIM)
    conn.close()
    log("writing the mapped file ...")
    arrays, facts = columns.derive(loaded, identifier="bench", items_path=folder / "items-1.sqlite")
    mapped.write_mapped(folder / "mapped-1.bin", arrays, facts)
    del loaded, arrays
    # The graph last: the item store and mapped file can be written while ann_bench.py still builds it.
    attach_graph(folder, n, args)
    return folder


def shipped_m(n: int) -> int:
    from fashrec.index import ann

    return ann.default_m(n) if hasattr(ann, "default_m") else ann.HNSW_M


def attach_graph(folder: Path, n: int, args) -> None:
    """Link ann_bench.py's cached graph of the M fashrec builds ``n`` items with into the generation (built
    here if the cache lacks it) and write the manifest that names it."""
    from fashrec import __version__
    from fashrec.index import ann
    from fashrec.index.manifest import SCHEMA_VERSION, Manifest, write_manifest

    m = shipped_m(n)
    tag = f"clustered-{n}-{DIM}-M{m}"
    wait_for(args.graph_cache / f"{tag}.json", args.wait_graph)
    if not (args.graph_cache / f"{tag}.json").exists():   # build_or_load writes it after the graph
        build_or_load(make_vectors("clustered", n, DIM, seed=n), m, args.graph_cache, tag)
    (folder / "vectors-1.hnsw").unlink(missing_ok=True)
    link_or_copy(args.graph_cache / f"{tag}.hnsw", folder / "vectors-1.hnsw")
    ef = ann.default_ef(n, m) if hasattr(ann, "default_m") else ann.default_ef(n)
    manifest = Manifest(schema_version=SCHEMA_VERSION, encoder={"spec": "bench", "identifier": "bench", "dimension": DIM},
                        generation=1, items_file="items-1.sqlite", vectors_file="vectors-1.hnsw", count=n,
                        hnsw={"M": m, "ef_construction": ann.HNSW_EF_CONSTRUCTION, "ef": ef,
                              "crc32": ann.file_crc32(folder / "vectors-1.hnsw")},
                        fashrec_version=__version__, mapped_file="mapped-1.bin")
    write_manifest(folder, manifest)


def wait_for(path: Path, seconds: float) -> None:
    """Give another process building the cached graph (ann_bench.py) time to finish before building it."""
    deadline = time.monotonic() + seconds
    if seconds and not path.exists():
        log(f"waiting up to {seconds:.0f}s for {path} ...")
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(10)


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the file system allows (the cached graph is 1.1 GiB and never written to)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def rederive(source: Path, folder: Path, *, vectors: str = "float32", store: Path | None = None) -> Path:
    """The generation at ``source`` with its mapped file derived again by this checkout (``columns.derive``,
    as ``fashrec index`` writes it: with product-quantisation codes for a large matrix since pq8), in
    ``folder``: the item store and graph hard-linked (same inode, so the mapped file's item stamp still
    describes it), the manifest copied; ``store``: a Lance-backed index whose dataset the copy searches (by
    its absolute path; the Lance table holds no codes and is not rewritten). The derive is timed, training
    and encoding apart (``derive.json``)."""
    import dataclasses

    from fashrec.index import columns, items, mapped, pq
    from fashrec.index.manifest import read_manifest, write_manifest

    if (folder / "manifest.json").exists():
        return folder
    manifest = read_manifest(source)
    folder.mkdir(parents=True, exist_ok=True)
    for name in (manifest.items_file, manifest.vectors_file):
        if not (folder / name).exists():
            os.link(source / name, folder / name)
    conn = items.connect(folder / manifest.items_file, readonly=True)
    loaded = items.load_all(conn, int(manifest.encoder["dimension"]))
    conn.close()
    spent = {"train_s": 0.0, "encode_s": 0.0}

    def timed(key, fn):
        def run(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[key] += time.perf_counter() - t
        return run

    train, encode = pq.train, pq.encode
    pq.train, pq.encode = timed("train_s", train), timed("encode_s", encode)
    try:
        log(f"deriving the mapped file of {source} again ({vectors}) ...")
        t = time.perf_counter()
        arrays, facts = columns.derive(loaded, identifier="bench", items_path=folder / manifest.items_file,
                                       vectors=vectors)
        spent["derive_s"] = time.perf_counter() - t
    finally:
        pq.train, pq.encode = train, encode
    spent["codes"] = facts.get("codes", {})
    spent["peak_rss_mib"] = hwm_mib()
    mapped.write_mapped(folder / manifest.mapped_file, arrays, facts)
    if store is not None:
        lance = read_manifest(store).store
        manifest = dataclasses.replace(manifest, store={**lance, "uri": str((store / lance["uri"]).resolve())})
    write_manifest(folder, manifest)
    spent = {k: round(v, 1) if isinstance(v, float) else v for k, v in spent.items()}
    (folder / "derive.json").write_text(json.dumps(spent))
    log(f"derived in {spent['derive_s']} s (training {spent['train_s']} s, encoding {spent['encode_s']} s)")
    return folder


def old_copy(folder: Path) -> Path:
    """The same files, with a manifest that does not name the mapped file (hard links: no copy)."""
    old = folder.parent / "index-old"
    if not (old / "manifest.json").exists():
        shutil.rmtree(old, ignore_errors=True)
        old.mkdir()
        for name in ("items-1.sqlite", "vectors-1.hnsw"):
            os.link(folder / name, old / name)
        data = json.loads((folder / "manifest.json").read_text())
        data["mapped_file"] = ""
        (old / "manifest.json").write_text(json.dumps(data))
    return old


# -- measuring, in a fresh process --------------------------------------------------------------------
def child(args) -> None:
    import fashrec
    from fashrec.index import open_index

    queries = make_vectors("clustered", args.queries, DIM, seed=10_000_019)
    base = rss_mib()
    t = time.perf_counter()
    index = open_index(args.child)
    open_s = time.perf_counter() - t
    collapse_s = None
    if args.huge_pages and hasattr(index, "collapse_onto_huge_pages"):  # as fashrec serve does, here before timing
        t = time.perf_counter()
        index.collapse_onto_huge_pages()
        collapse_s = time.perf_counter() - t
    parts_after_open = rss_parts()
    after_open = parts_after_open["rss"]
    out = {"fashrec": str(Path(fashrec.__file__).parent.parent), "open_s": open_s, "rss_before_open_mib": base, "rss_after_open_mib": after_open, "collapse_s": collapse_s, "cases": {}}
    truths = json.loads(Path(args.truth).read_text())
    for case, truth, ef, flt_of in cases(args, truths):
        found, times = [], []
        index.nearest(queries[0], K, flt=flt_of(0), ef=ef)  # a fixed filter's mask is built outside the timing
        for j, q in enumerate(queries):
            flt = flt_of(j)
            t = time.perf_counter()
            got = index.nearest(q, K, flt=flt, ef=ef)
            times.append(time.perf_counter() - t)
            found.append(got.positions)
        out["cases"][case] = {"recall@10": recall(found, np.array(truths[truth])), "method": got.method,
                              **percentiles_ms(times), "rss_after_mib": rss_parts()}
    sweep = [int(r) for r in args.shortlists.split(",") if r.strip()]
    if sweep and "filtered" in args.cases:
        from fashrec.index import columns
        from fashrec.index.filters import Filter

        # each query a filter not seen before: the 2 % less an item outside it (so the truth is unchanged)
        outside = np.flatnonzero(buckets(args.n) == 2)
        truth = "filter 2%"
        for rows in sweep:
            columns.SHORTLIST_ROWS, columns.SHORTLIST_PER_K = rows, 1   # the shortlist is `rows` rows
            found, times = [], []
            for j, q in enumerate(queries):
                flt = Filter({"share": {"two"}}, exclude_ids={f"p{outside[(j * 7919 + rows) % len(outside)]}"})
                t = time.perf_counter()
                got = index.nearest(q, K, flt=flt)
                times.append(time.perf_counter() - t)
                found.append(got.positions)
            out["cases"][f"filter 2%, new filter, shortlist {rows}"] = {
                "recall@10": recall(found, np.array(truths[truth])), "method": got.method, **percentiles_ms(times),
                "rss_after_mib": rss_parts()}
    # the text space, unfiltered: a whole scan of the text matrix per query (`fashrec search` TEXT does it)
    times = []
    for q in queries[:args.text_queries if "text" in args.cases else 0]:
        t = time.perf_counter()
        got = index.nearest(q, K, space="text")
        times.append(time.perf_counter() - t)
    if times:
        out["cases"]["text, whole scan"] = {"recall@10": None, "method": got.method, **percentiles_ms(times),
                                            "rss_after_mib": rss_parts()}
    out["rss_after_open_parts_mib"] = parts_after_open
    out["rss_end_mib"] = rss_mib()
    out["peak_rss_mib"] = hwm_mib()
    print(json.dumps(out))


def cases(args, truths: dict) -> list:
    """(case, its ground truth, ef, the filter of query j). "new filter" makes every query's filter a
    different one (the 2 % minus one of its items that is not among that query's true top 10), so no
    search reuses a mask or the rows an earlier one read: what the first search with a filter costs."""
    from fashrec.index.filters import Filter

    two, thirty = Filter({"share": {"two"}}), Filter({"share": {"thirty"}})
    members = np.flatnonzero(buckets(args.n) == 0)
    spare = [next(int(m) for m in np.roll(members, -37 * j) if int(m) not in set(truths["filter 2%"][j]))
             for j in range(args.queries)]   # a different member per query
    out = [("unfiltered", "unfiltered", None, lambda j: None)]
    out += [(f"unfiltered ef={ef}", "unfiltered", ef, lambda j: None) for ef in args.efs]
    if "filtered" not in args.cases:
        return out
    return out + [("filter 2%", "filter 2%", None, lambda j: two),
                  ("filter 2%, new filter", "filter 2%", None,
                   lambda j: Filter({"share": {"two"}}, exclude_ids={f"p{spare[j]}"})),
                  ("filter 30%", "filter 30%", None, lambda j: thirty)]


def truths(args, folder: Path) -> Path:
    path = args.workdir / f"truth-{args.n}-{args.queries}.json"
    if path.exists():
        return path
    n = args.n
    vectors = make_vectors("clustered", n, DIM, seed=n)
    queries = make_vectors("clustered", args.queries, DIM, seed=10_000_019)
    which = buckets(n)
    data = {"unfiltered": ground_truth(vectors, queries, K).tolist(),
            "filter 2%": ground_truth(vectors, queries, K, which == 0).tolist(),
            "filter 30%": ground_truth(vectors, queries, K, which == 1).tolist()}
    path.write_text(json.dumps(data))
    return path


def summary(results: dict, modes: list[str]) -> list[tuple]:
    """Per mode and case: recall, the median of the rounds' p50 and p95, the p50 ratio to the first mode."""
    rows, first = [], {}
    for mode in modes:
        runs = [r for key, r in results.items() if key.rsplit(" #", 1)[0] == mode]
        for case in runs[0]["cases"]:
            p50s = [r["cases"][case]["p50"] for r in runs]
            p50 = float(np.median(p50s))
            first.setdefault(case, p50)
            rec = runs[0]["cases"][case]["recall@10"]
            rows.append((mode, case, "-" if rec is None else f"{rec:.4f}", f"{p50:.3f}", f"{p50 / first[case]:.2f}",
                         f"{np.median([r['cases'][case]['p95'] for r in runs]):.3f}",
                         " / ".join(f"{x:.3f}" for x in p50s)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph-cache", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--n", type=int, default=N, help="items (1M; fewer for a quick check of the script)")
    parser.add_argument("--wait-graph", type=float, default=0,
                        help="seconds to wait for a graph another process is building into --graph-cache")
    parser.add_argument("--modes", default="lean,today")
    parser.add_argument("--baseline-repo", type=Path, help="the fashrec checkout that measures 'today'")
    parser.add_argument("--lean-baseline", type=Path,
                        help="mode 'lean-before': the lean open of another checkout on the same files (e.g. main "
                             "before the exact search read rows instead of mapping them)")
    parser.add_argument("--efs", default="96,160", help="unfiltered searches at these ef too (\"unfiltered\" alone is the measured "
                             "checkout's default ef: 128; at 1M 160 for an M 16 graph, 64 for the M 32 graph "
                             "fashrec builds there since ann.default_m)")
    parser.add_argument("--text-queries", type=int, default=20, help="text-space queries (each scans 1M rows)")
    parser.add_argument("--cases", default="unfiltered,filtered,text",
                        help="what each open measures: unfiltered (always), filtered (2 %% / 30 %%), text (whole scans)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the modes this many times, alternating (a,b,a,b...): p50s of one run are noisy")
    parser.add_argument("--rederive", action="store_true",
                        help="mode lean opens a copy whose mapped file this checkout derived again (index-codes)")
    parser.add_argument("--shortlists", default="",
                        help="(with codes) the new 2 %% filter again at these columns.SHORTLIST_ROWS: recall against it")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", type=Path)
    parser.add_argument("--huge-pages", action="store_true",
                        help="move the graph onto huge pages after the open, as fashrec serve does (its time apart)")
    parser.add_argument("--truth", type=Path)
    parser.add_argument("--repo", type=Path, help="(a child's) the fashrec checkout it measures")
    args = parser.parse_args()
    args.efs = [int(e) for e in args.efs.split(",") if e.strip()]
    args.cases = {c.strip() for c in args.cases.split(",") if c.strip()}
    if args.child:
        child(args)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    info = report_header("An open 1M-item index")
    folder = build(args)
    truth = truths(args, folder)
    # --rederive: "lean" (this checkout) opens the same generation with its mapped file derived again by this
    # checkout (codes for the large matrices); the other modes open the files as built
    coded = rederive(folder, args.workdir / "index-codes") if args.rederive else None
    results: dict = {"derive": json.loads((coded / "derive.json").read_text())} if coded else {}
    modes = args.modes.split(",")
    for run, mode in enumerate(modes * args.rounds):
        target = old_copy(folder) if mode == "today" else coded if mode == "lean" and coded else folder
        repo = {"lean": HERE.parent, "today": args.baseline_repo, "lean-before": args.lean_baseline}[mode]
        if repo is None:
            parser.error(f"--baseline-repo / --lean-baseline is needed to measure {mode!r}")
        log(f"measuring {mode} ({repo}) ...")
        env = {**os.environ, "PYTHONPATH": str(repo), "OPENBLAS_NUM_THREADS": "1"}
        proc = subprocess.run([sys.executable, __file__, "--child", str(target), "--truth", str(truth), "--repo", str(repo),
                               "--graph-cache", str(args.graph_cache), "--workdir", str(args.workdir),
                               "--queries", str(args.queries), "--n", str(args.n),
                               "--efs", ",".join(map(str, args.efs)),
                               "--text-queries", str(args.text_queries), "--cases", ",".join(sorted(args.cases)),
                               "--shortlists", args.shortlists if mode == "lean" else "",
                               *(["--huge-pages"] if args.huge_pages else [])],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
        key = mode if args.rounds == 1 else f"{mode} #{run // len(modes) + 1}"
        results[key] = json.loads(proc.stdout.strip().splitlines()[-1])
        results[key]["load_avg_1m"] = round(os.getloadavg()[0], 2)
        log(f"{key}: measured fashrec in {results[key]['fashrec']} (load {results[key]['load_avg_1m']})")
    derived = results.pop("derive", None)
    rows = []
    for mode, r in results.items():
        for case, c in r["cases"].items():
            rows.append((mode, case, "-" if c["recall@10"] is None else f"{c['recall@10']:.4f}", f"{c['p50']:.3f}", f"{c['p95']:.3f}", c["method"]))
    print(markdown_table(("open", "search", "recall@10", "p50 ms", "p95 ms", "method"), rows))
    print()
    print(markdown_table(("open", "open s", "RSS before open MiB", "RSS after open MiB", "RSS after queries MiB",
                          "peak RSS MiB"),
                         [(m, f"{r['open_s']:.1f}", f"{r['rss_before_open_mib']:.0f}", f"{r['rss_after_open_mib']:.0f}",
                           f"{r['rss_end_mib']:.0f}", f"{r['peak_rss_mib']:.0f}") for m, r in results.items()]))
    print()
    print(markdown_table(("open", "after", "RSS MiB", "anonymous MiB", "mapped file MiB"),
                         [(m, case, f"{p['rss']:.0f}", f"{p['anon']:.0f}", f"{p['file']:.0f}")
                          for m, r in results.items()
                          for case, p in [("open", r["rss_after_open_parts_mib"]),
                                          *((c, v["rss_after_mib"]) for c, v in r["cases"].items())]]))
    if args.rounds > 1:
        results["summary"] = summary(results, modes)
        print(markdown_table(("open", "search", "recall@10", "p50 ms (median of rounds)", f"p50 / {modes[0]}",
                              "p95 ms (median)", "p50 ms per round"), results["summary"]))
        print()
    disk = {p.name: round(p.stat().st_size / 2 ** 20, 1) for p in sorted(folder.iterdir()) if p.is_file()}
    print(f"\nindex files (MiB): {disk}")
    results["disk_mib"] = disk
    if derived:
        results["derive"] = derived
        print(f"derive with codes (this checkout): {derived}")
    info["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    write_json(args.json, {"machine": info, "results": results})


if __name__ == "__main__":
    main()
