"""Demo layer: garments drawn with Pillow as small e-commerce product shots (flat lay, centred on white).

The demo catalog and the tests need product photos that nobody has to download or license. The
embedded image encoder was trained on small real product photos, so what matters here is a
recognisable silhouette, a realistic colour and a material texture that differs measurably between
materials -- not fine detail. Every drawing is a pure function of its arguments and ``seed``.

The parts: :mod:`~fashrec.demo.sketch` (palette, vector sketch), :mod:`~fashrec.demo.silhouettes` (one
outline per category), :mod:`~fashrec.demo.prints` (patterns) and :mod:`~fashrec.demo.textures`
(materials); :func:`draw_garment` puts them together.
"""

from __future__ import annotations

import random
from typing import Sequence

import numpy as np
from PIL import Image

from fashrec.demo.prints import paint_print
from fashrec.demo.silhouettes import SILHOUETTES, Cut
from fashrec.demo.sketch import COLORS, WHITE, Sketch, luminance, resolve_color
from fashrec.demo.textures import TEXTURES, blur, grid
from fashrec.errors import UsageError

CATEGORIES = ("shirt", "t-shirt", "dress", "skirt", "trousers", "jacket", "sweater", "shoes", "bag")
MATERIALS = ("cotton", "linen", "denim", "wool", "silk", "leather", "polyester", "suede")
PATTERNS = ("solid", "striped", "checked", "dotted", "floral")
SLEEVES = ("long", "short", "sleeveless")

# The cuts each category can be drawn in; the first one is the default. The catalog names products
# after their cut ("Pleated skirt", "Derby shoes"), so title and picture agree.
STYLES: dict[str, tuple[str, ...]] = {
    "shirt": ("classic",),
    "t-shirt": ("crew",),
    "dress": ("a-line", "shift", "maxi"),
    "skirt": ("a-line", "pencil", "pleated"),
    "trousers": ("straight", "wide-leg", "slim"),
    "jacket": ("blazer", "trucker"),
    "sweater": ("crew", "v-neck"),
    "shoes": ("sneaker", "derby", "runner"),
    "bag": ("handbag", "tote"),
}
DEFAULT_SLEEVE = {"shirt": "long", "t-shirt": "short", "dress": "sleeveless", "jacket": "long", "sweater": "long"}

# --------------------------------------------------------------------------------------------------
# Putting it together


def _studio_light(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Soft top light plus a few broad folds, so flat shapes read as cloth."""
    yy, xx = grid(h, w)
    folds = sum(np.sin(2 * np.pi * (xx / w * f + rng.uniform(0, 1))) * a for f, a in ((1.3, 0.025), (2.7, 0.015)))
    return (1.02 - 0.07 * yy / h + folds).astype(np.float32)


def _check_choice(kind: str, value: str, allowed: Sequence[str]) -> str:
    key = " ".join(str(value).split()).casefold()
    if key not in allowed:
        raise UsageError(f"unknown {kind} '{value}'", hint=f"known {kind}s: " + ", ".join(allowed))
    return key


def draw_garment(category: str, color: str | Sequence[int], pattern: str = "solid", material: str = "cotton",
                 size: tuple[int, int] = (96, 128), seed: int = 0, *, sleeve: str | None = None,
                 fitted: bool = False, style: str | None = None) -> Image.Image:
    """Draw one product shot: the garment centred on white, ``size`` = (width, height).

    ``sleeve`` (long/short/sleeveless) applies to tops and dresses, ``fitted`` tapers women's cuts at the
    waist, ``style`` picks a cut from :data:`STYLES`. The seed varies proportions, print placement and
    texture noise; the same arguments always give the same pixels.
    """
    category = _check_choice("category", category, CATEGORIES)
    pattern = _check_choice("pattern", pattern, PATTERNS)
    material = _check_choice("material", material, MATERIALS)
    base = resolve_color(color)
    style = _check_choice(f"{category} style", style, STYLES[category]) if style else STYLES[category][0]
    sleeve = _check_choice("sleeve", sleeve, SLEEVES) if sleeve else DEFAULT_SLEEVE.get(category, "long")
    w, h = size
    if w < 8 or h < 8:
        raise UsageError(f"image size must be at least 8x8 pixels, got {w}x{h}")

    shape_rng = random.Random(seed)
    stretch = (1 + shape_rng.uniform(-0.05, 0.05), 1 + shape_rng.uniform(-0.03, 0.03))
    sk = Sketch((w, h), stretch=stretch)
    SILHOUETTES[category](sk, Cut(sleeve=sleeve, fitted=fitted, style=style), base)
    noise = np.random.default_rng(seed % 2**63)  # numpy refuses negative seeds; Python's random does not

    fabric = sk.raster("fabric")
    if material == "wool":  # knitwear has a soft, fuzzy outline
        fabric = np.clip(blur(fabric, 0.5) * 1.1, 0, 1)
    cloth = paint_print(base, pattern, category, (w, h), random.Random(seed + 1))
    multiplier, highlight = TEXTURES[material](h, w, noise)
    edge = 1 - 0.45 * np.clip(fabric - blur(fabric, 1.3), 0, 1)  # darker rim: the cloth curves away
    light = _studio_light(h, w, noise)
    garment = cloth * (multiplier * light * edge)[..., None] + (highlight * 255)[..., None]

    seam, shade = sk.raster("seam"), sk.raster("shade")
    if luminance(base) < 0.2:  # stitching on black cloth catches the light instead of shadowing
        garment = garment + 28 * seam[..., None]
    else:
        garment = garment * (1 - 0.38 * seam)[..., None]
    garment = garment * (1 - 0.4 * shade)[..., None]

    trims = [(layer[1], sk.raster(layer)) for layer in sk.layers() if isinstance(layer, tuple) and layer[0] == "trim"]
    silhouette = np.maximum.reduce([fabric] + [t for _, t in trims])
    shadow = blur(np.roll(silhouette, (2, 1), axis=(0, 1)), 2.0) * (1 - silhouette)
    out = WHITE * (1 - 0.10 * shadow)[..., None]
    out = out * (1 - fabric[..., None]) + garment * fabric[..., None]
    for color_rgb, alpha in trims:
        shaded = np.array(color_rgb, np.float32) * (light * edge)[..., None]
        out = out * (1 - alpha[..., None]) + shaded * alpha[..., None]
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "RGB")


__all__ = [
    "CATEGORIES", "COLORS", "MATERIALS", "PATTERNS", "SLEEVES", "STYLES", "TEXTURES", "draw_garment",
    "luminance", "resolve_color",
]
