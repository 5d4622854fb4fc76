"""Encoder layer: the query-path encoder, a verified ONNX export run by onnxruntime, never importing torch.

:class:`OnnxEncoder` has the interface of :class:`fashrec.encoder.openclip.OpenClipEncoder` (``identifier``,
``dimension``, ``encode_images``, ``encode_images_lenient``, ``encode_texts``) and returns the same
L2-normalised float32 vectors, to cosine >= 0.9999 (checked at export time on probe images and texts).
Sessions are created on first use, one per tower, so a text-only search never loads the image tower.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from fashrec.catalog.images import load_rgb, to_rgb
from fashrec.encoder.interface import ProgressFn
from fashrec.encoder.interface import normalize_rows as _normalize
from fashrec.encoder import onnx_files
from fashrec.encoder.onnx_files import ExportInvalid, ExportRecord, read_export
from fashrec.encoder.preprocess import PreprocessConfig, Preprocessor
from fashrec.encoder.tokenizer import ClipTokenizer, TokenizerConfig
from fashrec.errors import ImageError, ModelError


def session_options(threads: int):
    """onnxruntime options for fashrec: ``threads`` intra-op threads, no inter-op parallelism,
    no spinning (a spinning worker steals the only other core of a shared 2-core machine)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # "extended" fusions, not "all": the layout transforms of "all" cost 0.19 s more and ~90 MB more
    # RSS to create the image session here, to save ~2.5 ms per image (bench/fast_start.py).
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    opts.log_severity_level = 3
    return opts


# Towers whose session is made from a copy onnxruntime saved already optimised (onnx_files.optimised_path):
# fashrec-mini's text session then takes ~55 ms of CPU to create instead of ~85 ms (the "extended" graph
# fusions are not redone), with bit-identical outputs. The image tower gains nothing measurable that
# way (~80 ms either way: its time is in reading and packing the weights), so it loads its export file.
PREOPTIMISED = ("text",)


