"""Refinement latency: `fashrec refine IMAGE "TEXT"` end to end, cold and warm.

- cold CLI: the real command in a fresh process (``python -m fashrec refine ... --json``), wall time,
  plus one run under ``python -X importtime`` for what the imports cost;
- cold stages: a fresh process doing what the command does with a timer around each stage
  (imports, index open, encoder load, planner creation, anchor encoding, the agent loop, whose own
  ``timing_ms`` splits plan / compose / retrieve / guard / critic);
- warm: one process that keeps the index, encoder and planner loaded (fashrec.refine.Refiner, as
  `fashrec chat` and batch mode do) answering request after request.

    python bench/refine_latency.py --index shop.fashrec-index
    python bench/refine_latency.py --index DIR --planner rules --planner hybrid --json /tmp/refine.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from common import (
    REPO,
    log,
    markdown_table,
    percentiles_ms,
    report_header,
    write_json,
)

DEFAULT_TEXTS = ["but in red", "same style in linen, under 60", "not black, something more formal", "in a beigey tone",
                 "cheaper, any colour", "a darker one with long sleeves"]
HEAVY_IMPORTS = ("torch", "open_clip", "llama_cpp", "numpy", "hnswlib", "PIL", "typer", "rich", "fashrec")


# -- the staged run (also what the warm loop uses) ----------------------------------------------------
def load_stages(index_dir: str, planner_name: str) -> tuple[object, dict[str, float]]:
    """Load what `fashrec refine` loads, timing each stage (milliseconds)."""
    stages: dict[str, float] = {}
    t = time.perf_counter()
    from fashrec.ammr.loop import Refiner
    from fashrec.encoder import load_encoder
    from fashrec.index import open_index
    from fashrec.planner import create_planner
    stages["import fashrec (light modules)"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    index = open_index(index_dir)
    stages["open index"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    encoder = load_encoder(index.encoder_spec, interactive=True)  # as `fashrec refine` loads it
    stages["load encoder (torch + open_clip + weights)"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    planner = create_planner(planner_name)
    fallback = create_planner("rules") if planner_name != "rules" else None
    refiner = Refiner(index, encoder, planner, fallback_planner=fallback)
    stages["create planner + refiner"] = (time.perf_counter() - t) * 1000
    return refiner, stages


def refine_timed(refiner, image: str, text: str, k: int) -> tuple[float, float, dict[str, float]]:
    """(anchor ms, loop ms, the loop's own timing_ms) for one request."""
    from fashrec.ammr.loop import RefineOptions

    t = time.perf_counter()
    anchor = refiner.anchor_from_image(image)
    anchor_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    result = refiner.refine(anchor, text, RefineOptions(k=k))
    return anchor_ms, (time.perf_counter() - t) * 1000, dict(result.timing_ms)


def stage_child(args) -> None:
    """Runs in a fresh process: one cold request with explicit timers, printed as JSON."""
    started = time.perf_counter()
    refiner, stages = load_stages(args.index, args.stage_planner)
    anchor_ms, loop_ms, timing = refine_timed(refiner, args.image, args.text[0], args.k)
    stages["encode anchor image"] = anchor_ms
    stages["agent loop"] = loop_ms
    print(json.dumps({"stages": stages, "loop_timing_ms": timing,
                      "in_process_ms": (time.perf_counter() - started) * 1000}))


# -- cold runs ----------------------------------------------------------------------------------------------
def child_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "PYTHONPATH": str(REPO)}


def cold_cli(args, planner: str, text: str, importtime: bool = False) -> dict:
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "fashrec", "refine",
           args.image, text, "--index", args.index, "--json", "--planner", planner, "-k", str(args.k)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), cwd=REPO)
    wall = (time.perf_counter() - t) * 1000
    if proc.returncode != 0:
        raise RuntimeError(f"fashrec refine failed ({proc.returncode}): {proc.stderr[-2000:]}")
    data = json.loads(proc.stdout)
    return {"wall_ms": wall, "timing_ms": data.get("timing_ms", {}), "results": len(data.get("results", [])),
            "imports": parse_importtime(proc.stderr) if importtime else None}


