"""Garments drawn with Pillow as small e-commerce product shots (flat lay, centred on white).

The demo catalog and the tests need product photos that nobody has to download or license. The
embedded image encoder was trained on small real product photos, so what matters here is a
recognisable silhouette, a realistic colour and a material texture that differs measurably between
materials -- not fine detail. Every drawing is a pure function of its arguments and ``seed``.

Shapes are described in a 96x128 design space and rasterised four times larger, then box-averaged
down, which gives smooth edges without any anti-aliasing support from ``ImageDraw``.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Callable, Hashable, Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..errors import UsageError

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


# --------------------------------------------------------------------------------------------------
# Silhouettes


@dataclass(frozen=True)
class Cut:
    """How one garment is cut: what the catalog says about it plus the drawing's own variant."""

    sleeve: str
    fitted: bool
    style: str


def _sleeves(sk: Sketch, shoulder: Point, armpit: Point, sleeve: str, *, length: float, flare: float = 12.0,
             cuff: float = 10.0, cuff_band: float = 0.0, ribs: bool = False) -> None:
    """Both sleeves of a flat-laid top, hanging slightly away from the body."""
    if sleeve == "sleeveless":
        return
    (sx, sy), (ax, ay) = shoulder, armpit
    if sleeve == "short":
        outer, inner = (sx - 13, sy + 22), (ax - 3, ay + 9)
    else:
        outer, inner = (sx - flare, length - 2), (sx - flare + cuff, length)
    left = [shoulder, outer, inner, armpit]
    for pts in (left, mirror(left)):
        sk.polygon("fabric", pts)
        sk.line("seam", [pts[0], pts[3]], 0.6)  # shoulder-to-armpit seam separates sleeve and body
    if sleeve != "long" or not cuff_band:
        return
    t = 1 - cuff_band / (length - sy)
    a = (sx + (outer[0] - sx) * t, sy + (outer[1] - sy) * t)
    b = (ax + (inner[0] - ax) * t, ay + (inner[1] - ay) * t)
    for band in ([a, b, inner, outer], mirror([a, b, inner, outer])):
        sk.line("seam", band[:2], 0.6)
        if ribs:
            for k in np.linspace(0.1, 0.9, 6):
                top = (band[0][0] + (band[1][0] - band[0][0]) * k, band[0][1] + (band[1][1] - band[0][1]) * k)
                bottom = (band[3][0] + (band[2][0] - band[3][0]) * k, band[3][1] + (band[2][1] - band[3][1]) * k)
                sk.line("seam", [top, bottom], 0.4, value=120)


def _torso(sk: Sketch, neck: Point, shoulder: Point, armpit: Point, hem_y: float, *, fitted: bool,
           hem_curve: float = 0.0) -> None:
    taper = 3.5 if fitted else 0.0
    ax, ay = armpit
    left = [neck, shoulder, armpit, (ax + taper, ay + (hem_y - ay) * 0.45), (ax + taper * 0.3, hem_y),
            (CENTRE_X, hem_y + hem_curve)]
    sk.polygon("fabric", symmetric(left))


def _buttons(sk: Sketch, x: float, ys: Sequence[float], color: RGB, r: float = 1.2) -> None:
    for y in ys:
        sk.ellipse(("trim", color), (x, y), r)


def _button_color(base: RGB) -> RGB:
    return (236, 232, 222) if luminance(base) < 0.45 else tuple(int(c * 0.55) for c in base)  # type: ignore


def _pointed_collar(sk: Sketch, wing: list[Point]) -> None:
    for pts in (wing, mirror(wing)):
        sk.polygon("fabric", pts)
        sk.line("seam", pts + [pts[0]], 0.5)


def draw_shirt(sk: Sketch, cut: Cut, base: RGB) -> None:
    shoulder, armpit = (20.0, 31.0), (23.0, 50.0)
    _torso(sk, (41, 26), shoulder, armpit, 100, fitted=cut.fitted, hem_curve=3)
    _sleeves(sk, shoulder, armpit, cut.sleeve, length=100, cuff_band=7)
    sk.polygon("fabric", [(41, 26), (42, 22), (54, 22), (55, 26)])  # collar stand at the back
    sk.polygon("shade", [(42, 25), (54, 25), (48, 31)])
    _pointed_collar(sk, [(42, 24), (48, 31), (44, 39), (38, 30)])
    sk.line("seam", [(48, 31), (48, 102.5)], 0.5)
    sk.line("seam", [(50.8, 34), (50.8, 102)], 0.4)
    _buttons(sk, 49.4, [42, 54, 66, 78, 90], _button_color(base))
    if not cut.fitted:  # chest pocket, as on most men's shirts
        sk.line("seam", [(55, 45), (55, 55), (59, 57), (63, 55), (63, 45)], 0.5)


