"""Training layer: tensor-level augmentation of pre-decoded uint8 batches.

Geometry only (flip, small shift and zoom): colour is a label here, so colour jitter would teach the
model that a navy shirt may look red. Empty space is filled white, like the product photos' background.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def augment(batch_u8: torch.Tensor, generator: torch.Generator, *, max_shift: float = 0.08,
            scale_range: tuple[float, float] = (0.85, 1.1), flip: bool = True) -> torch.Tensor:
    """Random flip + translate + scale; returns float in [0, 1] (normalise afterwards)."""
    x = batch_u8.float().div_(255.0)
    n = x.shape[0]
    scale = torch.empty(n).uniform_(*scale_range, generator=generator)
    shift = torch.empty(n, 2).uniform_(-max_shift * 2, max_shift * 2, generator=generator)
    sign = torch.ones(n)
    if flip:
        sign = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = sign / scale
    theta[:, 1, 1] = 1.0 / scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # grid_sample pads with zeros; sampling the inverted image pads the result with white instead.
    return 1.0 - F.grid_sample(1.0 - x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def normalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    m = torch.tensor(mean, dtype=x.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(1, -1, 1, 1)
    return (x - m) / s
