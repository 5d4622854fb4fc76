"""Encoder layer: image preprocessing without torch: open_clip's inference transform, rebuilt on PIL + numpy.

open_clip builds its inference transform from a preprocess config (``model.visual.preprocess_cfg``)
with torchvision: resize, pad or crop, convert to RGB, to a float tensor in [0, 1], normalise. Every
geometric step of that chain runs on the PIL image inside torchvision (``F.resize`` is ``Image.resize``,
``F.pad`` is ``ImageOps.expand``, ``F.crop`` is ``Image.crop``), so doing the same PIL calls with the
same sizes and offsets gives the same pixels, and the float steps (``/ 255``, ``- mean``, ``/ std`` in
float32) are elementwise IEEE operations numpy computes identically. The tests compare the tensors
with open_clip's own transform (max abs difference 0 on drawn and real images).

Only the inference transform is reproduced; configs this module cannot reproduce exactly raise
:class:`PreprocessUnsupported` rather than approximating.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from PIL import Image, ImageOps

# open_clip.constants.OPENAI_DATASET_MEAN / _STD, the defaults of PreprocessCfg.
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

_INTERPOLATION = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}
RESIZE_MODES = ("longest", "shortest", "squash")


class PreprocessUnsupported(ValueError):
    """A preprocess config whose open_clip transform this module cannot reproduce exactly."""


@dataclass(frozen=True)
class PreprocessConfig:
    """The fields of open_clip's ``PreprocessCfg`` that the inference transform reads."""

    size: tuple[int, int]            # (height, width)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str               # "bicubic" | "bilinear"
    resize_mode: str                 # "longest" | "shortest" | "squash"
    fill_color: int

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any]) -> "PreprocessConfig":
        """Validate an open_clip preprocess dict (as in ``model.visual.preprocess_cfg``).

        Mirrors ``open_clip.transform.image_transform``'s defaulting: a missing mean/std is OpenAI's,
        a scalar is repeated over the three channels, interpolation "random" means bicubic at
        inference, a missing resize mode is "shortest".
        """
        mode = cfg.get("mode", "RGB")
        if mode != "RGB":
            raise PreprocessUnsupported(f"image mode {mode!r} (only RGB)")
        size = cfg.get("size", 224)
        if isinstance(size, (int, float)) and not isinstance(size, bool):
            hw = (int(size), int(size))
        elif isinstance(size, Sequence) and len(size) == 1:
            hw = (int(size[0]), int(size[0]))
        elif isinstance(size, Sequence) and len(size) == 2:
            hw = (int(size[0]), int(size[1]))
        else:
            raise PreprocessUnsupported(f"image size {size!r}")
        if min(hw) <= 0:
            raise PreprocessUnsupported(f"image size {size!r}")
        interpolation = cfg.get("interpolation") or "bicubic"
        if interpolation == "random":  # open_clip: "random is ignored ... defaults to BICUBIC for inference"
            interpolation = "bicubic"
        if interpolation not in _INTERPOLATION:
            raise PreprocessUnsupported(f"interpolation {interpolation!r}")
        resize_mode = cfg.get("resize_mode") or "shortest"
        if resize_mode not in RESIZE_MODES:
            raise PreprocessUnsupported(f"resize mode {resize_mode!r}")
        fill = cfg.get("fill_color", 0)
        if isinstance(fill, bool) or not isinstance(fill, int) or not 0 <= fill <= 255:
            raise PreprocessUnsupported(f"fill colour {fill!r} (only one integer 0-255)")
        return cls(size=hw, mean=_triple(cfg.get("mean"), OPENAI_MEAN, "mean"),
                   std=_triple(cfg.get("std"), OPENAI_STD, "std"), interpolation=interpolation,
                   resize_mode=resize_mode, fill_color=fill)

    def to_dict(self) -> dict[str, Any]:
        return {"size": list(self.size), "mode": "RGB", "mean": list(self.mean), "std": list(self.std),
                "interpolation": self.interpolation, "resize_mode": self.resize_mode,
                "fill_color": self.fill_color}


def _triple(value, default, name: str) -> tuple[float, float, float]:
    value = value or default  # open_clip: `mean = mean or OPENAI_DATASET_MEAN`
    if isinstance(value, (int, float)):
        value = (value,) * 3
    value = tuple(float(v) for v in value)
    if len(value) != 3:
        raise PreprocessUnsupported(f"{name} {value!r} (need 3 channels)")
    if name == "std" and any(v == 0 for v in value):
        raise PreprocessUnsupported("std of 0")
    return value  # type: ignore[return-value]