def draw_tshirt(sk: Sketch, cut: Cut, base: RGB) -> None:
    if cut.sleeve == "sleeveless":  # a tank top: narrow straps, deep armholes
        taper = 2.5 if cut.fitted else 0.0
        left = [(39, 25), (35, 25), (33, 36), (27, 52), (27 + taper, 75), (27, 100), (CENTRE_X, 100)]
        sk.polygon("fabric", symmetric(left))
    else:
        shoulder, armpit = (21.0, 30.0), (25.0, 48.0)
        _torso(sk, (39, 26), shoulder, armpit, 98, fitted=cut.fitted)
        _sleeves(sk, shoulder, armpit, cut.sleeve, length=98, flare=12, cuff=9)
    neck = [(39, 26), (41, 31), (44.5, 34), (48, 35)]
    sk.polygon("shade", symmetric(neck))
    sk.line("seam", symmetric(neck), 1.0)


def draw_sweater(sk: Sketch, cut: Cut, base: RGB) -> None:
    shoulder, armpit, hem = (20.0, 28.0), (24.0, 48.0), 100.0
    _torso(sk, (39, 24), shoulder, armpit, hem, fitted=cut.fitted)
    _sleeves(sk, shoulder, armpit, "long", length=102, flare=12, cuff=11, cuff_band=8, ribs=True)
    if cut.style == "v-neck":
        neck = [(39, 24), (43, 36), (48, 46)]
    else:
        neck = [(39, 24), (41, 29), (44.5, 32), (48, 33)]
    sk.polygon("shade", symmetric(neck))
    sk.line("seam", symmetric(neck), 1.6, value=150)  # the ribbed neckband
    # Ribbed hem band: a band edge plus fine vertical ribs.
    sk.line("seam", [(24, hem - 8), (72, hem - 8)], 0.6)
    for x in np.arange(25.0, 72.0, 1.8):
        sk.line("seam", [(x, hem - 7.5), (x, hem)], 0.4, value=120)


def draw_jacket(sk: Sketch, cut: Cut, base: RGB) -> None:
    shoulder, armpit = (18.0, 28.0), (23.0, 50.0)
    hem = 104 if cut.style == "blazer" else 98
    _torso(sk, (40, 22), shoulder, armpit, hem, fitted=cut.fitted and cut.style == "blazer")
    _sleeves(sk, shoulder, armpit, "long", length=102, flare=11, cuff=11, cuff_band=6 if cut.style == "trucker" else 0)
    if cut.style == "blazer":
        sk.polygon("shade", [(41, 22), (55, 22), (48, 62)], value=200)
        lapel = [(41, 21), (34, 28), (38, 39), (35.5, 42), (47.5, 61)]
        for pts in (lapel, mirror(lapel)):
            sk.line("seam", pts, 0.6)
        sk.line("seam", [(48, 62), (48, hem)], 0.5)
        _buttons(sk, 49.5, [69, 82], _button_color(base), r=1.6)
        for pocket in ([(28, 87), (41, 87)], [(55, 87), (68, 87)]):
            sk.line("seam", pocket, 0.8)
        sk.line("seam", [(56, 45), (65, 45)], 0.6)  # breast pocket welt
        return
    # Trucker jacket: pointed collar, yoke, flap chest pockets, metal buttons and a waistband.
    sk.polygon("shade", [(41, 22), (55, 22), (48, 27)])
    _pointed_collar(sk, [(40, 20), (48, 27), (43, 37), (33, 28)])
    sk.line("seam", [(48, 27), (48, hem)], 0.6)
    flap = [(30, 45), (43, 45), (43, 50), (36.5, 52), (30, 50), (30, 45)]
    for pts in ([(23, 40), (44, 42)], flap, [(35, 53), (35, hem - 7)]):
        sk.line("seam", pts, 0.5)
        sk.line("seam", mirror(pts), 0.5)
    sk.line("seam", [(23, hem - 7), (73, hem - 7)], 0.6)
    copper: RGB = (184, 118, 62)
    _buttons(sk, 50, [34, 48, 62, 76, hem - 3.5], copper, r=1.3)
    _buttons(sk, 36.5, [50], copper, r=1.1)
    _buttons(sk, 59.5, [50], copper, r=1.1)


