"""Cold and warm query latency of the real command, the torch-free path next to the torch path.

Cold: fresh ``python -m fashrec refine IMAGE TEXT`` / ``search TEXT`` / ``similar IMAGE`` processes
(``--json``, default planners: hybrid for refine, rules for search), runtimes alternating, each
measured from outside (wall, peak RSS). The breakdown comes from a child that runs the same steps the
command runs, with a clock between them: interpreter start, imports (the command's modules), index
open, model load (the encoder and the sessions the command uses), the request itself; then, for
comparison, the same generation opened reading every row (as an index without a mapped file is).

Warm: one process per runtime, the same requests repeated with other anchors and texts (one thread,
as interactive commands use), per-request p50.

    FASHREC_EXPORTS=DIR python bench/query_latency.py --index ~/.cache/fashrec-data/work-fast/index \\
        --reps 3 --warm 20 --json /tmp/query-latency.json

fashrec's bytecode is compiled first, as an install has it; ``--source-only`` measures a checkout run with
``PYTHONDONTWRITEBYTECODE=1`` instead (every process compiles fashrec from source), e.g.
``PYTHONDONTWRITEBYTECODE=1 python bench/query_latency.py --index ... --commands refine --runtimes onnx
--reps 3 --warm 0 --source-only``.

(``FASHREC_EXPORTS``: where ``fashrec index`` put the encoder's ONNX export, if not the default.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Nothing third-party above this line: a child's "imports" row starts its clock before them.
REPO = Path(__file__).resolve().parent.parent
COMMANDS = ("refine", "search", "similar")
TEXTS = ("but in linen", "in black", "darker, for women", "not blue", "cheaper", "same but for men",
         "something more formal", "in red")
QUERIES = ("navy blue shirt for men", "black casual shoes for women", "red tshirts", "watches for men",
           "white sports shoes", "blue jeans", "formal shirts", "green kurta")


def command_args(command: str, index: Path, image: str, text: str, query: str, runtime: str) -> list[str]:
    base = {"refine": ["refine", image, text], "search": ["search", query], "similar": ["similar", image]}
    return [*base[command], "--index", str(index), "--runtime", runtime, "--json"]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# -- the child: the command's steps with a clock between them ----------------------------------------
def child(args) -> None:
    t0 = time.perf_counter()
    import resource

    from fashrec import settings

    settings.apply_command_threads(["fashrec", args.child])
    module = {"refine": "refine_cmd", "search": "search_cmd", "similar": "search_cmd"}[args.child]
    __import__(f"fashrec.cli.{module}")
    from fashrec.service import runtime as rt

    t_import = time.perf_counter()
    index = rt.open_index_for(Path(args.index))
    t_open = time.perf_counter()
    encoder = rt.query_encoder(index, args.runtime)
    for tower in (("image", "text") if args.child == "refine" else ("text",) if args.child == "search"
                  else ("image",)):
        if hasattr(encoder, "session"):
            encoder.session(tower)  # onnxruntime builds sessions on first use: count them as loading
    t_load = time.perf_counter()
    data = _request(args, index, encoder, args.image, args.text, args.query)
    t_request = time.perf_counter()
    cold_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    warm = []
    images = args.warm_images or [args.image]
    for i in range(args.warm):
        t = time.perf_counter()
        _request(args, index, encoder, images[i % len(images)], TEXTS[i % len(TEXTS)], QUERIES[i % len(QUERIES)])
        warm.append(time.perf_counter() - t)
    heavy = sorted(m for m in ("torch", "open_clip", "onnxruntime", "llama_cpp", "hnswlib") if m in sys.modules)
    # The same generation opened the way an index without a mapped file is (every row read and checked,
    # the catalog-wide facts computed), after the cold numbers were taken: what the lean open saves.
    from dataclasses import replace

    from fashrec.index.store import Index

    t = time.perf_counter()
    Index._open_generation(index.folder, replace(index.manifest, mapped_file=""))
    open_every_row = time.perf_counter() - t
    print(json.dumps({"imports_s": t_import - t0, "open_s": t_open - t_import, "load_s": t_load - t_open,
                      "request_s": t_request - t_load, "cold_peak_rss_mib": cold_peak,
                      "warm_ms": [w * 1000 for w in warm], "open_every_row_s": open_every_row, "modules": heavy, "results": len(data["results"]),
                      "plan_source": (data.get("plan") or {}).get("source")}))


def _request(args, index, encoder, image: str, text: str, query: str) -> dict:
    """One request through the service handlers the command calls (the command's default planners)."""
    from fashrec.service import handlers, requests
    from fashrec.service import runtime as rt

    if args.child == "refine":
        if not hasattr(args, "_refiner"):
            from fashrec.ammr import Refiner

            args._refiner = Refiner(index, encoder, rt.planner_named("hybrid"),
                                    fallback_planner=rt.create_planner("rules"))
        return handlers.refine_answer(args._refiner, requests.RefineRequest(text=text), image=Path(image))
    if not hasattr(args, "_searcher"):
        from fashrec.search import Searcher

        args._searcher = Searcher(index, encoder, rt.create_planner("rules") if args.child == "search" else None)
    if args.child == "search":
        return handlers.search_answer(args._searcher, requests.SearchRequest(text=query))
    return handlers.similar_answer(args._searcher, requests.SimilarRequest(), image=Path(image))


# -- the parent ---------------------------------------------------------------------------------------
def run_child(args, command: str, runtime: str, warm: int) -> dict:
    cmd = [sys.executable, __file__, "--child", command, "--runtime", runtime, "--index", str(args.index),
           "--image", args.image, "--text", args.text, "--query", args.query, "--warm", str(warm),
           "--warm-images", *args.warm_images]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"child {command}/{runtime} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cold_cli(args, command: str, runtime: str) -> dict:
    from common import run_measured

    got = run_measured([sys.executable, "-m", "fashrec", *command_args(command, args.index, args.image, args.text, args.query,
                                                       runtime)], env=child_env(), cwd=REPO)
    if got["exit"] != 0:
        raise SystemExit(f"fashrec {command} --runtime {runtime} failed:\n{got['stderr'][-3000:]}")
    return {"wall_s": got["wall_s"], "peak_rss_mib": got["peak_rss_mib"],
            "notes": [line for line in got["stderr"].splitlines() if line.strip()][:3]}


def compile_bytecode(source_only: bool = False) -> bool:
    """Write fashrec's bytecode, as installing it does (pip compiles a wheel's modules); True when the
    environment would not have (PYTHONDONTWRITEBYTECODE), where a checkout's every cold start would
    otherwise compile ~200 modules from source. ``source_only`` (--source-only) removes it instead, to
    measure that case (with PYTHONDONTWRITEBYTECODE set, nothing writes it back during the run)."""
    import compileall
    import shutil

    if source_only:
        for folder in (REPO / "fashrec").rglob("__pycache__"):
            shutil.rmtree(folder)
        return False
    compileall.compile_dir(str(REPO / "fashrec"), quiet=1)
    return bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))


