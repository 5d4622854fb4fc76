"""Demo layer: drawing primitives for the demo garments: the palette and a supersampled vector sketch.

Shapes are described in a 96x128 design space and rasterised four times larger, then box-averaged
down, which gives smooth edges without any anti-aliasing support from ``ImageDraw``.
"""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np
from PIL import Image, ImageDraw

from fashrec.errors import UsageError

RGB = tuple[int, int, int]
Point = tuple[float, float]

# Names follow the colour vocabulary of real product catalogues (and of the encoder's training data),
# values are what such a garment typically looks like in a studio photo, not the pure hue.
COLORS: dict[str, RGB] = {
    "black": (30, 30, 33),
    "white": (246, 246, 243),
    "cream": (238, 228, 204),
    "beige": (214, 195, 162),
    "khaki": (176, 160, 112),
    "tan": (184, 134, 86),
    "brown": (104, 66, 40),
    "grey": (136, 137, 141),
    "charcoal": (62, 64, 70),
    "navy blue": (33, 45, 84),
    "blue": (42, 88, 168),
    "light blue": (158, 192, 226),
    "green": (36, 110, 64),
    "olive": (102, 106, 56),
    "red": (190, 32, 44),
    "maroon": (114, 28, 46),
    "pink": (238, 166, 188),
    "yellow": (240, 202, 62),
    "orange": (230, 118, 38),
    "purple": (104, 60, 140),
}

DESIGN_W, DESIGN_H = 96, 128
CENTRE_X = DESIGN_W / 2
SUPERSAMPLE = 4
WHITE = np.array([255.0, 255.0, 255.0], dtype=np.float32)


def resolve_color(color: str | Sequence[int]) -> RGB:
    """A colour name from :data:`COLORS` (any case/spacing) or an explicit RGB triple."""
    if isinstance(color, str):
        key = " ".join(color.split()).casefold()
        if key not in COLORS:
            raise UsageError(f"unknown colour '{color}'", hint="known colours: " + ", ".join(COLORS))
        return COLORS[key]
    rgb = tuple(int(c) for c in color)
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        raise UsageError(f"a colour must be a name or three integers 0..255, got {color!r}")
    return rgb  # type: ignore[return-value]


def luminance(rgb: Sequence[float]) -> float:
    """Perceived lightness in 0..1 (Rec. 601 weights): decides dark-on-light or light-on-dark details."""
    r, g, b = rgb
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255.0


# --------------------------------------------------------------------------------------------------
# Vector sketching in design space


class Sketch:
    """Named greyscale layers drawn in design coordinates and rasterised at the output size.

    Layers: ``fabric`` (the garment's outline), ``seam`` (stitching and edges, darkened),
    ``shade`` (insides seen through necklines, the shoe behind), and ``("trim", rgb)`` layers for
    parts with their own colour (buttons, soles, clasps). Pattern layers use the same machinery.
    """

    def __init__(self, size: tuple[int, int], *, stretch: tuple[float, float] = (1.0, 1.0)) -> None:
        self.size = size
        w, h = size
        self.scale = min(w / DESIGN_W, h / DESIGN_H) * SUPERSAMPLE
        self.origin = ((w * SUPERSAMPLE - DESIGN_W * self.scale) / 2, (h * SUPERSAMPLE - DESIGN_H * self.scale) / 2)
        self.stretch = stretch
        self.shift: Point = (0.0, 0.0)  # design units; lets a shape whose outline is off-centre recentre itself
        self._layers: dict[Hashable, tuple[Image.Image, ImageDraw.ImageDraw]] = {}

    def _map(self, p: Point) -> Point:
        # Per-seed proportions: a garment is a little wider or longer around the picture's centre.
        x = CENTRE_X + (p[0] + self.shift[0] - CENTRE_X) * self.stretch[0]
        y = DESIGN_H / 2 + (p[1] + self.shift[1] - DESIGN_H / 2) * self.stretch[1]
        return (self.origin[0] + x * self.scale, self.origin[1] + y * self.scale)

    def _draw(self, layer: Hashable) -> ImageDraw.ImageDraw:
        if layer not in self._layers:
            w, h = self.size
            im = Image.new("L", (w * SUPERSAMPLE, h * SUPERSAMPLE), 0)
            self._layers[layer] = (im, ImageDraw.Draw(im))
        return self._layers[layer][1]

    def polygon(self, layer: Hashable, points: Sequence[Point], value: int = 255) -> None:
        self._draw(layer).polygon([self._map(p) for p in points], fill=value)

    def line(self, layer: Hashable, points: Sequence[Point], width: float = 0.8, value: int = 255) -> None:
        px = max(1, round(width * self.scale))
        self._draw(layer).line([self._map(p) for p in points], fill=value, width=px, joint="curve")

    def ellipse(self, layer: Hashable, centre: Point, rx: float, ry: float | None = None, value: int = 255) -> None:
        ry = rx if ry is None else ry
        x0, y0 = self._map((centre[0] - rx, centre[1] - ry))
        x1, y1 = self._map((centre[0] + rx, centre[1] + ry))
        self._draw(layer).ellipse([x0, y0, x1, y1], fill=value)

    def arc(self, layer: Hashable, box: tuple[float, float, float, float], start: float, end: float,
            width: float) -> None:
        x0, y0 = self._map(box[:2])
        x1, y1 = self._map(box[2:])
        self._draw(layer).arc([x0, y0, x1, y1], start, end, fill=255, width=max(1, round(width * self.scale)))

    def layers(self) -> list[Hashable]:
        return list(self._layers)

    def raster(self, layer: Hashable) -> np.ndarray:
        """The layer at output size as floats in 0..1 (zeros if nothing was drawn on it)."""
        if layer not in self._layers:
            return np.zeros((self.size[1], self.size[0]), dtype=np.float32)
        im = self._layers[layer][0].reduce(SUPERSAMPLE)
        return np.asarray(im, dtype=np.float32) / 255.0


def mirror(points: Sequence[Point]) -> list[Point]:
    return [(DESIGN_W - x, y) for x, y in points]


def symmetric(left: Sequence[Point]) -> list[Point]:
    """A closed outline from its left half, listed top to bottom."""
    return list(left) + mirror(list(reversed(left)))
