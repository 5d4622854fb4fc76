"""float16 exact-search matrices: recall@10 against float32, score error, latency and resident memory.

Exact search scans the mapped file's vector matrices: every text-space query scans the text matrix, and
a selective filter makes an image query scan its survivors. This bench reads the float32 vectors of an
index from its item store (the source of truth), then for ``--queries`` seeded items asks for the top 10
of one item's image vector against the text matrix and of its text vector against the image matrix (as
a photo and a text query do), over the whole catalog and over a seeded 5 % filter, once with the
float32 matrices and once with float16 copies scored by ``fashrec.index.ann.exact_search`` (float32
arithmetic, a block of rows widened at a time). Recall@10: the share of float32's top 10 that float16
finds, and the same counting ties (a product whose float32 score equals float32's 10th: many products
share a title, hence a text vector, and which of them makes the top 10 is arbitrary). Memory and latency: fresh processes that map a file holding only the two matrices (float32, or
float16) and run the same queries, alternating, measured from outside (peak RSS) and per query (p50).

    python bench/float16_recall.py --index ~/.cache/fashrec-data/work-fast/index --queries 1000 \\
        --json /tmp/float16.json
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from common import (  # noqa: E402
    bench_parser,
    log,
    markdown_table,
    report_header,
    run_measured,
    write_json,
)

from fashrec.index import ann, items, read_manifest  # noqa: E402
from fashrec.index.mapped import Mapped, write_mapped  # noqa: E402

K = 10
FILTER_SHARE = 0.05


def load_float32(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    manifest = read_manifest(folder)
    conn = items.connect(folder / manifest.items_file, readonly=True)
    try:
        loaded = items.load_all(conn, int(manifest.encoder["dimension"]))
    finally:
        conn.close()
    return loaded.image_vecs, loaded.text_vecs


def plan_queries(n_items: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    picked = rng.choice(n_items, size=min(count, n_items), replace=False)
    allowed = rng.random(n_items) < FILTER_SHARE
    return picked, allowed


def recall(image32, text32, picked, allowed) -> dict:
    image16, text16 = image32.astype(np.float16), text32.astype(np.float16)
    found: dict[str, list[float]] = {}
    tied: dict[str, list[float]] = {}   # a product scoring as float32's 10th (a duplicate title) counts
    worst = 0.0
    for label, matrix32, matrix16, queries in (("photo query -> text matrix", text32, text16, image32),
                                               ("text query -> image matrix", image32, image16, text32)):
        for scope, mask in (("all", None), (f"{FILTER_SHARE:.0%} filter", allowed)):
            key = f"{label}, {scope}"
            found[key], tied[key] = [], []
            for i in picked:
                exact = ann.exact_search(matrix32, queries[i], K, mask)
                half = ann.exact_search(matrix16, queries[i], K, mask)
                found[key].append(len(set(exact.positions) & set(half.positions)) / max(len(exact.positions), 1))
                as32 = ann.scores_of(matrix32, queries[i], half.positions)
                tied[key].append(float(np.mean(as32 >= exact.scores[-1] - 1e-6)) if len(as32) else 1.0)
                # the same products' scores, float16 against float32
                again = ann.scores_of(matrix16, queries[i], exact.positions)
                worst = max(worst, float(np.max(np.abs(again - exact.scores))) if len(again) else 0.0)
    return {"recall_at_10": {k: float(np.mean(v)) for k, v in found.items()},
            "recall_at_10_ties": {k: float(np.mean(v)) for k, v in tied.items()},
            "min_query_recall": {k: float(np.min(v)) for k, v in found.items()}, "max_score_error": worst}


# -- the child: map one file, run the queries, report time per query and peak RSS ----------------
def child(args) -> None:
    import resource

    mapped = Mapped(Path(args.child), trusted=frozenset({"image", "text"}))
    image, text = mapped.array("image"), mapped.array("text")
    picked = np.load(args.picked)
    queries = np.load(args.query_vectors)
    times = []
    for n, i in enumerate(picked):
        matrix = text if n % 2 == 0 else image
        t = time.perf_counter()
        ann.exact_search(matrix, queries[i], K)
        times.append(time.perf_counter() - t)
    print(json.dumps({"p50_ms": statistics.median(times) * 1000,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "dtype": str(image.dtype)}))


def memory(image32, text32, picked, reps: int, workdir: Path) -> dict:
    files = {}
    for dtype in ("float32", "float16"):
        files[dtype] = workdir / f"matrices-{dtype}.bin"
        write_mapped(files[dtype], {"image": image32.astype(dtype), "text": text32.astype(dtype)}, {})
    np.save(workdir / "picked.npy", picked)
    np.save(workdir / "queries.npy", image32)   # photo-side and text-side queries alike: unit vectors
    rows: dict[str, list[dict]] = {d: [] for d in files}
    for rep in range(reps):
        for dtype in (("float32", "float16") if rep % 2 == 0 else ("float16", "float32")):
            cmd = [sys.executable, __file__, "--child", str(files[dtype]), "--picked", str(workdir / "picked.npy"),
                   "--query-vectors", str(workdir / "queries.npy")]
            got = run_measured(cmd)
            if got["exit"] != 0:
                raise SystemExit(f"child {dtype} failed:\n{got['stderr'][-2000:]}")
            rows[dtype].append({**json.loads(got["stdout"].strip().splitlines()[-1]),
                                "outside_peak_rss_mib": got["peak_rss_mib"]})
            log(f"{dtype} rep {rep}: {rows[dtype][-1]['p50_ms']:.2f} ms/query, "
                f"{rows[dtype][-1]['outside_peak_rss_mib']:.0f} MiB")
    return {d: {"p50_ms": statistics.median(r["p50_ms"] for r in got),
                "peak_rss_mib": statistics.median(r["outside_peak_rss_mib"] for r in got),
                "file_mib": files[d].stat().st_size / 2**20} for d, got in rows.items()}


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--index", type=Path)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--child")
    parser.add_argument("--picked")
    parser.add_argument("--query-vectors")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.index is None:
        parser.error("--index is required")
    info = report_header("float16 exact-search matrices", ("numpy",))
    image32, text32 = load_float32(args.index.expanduser())
    picked, allowed = plan_queries(len(image32), args.queries, args.seed)
    log(f"{len(image32)} items, {len(picked)} queries, {int(allowed.sum())} items pass the filter")
    found = recall(image32, text32, picked, allowed)
    with tempfile.TemporaryDirectory(prefix="float16-bench-") as tmp:
        mem = memory(image32, text32, picked, args.reps, Path(tmp))
    print(f"{len(image32):,} items, {len(picked):,} queries, top {K}\n")
    print(markdown_table(("search", "recall@10 (float16 vs float32)", "lowest one query",
                          "recall@10, ties with the 10th counted"),
                         [(k, f"{v:.4f}", f"{found['min_query_recall'][k]:.1f}",
                           f"{found['recall_at_10_ties'][k]:.4f}") for k, v in found["recall_at_10"].items()]))
    print(f"\nlargest score difference on float32's top 10: {found['max_score_error']:.2e}\n")
    f32, f16 = mem["float32"], mem["float16"]
    print(markdown_table(("", "float32", "float16", "float16 / float32"), [
        ("matrices file", f"{f32['file_mib']:.0f} MiB", f"{f16['file_mib']:.0f} MiB", f"{f16['file_mib'] / f32['file_mib']:.2f}"),
        ("peak RSS, process scanning both", f"{f32['peak_rss_mib']:.0f} MiB", f"{f16['peak_rss_mib']:.0f} MiB",
         f"{f16['peak_rss_mib'] / f32['peak_rss_mib']:.2f}"),
        ("exact search, full scan, p50", f"{f32['p50_ms']:.2f} ms", f"{f16['p50_ms']:.2f} ms",
         f"{f16['p50_ms'] / f32['p50_ms']:.2f}")]))
    import os

    info["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    write_json(args.json, {"machine": info, "items": len(image32), "queries": len(picked), **found, "memory": mem})


if __name__ == "__main__":
    main()
