"""Outfit layer: scoring a (partial) outfit: which rule contributed what.

An outfit is the anchor plus one piece per filled slot. Its compatibility score is a weighted mean of
four cues, each in 0..1, multiplied by the share of required slots filled:

- ``consistency``: how well each piece's gender, usage and season fit the outfit's (fit tables of the
  slot definition; 0-fit pieces never get here);
- ``colour``: mean pairwise colour harmony over all garments (``outfit.colors``) minus the penalties for
  more than one loud colour and more than one blue-denim piece;
- ``style``: mean pairwise image-embedding agreement, calibrated so 0.5 is a typical pair;
- ``occasion``: how well the pieces' images match a text prompt for the occasion (only with an encoder).

Optional slots add a small bonus when filled, so they are filled unless the piece would hurt the look.
Pieces the shopper's profile prefers (a preferred value or brand) add their profile boost on top.
Every evaluation works on small precomputed pair matrices, so beam search can call it thousands of times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from fashrec.catalog.colors import ColorInfo
from fashrec.outfit.harmony import (
    DENIM_PENALTY,
    LOUD_PENALTY,
    denim_pieces,
    loud_colors,
)

WEIGHTS = {"consistency": 0.35, "colour": 0.35, "style": 0.2, "occasion": 0.1}
OPTIONAL_BONUS = 0.02


@dataclass
class Reason:
    rule: str
    score: float
    weight: float
    points: float          # what the rule added to the outfit score
    detail: str

    def to_dict(self) -> dict:
        return {"rule": self.rule, "score": round(self.score, 3), "weight": round(self.weight, 3),
                "points": round(self.points, 3), "detail": self.detail}


@dataclass
class PoolScores:
    """Per-garment and pairwise cues of one request. Index 0 is the anchor, 1.. the candidates."""

    fit: np.ndarray                 # consistency per garment (anchor: 1)
    occasion: np.ndarray | None     # occasion-prompt agreement per garment (anchor unused)
    harmony: np.ndarray             # pairwise colour harmony
    style: np.ndarray               # pairwise style agreement
    colors: list[ColorInfo | None]
    names: list[str] = field(default_factory=list)   # colour names as shown to people
    bonus: list[float] | None = None                 # profile boost per garment (anchor: 0)


@dataclass
class Breakdown:
    score: float
    reasons: list[Reason]


def cue_weights(with_occasion: bool) -> dict[str, float]:
    """The cue weights, renormalised to sum to 1 (without an encoder there is no occasion cue)."""
    weights = {k: v for k, v in WEIGHTS.items() if with_occasion or k != "occasion"}
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()}


class OutfitScorer:
    def __init__(self, pool: PoolScores, required: int) -> None:
        self.pool = pool
        self.required = max(required, 1)
        self.weights = cue_weights(pool.occasion is not None)
        # Plain lists: beam search evaluates thousands of tiny outfits, where numpy's per-call
        # overhead would dominate.
        self._fit = [float(x) for x in pool.fit]
        self._occasion = [float(x) for x in pool.occasion] if pool.occasion is not None else None
        self._harmony = pool.harmony.tolist()
        self._style = pool.style.tolist()
        self._loud = [c.name if c is not None and c.is_loud else None for c in pool.colors]
        self._denim = [c is not None and c.name == "denim" for c in pool.colors]
        self._bonus = list(pool.bonus) if pool.bonus is not None else None

    def cues(self, pieces: list[int]) -> dict[str, float]:
        """The cue values of anchor + ``pieces`` (pool indices)."""
        if not pieces:
            return {"consistency": 1.0, "colour": 1.0, "style": 0.5,
                    **({"occasion": 0.5} if self._occasion is not None else {})}
        items = [0, *pieces]
        colour = style = 0.0
        for a, b in combinations(items, 2):
            colour += self._harmony[a][b]
            style += self._style[a][b]
        pairs = len(items) * (len(items) - 1) / 2
        loud = {self._loud[i] for i in items} - {None}
        denim = sum(1 for i in items if self._denim[i])
        colour = colour / pairs - LOUD_PENALTY * max(0, len(loud) - 1) - DENIM_PENALTY * max(0, denim - 1)
        cues = {
            "consistency": sum(self._fit[i] for i in pieces) / len(pieces),
            "colour": max(0.0, colour),
            "style": style / pairs,
        }
        if self._occasion is not None:
            cues["occasion"] = sum(self._occasion[i] for i in pieces) / len(pieces)
        return cues

    def score(self, pieces: list[int], required_filled: int, optional_filled: int) -> float:
        cues = self.cues(pieces)
        base = sum(self.weights[k] * v for k, v in cues.items())
        return (base * min(1.0, required_filled / self.required) + OPTIONAL_BONUS * optional_filled
                + self.profile_bonus(pieces))

    def profile_bonus(self, pieces: list[int]) -> float:
        return sum(self._bonus[i] for i in pieces) if self._bonus is not None else 0.0

    def explain(self, pieces: list[int], required_filled: int, optional: list[str],
                context: dict[str, str | None], missing: list[str]) -> Breakdown:
        """The score of a finished outfit with one :class:`Reason` per rule."""
        cues = self.cues(pieces)
        coverage = min(1.0, required_filled / self.required)
        items = [0, *pieces]
        reasons: list[Reason] = []
        wanted = ", ".join(f"{k} {v}" for k, v in context.items() if v) or "no gender/usage/season known"
        details = {
            "consistency": f"{wanted}: pieces fit {cues['consistency']:.2f} on average",
            "colour": self._colour_detail(items),
            "style": f"image-embedding style agreement {cues['style']:.2f} (0.5 = a typical pair)",
            "occasion": f"pieces' images match the occasion prompt {cues.get('occasion', 0):.2f}",
        }
        for rule, value in cues.items():
            w = self.weights[rule]
            reasons.append(Reason(rule, value, w, w * value * coverage, details[rule]))
        slots_note = f"{required_filled}/{self.required} required slots filled"
        if missing:
            slots_note += f" (nothing suitable for: {', '.join(missing)})"
        reasons.append(Reason("coverage", coverage, 0.0, 0.0, slots_note + "; the score above is scaled by it"))
        if optional:
            reasons.append(Reason("complete look", 1.0, OPTIONAL_BONUS, OPTIONAL_BONUS * len(optional),
                                  f"optional {', '.join(optional)} added"))
        bonus = self.profile_bonus(pieces)
        if bonus:
            liked = sum(1 for i in pieces if self._bonus is not None and self._bonus[i] > 0)
            reasons.append(Reason("profile", 1.0, 0.0, bonus, f"{liked} piece(s) your profile prefers"))
        total = sum(r.points for r in reasons)
        return Breakdown(total, reasons)

    def _colour_detail(self, items: list[int]) -> str:
        p = self.pool
        names = [p.names[i] for i in items]
        text = " + ".join(names)
        notes = []
        neutrals = sum(1 for i in items if p.colors[i] is not None and p.colors[i].is_neutral)
        if neutrals:
            notes.append(f"{neutrals} neutral")
        clashes = [f"{p.names[i]}/{p.names[j]}" for i, j in combinations(items, 2) if p.harmony[i, j] <= 0.25]
        if clashes:
            notes.append("clash: " + ", ".join(clashes))
        loud = loud_colors([p.colors[i] for i in items])
        if len(loud) > 1:
            notes.append(f"{len(loud)} loud colours ({', '.join(loud)}): -{LOUD_PENALTY * (len(loud) - 1):.2f}")
        elif loud:
            notes.append(f"one loud colour ({loud[0]})")
        denim = denim_pieces([p.colors[i] for i in items])
        if denim > 1:
            notes.append(f"double denim ({denim} blue-denim pieces): -{DENIM_PENALTY * (denim - 1):.2f}")
        return text + (f" ({'; '.join(notes)})" if notes else "")