class Preprocessor:
    """Turns PIL images into the float32 N x 3 x H x W array the image tower expects."""

    def __init__(self, cfg: PreprocessConfig) -> None:
        self.cfg = cfg
        self._resample = _INTERPOLATION[cfg.interpolation]
        self._mean = np.asarray(cfg.mean, dtype=np.float32).reshape(3, 1, 1)
        self._std = np.asarray(cfg.std, dtype=np.float32).reshape(3, 1, 1)

    # -- geometry (PIL, exactly torchvision's calls) ------------------------------------------------
    def geometry(self, im: Image.Image) -> Image.Image:
        """The resize / pad / crop part of the transform, then the RGB conversion."""
        cfg = self.cfg
        th, tw = cfg.size
        if cfg.resize_mode == "longest":
            im = _resize(im, _keep_ratio_size(im, cfg.size, longest=1.0), self._resample)
            im = _center_crop_or_pad(im, cfg.size, fill=cfg.fill_color)
        elif cfg.resize_mode == "squash":
            im = _resize(im, (th, tw), self._resample)
        else:  # shortest
            if th == tw:
                im = _resize(im, _shortest_edge_size(im, th), self._resample)
            else:
                # open_clip builds ResizeKeepRatio(image_size) here with its default interpolation
                # (bicubic) and longest=0, whatever the config says.
                im = _resize(im, _keep_ratio_size(im, cfg.size, longest=0.0), Image.BICUBIC)
            im = _center_crop(im, cfg.size)
        return im if im.mode == "RGB" else im.convert("RGB")

    # -- numbers (numpy float32, elementwise as torchvision) ---------------------------------------
    def to_array(self, im: Image.Image) -> np.ndarray:
        """One image as a float32 3 x H x W array, normalised."""
        return self.normalize(np.asarray(self.geometry(im), dtype=np.uint8))

    def normalize(self, hwc: np.ndarray) -> np.ndarray:
        """The float steps alone, on the uint8 H x W x 3 pixels :meth:`geometry` gave: a distributed
        encoder ships these (a quarter of the float32 bytes) and normalises where it encodes."""
        # to_tensor: uint8 HWC -> float32 CHW / 255; Normalize: (x - mean) / std, all in float32.
        x = np.asarray(hwc, dtype=np.uint8).transpose(2, 0, 1).astype(np.float32)
        x /= np.float32(255)
        x -= self._mean
        x /= self._std
        return x

    def __call__(self, images: Sequence[Image.Image]) -> np.ndarray:
        th, tw = self.cfg.size
        out = np.empty((len(images), 3, th, tw), dtype=np.float32)
        for i, im in enumerate(images):
            out[i] = self.to_array(im)
        return out


def _resize(im: Image.Image, size_hw: tuple[int, int], resample) -> Image.Image:
    """torchvision ``F.resize`` on a PIL image: a no-op at the same size, else ``Image.resize``."""
    h, w = size_hw
    if (im.height, im.width) == (h, w):
        return im
    return im.resize((w, h), resample)


def _keep_ratio_size(im: Image.Image, target_hw: tuple[int, int], *, longest: float) -> tuple[int, int]:
    """open_clip ``ResizeKeepRatio.get_params`` without the random parts (Python's round)."""
    h, w = im.height, im.width
    th, tw = target_hw
    ratio_h, ratio_w = h / th, w / tw
    ratio = max(ratio_h, ratio_w) * longest + min(ratio_h, ratio_w) * (1.0 - longest)
    return round(h / ratio), round(w / ratio)


def _shortest_edge_size(im: Image.Image, size: int) -> tuple[int, int]:
    """torchvision ``_compute_resized_output_size`` for a scalar size (no max_size): int() truncates."""
    h, w = im.height, im.width
    short, long = (w, h) if w <= h else (h, w)
    if short == size:
        return h, w
    new_short, new_long = size, int(size * long / short)
    return (new_long, new_short) if w <= h else (new_short, new_long)


def _center_crop_or_pad(im: Image.Image, size_hw: tuple[int, int], *, fill: int) -> Image.Image:
    """open_clip ``center_crop_or_pad``: pad with ``fill`` (split left/right as it does), then crop."""
    ch, cw = size_hw
    if cw > im.width or ch > im.height:
        left = (cw - im.width) // 2 if cw > im.width else 0
        top = (ch - im.height) // 2 if ch > im.height else 0
        right = (cw - im.width + 1) // 2 if cw > im.width else 0
        bottom = (ch - im.height + 1) // 2 if ch > im.height else 0
        im = _pad(im, (left, top, right, bottom), fill)
        if (im.width, im.height) == (cw, ch):
            return im
    return _crop_center(im, size_hw)


def _center_crop(im: Image.Image, size_hw: tuple[int, int]) -> Image.Image:
    """torchvision ``F.center_crop``: zero padding when the image is smaller, then the centre crop."""
    ch, cw = size_hw
    if cw > im.width or ch > im.height:
        left = (cw - im.width) // 2 if cw > im.width else 0
        top = (ch - im.height) // 2 if ch > im.height else 0
        right = (cw - im.width + 1) // 2 if cw > im.width else 0
        bottom = (ch - im.height + 1) // 2 if ch > im.height else 0
        im = _pad(im, (left, top, right, bottom), 0)
        if (im.width, im.height) == (cw, ch):
            return im
    return _crop_center(im, size_hw)


def _crop_center(im: Image.Image, size_hw: tuple[int, int]) -> Image.Image:
    ch, cw = size_hw
    top = int(round((im.height - ch) / 2.0))
    left = int(round((im.width - cw) / 2.0))
    return im.crop((left, top, left + cw, top + ch))


def _pad(im: Image.Image, ltrb: tuple[int, int, int, int], fill: int) -> Image.Image:
    """torchvision ``F.pad`` (constant mode) on PIL: ``ImageOps.expand`` with the fill per band."""
    bands = len(im.getbands())
    colour = fill if bands == 1 else tuple([fill] * bands)
    if im.mode == "P":  # torchvision keeps the palette (the fill is then a palette index)
        palette = im.getpalette()
        out = ImageOps.expand(im, border=ltrb, fill=colour)
        out.putpalette(palette)
        return out
    return ImageOps.expand(im, border=ltrb, fill=colour)
