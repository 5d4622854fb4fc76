"""Images/s of the index build's encoding step: the local engine vs `--engine ray`, side by side.

Usage: python bench/ray_engine.py [--catalog CATALOG] [--n 2000] [--model SPEC] [--workers 1,2]
                                  [--batch-size 64] [--json OUT]

The same ``n`` photos (the first ``n`` products of the catalog; default the real-photos catalog) are
encoded by :class:`fashrec.index.encode.LocalEngine` (this process, FASHREC_THREADS torch threads) and
by :class:`fashrec.index.ray_engine.RayEngine` on a fresh local Ray runtime with each worker count
(one torch thread per worker), in one run, so the machine's load is shared alike. Reported per run:
the total time (Ray: starting the runtime and the workers included), the pipeline alone, images/s
over each, and the lowest cosine between a Ray vector and the local one (the engines must agree).
Images are decoded from JPEG in both, as the index build does. The N-machine figure in RESULTS.md
is an estimate from the pipeline rate per worker, not a measurement.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import log, markdown_table, report_header, write_json

DEFAULT_CATALOG = "/root/.cache/fashrec-data/catalog.jsonl"


def first_products(catalog: str, n: int):
    from fashrec.catalog import load_catalog

    products = load_catalog(catalog).products[:n]
    return [p.image_path for p in products], [p.text() for p in products]


def run_engine(engine, images, texts, spec: str, batch_size: int) -> tuple[dict, np.ndarray]:
    started = time.perf_counter()
    encoded = engine.encode(images, texts, spec, batch_size=batch_size, advance=None)
    total = time.perf_counter() - started
    pipeline = encoded.details.get("pipeline_seconds", encoded.details["seconds"])
    row = {"engine": engine.name, "workers": encoded.details.get("workers", "-"), "images": len(images),
           "failures": len(encoded.failures), "total_s": round(total, 2), "pipeline_s": round(pipeline, 2),
           "startup_s": encoded.details.get("startup_seconds", 0.0),
           "img_per_s_total": round(len(images) / total, 1), "img_per_s_pipeline": round(len(images) / pipeline, 1)}
    return row, encoded.image_vecs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=DEFAULT_CATALOG)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--model", default=None)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    from fashrec.encoder import DEFAULT_MODEL
    from fashrec.index.encode import LocalEngine
    from fashrec.index.ray_engine import RayEngine

    spec = args.model or DEFAULT_MODEL
    info = report_header("Index encoding: the local engine against --engine ray", ("numpy", "torch", "open_clip_torch",
                                                                                     "ray"))
    images, texts = first_products(args.catalog, args.n)
    log(f"{len(images)} images from {args.catalog}")
    local, reference = run_engine(LocalEngine(), images, texts, spec, args.batch_size)
    rows = [local]
    for workers in (int(w) for w in args.workers.split(",")):
        row, vecs = run_engine(RayEngine(workers=workers), images, texts, spec, args.batch_size)
        row["min_cosine_to_local"] = round(float(np.min(np.sum(vecs * reference, axis=1))), 6)
        row["pipeline_vs_local"] = round(local["pipeline_s"] / row["pipeline_s"], 2)
        rows.append(row)
        log(f"ray, {workers} worker(s): {row}")
    headers = ["engine", "workers", "images", "total_s", "startup_s", "pipeline_s", "img_per_s_total",
               "img_per_s_pipeline", "pipeline_vs_local", "min_cosine_to_local"]
    print(markdown_table(headers, [[r.get(h, "-") for h in headers] for r in rows]))
    write_json(args.json, {"machine": info, "catalog": args.catalog, "batch_size": args.batch_size, "runs": rows})


if __name__ == "__main__":
    main()