def draw_dress(sk: Sketch, cut: Cut, base: RGB) -> None:
    hem = 122 if cut.style == "maxi" else 114
    hem_half = {"a-line": 31.0, "shift": 22.0, "maxi": 30.0}[cut.style]
    waist_y = 50.0
    if cut.sleeve == "sleeveless":
        top = [(41, 14), (38, 14), (36, 22), (34, 33)]
    else:
        top = [(41, 14), (34, 18), (34, 33)]
    waist_half = 12.0 if cut.style != "shift" else 14.5
    left = top + [(CENTRE_X - waist_half, waist_y), (CENTRE_X - hem_half, hem),
                  (CENTRE_X - hem_half * 0.5, hem + 1.5), (CENTRE_X, hem + 2)]
    sk.polygon("fabric", symmetric(left))
    if cut.sleeve == "short":
        cap_sleeve = [(34, 18), (26, 31), (33, 35), (34.5, 31)]
        sk.polygon("fabric", cap_sleeve)
        sk.polygon("fabric", mirror(cap_sleeve))
    elif cut.sleeve == "long":
        _sleeves(sk, (34, 18), (34.5, 33), "long", length=86, flare=10, cuff=7)
    neck = [(41, 14), (44, 20), (48, 22)]
    sk.polygon("shade", symmetric(neck))
    sk.line("seam", symmetric(neck), 0.6)
    if cut.style != "shift":
        sk.line("seam", [(CENTRE_X - waist_half, waist_y), (CENTRE_X + waist_half, waist_y)], 0.6)
        for t in (-0.55, -0.2, 0.2, 0.55):  # soft folds of the flared skirt
            fold = [(CENTRE_X + t * waist_half * 1.5, waist_y + 6), (CENTRE_X + t * hem_half * 1.4, hem - 2)]
            sk.line("seam", fold, 0.5, value=90)


def draw_skirt(sk: Sketch, cut: Cut, base: RGB) -> None:
    top, band = 24.0, 6.0
    hem, hem_half = {"a-line": (104.0, 30.0), "pencil": (100.0, 19.5), "pleated": (104.0, 30.0)}[cut.style]
    sk.polygon("fabric", [(31, top), (65, top), (65, top + band), (31, top + band)])
    sk.line("seam", [(31, top + band), (65, top + band)], 0.6)
    hip = (29.5, top + band + 16) if cut.style == "pencil" else (31, top + band)
    left = [(31, top + band), hip, (CENTRE_X - hem_half, hem), (CENTRE_X, hem + (2 if cut.style != "pencil" else 0))]
    sk.polygon("fabric", symmetric(left))
    _buttons(sk, 62, [top + band / 2], _button_color(base), r=1.1)
    if cut.style == "pleated":
        for t in np.linspace(-0.85, 0.85, 9):
            sk.line("seam", [(CENTRE_X + t * 17, top + band + 1), (CENTRE_X + t * hem_half, hem)], 0.5, value=170)
    elif cut.style == "pencil":
        sk.line("seam", [(CENTRE_X, hem - 12), (CENTRE_X, hem)], 0.6)  # back vent
    else:
        for t in (-0.5, 0.5):
            sk.line("seam", [(CENTRE_X + t * 14, top + band + 10), (CENTRE_X + t * hem_half * 1.3, hem - 1)], 0.5,
                    value=90)


