"""The encoder on the query path: onnxruntime (fashrec.encoder.onnx_encoder) next to torch, in one run.

- cold: fresh processes, alternating onnx / torch, each timing its own import, model load, first text
  and first image; wall time and peak RSS measured from outside (``common.run_measured``);
- warm: the same processes then encode texts and images one at a time (one thread, as queries do);
- agreement: one process with both encoders: cosine between the two paths on the example catalog's
  images and titles and on real photos (min, p1, mean);
- imports: ``python -X importtime`` of ``fashrec refine --help`` and of ``import fashrec.cli``,
  self time summed per top-level package, next to a bare interpreter.

    python bench/fast_start.py                       # exports fashrec-mini into a temp folder first
    python bench/fast_start.py --onnx-root DIR --reps 7 --real 500 --json /tmp/fast_start.json
    python bench/fast_start.py --onnx-root DIR --real 500 --agreement-only   # the cosine check alone
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# No third-party import (common.py imports numpy) before a child starts its clock: its "imports" row
# must include numpy, PIL and fashrec as a query pays them.
REPO = Path(__file__).resolve().parent.parent
REAL_PHOTOS = Path.home() / ".cache" / "fashrec-data" / "images"
WARM_TEXTS = ["a red dress", "same style in linen, under 60", "not black, something more formal",
              "men's navy blue t-shirt", "a darker one with long sleeves", "sneakers for women"]


def child_env() -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1",
           "FASHREC_THREADS": "1"}
    return env


# -- the cold/warm child ------------------------------------------------------------------------------
def child(args) -> None:
    """One fresh process: load one runtime, encode once cold, then warm loops. Prints JSON."""
    import resource

    t0 = time.perf_counter()
    if args.child == "onnx":
        import onnxruntime  # noqa: F401  (timed as part of the imports, as a query would pay it)

        from fashrec.encoder.onnx_encoder import OnnxEncoder
        from fashrec.encoder.onnx_files import find_export
        t_import = time.perf_counter()
        from fashrec.encoder import identify
        parts = {}
        t = time.perf_counter()
        record, reason = find_export(identify(args.model), [Path(args.onnx_root)])
        if record is None:
            raise SystemExit(reason)
        enc = OnnxEncoder(record, threads=1)
        parts["identify + find export"] = time.perf_counter() - t
        for name, make in (("tokenizer", lambda: enc.tokenizer), ("text session", lambda: enc.session("text")),
                           ("image session", lambda: enc.session("image"))):
            t = time.perf_counter()
            make()
            parts[name] = time.perf_counter() - t
    else:
        import open_clip  # noqa: F401
        import torch  # noqa: F401

        from fashrec.encoder import OpenClipEncoder
        t_import = time.perf_counter()
        enc = OpenClipEncoder(args.model, threads=1)
    t_load = time.perf_counter()
    enc.encode_texts([WARM_TEXTS[0]])
    t_text = time.perf_counter()
    images = args.images
    enc.encode_images([images[0]])
    t_image = time.perf_counter()
    heavy = sorted(m for m in ("torch", "open_clip", "torchvision", "timm", "onnxruntime") if m in sys.modules)
    cold_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    warm_text, warm_image = [], []
    for i in range(args.warm):
        t = time.perf_counter()
        enc.encode_texts([WARM_TEXTS[i % len(WARM_TEXTS)] + f" {i}"])
        warm_text.append(time.perf_counter() - t)
        t = time.perf_counter()
        enc.encode_images([images[1 + i % (len(images) - 1)]])
        warm_image.append(time.perf_counter() - t)
    print(json.dumps({
        "load_parts_s": parts if args.child == "onnx" else {},
        "warm_requests": len(warm_text), "imports_s": t_import - t0, "load_s": t_load - t_import,
        "first_text_s": t_text - t_load,
        "first_image_s": t_image - t_text, "in_process_s": t_image - t0, "cold_peak_rss_mib": cold_peak,
        "warm_text_ms": statistics.median(warm_text) * 1000 if warm_text else None,
        "warm_image_ms": statistics.median(warm_image) * 1000 if warm_image else None,
        "modules": heavy,
    }))


def run_child(args, runtime: str, images: list[str], warm: int) -> dict:
    cmd = [sys.executable, __file__, "--child", runtime, "--model", args.model, "--onnx-root", str(args.onnx_root),
           "--warm", str(warm), "--images", *images]
    from common import run_measured

    measured = run_measured(cmd, env=child_env(), cwd=REPO)
    if measured["exit"] != 0:
        raise RuntimeError(f"{runtime} child failed: {measured['stderr'][-2000:]}")
    data = json.loads(measured["stdout"].strip().splitlines()[-1])
    data.update(wall_s=measured["wall_s"], peak_rss_mib=measured["peak_rss_mib"])
    return data


def bare_python() -> dict:
    from common import run_measured

    return run_measured([sys.executable, "-c", "pass"], env=child_env(), cwd=REPO)


# -- agreement ----------------------------------------------------------------------------------------
def agreement(args, catalog_images: list[str], titles: list[str], real: list[str]) -> dict:
    import numpy as np

    from fashrec.encoder import OpenClipEncoder
    from fashrec.encoder.onnx_encoder import OnnxEncoder
    from fashrec.encoder.onnx_files import find_export

    torch_enc = OpenClipEncoder(args.model)
    record, reason = find_export(torch_enc.identifier, [Path(args.onnx_root)])
    if record is None:
        raise SystemExit(reason)
    fast = OnnxEncoder(record, threads=2)

    def stats(a, b) -> dict:
        cos = np.sum(a * b, axis=1)  # both L2-normalised
        return {"n": int(len(cos)), "min": float(cos.min()), "p1": float(np.percentile(cos, 1)),
                "mean": float(cos.mean()), "max_abs_diff": float(np.abs(a - b).max())}

    out = {"catalog images": stats(torch_enc.encode_images(catalog_images), fast.encode_images(catalog_images)),
           "catalog titles + prompts": stats(torch_enc.encode_texts(titles), fast.encode_texts(titles))}
    if real:
        out["real photos"] = stats(torch_enc.encode_images(real), fast.encode_images(real))
    return out


# -- import time --------------------------------------------------------------------------------------
def importtime(cmd_args: list[str], reps: int) -> dict:
    """Self time per top-level package (ms, median over reps) and the wall time of the command."""
    per_rep: list[dict[str, float]] = []
    per_rep_roots: list[dict[str, float]] = []
    walls = []
    for _ in range(reps):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-X", "importtime", *cmd_args], capture_output=True, text=True,
                              env=child_env(), cwd=REPO)
        walls.append(time.perf_counter() - t)
        totals: dict[str, float] = {}
        roots: dict[str, float] = {}
        for line in proc.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
            if m:
                top = m.group(4).split(".")[0]
                totals[top] = totals.get(top, 0.0) + int(m.group(1)) / 1000
                if len(m.group(3)) <= 2:  # imported by the program or by a first-level import
                    roots[m.group(4)] = roots.get(m.group(4), 0.0) + int(m.group(2)) / 1000
        per_rep.append(totals)
        per_rep_roots.append(roots)
    names = set().union(*per_rep)
    med = {n: statistics.median(r.get(n, 0.0) for r in per_rep) for n in names}
    root_names = set().union(*per_rep_roots)
    med_roots = {n: statistics.median(r.get(n, 0.0) for r in per_rep_roots) for n in root_names}
    plain = []
    for _ in range(reps):
        t = time.perf_counter()
        subprocess.run([sys.executable, *cmd_args], capture_output=True, env=child_env(), cwd=REPO)
        plain.append(time.perf_counter() - t)
    return {"wall_s": statistics.median(plain), "importtime_wall_s": statistics.median(walls),
            "by_package_ms": dict(sorted(med.items(), key=lambda kv: -kv[1])),
            "cumulative_ms": dict(sorted(med_roots.items(), key=lambda kv: -kv[1])[:15])}


# -- main ---------------------------------------------------------------------------------------------
def ensure_export(args) -> None:
    from fashrec.encoder import identify
    from fashrec.encoder.onnx_files import find_export

    record, _ = find_export(identify(args.model), [Path(args.onnx_root)])
    if record is not None:
        return
    from common import log

    log(f"exporting {args.model} to {args.onnx_root}")
    proc = subprocess.run([sys.executable, "-m", "fashrec.encoder.onnx_export", args.model, "--root",
                           str(args.onnx_root)], capture_output=True, text=True, env=child_env(), cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"export failed: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fashrec-mini")
    parser.add_argument("--onnx-root", type=Path, default=None)
    parser.add_argument("--reps", type=int, default=5, help="cold runs per runtime (alternating)")
    parser.add_argument("--warm", type=int, default=40, help="warm requests per cold child")
    parser.add_argument("--real", type=int, default=500, help="real photos for the agreement check")
    parser.add_argument("--import-reps", type=int, default=5)
    parser.add_argument("--agreement-only", action="store_true", help="only the onnx / torch cosine check")
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", choices=["onnx", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--images", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    from common import log, report_header, write_json

    tmp = None
    if args.onnx_root is None:
        tmp = tempfile.TemporaryDirectory(prefix="fashrec-onnx-")
        args.onnx_root = Path(tmp.name)
    ensure_export(args)
    info = report_header("The encoder on the query path: onnxruntime and torch",
                         ("numpy", "hnswlib", "torch", "open_clip_torch", "onnxruntime", "onnx", "pillow"))

    rows = [json.loads(line) for line in (REPO / "catalog.example.jsonl").read_text().splitlines() if line.strip()]
    catalog_images = [str(REPO / r["image"]) for r in rows]
    titles = [r["title"] for r in rows] + [r.get("description", "") for r in rows] + WARM_TEXTS
    real = sorted(glob.glob(str(REAL_PHOTOS / "*.jpg")))
    real = real[:: max(1, len(real) // args.real)][: args.real] if real else []
    probe = (real or catalog_images)[:41]

    if args.agreement_only:
        found = agreement(args, catalog_images, titles, real)
        print(_agreement_table(found))
        write_json(args.json, {"machine": info, "agreement": found})
        return
    results: dict = {"machine": info, "cold": {"onnx": [], "torch": []}, "warm": {"onnx": [], "torch": []}}
    log("bare interpreter")
    results["bare_python"] = [bare_python() for _ in range(args.reps)]
    for rep in range(args.reps):
        for runtime in (("onnx", "torch") if rep % 2 == 0 else ("torch", "onnx")):
            log(f"cold {runtime} {rep + 1}/{args.reps}")
            results["cold"][runtime].append(run_child(args, runtime, probe, warm=0))
    for rep in range(2):  # warm loops in processes of their own, so that cold walls hold no warm work
        for runtime in (("onnx", "torch") if rep % 2 == 0 else ("torch", "onnx")):
            log(f"warm {runtime} {rep + 1}/2")
            results["warm"][runtime].append(run_child(args, runtime, probe, warm=args.warm))
    log("agreement")
    results["agreement"] = agreement(args, catalog_images, titles, real)
    log("import times")
    results["imports"] = {
        "python -c pass": importtime(["-c", "pass"], args.import_reps),
        "fashrec refine --help": importtime(["-m", "fashrec", "refine", "--help"], args.import_reps),
        "import fashrec.cli": importtime(["-c", "import fashrec.cli"], args.import_reps),
        "fashrec refine IMG TEXT --index /missing (parses, then fails)": importtime(
            ["-m", "fashrec", "refine", str(REPO / "examples/anchors/red-floral-dress.jpg"), "in blue",
             "--index", "/nonexistent-index"], args.import_reps),
        "import fashrec.encoder.onnx_encoder + onnxruntime":
            importtime(["-c", "import fashrec.encoder.onnx_encoder, onnxruntime"], args.import_reps),
    }
    print_tables(results)
    write_json(args.json, results)
    if tmp is not None:
        tmp.cleanup()


def med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _agreement_table(agreement: dict) -> str:
    from common import markdown_table

    return "\n## Agreement, cosine between the onnx and torch embeddings\n\n" + markdown_table(
        ["set", "n", "min", "p1", "mean", "max abs diff"],
        [[k, v["n"], f"{v['min']:.7f}", f"{v['p1']:.7f}", f"{v['mean']:.7f}", f"{v['max_abs_diff']:.2e}"]
         for k, v in agreement.items()])


def print_tables(results: dict) -> None:
    from common import markdown_table

    on, tc = results["cold"]["onnx"], results["cold"]["torch"]
    bare = statistics.median(r["wall_s"] for r in results["bare_python"])
    print(f"\n## Cold start, fresh process, median of {len(on)} (bare `python -c pass`: {bare * 1000:.0f} ms)\n")
    rows = []
    for label, key, scale in (("imports", "imports_s", 1000), ("model load (sessions / weights)", "load_s", 1000),
                              ("first text", "first_text_s", 1000), ("first image", "first_image_s", 1000),
                              ("in-process total", "in_process_s", 1000),
                              ("wall, interpreter included", "wall_s", 1000)):
        o, t = med(on, key) * scale, med(tc, key) * scale
        rows.append([f"{label} (ms)", round(o, 1), round(t, 1), f"{t / o:.1f}x" if o else "-"])
    o, t = med(on, "peak_rss_mib"), med(tc, "peak_rss_mib")
    rows.append(["peak RSS (MiB)", round(o), round(t), f"{t / o:.1f}x"])
    print(markdown_table(["", "onnx", "torch", "torch / onnx"], rows))
    parts = {k: statistics.median(r["load_parts_s"][k] for r in on) * 1000 for k in on[0]["load_parts_s"]}
    print("\nonnx model load, median ms: " + ", ".join(f"{k} {v:.0f}" for k, v in parts.items())
          + ". torch's model load includes one probe text (OpenClipEncoder measures its dimension), "
          "so its first text is its second.")
    print(f"\nmodules loaded: onnx {on[0]['modules']}, torch {tc[0]['modules']}")
    won, wtc = results["warm"]["onnx"], results["warm"]["torch"]
    print(f"\n## Warm, one request at a time, one thread ({won[0]['warm_requests']} requests per process, "
          f"median; {len(won)} processes each)\n")
    rows = []
    for label, key in (("one text (ms)", "warm_text_ms"), ("one image, decode included (ms)", "warm_image_ms")):
        o, t = med(won, key), med(wtc, key)
        rows.append([label, round(o, 2), round(t, 2), f"{t / o:.1f}x"])
    print(markdown_table(["", "onnx", "torch", "torch / onnx"], rows))
    print(_agreement_table(results["agreement"]))
    print("\n## Import time, self time summed per top-level package (ms, median)\n")
    for label, data in results["imports"].items():
        top = list(data["by_package_ms"].items())[:10]
        total = sum(data["by_package_ms"].values())
        print(f"- `{label}`: wall {data['wall_s'] * 1000:.0f} ms (under -X importtime "
              f"{data['importtime_wall_s'] * 1000:.0f} ms), imports {total:.0f} ms: "
              + ", ".join(f"{k} {v:.0f}" for k, v in top))
        print("  - cumulative, first two levels: "
              + ", ".join(f"{k} {v:.0f}" for k, v in list(data["cumulative_ms"].items())[:10]))


if __name__ == "__main__":
    main()
