"""Encoder layer: images and texts into one L2-normalised vector space, backed by open_clip.

torch and open_clip are imported here only, and only when an encoder is actually built, so commands
that need no model never pay for them.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from fashrec import settings
from fashrec.catalog.images import load_rgb, to_rgb
from fashrec.encoder import zoo
from fashrec.encoder.interface import ProgressFn, normalize_rows
from fashrec.encoder.spec import DEFAULT_MODEL, ModelSpec, identify, resolve_spec
from fashrec.errors import ImageError, ModelError


class OpenClipEncoder:
    """An open_clip model in inference mode on the CPU (or a given device)."""

    def __init__(self, spec: str | ModelSpec | None = None, *, device: str = "cpu",
                 threads: int | None = None) -> None:
        self.spec = spec if isinstance(spec, ModelSpec) else resolve_spec(spec)
        try:
            import open_clip
            import torch
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelError(f"open_clip/torch are not installed: {exc}") from exc

        zoo.register_embedded_configs()
        torch.set_num_threads(threads or settings.threads())
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
        return normalize_rows(out)

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
        return normalize_rows(out), failures

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Embed images already preprocessed (float32 N x 3 x H x W, as ``self.preprocess`` makes them):
        the distributed index build decodes and preprocesses elsewhere and encodes here."""
        torch = self._torch
        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)).to(self.device)
            return normalize_rows(self.model.encode_image(batch).float().cpu().numpy())

    # -- texts ------------------------------------------------------------------------------------
    def encode_texts(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
        torch = self._torch
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                tokens = self.tokenizer(texts[start:start + batch_size]).to(self.device)
                out[start:start + len(tokens)] = self.model.encode_text(tokens).float().cpu().numpy()
        return normalize_rows(out)

    def describe(self) -> dict:
        return {"spec": self.spec.raw, "identifier": self.identifier, "dimension": self.dimension}


_ENCODERS: dict[tuple[str, str], OpenClipEncoder] = {}


def load_encoder(spec: str | None = None, *, device: str = "cpu", interactive: bool = False) -> OpenClipEncoder:
    """Build (once per process) the encoder for ``spec``; ``interactive`` picks the thread count for
    one-query-at-a-time use (see fashrec.settings.threads)."""
    key = (spec or DEFAULT_MODEL, device)
    if key not in _ENCODERS:
        _ENCODERS[key] = OpenClipEncoder(spec, device=device, threads=settings.threads(interactive=interactive))
    else:
        import torch

        torch.set_num_threads(settings.threads(interactive=interactive))
    return _ENCODERS[key]
