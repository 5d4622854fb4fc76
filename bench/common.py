"""Helpers shared by the bench scripts: machine description, percentiles, tables and JSON output.

Benchmark numbers mean nothing without the machine they came from (and, on a shared box, how busy
it was), so every script records :func:`machine_info` next to its measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # the scripts run as `python bench/x.py` from a checkout
    sys.path.insert(0, str(REPO))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    return None


def _versions(modules: Iterable[str]) -> dict[str, str]:
    from importlib import metadata

    found = {}
    for name in modules:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine_info(packages: Iterable[str] = ("numpy", "hnswlib")) -> dict[str, Any]:
    """Where and when a benchmark ran. The load average says whether the box was shared."""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gib": _ram_gib(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": _versions(packages),
        # Thread settings change latencies a lot on a shared 2-core box (BLAS threads wait for cores).
        "env": {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                           "FASHREC_THREADS") if k in os.environ},
    }


def describe_machine(info: dict[str, Any]) -> str:
    return (f"{info['date']} | {info['cpu']} | {info['cores']} cores | {info['ram_gib']} GiB RAM | "
            f"load {info['load_avg_1m']} | Python {info['python']}"
            + "".join(f" | {k}={v}" for k, v in info.get("env", {}).items()))


def report_header(title: str, packages: Iterable[str] = ("numpy", "hnswlib"), **extra: Any) -> dict[str, Any]:
    """The machine a report runs on (:func:`machine_info`, plus ``extra``), printed under the report's title
    as its first lines, so that every markdown report says where and when its numbers were taken."""
    info = {**machine_info(packages), **extra}
    print(f"# {title}\n\n{describe_machine(info)}\n")
    return info


def rss_mib() -> float:
    """Current resident set size of this process (ru_maxrss is a peak, so it cannot measure deltas)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def hwm_mib() -> float:
    """Peak RSS of this process since it was exec'd (VmHWM). A child's ru_maxrss also carries the peak
    of the process that spawned it (see _LAUNCHER below), so a child of a big bench reads as big."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak RSS (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024


# Runs a command as the child of a tiny Python (started with -S) and reports the child's rusage.
# Why not os.wait4 on a direct child: Linux carries the spawning process's own peak RSS across
# fork/exec into the child's ru_maxrss, so every child of a big bench process would look big.
_LAUNCHER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    json.dump({"exit": os.waitstatus_to_exitcode(status), "maxrss_kib": ru.ru_maxrss,
               "cpu_s": ru.ru_utime + ru.ru_stime}, fh)
"""


def run_measured(cmd: Sequence[str], **popen) -> dict[str, Any]:
    """Run ``cmd``; returns exit code, stdout, stderr, wall seconds, CPU seconds and peak RSS (MiB)."""
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile("r", suffix=".json") as usage:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, usage.name, *cmd],
                              capture_output=True, text=True, **popen)
        wall = time.perf_counter() - started
        measured = json.loads(usage.read() or "{}")
    if not measured:
        raise RuntimeError(f"the measuring launcher failed: {proc.stderr[-2000:]}")
    return {"exit": measured["exit"], "stdout": proc.stdout, "stderr": proc.stderr, "wall_s": wall,
            "cpu_s": measured["cpu_s"], "peak_rss_mib": measured["maxrss_kib"] / 1024}


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    arr = np.asarray(seconds, dtype=np.float64) * 1000
    if arr.size == 0:
        return {"p50": float("nan"), "p95": float("nan"), "mean": float("nan")}
    return {"p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95)),
            "mean": float(arr.mean())}


class Stopwatch:
    """``with Stopwatch() as sw: ...; sw.seconds``"""

    def __enter__(self) -> "Stopwatch":
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:.{digits}f}" if abs(value) < 1000 else f"{value:,.0f}"
    return "-" if value is None else str(value)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-markdown table, so the printed output pastes straight into bench/RESULTS.md."""
    cells = [[fmt(c) for c in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def bench_parser(doc: str | None) -> argparse.ArgumentParser:
    """A bench script's options: its docstring's first line as the description, and the ``--json OUT``
    every script writes its numbers (and the machine, :func:`machine_info`) to with :func:`write_json`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--json", type=Path, default=None, metavar="OUT",
                        help="also write the numbers and the machine as JSON to this file")
    return parser


# open_1m.py's truth for its default 1M items and 300 queries, where the Lance store benches look first.
OPEN_1M_TRUTH = Path("~/.cache/fashrec-data/work-bench1m/open-1m/truth-1000000-300.json").expanduser()


def store_parser(doc: str) -> argparse.ArgumentParser:
    """The options every script timing lance_filter.py --store's index against open_1m.py's truth shares:
    the store, and ``--truth``. A script adds its own after these (``--json`` last, for its --help)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("store", type=Path, help="a Lance-backed fashrec index (lance_filter.py --store)")
    parser.add_argument("--truth", type=Path, default=OPEN_1M_TRUTH)
    return parser


def open_store(args: argparse.Namespace) -> tuple[dict[str, Any], np.ndarray, Any]:
    """:func:`store_parser`'s truth file, its queries and the open index. The truth file holds only the
    answers, so the queries are drawn again as open_1m.py drew them (ann_bench's clustered set, its seed)."""
    from ann_bench import make_vectors  # here: ann_bench imports this module

    from fashrec.index import open_index

    truths = json.loads(args.truth.read_text())
    queries = make_vectors("clustered", len(truths["unfiltered"]), 256, seed=10_000_019)
    return truths, queries, open_index(args.store)


def write_json(path: str | Path | None, payload: dict[str, Any]) -> None:
    if not path:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")
    tmp.replace(path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def log(message: str) -> None:
    """Progress goes to stderr so that stdout holds only the tables."""
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def make_standin_encoder(folder: Path, name: str = "fashrec-mini", seed: int = 0) -> Path:
    """An open_clip model folder with ``name``'s embedded architecture and random weights.

    Encoding cost depends on the architecture, not on the weight values, so this stands in for the
    trained model in timing benchmarks when the trained weights are not there yet. Its results are
    meaningless; never use it to judge quality.
    """
    import open_clip
    import torch
    from safetensors.torch import save_file

    from fashrec.encoder import zoo as modelzoo

    folder.mkdir(parents=True, exist_ok=True)
    config = {"model_cfg": modelzoo.EMBEDDED[name], "preprocess_cfg": modelzoo.FASHREC_MINI_PREPROCESS}
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    torch.manual_seed(seed)
    model = open_clip.create_model(f"local-dir:{folder}")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    return folder
