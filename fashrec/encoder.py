"""Encoders: images and texts into one L2-normalised vector space, backed by open_clip.

A model spec can be
- ``fashrec-mini`` (the default): the embedded encoder shipped in ``models/fashrec-mini``;
- a folder holding ``open_clip_config.json`` + weights (what ``fashrec train`` writes);
- ``ARCH:PRETRAINED`` for any open_clip architecture and tag (``ViT-B-32:laion2b_s34b_b79k``),
  or ``ARCH:/path/to/weights.safetensors``;
- ``hf-hub:org/name`` (downloaded and cached by open_clip on machines with internet).

torch and open_clip are imported here only, and only when an encoder is actually built, so commands
that need no model never pay for them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np

from .errors import ImageError, ModelError

DEFAULT_MODEL = "fashrec-mini"
ProgressFn = Callable[[int], None]


def models_dir() -> Path:
    """Where embedded models live: $FASHREC_MODELS_DIR, the checkout's models/, or the install prefix."""
    env = os.environ.get("FASHREC_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parent.parent / "models"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "fashrec" / "models"


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec: what to hand open_clip, and how to name it in an index manifest."""

    raw: str
    name: str
    pretrained: str | None = None
    local_dir: Path | None = None

    @property
    def open_clip_name(self) -> str:
        return f"local-dir:{self.local_dir}" if self.local_dir else self.name


def resolve_spec(spec: str | None) -> ModelSpec:
    raw = (spec or DEFAULT_MODEL).strip()
    if raw.startswith("hf-hub:"):
        return ModelSpec(raw=raw, name=raw)
    if raw.startswith("local-dir:"):
        raw = raw[len("local-dir:"):]
    candidate = Path(raw).expanduser()
    if candidate.is_dir():
        return ModelSpec(raw=raw, name=candidate.resolve().name, local_dir=candidate.resolve())
    embedded = models_dir() / raw
    if "/" not in raw and ":" not in raw:
        if (embedded / "open_clip_config.json").is_file():
            return ModelSpec(raw=raw, name=raw, local_dir=embedded)
        if raw == DEFAULT_MODEL:
            raise ModelError(
                f"the embedded encoder '{DEFAULT_MODEL}' is not installed (looked in {embedded})",
                hint="reinstall fashrec from a full checkout, or pass --model with any open_clip model",
            )
    if ":" in raw:
        arch, _, pretrained = raw.partition(":")
        return ModelSpec(raw=raw, name=arch, pretrained=pretrained or None)
    return ModelSpec(raw=raw, name=raw)


def _digest_dir(path: Path) -> str:
    """Short content hash of a model folder's config and weights, so retrained weights never mix."""
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.suffix in (".json", ".safetensors", ".bin", ".pt", ".pth") and f.is_file():
            h.update(f.name.encode())
            h.update(str(f.stat().st_size).encode())
            with open(f, "rb") as fh:
                h.update(fh.read(1 << 20))  # the first MiB differs between any two trainings
    return h.hexdigest()[:12]


def identify(spec: str | ModelSpec | None) -> str:
    """The stable identifier an index records for its encoder, computed without loading the model.

    Local model folders are identified by a hash of their files, so retraining the embedded model
    (same name, new weights) is noticed and never mixed into an existing index.
    """
    spec = spec if isinstance(spec, ModelSpec) else resolve_spec(spec)
    if spec.local_dir:
        return f"{spec.name}@{_digest_dir(spec.local_dir)}"
    return spec.raw


class Encoder(Protocol):
    """What the rest of fashrec needs from an encoder."""

    identifier: str
    dimension: int

    def encode_images(self, images: Sequence, *, batch_size: int = 64,
                      progress: ProgressFn | None = None) -> np.ndarray: ...

    def encode_texts(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray: ...


def default_threads(*, interactive: bool = False) -> int:
    """torch intra-op threads: $FASHREC_THREADS, else 1 for interactive queries, else the cores (<= 8).

    One 64 px image or a few short texts are too small to split between threads; on a 2-core machine
    with anything else running, a second thread mostly waits for a time slice, and single-threaded
    queries measured 8x faster (bench/RESULTS.md, 3.2). Batch encoding (indexing) uses every core.
    """
    env = os.environ.get("FASHREC_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    if interactive:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def _normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class OpenClipEncoder:
    """An open_clip model in inference mode on the CPU (or a given device)."""

    def __init__(self, spec: str | ModelSpec | None = None, *, device: str = "cpu",
                 threads: int | None = None) -> None:
        self.spec = spec if isinstance(spec, ModelSpec) else resolve_spec(spec)
        try:
            import torch
            import open_clip
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelError(f"open_clip/torch are not installed: {exc}") from exc
        from . import modelzoo

        modelzoo.register_embedded_configs()
        torch.set_num_threads(threads or default_threads())
        self._torch = torch
        self.device = device
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.spec.open_clip_name, pretrained=self.spec.pretrained, device=device,
            )
            self.tokenizer = open_clip.get_tokenizer(self.spec.open_clip_name)
        except Exception as exc:  # open_clip raises many kinds; all mean "cannot load this model"
            raise ModelError(f"cannot load encoder '{self.spec.raw}': {exc}",
                             hint="check the model name, or that its weights are available offline") from exc
        model.eval()
        self.model = model
        self.preprocess = preprocess
        with torch.inference_mode():
            probe = model.encode_text(self.tokenizer(["probe"]).to(device))
        self.dimension = int(probe.shape[-1])
        self.identifier = identify(self.spec)

    # -- images -----------------------------------------------------------------------------------
    def _load(self, item):
        from PIL import Image

        from .images import load_rgb, to_rgb

        if isinstance(item, Image.Image):
            return to_rgb(item)
        return load_rgb(item)

    def encode_images(self, images: Sequence, *, batch_size: int = 64,
                      progress: ProgressFn | None = None) -> np.ndarray:
        """Embed images (paths or PIL images). Raises ImageError naming the first bad file."""
        torch = self._torch
        out = np.zeros((len(images), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                chunk = images[start:start + batch_size]
                tensors = [self.preprocess(self._load(item)) for item in chunk]
                batch = torch.stack(tensors).to(self.device)
                feats = self.model.encode_image(batch).float().cpu().numpy()
                out[start:start + len(chunk)] = feats
                if progress:
                    progress(len(chunk))
        return _normalize(out)

    def encode_images_lenient(self, images: Sequence, *, batch_size: int = 64,
                              progress: ProgressFn | None = None) -> tuple[np.ndarray, dict[int, ImageError]]:
        """Like encode_images, but a bad image is reported by position instead of stopping the batch."""
        torch = self._torch
        out = np.zeros((len(images), self.dimension), dtype=np.float32)
        failures: dict[int, ImageError] = {}
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                chunk = images[start:start + batch_size]
                tensors, slots = [], []
                for offset, item in enumerate(chunk):
                    try:
                        tensors.append(self.preprocess(self._load(item)))
                        slots.append(start + offset)
                    except ImageError as exc:
                        failures[start + offset] = exc
                if tensors:
                    feats = self.model.encode_image(torch.stack(tensors).to(self.device)).float().cpu().numpy()
                    out[slots] = feats
                if progress:
                    progress(len(chunk))
        return _normalize(out), failures

    # -- texts ------------------------------------------------------------------------------------
    def encode_texts(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
        torch = self._torch
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                tokens = self.tokenizer(texts[start:start + batch_size]).to(self.device)
                out[start:start + len(tokens)] = self.model.encode_text(tokens).float().cpu().numpy()
        return _normalize(out)

    def describe(self) -> dict:
        return {"spec": self.spec.raw, "identifier": self.identifier, "dimension": self.dimension}


_ENCODERS: dict[tuple[str, str], OpenClipEncoder] = {}


def load_encoder(spec: str | None = None, *, device: str = "cpu", interactive: bool = False) -> OpenClipEncoder:
    """Build (once per process) the encoder for ``spec``; ``interactive`` picks the thread count for
    one-query-at-a-time use (see default_threads)."""
    key = (spec or DEFAULT_MODEL, device)
    if key not in _ENCODERS:
        _ENCODERS[key] = OpenClipEncoder(spec, device=device, threads=default_threads(interactive=interactive))
    else:
        import torch

        torch.set_num_threads(default_threads(interactive=interactive))
    return _ENCODERS[key]