def draw_trousers(sk: Sketch, cut: Cut, base: RGB) -> None:
    top, band = 10.0, 7.0
    leg_outer, leg_inner = {"straight": (23.0, 44.5), "wide-leg": (17.0, 45.0), "slim": (27.0, 43.5)}[cut.style]
    sk.polygon("fabric", [(29, top), (67, top), (67, top + band), (29, top + band)])
    left = [(29, top + band), (28, 40), (leg_outer, 122), (leg_inner, 122), (CENTRE_X, 48)]
    sk.polygon("fabric", symmetric(left))
    sk.line("seam", [(29, top + band), (67, top + band)], 0.6)
    sk.line("seam", [(51, top + band), (51, 40), (48, 45)], 0.6)  # fly
    for pocket in ([(34, top + band), (29, 30)], mirror([(34, top + band), (29, 30)])):
        sk.line("seam", pocket, 0.6)
    for x in (33, 44, 52, 63):
        sk.line("seam", [(x, top - 0.5), (x, top + band + 0.5)], 0.8)  # belt loops
    crease_x = (leg_outer + leg_inner) / 2
    for crease in ([(36, 50), (crease_x, 120)], mirror([(36, 50), (crease_x, 120)])):
        sk.line("seam", crease, 0.5, value=80)
    _buttons(sk, 48, [top + band / 2], _button_color(base) if luminance(base) > 0.3 else (184, 118, 62), r=1.2)


def _shoe_outline(style: str) -> tuple[list[Point], list[Point]]:
    """Side view facing right in a 76x28 box: (upper, sole)."""
    if style == "derby":
        upper = [(1, 16), (3, 7), (6, 5), (13, 6), (20, 9), (28, 6), (34, 6), (46, 11), (60, 15), (70, 17),
                 (75, 21), (76, 23), (1, 23)]
        sole = [(0, 22), (76, 22), (75.5, 24.5), (14, 24.5), (14, 28), (3, 28), (2, 24.5), (0, 24)]
        return upper, sole
    upper = [(0, 15), (3, 6), (6, 3), (12, 4), (16, 8), (21, 4), (24, 0), (29, 1), (31, 5), (42, 9), (52, 13),
             (63, 15), (71, 17), (75, 20), (76, 22), (1, 22)]
    sole_top = 19.0 if style == "runner" else 21.0
    sole = [(0, sole_top), (76, sole_top + 1), (76, 24), (73, 27), (3, 27), (0, 24)]
    return upper, sole


def _placed(points: Sequence[Point], *, dx: float, dy: float, y_scale: float = 1.0) -> list[Point]:
    return [(x + dx, y * y_scale + dy) for x, y in points]


def draw_shoes(sk: Sketch, cut: Cut, base: RGB) -> None:
    """A pair seen from the side, one behind the other, as in most shoe product photos."""
    upper, sole = _shoe_outline(cut.style)
    if cut.style == "derby":
        sole_color: RGB = (38, 30, 26) if luminance(base) < 0.5 else (92, 62, 40)
    else:
        sole_color = (240, 240, 236) if luminance(base) < 0.85 else (208, 206, 200)
    lace_color: RGB = (240, 240, 236) if luminance(base) < 0.5 else tuple(int(c * 0.5) for c in base)  # type: ignore
    for dx, dy, behind in ((14.0, 30.0, True), (8.0, 64.0, False)):
        # Drawn a little taller than life so the shoe keeps its shape when the encoder shrinks it.
        at = functools.partial(_placed, dx=dx, dy=dy, y_scale=1.3)
        sk.polygon("fabric", at(upper))
        sk.polygon("shade", at(upper), value=110 if behind else 0)
        sk.polygon(("trim", sole_color), at(sole))
        sk.line("seam", at(upper[:-1]), 0.6)
        if cut.style == "derby":
            sk.line("seam", at([(30, 7), (36, 12), (46, 11.5)]), 0.5)
            sk.line("seam", at([(58, 22), (60, 17), (66, 16)]), 0.5)  # toe cap
            sk.line(("trim", lace_color), at([(31, 7.5), (35, 9.5)]), 0.6)
        else:
            for k in range(5):
                px, py = 33 + 4.2 * k, 6 + 1.8 * k
                sk.line(("trim", lace_color), at([(px - 1.2, py + 2.4), (px + 1.2, py - 2.4)]), 0.8)
            sk.line("seam", at([(56, 22), (59, 16), (66, 15.5)]), 0.5)
            if cut.style == "runner":
                stripe = lace_color if luminance(base) > 0.5 else (240, 240, 236)
                for off in (0, 4):
                    sk.line(("trim", stripe), at([(22 + off, 18), (36 + off, 8)]), 1.0)


