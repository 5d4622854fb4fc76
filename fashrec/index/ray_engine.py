"""Index layer, build step 2 past one machine: the images to encode go through a Ray Data pipeline.

The catalog diff stays local (:mod:`fashrec.index.diff`); only the images to (re-)encode, with their
texts, become a Ray dataset, in blocks of a few batches so every worker gets some:

1. **decode** (per batch): the safe image loader (:func:`fashrec.catalog.images.load_rgb`), then
   the geometry of the encoder's own preprocessing (:class:`fashrec.encoder.preprocess.Preprocessor`,
   pixel-exact with open_clip's), as uint8: a quarter of the float bytes when it travels. A bad image
   becomes the loader's message in an ``error`` column, the message the local path reports;
2. **encode** (actors that load the encoder once each, on a CPU or a GPU): normalise the pixels,
   embed them and the texts in one batch.

On CPU workers the actors do both steps (the pixels never leave the process, and a separate decode
stage would wait for CPUs the actors hold); with ``gpus`` the steps stay apart, so decoding runs on
CPU tasks while the GPUs encode. Vectors come back keyed by
their input position and the build writes them into the same generation the local path writes, so a
failed run publishes nothing and leaves the previous generation readable. A worker that dies is
restarted and its batch retried by Ray, at most :data:`RESTARTS` times each.

Ray is imported only here, and only when the engine runs. Without an address a local Ray runtime is
started for the run (``ray.init(address="local")``, even when ``RAY_ADDRESS`` is set). On a cluster
every worker needs this fashrec, the encoder's files and the catalog's images at the same paths (a
shared file system); a worker whose encoder differs from the index's is refused, never mixed in.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import signal
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

import numpy as np

from fashrec.catalog.images import load_rgb
from fashrec.encoder import identify
from fashrec.encoder.preprocess import PreprocessConfig, Preprocessor, PreprocessUnsupported
from fashrec.errors import EncoderMismatchError, FashrecError, FashrecIndexError, ImageError
from fashrec.index.encode import Encoded

RESTARTS = 3          # a dead worker is restarted, and its batch retried, at most this many times
BLOCKS_PER_WORKER = 4  # blocks are the unit Ray hands out: a few per worker keeps them all busy


@dataclass
class RayEngine:
    """Encode on Ray: a local runtime (``address`` None) or the cluster at ``address``."""

    address: str | None = None
    workers: int | None = None        # encoder actors; default: one per CPU (or per ``gpus``) of the cluster
    gpus: float = 0.0                 # GPUs per worker; 0: CPU workers (one CPU, one torch thread each)
    drill: Path | None = None         # fault drill (settings.ray_kill_drill): workers kill themselves
    name: ClassVar[str] = "ray"

    def encode(self, images: list[Path], texts: list[str], spec: str, *, batch_size: int,
               advance: Callable[[int], None] | None) -> Encoded:
        ray = _import_ray()
        started = time.perf_counter()
        n = len(images)
        with _stdout_to_stderr(), _runtime(ray, self.address, self.workers) as where:
            identifier = identify(spec)
            described = _describe(ray, spec, identifier, self.gpus)
            dim = int(described["dimension"])
            workers = self._worker_count(ray, n, batch_size)
            ready = time.perf_counter()
            image_vecs, text_vecs = np.zeros((n, dim), np.float32), np.zeros((n, dim), np.float32)
            failures: dict[int, str] = {}
            if n:
                dataset = _pipeline(ray, images, texts, spec, identifier, described["preprocess"], workers,
                                    batch_size, self.gpus, self.drill)
                seen = _collect(dataset, image_vecs, text_vecs, failures, advance)
                if seen != n:
                    raise FashrecIndexError(f"encoding on Ray returned {seen} of {n} images: nothing was "
                                            "published, the previous generation is still readable",
                                            hint="run the command again")
        done = time.perf_counter()
        details = {"engine": self.name, "address": where, "workers": workers, "gpus_per_worker": self.gpus,
                   "images": n, "seconds": round(done - started, 3), "startup_seconds": round(ready - started, 3),
                   "pipeline_seconds": round(done - ready, 3)}
        return Encoded(image_vecs, text_vecs, failures, dim, details)

    def _worker_count(self, ray, n: int, batch_size: int) -> int:
        if self.workers:
            return self.workers
        resources = ray.cluster_resources()
        capacity = resources.get("GPU", 0) / self.gpus if self.gpus else resources.get("CPU", 1)
        return max(1, min(int(capacity), math.ceil(max(n, 1) / batch_size)))


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data is an extra of ray: fail here, not mid-run)
    except ImportError as exc:
        raise FashrecIndexError(f"--engine ray needs Ray Data, which is not installed ({exc})",
                                hint="pip install 'fashrec[scale]' (or pip install 'ray[data]')") from exc
    return ray


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Ray prints worker and raylet messages (a restarted worker, say) to the driver's stdout, from its
    threads and from the processes it starts, which inherit file descriptor 1; stdout is the command's
    output (--json must parse), so for the run descriptor 1 is stderr, where fashrec's notes go."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


QUIET = {"log_to_driver": False, "logging_level": logging.ERROR, "include_dashboard": False}


@contextlib.contextmanager
def _runtime(ray, address: str | None, workers: int | None) -> Iterator[str]:
    """Ray for this run: the session already started in this process, the cluster at ``address``, or a
    local runtime (shut down afterwards; at least ``workers`` CPUs, so asked-for workers can all start)."""
    if ray.is_initialized():
        yield "this process's Ray session"
        return
    try:
        if address:
            ray.init(address=address, **QUIET)
        else:
            ray.init(address="local", num_cpus=max(os.cpu_count() or 1, workers or 1), **QUIET)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError... for one thing: no Ray
        where = f"the Ray cluster at {address}" if address else "a local Ray runtime"
        raise FashrecIndexError(f"could not start or reach {where} ({type(exc).__name__}: {exc}); nothing "
                                "was published", hint="check --ray-address (host:port of the head node, "
                                "ray://host:10001, or auto), or leave it out to run on this machine") from exc
    _quiet_data(ray)
    try:
        yield address or "local"
    finally:
        ray.shutdown()


def _quiet_data(ray) -> None:
    """Ray Data's progress bars and per-run logs would fill stderr; fashrec shows its own progress."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def _describe(ray, spec: str, identifier: str, gpus: float) -> dict[str, Any]:
    """The encoder's dimension and torch-free preprocessing, asked of a worker (the driver never loads
    the model); the worker process exits afterwards, so its copy of the model does not linger."""
    task = ray.remote(num_cpus=1, num_gpus=gpus, max_calls=1, max_retries=RESTARTS)(describe_encoder)
    try:
        return ray.get(task.remote(spec, identifier, "cuda" if gpus else "cpu"))
    except Exception as exc:
        raise _failed(exc) from exc