def median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def measure(args) -> dict:
    from common import log, run_measured

    bare = [run_measured([sys.executable, "-c", "pass"])["wall_s"] for _ in range(args.reps)]
    out: dict = {"bare_python_s": statistics.median(bare), "commands": {}}
    for command in args.commands:
        rows: dict[str, dict[str, list]] = {rt: {"cli": [], "child": []} for rt in args.runtimes}
        for rep in range(args.reps):
            for runtime in (args.runtimes if rep % 2 == 0 else args.runtimes[::-1]):
                rows[runtime]["cli"].append(cold_cli(args, command, runtime))
                rows[runtime]["child"].append(run_child(args, command, runtime, 0))
                log(f"{command} {runtime} rep {rep}: {rows[runtime]['cli'][-1]['wall_s']:.2f}s "
                    f"{rows[runtime]['cli'][-1]['peak_rss_mib']:.0f} MiB")
        summary = {}
        for runtime, got in rows.items():
            warm = run_child(args, command, runtime, args.warm) if args.warm else {"warm_ms": []}
            summary[runtime] = {
                "cold_wall_s": median(got["cli"], "wall_s"), "cold_peak_rss_mib": median(got["cli"], "peak_rss_mib"),
                "cold_walls_s": [r["wall_s"] for r in got["cli"]],
                **{k: median(got["child"], k) for k in ("imports_s", "open_s", "load_s", "request_s",
                                                        "open_every_row_s")},
                "interpreter_imports_s": out["bare_python_s"] + median(got["child"], "imports_s"),
                "warm_p50_ms": statistics.median(warm["warm_ms"]) if warm["warm_ms"] else None,
                "warm_requests": len(warm["warm_ms"]), "modules": got["child"][0]["modules"],
                "plan_source": got["child"][0]["plan_source"], "notes": got["cli"][0]["notes"],
            }
        out["commands"][command] = summary
    return out


