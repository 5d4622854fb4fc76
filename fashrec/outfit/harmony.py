"""Outfit layer: the colour-harmony model, which garment colours go together, and why.

Catalogs name colours ("navy blue", "off white", "mustard"); the colour model
(:mod:`fashrec.catalog.colors`) turns each name into a studio-photo colour, and this model judges a
pair of colours with rules a stylist would give:

1. **Neutrals go with everything.** Black, white, greys, navy, the beiges and browns, khaki, olive,
   denim and the metallics (silver, gold, steel ...) pair with any colour (score 0.9).
2. **Chromatic pairs** are judged by their distance on the artists' (red-yellow-blue) colour wheel,
   the wheel colour advice is written for: red's complement is green, blue's is orange, yellow's is
   purple. The RYB hue is obtained from the HSV hue with Itten's piecewise-linear map.
   - under 30 degrees: *tonal* (0.85 when the lightness differs, else *matching* 0.75);
   - 30-75: *analogous* (0.75);
   - 75-105: *clash* (0.2), e.g. red with mustard, green with purple;
   - 105-150: *triadic / split-complementary* (0.5);
   - 150-180: *complementary* (0.7, a deliberate contrast).
   Two soft pastels never clash outright (at least 0.55).
3. **"Multi"** (multicoloured prints) goes with neutrals only: 0.45 next to a colour, 0.2 next to
   another multi.
4. **At most one loud colour** per outfit: a colour is loud when its CIELAB chroma is at least
   :data:`LOUD_CHROMA` (saturated red, yellow, royal blue, fluorescent green ...). Every distinct loud
   colour beyond the first costs :data:`LOUD_PENALTY` at outfit level (see ``outfit.scoring``).
5. **One blue-denim piece.** Blue denim is a neutral, but a denim jacket over blue jeans ("double
   denim") reads as a uniform: every blue-denim piece beyond the first costs :data:`DENIM_PENALTY`.
   Black or white denim keeps its own colour and is not counted.

Unknown names fall back to their last word ("dark green" -> green), otherwise to "unknown" (0.5: no
evidence either way). Lightness and chroma come from CIELAB (perceptual); hue relations from RYB.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from fashrec.catalog.colors import ColorInfo, color_info, hue_distance

LOUD_PENALTY = 0.15       # per distinct loud colour beyond the first (outfit level)
DENIM_PENALTY = 0.15      # per blue-denim piece beyond the first (outfit level)
UNKNOWN_SCORE = 0.5


@dataclass(frozen=True)
class Harmony:
    score: float          # 0 (clash) .. 1 (sure match)
    relation: str         # neutral, tonal, analogous, complementary, clash, ...
    detail: str

    def to_dict(self) -> dict:
        return {"score": round(self.score, 3), "relation": self.relation, "detail": self.detail}


def _relation(d: float) -> tuple[str, float]:
    if d < 30:
        return "tonal", 0.85
    if d < 75:
        return "analogous", 0.75
    if d < 105:
        return "clash", 0.2
    if d < 150:
        return "triadic", 0.5
    return "complementary", 0.7


@lru_cache(maxsize=8192)
def _harmony(a: ColorInfo | None, b: ColorInfo | None) -> Harmony:
    if a is None or b is None:
        return Harmony(UNKNOWN_SCORE, "unknown", "colour unknown")
    pair = f"{a.name} + {b.name}"
    if a.is_neutral and b.is_neutral:
        return Harmony(0.9, "neutral", f"{pair}: neutrals together")
    if a.is_neutral or b.is_neutral:
        neutral, other = (a, b) if a.is_neutral else (b, a)
        return Harmony(0.9, "neutral", f"{pair}: {neutral.name} is neutral, goes with {other.name}")
    if a.kind == "multi" or b.kind == "multi":
        if a.kind == b.kind:
            return Harmony(0.2, "busy", f"{pair}: two multicolour prints compete")
        return Harmony(0.45, "busy", f"{pair}: a print wants neutrals around it")
    d = hue_distance(a.ryb_hue, b.ryb_hue)
    relation, score = _relation(d)
    if relation == "tonal" and abs(a.lightness - b.lightness) < 15:
        relation, score = "matching", 0.75
    if a.is_pastel and b.is_pastel and score < 0.55:
        return Harmony(0.55, "pastel", f"{pair}: soft pastels (hues {d:.0f} degrees apart)")
    return Harmony(score, relation, f"{pair}: {relation} ({d:.0f} degrees apart on the colour wheel)")


def harmony(a: str | ColorInfo | None, b: str | ColorInfo | None) -> Harmony:
    """How well two colours (names or resolved infos) go together, with the rule that decided it."""
    ia = a if isinstance(a, ColorInfo) or a is None else color_info(a)
    ib = b if isinstance(b, ColorInfo) or b is None else color_info(b)
    return _harmony(ia, ib)


def loud_colors(colors: list[ColorInfo | None]) -> list[str]:
    """Distinct loud colour names among ``colors`` (the outfit rule allows one)."""
    return sorted({c.name for c in colors if c is not None and c.is_loud})


def denim_pieces(colors: list[ColorInfo | None]) -> int:
    """How many garments are blue denim (rule 5 allows one)."""
    return sum(1 for c in colors if c is not None and c.name == "denim")


def outfit_penalty(colors: list[ColorInfo | None]) -> float:
    """What rules 4 and 5 take off an outfit's colour score: extra loud colours, extra blue denim."""
    return (LOUD_PENALTY * max(0, len(loud_colors(colors)) - 1)
            + DENIM_PENALTY * max(0, denim_pieces(colors) - 1))