def describe_encoder(spec: str, identifier: str, device: str) -> dict[str, Any]:
    """(On a worker.) {"dimension", "preprocess": the config as a dict, or None when the torch-free
    preprocessing cannot reproduce it, and the workers decode with torch's transform themselves}."""
    encoder = _load(spec, identifier, device, threads=1)
    try:
        preprocess = PreprocessConfig.from_dict(encoder.model.visual.preprocess_cfg).to_dict()
    except (PreprocessUnsupported, AttributeError):
        preprocess = None
    return {"dimension": int(encoder.dimension), "preprocess": preprocess}


def _load(spec: str, identifier: str, device: str, *, threads: int):
    from fashrec.encoder.openclip import OpenClipEncoder

    encoder = OpenClipEncoder(spec, device=device, threads=threads)
    if encoder.identifier != identifier:
        raise EncoderMismatchError(
            f"a Ray worker's encoder '{spec}' is '{encoder.identifier}', the index's is '{identifier}': one "
            "index never mixes encoders", hint="install the same encoder files on every worker")
    return encoder


def _block_rows(n: int, workers: int, batch_size: int) -> int:
    """Rows per block: whole batches, at least BLOCKS_PER_WORKER blocks per worker when there is enough."""
    batches = math.ceil(n / batch_size)
    per_block = max(1, math.ceil(batches / (workers * BLOCKS_PER_WORKER)))
    return min(per_block, 8) * batch_size


def _pipeline(ray, images: list[Path], texts: list[str], spec: str, identifier: str,
              preprocess: dict | None, workers: int, batch_size: int, gpus: float, drill: Path | None):
    import pyarrow as pa

    n = len(images)
    step = _block_rows(n, workers, batch_size)
    paths = [os.path.abspath(p) for p in images]  # workers need not share the driver's working folder
    tables = [pa.table({"row": np.arange(s, min(s + step, n), dtype=np.int64), "path": paths[s:s + step],
                        "text": list(texts[s:s + step])}) for s in range(0, n, step)]
    encode_args = {"num_cpus": 1, "num_gpus": gpus} if gpus else {"num_cpus": 1}
    dataset = ray.data.from_arrow(tables)
    if gpus:   # decode on CPU tasks while the GPUs encode; CPU workers decode in the actor (EncoderWorker)
        dataset = dataset.map_batches(decode_batch, fn_kwargs={"preprocess": preprocess},
                                      batch_size=batch_size, batch_format="numpy", num_cpus=1)
    # Ray Data restarts dead actors forever by default; a worker that dies on every try (an image that
    # crashes the decoder, a node out of memory) must end the run instead. Ray has no named parameter for
    # the bound yet, only the (deprecated) free remote arguments: its warning is not the user's business.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return dataset.map_batches(
            EncoderWorker, batch_size=batch_size, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            fn_constructor_kwargs={"spec": spec, "identifier": identifier, "preprocess": preprocess,
                                   "device": "cuda" if gpus else "cpu", "drill": str(drill) if drill else None},
            max_restarts=RESTARTS, max_task_retries=RESTARTS, **encode_args)