class OnnxEncoder:
    """Images and texts into the encoder's vector space with onnxruntime on the CPU."""

    runtime = "onnx"

    def __init__(self, record: ExportRecord, *, threads: int = 1,
                 fallback: Callable[[], object] | None = None, notify: Callable[[str], None] | None = None) -> None:
        """``fallback`` builds the torch encoder if a session cannot be created after all (the export
        verified, but onnxruntime refuses the file here): encoding then goes through torch, and
        :attr:`note` says why (also passed to ``notify``). Without it that case raises :class:`ModelError`."""
        self.record = record
        self.note: str | None = None
        self._fallback_factory = fallback
        self._notify = notify
        self._fallback = None
        self.identifier = record.identifier
        self.dimension = record.dimension
        self.spec = record.meta.get("spec", record.identifier)
        self.threads = threads
        self.preprocess = Preprocessor(PreprocessConfig.from_dict(record.meta["preprocess"]))
        self._tokenizer_cfg = TokenizerConfig.from_dict(record.meta["tokenizer"])
        self._tokenizer: ClipTokenizer | None = None
        self._sessions: dict[str, object] = {}
        self.loaded_from: dict[str, Path] = {}   # the file each session was made from (tests, benches)

    # -- lazy parts -----------------------------------------------------------------------------------
    @property
    def tokenizer(self) -> ClipTokenizer:
        if self._tokenizer is None:
            # the text itself: the tokenizer searches it until it needs the rank dict (MergeRanks)
            merges = self.record.path("merges").read_text(encoding="utf-8")
            self._tokenizer = ClipTokenizer(self._tokenizer_cfg, merges=merges)
        return self._tokenizer

    def session(self, tower: str):
        """The onnxruntime session of one tower, created on first use."""
        if tower not in self._sessions:
            try:
                import onnxruntime as ort
            except ImportError as exc:
                raise ModelError(f"onnxruntime is not installed: {exc}",
                                 hint="pip install onnxruntime, or use --runtime torch") from exc
            path = self.record.path(tower)
            try:
                session = self._optimised_session(ort, tower) if tower in PREOPTIMISED else None
                if session is None:
                    session = ort.InferenceSession(str(path), sess_options=session_options(self.threads),
                                                   providers=["CPUExecutionProvider"])
                    self.loaded_from[tower] = path
                self._sessions[tower] = session
            except Exception as exc:  # onnxruntime raises its own exception types for bad files
                raise ModelError(f"cannot load the ONNX {tower} tower {path}: {exc}",
                                 hint="re-export it (fashrec index rebuilds a missing or bad export), "
                                      "or use --runtime torch") from exc
        return self._sessions[tower]

    def _optimised_session(self, ort, tower: str):
        """The tower's session from the copy onnxruntime optimised (no graph optimisation to redo), or,
        when there is no trusted copy yet, from the export file while saving one; None when neither
        works (the caller then loads the export file as before)."""
        version = ort.__version__
        ready = onnx_files.trusted_optimised(self.record, tower, version)
        if ready is not None:
            opts = session_options(self.threads)
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            try:
                session = ort.InferenceSession(str(ready), sess_options=opts, providers=["CPUExecutionProvider"])
                self.loaded_from[tower] = ready
                return session
            except Exception:  # a copy onnxruntime will not load: the export file still can be
                pass
        if not os.access(self.record.folder, os.W_OK):
            return None
        written = self.record.folder / f".{tower}.optimising-{os.getpid()}-{os.urandom(4).hex()}.onnx"
        opts = session_options(self.threads)
        opts.optimized_model_filepath = str(written)
        try:
            session = ort.InferenceSession(str(self.record.path(tower)), sess_options=opts,
                                           providers=["CPUExecutionProvider"])
        except Exception:
            written.unlink(missing_ok=True)
            return None
        onnx_files.publish_optimised(self.record, tower, version, written)
        self.loaded_from[tower] = self.record.path(tower)
        return session

    def _run(self, tower: str, array: np.ndarray) -> np.ndarray:
        io = self.record.meta["io"][tower]
        out = self.session(tower).run([io["output"]], {io["input"]: array})[0]
        return np.asarray(out, dtype=np.float32)

    def _usable(self, tower: str) -> bool:
        """True when ``tower`` runs on onnxruntime; False once this encoder has fallen back to torch."""
        if self._fallback is not None:
            return False
        try:
            self.session(tower)
            return True
        except ModelError as exc:
            if self._fallback_factory is None:
                raise
            self.note = f"using torch: {exc.message}"
            if self._notify is not None:
                self._notify(self.note)
            self._fallback = self._fallback_factory()
            return False

    # -- images ---------------------------------------------------------------------------------------
    def _load(self, item):
        if isinstance(item, Image.Image):
            return to_rgb(item)
        return load_rgb(item)

    def encode_images(self, images: Sequence, *, batch_size: int = 64,
                      progress: ProgressFn | None = None) -> np.ndarray:
        """Embed images (paths or PIL images). Raises ImageError naming the first bad file."""
        if not self._usable("image"):
            return self._fallback.encode_images(images, batch_size=batch_size, progress=progress)
        out = np.zeros((len(images), self.dimension), dtype=np.float32)
        for start in range(0, len(images), batch_size):
            chunk = images[start:start + batch_size]
            batch = self.preprocess([self._load(item) for item in chunk])
            out[start:start + len(chunk)] = self._run("image", batch)
            if progress:
                progress(len(chunk))
        return _normalize(out)

    def encode_images_lenient(self, images: Sequence, *, batch_size: int = 64,
                              progress: ProgressFn | None = None) -> tuple[np.ndarray, dict[int, ImageError]]:
        """Like encode_images, but a bad image is reported by position instead of stopping the batch."""
        if not self._usable("image"):
            return self._fallback.encode_images_lenient(images, batch_size=batch_size, progress=progress)
        out = np.zeros((len(images), self.dimension), dtype=np.float32)
        failures: dict[int, ImageError] = {}
        for start in range(0, len(images), batch_size):
            chunk = images[start:start + batch_size]
            loaded, slots = [], []
            for offset, item in enumerate(chunk):
                try:
                    loaded.append(self._load(item))
                    slots.append(start + offset)
                except ImageError as exc:
                    failures[start + offset] = exc
            if loaded:
                out[slots] = self._run("image", self.preprocess(loaded))
            if progress:
                progress(len(chunk))
        return _normalize(out), failures

    # -- texts ----------------------------------------------------------------------------------------
    def encode_texts(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
        if not self._usable("text"):
            return self._fallback.encode_texts(texts, batch_size=batch_size)
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            tokens = self.tokenizer(texts[start:start + batch_size])
            out[start:start + len(tokens)] = self._run("text", tokens)
        return _normalize(out)

    def describe(self) -> dict:
        return {"spec": self.spec, "identifier": self.identifier, "dimension": self.dimension,
                "runtime": "onnx", "export": str(self.record.folder)}


def open_onnx_encoder(folder: Path, identifier: str, *, threads: int = 1) -> OnnxEncoder:
    """An encoder on the export in ``folder``; raises ModelError when it is missing or invalid."""
    try:
        return OnnxEncoder(read_export(folder, identifier), threads=threads)
    except ExportInvalid as exc:
        raise ModelError(str(exc), hint="re-run fashrec index to export the encoder again") from exc
