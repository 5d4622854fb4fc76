"""Foundation: every environment variable, folder and thread policy fashrec uses, read in one place.

| variable | meaning | default |
|---|---|---|
| ``FASHREC_HOME`` | remembered state, sessions, profile | ``$XDG_DATA_HOME/fashrec`` (``~/.local/share/fashrec``) |
| ``FASHREC_INDEX`` | the index commands use when ``--index`` is not given | see :func:`fashrec.index.default_index_dir` |
| ``FASHREC_MODELS_DIR`` | where embedded encoders live | the checkout's ``models/``, else ``<prefix>/share/fashrec/models`` |
| ``FASHREC_CACHE_DIR`` | training caches (decoded images) | ``~/.cache/fashrec-data`` |
| ``FASHREC_THREADS`` | threads for torch, BLAS and llama.cpp | see :func:`threads` |
| ``FASHREC_PROGRESS`` | ``1``: progress bars even when stderr is not a terminal | off |
| ``FASHREC_RUNTIME`` | encoder runtime of query commands: ``auto``, ``onnx`` or ``torch`` (``--runtime``) | ``auto`` |
| ``FASHREC_EXPORTS`` | where verified ONNX exports of encoders are kept | ``$FASHREC_HOME/onnx`` |
| ``FASHREC_RAY_KILL_DRILL`` | fault drill for ``--engine ray``: a folder whose ``kills`` file says how many workers kill themselves, and after which batch | off |
| ``FASHREC_SERVER`` | a running ``fashrec serve`` that search, similar and refine send requests to | none (answer locally) |
| ``FASHREC_INDEX_VECTORS`` | ``float16``: ``fashrec index`` writes the exact-search matrices of the mapped file in float16 (half the pages a scan touches; a full scan is slower, bench/float16_recall.py) | ``float32`` |
| ``FASHREC_LANCE_KEEP_S`` | ``--store lance``: seconds an unpublished old Lance version is kept after a publish before it is pruned (the published and the previous generation are always kept); ``never``: no pruning | ``3600`` |
| ``LANCEDB_LOG`` | LanceDB's own log level (``--store lance``); fashrec sets ``error`` unless it is set, so Lance's warnings stay off stderr | ``error`` |

A Lance store's object-store URI (``s3://``, ``gs://``, ``az://``) is opened with the credentials LanceDB
itself reads from the environment (``AWS_*``, ``GOOGLE_*``, ``AZURE_*``); fashrec reads none of them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from fashrec.errors import UsageError
from fashrec.fsutil import atomic_write_bytes

# --- folders -------------------------------------------------------------------------------------

def home_dir() -> Path:
    env = os.environ.get("FASHREC_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "fashrec"


def home_folder() -> Path:
    """The home folder, created when missing; a clear error when something else is in its place."""
    home = home_dir()
    where = f"the fashrec home folder {home}" + (" (FASHREC_HOME)" if os.environ.get("FASHREC_HOME") else "")
    hint = "point FASHREC_HOME at a folder (or unset it to use ~/.local/share/fashrec)"
    if home.exists() and not home.is_dir():
        raise UsageError(f"{where} is a file, not a folder", hint=hint)
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {where}: {exc.strerror or exc}", hint=hint) from None
    return home


def index_from_env() -> Path | None:
    env = os.environ.get("FASHREC_INDEX")
    return Path(env).expanduser() if env else None


def models_dir() -> Path:
    """Where embedded models live: $FASHREC_MODELS_DIR, the checkout's models/, or the install prefix."""
    env = os.environ.get("FASHREC_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parent.parent / "models"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "fashrec" / "models"


def exports_dir() -> Path:
    """$FASHREC_EXPORTS, else $FASHREC_HOME/onnx: the encoders' verified ONNX exports, one folder each."""
    env = os.environ.get("FASHREC_EXPORTS")
    return Path(env).expanduser() if env else home_dir() / "onnx"


def ray_kill_drill() -> Path | None:
    """$FASHREC_RAY_KILL_DRILL: a folder; Ray encoder workers SIGKILL themselves as its ``kills`` file
    says (``fashrec.index.ray_engine.kill_drill``), to prove a run survives dead workers."""
    env = os.environ.get("FASHREC_RAY_KILL_DRILL")
    return Path(env).expanduser() if env else None


def quiet_lance() -> None:
    """Before lancedb is imported: Lance logs warnings (a table about to be created, index statistics) to
    stderr itself; a command's stderr carries fashrec's notes, so only Lance's errors are shown unless
    $LANCEDB_LOG says otherwise."""
    os.environ.setdefault("LANCEDB_LOG", "error")
    os.environ.setdefault("LANCE_LOG", "error")   # pylance's own logger (the store queries through it)


def cache_dir() -> Path:
    """$FASHREC_CACHE_DIR, else ~/.cache/fashrec-data (next to the extracted images, outside the repo)."""
    env = os.environ.get("FASHREC_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fashrec-data"


def server_from_env() -> str | None:
    """$FASHREC_SERVER: the URL of a running `fashrec serve` (search, similar and refine ask it)."""
    return os.environ.get("FASHREC_SERVER") or None


def progress_forced() -> bool:
    """Progress bars even when stderr is not a terminal (for logs and tests)."""
    return os.environ.get("FASHREC_PROGRESS") == "1"


# --- encoder runtime -----------------------------------------------------------------------------

RUNTIMES = ("auto", "onnx", "torch")


def runtime() -> str:
    """$FASHREC_RUNTIME for query commands: ``auto`` (ONNX when a verified export exists, else torch),
    ``onnx`` (fail rather than fall back) or ``torch``; anything else is reported by the loader."""
    return (os.environ.get("FASHREC_RUNTIME") or "auto").strip().lower()


VECTOR_DTYPES = ("float32", "float16")


def index_vectors() -> str:
    """$FASHREC_INDEX_VECTORS: the dtype ``fashrec index`` writes the mapped file's vector matrices in
    (readers take whatever the file says)."""
    value = (os.environ.get("FASHREC_INDEX_VECTORS") or "float32").strip().lower()
    if value not in VECTOR_DTYPES:
        raise UsageError(f"FASHREC_INDEX_VECTORS must be {' or '.join(VECTOR_DTYPES)}, not {value!r}")
    return value


def lance_keep_seconds() -> float | None:
    """$FASHREC_LANCE_KEEP_S: how long after a publish old Lance versions no manifest names are kept
    (a reader that opened one just before may still be on it); None (``never``): never pruned."""
    value = (os.environ.get("FASHREC_LANCE_KEEP_S") or "3600").strip().lower()
    if value == "never":
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise UsageError(f"FASHREC_LANCE_KEEP_S must be a number of seconds (0 or more) or 'never', not {value!r}")
    return seconds


# --- remembered state ----------------------------------------------------------------------------

def _state_path() -> Path:
    return home_dir() / "state.json"


def read_state() -> dict:
    try:
        return json.loads(_state_path().read_text())
    except (OSError, ValueError):
        return {}


def write_state(**updates) -> None:
    state = read_state()
    state.update(updates)
    home_folder()
    atomic_write_bytes(_state_path(), json.dumps(state, indent=2).encode())


# --- threads -------------------------------------------------------------------------------------

# Commands that answer one request at a time. Their numpy work is matrix-vector products, which one
# BLAS thread does faster than two fighting over a busy 2-core machine (measured: 1.6 vs 2.4 ms for
# 35k x 256); batch work (index, train, eval) keeps all cores.
# The server answers one request per thread, so it is interactive too.
INTERACTIVE_COMMANDS = {"search", "similar", "refine", "outfit", "chat", "plan", "info", "session", "profile",
                        "serve"}
LLM_THREAD_LIMIT = 2


def threads_from_env() -> int | None:
    env = os.environ.get("FASHREC_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else None


def threads(*, interactive: bool = False) -> int:
    """torch intra-op threads: $FASHREC_THREADS, else 1 for interactive queries, else the cores (<= 8).

    One 64 px image or a few short texts are too small to split between threads; on a 2-core machine
    with anything else running, a second thread mostly waits for a time slice, and single-threaded
    queries measured 8x faster (bench/RESULTS.md, 3.2). Batch encoding (indexing) uses every core.
    """
    chosen = threads_from_env()
    if chosen:
        return chosen
    if interactive:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def llm_threads(limit: int = LLM_THREAD_LIMIT) -> int:
    """llama.cpp threads: $FASHREC_THREADS, else up to ``limit``, but one when the CPUs are already busy.

    llama.cpp's worker threads spin while they wait for each other: on a 2-core machine where another
    process already uses the cores, 2 threads measured 8x slower than 1 (grammar-constrained
    completion of a 20-option choice: 1.8 s against 0.2 s at load average 7).
    """
    chosen = threads_from_env()
    if chosen:
        return chosen
    cpus = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):
        busy = 0.0
    free = int(cpus - busy)
    return max(1, min(limit, cpus, free))


def apply_command_threads(argv: list[str]) -> None:
    """Set BLAS thread counts for the command about to run; must happen before numpy is imported."""
    if len(argv) > 1 and argv[1] in INTERACTIVE_COMMANDS:
        count = str(threads_from_env() or 1)
        for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, count)