def _collect(dataset, image_vecs: np.ndarray, text_vecs: np.ndarray, failures: dict[int, str],
             advance: Callable[[int], None] | None) -> int:
    """Fill the matrices from the batches as they arrive (in any order); how many rows came back."""
    seen = np.zeros(len(image_vecs), dtype=bool)
    try:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            rows = np.asarray(batch["row"], dtype=np.int64)
            image_vecs[rows] = batch["image"]
            text_vecs[rows] = batch["text"]
            seen[rows] = True
            for row, error in zip(rows, batch["error"]):
                if error:
                    failures[int(row)] = str(error)
            if advance:
                advance(len(rows))
    except Exception as exc:
        raise _failed(exc) from exc
    return int(seen.sum())


def decode_batch(batch: dict[str, np.ndarray], preprocess: dict | None) -> dict[str, np.ndarray]:
    """(A Ray task.) Decode and shape one batch of images; a bad one gets its message in ``error``."""
    count = len(batch["row"])
    errors = np.array([""] * count, dtype=object)
    out = {"row": batch["row"], "path": batch["path"], "text": batch["text"], "error": errors}
    if preprocess is None:   # preprocessing only torch reproduces: the worker decodes (EncoderWorker)
        return out
    shaper = Preprocessor(PreprocessConfig.from_dict(preprocess))
    height, width = shaper.cfg.size
    pixels = np.zeros((count, height, width, 3), dtype=np.uint8)
    for i, path in enumerate(batch["path"]):
        try:
            pixels[i] = np.asarray(shaper.geometry(load_rgb(str(path))), dtype=np.uint8)
        except ImageError as exc:
            errors[i] = exc.message
    out["pixels"] = pixels
    return out


class EncoderWorker:
    """(A Ray actor.) Loads the encoder once, then embeds batch after batch."""

    def __init__(self, spec: str, identifier: str, preprocess: dict | None, device: str,
                 drill: str | None) -> None:
        self.encoder = _load(spec, identifier, device, threads=1)
        self.preprocess = preprocess
        self.shaper = Preprocessor(PreprocessConfig.from_dict(preprocess)) if preprocess else None
        self.drill = Path(drill) if drill else None
        self.batches = 0

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.batches += 1
        if self.drill is not None:
            kill_drill(self.drill, self.batches)
        if "error" not in batch:   # a CPU worker: nothing decoded it upstream
            batch = decode_batch(batch, self.preprocess)
        count, dim = len(batch["row"]), self.encoder.dimension
        errors = np.array(batch["error"], dtype=object)
        if self.shaper is None:
            image, bad = self.encoder.encode_images_lenient([str(p) for p in batch["path"]], batch_size=count)
            for i, exc in bad.items():
                errors[i] = exc.message
        else:
            image = np.zeros((count, dim), dtype=np.float32)
            good = np.flatnonzero(errors == "")
            if len(good):
                pixels = np.stack([self.shaper.normalize(batch["pixels"][i]) for i in good])
                image[good] = self.encoder.encode_pixels(pixels)
        text = self.encoder.encode_texts([str(t) for t in batch["text"]])
        return {"row": batch["row"], "image": image, "text": text, "error": errors}


def kill_drill(folder: Path, batches: int) -> None:
    """Fault drill (``$FASHREC_RAY_KILL_DRILL``): ``folder/kills`` holds "COUNT AFTER"; while COUNT is
    above zero, a worker at its AFTER-th batch decrements it and SIGKILLs its own process, a real
    worker death Ray must survive. Each kill is logged, with the process id, in ``folder/killed``."""
    path = folder / "kills"
    with open(path, "r+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        count, _, after = fh.read().strip().partition(" ")
        left, after_n = int(count or 0), int(after or 1)
        if left <= 0 or batches < after_n:
            return
        fh.seek(0)
        fh.truncate()
        fh.write(f"{left - 1} {after_n}")
        fh.flush()
        os.fsync(fh.fileno())
        with open(folder / "killed", "a") as log:
            log.write(f"{os.getpid()}\n")
    os.kill(os.getpid(), signal.SIGKILL)


def _failed(exc: BaseException) -> FashrecError:
    """A failed Ray run as fashrec's error: ours when a worker raised one (a model it cannot load, an
    encoder that differs), else a clear index error; either way nothing was published."""
    seen: set[int] = set()
    ours: FashrecError | None = None
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:   # the deepest is the worker's own exception
        seen.add(id(current))
        if isinstance(current, FashrecError):
            ours = current
        current = getattr(current, "cause", None) or current.__cause__ or current.__context__
    if ours is not None:
        return ours
    first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return FashrecIndexError(f"encoding on Ray failed ({type(exc).__name__}: {first}): nothing was published, "
                             "the previous generation is still published and readable",
                             hint="see the Ray logs (/tmp/ray/session_latest/logs on the head node); run the "
                                  "command again, or without --engine ray")
