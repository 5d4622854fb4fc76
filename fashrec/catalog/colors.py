"""Catalog layer: colour names placed in colour space (sRGB, CIELAB lightness and chroma, RYB hue).

Catalogs name colours ("navy blue", "off white", "mustard"); :func:`color_info` turns each name into a
studio-photo RGB value from :data:`COLOR_TABLE` and its CIELAB lightness and chroma (perceptual) and hue
on the artists' red-yellow-blue wheel (Itten's piecewise-linear map from the HSV hue). "Darker" and
"lighter" (``ammr.relative``) and outfit colour harmony (``outfit.harmony``) both read this model.

Unknown names fall back to their last word ("dark green" -> green), otherwise to None.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from functools import lru_cache

RGB = tuple[int, int, int]

# kind: "neutral" pairs with anything; "metallic" too (accessories); "multi" only with neutrals;
# "chromatic" is judged by hue. Values are how such a garment looks in a product photo.
COLOR_TABLE: dict[str, tuple[RGB, str]] = {
    # neutrals
    "black": ((30, 30, 33), "neutral"),
    "white": ((246, 246, 243), "neutral"),
    "off white": ((240, 236, 224), "neutral"),
    "ivory": ((242, 238, 220), "neutral"),
    "cream": ((238, 228, 204), "neutral"),
    "beige": ((214, 195, 162), "neutral"),
    "nude": ((226, 188, 160), "neutral"),
    "skin": ((228, 190, 160), "neutral"),
    "camel": ((193, 154, 107), "neutral"),
    "tan": ((184, 134, 86), "neutral"),
    "khaki": ((176, 160, 112), "neutral"),
    "taupe": ((140, 124, 110), "neutral"),
    "mushroom brown": ((150, 130, 112), "neutral"),
    "brown": ((104, 66, 40), "neutral"),
    "coffee brown": ((92, 64, 48), "neutral"),
    "grey": ((136, 137, 141), "neutral"),
    "grey melange": ((160, 160, 162), "neutral"),
    "light grey": ((196, 196, 198), "neutral"),
    "charcoal": ((62, 64, 70), "neutral"),
    "navy blue": ((33, 45, 84), "neutral"),
    "olive": ((102, 106, 56), "neutral"),
    "denim": ((70, 98, 140), "neutral"),
    # metallics (watches, jewellery, belts' buckles): neutral, as accessories are worn
    "silver": ((192, 192, 196), "metallic"),
    "steel": ((150, 156, 162), "metallic"),
    "gold": ((212, 175, 55), "metallic"),
    "bronze": ((176, 124, 64), "metallic"),
    "copper": ((184, 115, 51), "metallic"),
    "metallic": ((170, 170, 176), "metallic"),
    # prints
    "multi": ((150, 120, 140), "multi"),
    # chromatic colours
    "red": ((190, 32, 44), "chromatic"),
    "maroon": ((114, 28, 46), "chromatic"),
    "burgundy": ((110, 24, 40), "chromatic"),
    "wine": ((104, 28, 52), "chromatic"),
    "rust": ((168, 72, 36), "chromatic"),
    "orange": ((230, 118, 38), "chromatic"),
    "coral": ((240, 128, 110), "chromatic"),
    "peach": ((246, 190, 160), "chromatic"),
    "yellow": ((240, 202, 62), "chromatic"),
    "mustard": ((208, 160, 40), "chromatic"),
    "lime green": ((150, 200, 60), "chromatic"),
    "fluorescent green": ((120, 250, 60), "chromatic"),
    "green": ((36, 110, 64), "chromatic"),
    "sea green": ((46, 139, 110), "chromatic"),
    "mint": ((170, 224, 196), "chromatic"),
    "teal": ((0, 118, 118), "chromatic"),
    "turquoise blue": ((40, 180, 190), "chromatic"),
    "blue": ((42, 88, 168), "chromatic"),
    "light blue": ((158, 192, 226), "chromatic"),
    "sky blue": ((135, 190, 230), "chromatic"),
    "royal blue": ((40, 70, 200), "chromatic"),
    "purple": ((104, 60, 140), "chromatic"),
    "lavender": ((186, 168, 216), "chromatic"),
    "lilac": ((196, 160, 210), "chromatic"),
    "mauve": ((176, 128, 156), "chromatic"),
    "magenta": ((200, 40, 140), "chromatic"),
    "fuchsia": ((220, 50, 150), "chromatic"),
    "pink": ((238, 166, 188), "chromatic"),
    "rose": ((220, 110, 130), "chromatic"),
}

# Spellings and synonyms mapped onto table names.
ALIASES: dict[str, str] = {
    "gray": "grey", "grey melange": "grey melange", "gray melange": "grey melange", "navy": "navy blue",
    "offwhite": "off white", "off-white": "off white", "turquoise": "turquoise blue", "aqua": "turquoise blue",
    "multicolor": "multi", "multicolour": "multi", "multi color": "multi", "multicoloured": "multi",
    "multicolored": "multi", "indigo": "denim", "dark blue": "navy blue", "light gray": "light grey",
    "golden": "gold", "violet": "purple", "oatmeal": "beige", "sand": "beige", "stone": "beige",
    "chocolate": "coffee brown", "ecru": "cream", "bordeaux": "burgundy", "ochre": "mustard",
}

LOUD_CHROMA = 55.0        # CIELAB chroma from which a colour draws the eye on its own
PASTEL_CHROMA = 35.0      # soft colours: light and low chroma
PASTEL_LIGHTNESS = 70.0


@dataclass(frozen=True)
class ColorInfo:
    """One catalog colour name resolved to the values the rules need."""

    name: str
    rgb: RGB
    kind: str              # neutral | metallic | multi | chromatic
    lightness: float       # CIELAB L*, 0..100
    chroma: float          # CIELAB C*
    ryb_hue: float         # degrees on the red-yellow-blue wheel

    @property
    def is_neutral(self) -> bool:
        return self.kind in ("neutral", "metallic")

    @property
    def is_loud(self) -> bool:
        return self.kind == "chromatic" and self.chroma >= LOUD_CHROMA

    @property
    def is_pastel(self) -> bool:
        return self.kind == "chromatic" and self.chroma < PASTEL_CHROMA and self.lightness >= PASTEL_LIGHTNESS

    @property
    def hex(self) -> str:
        return "#%02x%02x%02x" % self.rgb


def _lab(rgb: RGB) -> tuple[float, float, float]:
    """sRGB (D65) -> CIELAB."""
    def linear(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


# Itten's wheel: HSV hue -> RYB hue, piecewise linear through the primaries and secondaries.
_RGB_TO_RYB = ((0, 0), (35, 60), (60, 120), (120, 180), (180, 210), (240, 240), (300, 300), (360, 360))


def ryb_hue(rgb: RGB) -> float:
    h, _, _ = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
    deg = h * 360.0
    for (x0, y0), (x1, y1) in zip(_RGB_TO_RYB, _RGB_TO_RYB[1:]):
        if deg <= x1:
            return y0 + (deg - x0) * (y1 - y0) / (x1 - x0)
    return deg


def hue_distance(a: float, b: float) -> float:
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def canonical_name(name: str) -> str:
    key = " ".join(str(name).replace("-", " ").split()).casefold()
    return ALIASES.get(key, key)


@lru_cache(maxsize=1024)
def color_info(name: str | None) -> ColorInfo | None:
    """Resolve a colour name (any case or spelling in the table); None when it means nothing to us."""
    if not name:
        return None
    key = canonical_name(name)
    if key not in COLOR_TABLE:
        last = canonical_name(key.rsplit(" ", 1)[-1])   # "dark green" -> "green"
        if last not in COLOR_TABLE:
            return None
        key = last
    rgb, kind = COLOR_TABLE[key]
    lightness, a, b = _lab(rgb)
    return ColorInfo(key, rgb, kind, lightness, math.hypot(a, b), ryb_hue(rgb))