def draw_bag(sk: Sketch, cut: Cut, base: RGB) -> None:
    gold: RGB = (204, 170, 92)
    sk.shift = (0.0, -5.0)  # the outlines below sit low in the frame; centre bag and handle together
    if cut.style == "tote":
        sk.polygon("fabric", [(20, 54), (76, 54), (82, 110), (80, 113), (16, 113), (14, 110)])
        sk.arc("fabric", (31, 20, 65, 86), 180, 360, 3.6)
        sk.line("fabric", [(31, 53), (31, 55)], 3.6)
        sk.line("fabric", [(65, 53), (65, 55)], 3.6)
        sk.line("seam", [(20, 58), (76, 58)], 0.5)
        for x in (31, 65):
            sk.line("seam", [(x - 2, 54), (x - 2, 66), (x + 2, 66), (x + 2, 54)], 0.5)
        return
    sk.polygon("fabric", [(20, 60), (76, 60), (80, 104), (79, 110), (75, 112), (21, 112), (17, 110), (16, 104)])
    sk.arc("fabric", (30, 27, 66, 83), 180, 360, 4.2)
    sk.line("fabric", [(30, 54), (31, 61)], 4.2)
    sk.line("fabric", [(66, 54), (65, 61)], 4.2)
    sk.line("seam", [(20, 60), (22, 78), (48, 84), (74, 78), (76, 60)], 0.7)
    sk.polygon("shade", [(22, 78), (48, 84), (74, 78), (74, 80.5), (48, 86.5), (22, 80.5)], value=120)
    sk.polygon(("trim", gold), [(45, 81), (51, 81), (51, 88), (45, 88)])
    for x in (30.5, 65.5):
        sk.polygon(("trim", gold), [(x - 2.5, 58), (x + 2.5, 58), (x + 2.5, 61.5), (x - 2.5, 61.5)])


SILHOUETTES: dict[str, Callable[[Sketch, Cut, RGB], None]] = {
    "shirt": draw_shirt,
    "t-shirt": draw_tshirt,
    "dress": draw_dress,
    "skirt": draw_skirt,
    "trousers": draw_trousers,
    "jacket": draw_jacket,
    "sweater": draw_sweater,
    "shoes": draw_shoes,
    "bag": draw_bag,
}

# --------------------------------------------------------------------------------------------------
# Prints: the colour layer before the material's texture


def _distinct(names: Sequence[str], base: RGB) -> list[RGB]:
    return [COLORS[n] for n in names if sum(abs(a - b) for a, b in zip(COLORS[n], base)) > 90]


def _ink(base: RGB, rng: random.Random) -> RGB:
    """Stripes, checks and dots: neutral inks, so the cloth's own colour still dominates and stays
    what the catalog says it is."""
    names = ("navy blue", "black", "red") if luminance(base) > 0.55 else ("white", "cream")
    return rng.choice(_distinct(names, base))


def _flower_colors(base: RGB, rng: random.Random) -> tuple[RGB, RGB]:
    names = ("red", "pink", "navy blue", "white") if luminance(base) > 0.55 else ("pink", "white", "yellow", "cream")
    pool = _distinct(names, base)
    rng.shuffle(pool)
    return pool[0], pool[1 % len(pool)]


def _band(sk: Sketch, layer: str, start: float, width: float, vertical: bool) -> None:
    """One straight band across the whole picture (a stripe, or one direction of a check)."""
    if vertical:
        sk.polygon(layer, [(start, -4), (start + width, -4), (start + width, 132), (start, 132)])
    else:
        sk.polygon(layer, [(-4, start), (100, start), (100, start + width), (-4, start + width)])


def _draw_print(sk: Sketch, pattern: str, category: str, rng: random.Random) -> None:
    """The print's shapes, on layers named after what they are (``ink``, ``petal-a``...)."""
    phase_x, phase_y = rng.uniform(0, 8), rng.uniform(0, 8)
    if pattern == "striped":
        vertical = category in ("shirt", "trousers", "skirt")  # shirting stripes run down, Breton ones across
        period, width = (6.0, 1.6) if vertical else (8.0, 2.8)
        for k in range(-2, 24):
            _band(sk, "ink", k * period + (phase_x if vertical else phase_y), width, vertical)
    elif pattern == "checked":
        for k in range(-2, 20):
            _band(sk, "check-v", k * 8.0 + phase_x, 3.0, True)
            _band(sk, "check-h", k * 8.0 + phase_y, 3.0, False)
    elif pattern == "dotted":
        for row in range(-1, 20):
            for col in range(-1, 15):
                sk.ellipse("ink", (col * 7.0 + (3.5 if row % 2 else 0) + phase_x, row * 7.0 + phase_y), 1.5)
    elif pattern == "floral":
        for row in range(-1, 11):
            for col in range(-1, 8):
                cx = col * 13.0 + (6.5 if row % 2 else 0) + rng.uniform(-3, 3) + phase_x
                cy = row * 13.0 + rng.uniform(-3, 3) + phase_y
                petal = "petal-a" if rng.random() < 0.6 else "petal-b"
                angle = rng.uniform(0, np.pi)
                sk.ellipse("leaf", (cx + 4 * np.cos(angle), cy + 4 * np.sin(angle)), 1.6, 1.1)
                for k in range(5):
                    a = angle + k * 2 * np.pi / 5
                    sk.ellipse(petal, (cx + 2.0 * np.cos(a), cy + 2.0 * np.sin(a)), 1.7)
                sk.ellipse("flower-centre", (cx, cy), 0.9)


