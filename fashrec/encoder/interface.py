"""Encoder layer: what the rest of fashrec needs from an encoder, whichever runtime backs it."""

from __future__ import annotations

from typing import Callable, Protocol, Sequence

import numpy as np

ProgressFn = Callable[[int], None]


class Encoder(Protocol):
    """What the rest of fashrec needs from an encoder."""

    identifier: str
    dimension: int

    def encode_images(self, images: Sequence, *, batch_size: int = 64,
                      progress: ProgressFn | None = None) -> np.ndarray: ...

    def encode_texts(self, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray: ...


def normalize_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)
