"""Encoder layer: model specs -- what to hand open_clip, and the identifier an index records.

A model spec can be
- ``fashrec-mini`` (the default): the embedded encoder shipped in ``models/fashrec-mini``;
- a folder holding ``open_clip_config.json`` + weights (what ``fashrec train`` writes);
- ``ARCH:PRETRAINED`` for any open_clip architecture and tag (``ViT-B-32:laion2b_s34b_b79k``),
  or ``ARCH:/path/to/weights.safetensors``;
- ``hf-hub:org/name`` (downloaded and cached by open_clip on machines with internet).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fashrec.errors import ModelError
from fashrec.settings import models_dir

DEFAULT_MODEL = "fashrec-mini"


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