def _paint_print(base: RGB, pattern: str, category: str, size: tuple[int, int], rng: random.Random) -> np.ndarray:
    """The garment's cloth colour at every pixel (H, W, 3), before texture and light."""
    w, h = size
    cloth = np.empty((h, w, 3), dtype=np.float32)
    cloth[:] = base
    if pattern == "solid":
        return cloth
    sk = Sketch(size)
    _draw_print(sk, pattern, category, rng)
    if pattern == "floral":
        petal_a, petal_b = _flower_colors(base, rng)
        leaf = COLORS["green"] if luminance(base) > 0.35 else (92, 150, 96)
        centre = COLORS["yellow"] if COLORS["yellow"] not in (petal_a, base) else COLORS["white"]
        paints = [("leaf", leaf), ("petal-a", petal_a), ("petal-b", petal_b), ("flower-centre", centre)]
        coverages = [sk.raster(layer) for layer, _ in paints]
        colors = [color for _, color in paints]
    elif pattern == "checked":
        # Gingham: each band direction half-tints the cloth, crossings tint it fully.
        coverages = [np.clip(0.45 * (sk.raster("check-v") + sk.raster("check-h")), 0, 1)]
        colors = [_ink(base, rng)]
    else:
        coverages, colors = [sk.raster("ink")], [_ink(base, rng)]
    for alpha, color in zip(coverages, colors):
        cloth = cloth * (1 - alpha[..., None]) + np.array(color, np.float32) * alpha[..., None]
    return cloth


# --------------------------------------------------------------------------------------------------
# Material textures: a brightness multiplier plus a highlight, both (H, W)


def _blur(a: np.ndarray, sigma_y: float, sigma_x: float | None = None) -> np.ndarray:
    """Separable Gaussian blur with reflected borders (numpy only; SciPy is not a dependency)."""
    sigma_x = sigma_y if sigma_x is None else sigma_x
    out = a.astype(np.float32)
    for axis, sigma in ((0, sigma_y), (1, sigma_x)):
        if sigma <= 0:
            continue
        radius = max(1, int(3 * sigma))
        taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
        taps /= taps.sum()
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect")
        n = out.shape[axis]
        out = sum(t * np.take(padded, np.arange(i, i + n), axis=axis) for i, t in enumerate(taps))
    return out.astype(np.float32)


def _unit(a: np.ndarray) -> np.ndarray:
    """Rescale noise to zero mean and unit spread, so amplitudes below mean what they say."""
    return (a - a.mean()) / (a.std() + 1e-6)


Texture = tuple[np.ndarray, np.ndarray]


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.mgrid[0:h, 0:w].astype(np.float32)