def print_tables(results: dict, runtimes: list[str]) -> None:
    from common import markdown_table

    print(f"bare interpreter (python -c pass): {results['bare_python_s'] * 1000:.0f} ms\n")
    for command, summary in results["commands"].items():
        a, b = runtimes[0], runtimes[-1]
        rows = []
        for label, key, scale, unit in (("cold wall, p50 (the real command)", "cold_wall_s", 1, "s"),
                                        ("cold peak RSS", "cold_peak_rss_mib", 1, "MiB"),
                                        ("  interpreter + imports", "interpreter_imports_s", 1000, "ms"),
                                        ("  index open", "open_s", 1000, "ms"),
                                        ("  (index open reading every row)", "open_every_row_s", 1000, "ms"),
                                        ("  model load", "load_s", 1000, "ms"),
                                        ("  request", "request_s", 1000, "ms"),
                                        ("warm request, p50", "warm_p50_ms", 1, "ms")):
            x, y = summary[a].get(key), summary[b].get(key)
            if x is None or y is None:
                continue
            ratio = f"{y / x:.1f}x" if x else ""
            rows.append((label, f"{x * scale:,.{2 if unit == 's' else 0}f} {unit}",
                         f"{y * scale:,.{2 if unit == 's' else 0}f} {unit}", ratio))
        print(f"### `fashrec {command}`\n")
        print(markdown_table(("", a, b, f"{b} / {a}"), rows))
        print(f"\nmodules loaded: {a}: {', '.join(summary[a]['modules'])}; {b}: {', '.join(summary[b]['modules'])}"
              + (f"; plan source: {summary[a]['plan_source']}" if summary[a]["plan_source"] else "") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--image", default=str(REPO / "examples" / "anchors" / "white-cotton-shirt.jpg"))
    parser.add_argument("--text", default="but in linen")
    parser.add_argument("--query", default="navy blue shirt for men")
    parser.add_argument("--warm-images", nargs="*", default=None)
    parser.add_argument("--commands", type=lambda s: s.split(","), default=list(COMMANDS))
    parser.add_argument("--runtimes", type=lambda s: s.split(","), default=["onnx", "torch"])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--warm", type=int, default=30)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--source-only", action="store_true",
                        help="remove fashrec's bytecode first (PYTHONDONTWRITEBYTECODE=1: a checkout never writes it)")
    parser.add_argument("--child", choices=COMMANDS)
    parser.add_argument("--runtime", default="onnx")
    args = parser.parse_args()
    if args.warm_images is None:
        args.warm_images = sorted(str(p) for p in (REPO / "examples" / "images").glob("*.jpg"))[:40]
    if args.child:
        child(args)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import report_header, write_json

    info = report_header("Query latency, cold and warm", ("numpy", "hnswlib", "onnxruntime", "torch"))
    info["bytecode_written_by_the_bench"] = compile_bytecode(args.source_only)
    info["source_only"] = args.source_only
    if info["bytecode_written_by_the_bench"]:
        print("fashrec's bytecode compiled first (PYTHONDONTWRITEBYTECODE is set here; an install has it)\n")
    if args.source_only:
        print("fashrec's bytecode removed first: every process compiles fashrec from source\n")
    results = measure(args)
    print_tables(results, args.runtimes)
    info["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    write_json(args.json, {"machine": info, "args": {k: str(v) for k, v in vars(args).items()}, **results})


if __name__ == "__main__":
    main()