def parse_importtime(stderr: str) -> dict[str, float]:
    """Cumulative import time (ms) of each top-level package, from ``-X importtime`` output."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if not m or m.group(3):  # indented = imported by something else: already in its parent
            continue
        top = m.group(4).split(".")[0]
        totals[top] = totals.get(top, 0.0) + int(m.group(2)) / 1000
    return totals


def cold_stages(args, planner: str) -> dict:
    cmd = [sys.executable, __file__, "--stage-child", "--stage-planner", planner, "--index", args.index,
           "--image", args.image, "--text", args.text[0], "-k", str(args.k)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), cwd=REPO)
    wall = (time.perf_counter() - t) * 1000
    if proc.returncode != 0:
        raise RuntimeError(f"staged run failed: {proc.stderr[-2000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["wall_ms"] = wall
    return data


# -- warm loop ------------------------------------------------------------------------------------------
def warm_loop(args, planner: str) -> dict:
    refiner, _ = load_stages(args.index, planner)
    for text in args.text[:2]:  # first calls fill caches (text prompts, the LLM's first load)
        refine_timed(refiner, args.image, text, args.k)
    totals, anchors, loops, parts = [], [], [], {}
    for i in range(args.warm_runs):
        anchor_ms, loop_ms, timing = refine_timed(refiner, args.image, args.text[i % len(args.text)], args.k)
        anchors.append(anchor_ms / 1000)
        loops.append(loop_ms / 1000)
        totals.append((anchor_ms + loop_ms) / 1000)
        for key, ms in timing.items():
            parts.setdefault(key, []).append(ms / 1000)
    return {"total": percentiles_ms(totals), "anchor": percentiles_ms(anchors), "loop": percentiles_ms(loops),
            "loop_parts": {k: percentiles_ms(v) for k, v in parts.items()}, "runs": args.warm_runs}


# -- main -----------------------------------------------------------------------------------------------
def default_image(index_dir: str) -> str:
    from fashrec.index import open_index

    return str(open_index(index_dir).products[0].image_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", required=True, help="index folder to refine against")
    parser.add_argument("--image", help="anchor image (default: the index's first product image)")
    parser.add_argument("--text", action="append", help=f"request(s) (default: {len(DEFAULT_TEXTS)} built in)")
    parser.add_argument("--planner", action="append", help="planner(s) to measure (default: rules, hybrid, llm)")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--warm-runs", type=int, default=40)
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("--stage-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stage-planner", default="rules", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.text = args.text or DEFAULT_TEXTS
    args.index = str(Path(args.index).expanduser().resolve())
    args.image = str(Path(args.image).expanduser().resolve()) if args.image else default_image(args.index)
    if args.stage_child:
        stage_child(args)
        return

    info = report_header("Refine latency", ("numpy", "hnswlib", "torch", "open_clip_torch", "llama_cpp_python"))
    from fashrec.index import open_index

    index = open_index(args.index)
    print(f"index: {args.index} ({len(index)} items, encoder {index.encoder_identifier})  \n"
          f"anchor: {args.image}  \nrequests: {'; '.join(args.text)}\n")
    del index
    results = {}
    for planner in args.planner or ["rules", "hybrid", "llm"]:
        log(f"planner {planner}: {args.cold_runs} cold CLI runs ...")
        cold = [cold_cli(args, planner, args.text[i % len(args.text)]) for i in range(args.cold_runs)]
        imports = cold_cli(args, planner, args.text[0], importtime=True)["imports"]
        log(f"planner {planner}: staged cold run and {args.warm_runs} warm requests ...")
        staged = cold_stages(args, planner)
        warm = warm_loop(args, planner)
        results[planner] = {"cold_cli": cold, "cold_cli_wall": percentiles_ms([c["wall_ms"] / 1000 for c in cold]),
                            "imports_ms": imports, "staged": staged, "warm": warm}
        write_json(args.json, {"machine": info, "index": args.index, "image": args.image, "texts": args.text,
                               "results": results})
        print_planner(planner, results[planner])


def print_planner(planner: str, r: dict) -> None:
    cold, warm, staged = r["cold_cli_wall"], r["warm"], r["staged"]
    print(f"\n## planner: {planner}\n")
    print(markdown_table(["what", "p50 ms", "p95 ms", "runs"], [
        ["cold `fashrec refine --json` (wall, new process)", cold["p50"], cold["p95"], len(r["cold_cli"])],
        ["warm request (anchor encode + agent loop)", warm["total"]["p50"], warm["total"]["p95"], warm["runs"]],
        ["  warm: encode anchor image", warm["anchor"]["p50"], warm["anchor"]["p95"], warm["runs"]],
        ["  warm: agent loop", warm["loop"]["p50"], warm["loop"]["p95"], warm["runs"]],
        *[[f"    loop: {k}", v["p50"], v["p95"], warm["runs"]] for k, v in warm["loop_parts"].items()],
    ]))
    print("\nOne cold process, stage by stage (ms):\n")
    rows = [[k, v] for k, v in staged["stages"].items()]
    rows += [[f"  loop: {k}", v] for k, v in staged["loop_timing_ms"].items()]
    rows.append(["process wall (incl. interpreter start)", staged["wall_ms"]])
    print(markdown_table(["stage", "ms"], rows))
    heavy = {k: v for k, v in sorted(r["imports_ms"].items(), key=lambda kv: -kv[1]) if k in HEAVY_IMPORTS}
    print("\nImports in the CLI process (`-X importtime`, cumulative ms): "
          + ", ".join(f"{k} {v:.0f}" for k, v in heavy.items())
          + f"; all imports {sum(r['imports_ms'].values()):.0f}")


if __name__ == "__main__":
    main()
