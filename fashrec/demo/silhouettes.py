"""Demo layer: silhouettes: one drawing function per garment category, on a :class:`~fashrec.demo.sketch.Sketch`."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from fashrec.demo.sketch import (
    CENTRE_X,
    RGB,
    Point,
    Sketch,
    luminance,
    mirror,
    symmetric,
)


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