def texture_cotton(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Fine plain weave: a one-pixel over-under checker with a little fibre noise."""
    yy, xx = _grid(h, w)
    weave = ((xx + yy) % 2) * 2 - 1
    return 1 + 0.03 * weave + 0.018 * rng.standard_normal((h, w)), np.zeros((h, w), np.float32)


def texture_linen(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Irregular, slubby weave: threads of uneven thickness show as short horizontal streaks."""
    yy, xx = _grid(h, w)
    slubs = _unit(_blur(rng.standard_normal((h, w)), 0.3, 3.5))
    threads = _unit(rng.standard_normal((1, w))) * 0.015 + _unit(rng.standard_normal((h, 1))) * 0.02
    weave = ((xx % 2) != (yy % 2)) * 0.04 - 0.02
    return 1 + 0.075 * slubs + threads + weave, np.zeros((h, w), np.float32)


def texture_denim(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Diagonal twill (lines rising to the right) with pale weft flecks and faded vertical streaks."""
    yy, xx = _grid(h, w)
    twill = np.sin(2 * np.pi * (xx + yy) / 3.0)
    fade = _unit(_blur(rng.standard_normal((h, w)), 6.0, 0.8))
    flecks = (rng.random((h, w)) < 0.03) * 0.08
    return 0.88 + 0.09 * twill + 0.05 * fade + 0.02 * rng.standard_normal((h, w)), flecks.astype(np.float32)


def texture_wool(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Knit: rows of V-shaped stitches under fuzzy, mottled fibre noise."""
    yy, xx = _grid(h, w)
    stitches = np.sin(2 * np.pi * (yy + np.abs((xx % 4) - 1.5)) / 3.0)
    fuzz = _unit(_blur(rng.standard_normal((h, w)), 0.8))
    mottle = _unit(_blur(rng.standard_normal((h, w)), 3.0))
    speckle = rng.standard_normal((h, w))
    return 1 + 0.06 * stitches + 0.08 * fuzz + 0.04 * mottle + 0.05 * speckle, np.zeros((h, w), np.float32)


def texture_silk(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Smooth sheen: broad light and dark bands with one soft specular streak, no grain at all."""
    yy, xx = _grid(h, w)
    angle = rng.uniform(0.5, 1.1)
    along = (xx * np.cos(angle) + yy * np.sin(angle)) / max(h, w)
    bands = np.sin(2 * np.pi * (along * 1.6 + rng.uniform(0, 1)))
    centre = rng.uniform(0.35, 0.65)
    streak = np.exp(-(((along - centre) / 0.07) ** 2))
    return 1 + 0.10 * bands - 0.04, (0.28 * streak).astype(np.float32)


def texture_leather(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Pebbled grain (dark creases between small cells) catching a broad glossy highlight."""
    yy, xx = _grid(h, w)
    cells = _unit(_blur(rng.standard_normal((h, w)), 0.8))
    creases = -np.abs(cells) + 0.8
    along = (xx * 0.8 - yy * 0.6) / max(h, w)
    glow = np.exp(-(((along - rng.uniform(-0.2, 0.3)) / 0.16) ** 2))
    highlight = glow * (0.10 + 0.05 * np.clip(cells, 0, None))
    return 1 + 0.055 * creases - 0.02, highlight.astype(np.float32)


def texture_polyester(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Smooth synthetic: a faint sheen and almost no grain."""
    yy, xx = _grid(h, w)
    sheen = np.sin(2 * np.pi * (xx + 0.5 * yy) / (1.4 * w) + rng.uniform(0, 6.3))
    return 1 + 0.05 * sheen + 0.01 * rng.standard_normal((h, w)), np.zeros((h, w), np.float32)


def texture_suede(h: int, w: int, rng: np.random.Generator) -> Texture:
    """Matte brushed nap: soft mottling stretched in the brushing direction, slightly darker than smooth."""
    nap = _unit(_blur(rng.standard_normal((h, w)), 1.6, 1.1))
    return 0.94 + 0.05 * nap + 0.015 * rng.standard_normal((h, w)), np.zeros((h, w), np.float32)


TEXTURES: dict[str, Callable[[int, int, np.random.Generator], Texture]] = {
    "cotton": texture_cotton,
    "linen": texture_linen,
    "denim": texture_denim,
    "wool": texture_wool,
    "silk": texture_silk,
    "leather": texture_leather,
    "polyester": texture_polyester,
    "suede": texture_suede,
}

# --------------------------------------------------------------------------------------------------
# Putting it together


def _studio_light(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Soft top light plus a few broad folds, so flat shapes read as cloth."""
    yy, xx = _grid(h, w)
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
        fabric = np.clip(_blur(fabric, 0.5) * 1.1, 0, 1)
    cloth = _paint_print(base, pattern, category, (w, h), random.Random(seed + 1))
    multiplier, highlight = TEXTURES[material](h, w, noise)
    edge = 1 - 0.45 * np.clip(fabric - _blur(fabric, 1.3), 0, 1)  # darker rim: the cloth curves away
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
    shadow = _blur(np.roll(silhouette, (2, 1), axis=(0, 1)), 2.0) * (1 - silhouette)
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
