"""AMMR stage 2b, relative wishes made concrete: "shorter sleeves", "darker", "warmer", "cheaper" against the anchor.

The planner reads only a direction; what it is relative to is the anchor. Each wish names an
attribute role and a direction on an ordered scale of that role's values. Resolved against the
anchor's value (inferred with confidence, or from the catalog), the wish becomes the set of catalog
values strictly in that direction -- a stated constraint like any other, which the loop filters on,
the guard verifies and the explanation names, and which is never relaxed.

A wish stays a soft cue, and says why, when the catalog has no such attribute, when the anchor's value
is unknown or off the scale, when the request already sets or releases that attribute ("darker navy"
sets the colour), or when nothing in the catalog lies further in that direction.

The scales:

- sleeve: sleeveless < short < half / three-quarter < long (``shorter sleeves``, ``longer sleeves``;
  plain ``shorter`` / ``longer`` of a top too when the catalog has no length attribute);
- length: mini < knee / midi < maxi (``shorter``, ``longer``). What plain ``shorter`` moves is decided by
  the category (the request's, else the anchor's): on a dress, a skirt, trousers or a coat it is the
  hem, never the sleeves -- a catalog without a length attribute makes it a hint, not a sleeve filter;
- fit: slim < regular < loose (``tighter``, ``looser``);
- season: summer < spring, fall < winter (``cooler``, ``warmer``);
- colour lightness (CIELAB L* of the colour model in :mod:`fashrec.catalog.colors`), with a margin of
  :data:`LIGHTNESS_STEP` so "darker than navy" is clearly darker (``darker``, ``lighter``);
- pattern: solid < any print (``simpler`` asks for solid, ``bolder`` for a print when the anchor is
  solid; a patterned anchor made "bolder" steers by colour chroma instead);
- price: ``cheaper`` / ``pricier`` than the anchor's price (a catalog product), or for a photo from outside
  the catalog than the median price of its nearest look-alikes of the same category and gender
  (:func:`fashrec.ammr.anchor.estimate_price`), named with its basis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from fashrec.ammr.types import Anchor, Resolution
from fashrec.catalog import Vocabulary, normalize_value
from fashrec.catalog.colors import color_info
from fashrec.catalog.roles import attribute_for_role
from fashrec.catalog.wording import singular
from fashrec.planner import Plan

# Rank of known values on each ordered scale (normalised catalog spellings).
SCALES: dict[str, dict[str, int]] = {
    "sleeve": {"sleeveless": 0, "strapless": 0, "no sleeves": 0, "cap": 1, "cap sleeve": 1, "short": 1,
               "short sleeve": 1, "short sleeves": 1, "half": 2, "half sleeve": 2, "half sleeves": 2,
               "elbow": 2, "three quarter": 2, "three-quarter": 2, "3/4": 2, "long": 3, "long sleeve": 3,
               "long sleeves": 3, "full": 3, "full sleeve": 3, "full sleeves": 3},
    "length": {"mini": 0, "short": 0, "cropped": 0, "knee": 1, "knee length": 1, "midi": 1, "regular": 1,
               "maxi": 2, "long": 2, "ankle": 2, "ankle length": 2, "floor length": 2, "full length": 2},
    "fit": {"skinny": 0, "slim": 0, "slim fit": 0, "fitted": 0, "tight": 0, "regular": 1, "regular fit": 1,
            "straight": 1, "classic": 1, "loose": 2, "relaxed": 2, "relaxed fit": 2, "oversized": 2,
            "baggy": 2, "wide": 2},
    "season": {"summer": 0, "spring": 1, "fall": 1, "autumn": 1, "winter": 2},
}

# Garments whose plain "shorter" / "longer" is the hem's (a category's last word, in the singular): a
# shorter dress is a shorter dress, whatever its sleeves.
LENGTH_GARMENTS = {
    "dress", "nightdress", "gown", "skirt", "trousers", "pants", "jeans", "jeggings", "shorts", "leggings",
    "capris", "tights", "jumpsuit", "romper", "dungarees", "kurta", "kurti", "tunic", "coat", "overcoat",
    "raincoat", "churidar", "salwar", "patiala", "saree", "lehenga", "robe",
}
LENGTH_WISHES = ("shorter", "longer")

LIGHTNESS_STEP = 12.0     # L* difference that reads as clearly darker / lighter
CHROMA_STEP = 15.0        # C* difference that reads as clearly bolder


@dataclass(frozen=True)
class Wish:
    roles: tuple[str, ...]    # attribute roles to try, in order
    direction: int            # +1: up the scale (longer, warmer, lighter, bolder), -1: down
    colour_measure: str = "lightness"   # for the colour role: CIELAB lightness or chroma


WISHES: dict[str, Wish] = {
    "shorter sleeves": Wish(("sleeve",), -1), "longer sleeves": Wish(("sleeve",), +1),
    "shorter": Wish(("length", "sleeve"), -1), "longer": Wish(("length", "sleeve"), +1),
    "tighter": Wish(("fit",), -1), "looser": Wish(("fit",), +1),
    "cooler": Wish(("season",), -1), "warmer": Wish(("season",), +1),
    "darker": Wish(("color",), -1), "lighter": Wish(("color",), +1),
    "simpler": Wish(("pattern",), -1), "bolder": Wish(("pattern", "color"), +1, "chroma"),
    "cheaper": Wish(("price",), -1), "pricier": Wish(("price",), +1),
}


def resolve_relative(plan: Plan, anchor: Anchor, vocabulary: Vocabulary, *,
                     min_confidence: float = 0.5) -> Resolution:
    """Turn ``plan.relative`` into hard constraints relative to ``anchor`` (see the module docstring)."""
    out = Resolution()
    attributes = vocabulary.attributes()
    known = anchor.values(min_confidence)
    category = garment_category(plan, known, attributes)
    for wish_name in plan.relative:
        wish = WISHES.get(wish_name)
        if wish is None:      # "more formal" / "more casual": the planner already set the usage
            continue
        reasons = []
        for role in wish_roles(wish_name, category):
            if role == "price":
                note = _resolve_price(wish_name, wish.direction, anchor, plan, out)
                if note:
                    out.notes.append(note)
                    break
                unknown = anchor.price is None and anchor.estimated_price is None
                reasons.append("the anchor has no price" if unknown else "the request sets a price")
                continue
            attr = attribute_for_role(attributes, role)
            if attr is None:
                hem = wish_name in LENGTH_WISHES and is_length_garment(category)
                reasons.append(f"the catalog has no {role}" + (f": for a {singular(str(category))}, {wish_name} "
                                                                "means the length, not the sleeves" if hem else ""))
                continue
            if attr in plan.set or attr in plan.drop:
                reasons.append(f"the request {'releases' if attr in plan.drop else 'sets'} the {attr}")
                continue
            if attr in out.within:
                reasons.append(f"another wish already moves the {attr}")
                continue
            current = known.get(attr)
            if current is None:
                reasons.append(f"the anchor's {attr} is unknown")
                continue
            allowed, rule = _direction(role, wish, current, vocabulary.values(attr))
            if allowed is None:
                reasons.append(rule)
                continue
            if not allowed:
                reasons.append(f"nothing in the catalog is {wish_name} than {attr} {current}")
                continue
            out.within[attr] = allowed
            out.notes.append(f"{wish_name}: {attr} {rule} (the anchor's is {current})")
            break
        else:
            out.notes.append(f"{wish_name}: only a hint for ranking ({'; '.join(reasons)})")
    return out


def is_length_garment(category: str | None) -> bool:
    """Whether plain "shorter" / "longer" of this category means its length: "Dresses", "maxi skirt"."""
    words = (category or "").lower().replace("-", " ").split()
    return bool(words) and singular(words[-1]) in LENGTH_GARMENTS


def garment_category(plan: Plan, known: dict[str, str], attributes: list[str]) -> str | None:
    """The category a wish is said about: the one the request sets, else the anchor's (read with confidence)."""
    attr = attribute_for_role(attributes, "category")
    return (plan.set.get(attr) or known.get(attr)) if attr else None


def wish_roles(wish_name: str, category: str | None) -> tuple[str, ...]:
    """The roles a wish may move, in order: the hem alone for "shorter" on a dress (never its sleeves)."""
    wish = WISHES.get(wish_name)
    if wish is None:
        return ()
    if wish_name in LENGTH_WISHES and is_length_garment(category):
        return ("length",)
    return wish.roles


def wish_attribute(wish_name: str, vocabulary: Vocabulary, category: str | None = None) -> str | None:
    """The catalog attribute a wish would move (the first of its roles the catalog has) for a product of
    ``category``; None for price, or when the catalog lacks the attribute."""
    for role in wish_roles(wish_name, category):
        if role != "price" and (attr := attribute_for_role(vocabulary.attributes(), role)):
            return attr
    return None


def _resolve_price(name: str, direction: int, anchor: Anchor, plan: Plan, out: Resolution) -> str | None:
    price = anchor.price if anchor.price is not None else anchor.estimated_price
    if price is None:
        return None
    if anchor.price is not None:
        whose = f"the anchor's {price:g}"
    else:
        whose = f"the anchor's estimated {price:g} ({anchor.price_basis or 'the median of its look-alikes'})"
    if direction < 0 and plan.price_max is None:
        # Strictly cheaper: a cent below the anchor's price (prices are in the catalog's currency).
        out.price_max = round(price - 0.01, 2)
        return f"{name}: price below {whose}"
    if direction > 0 and plan.price_min is None:
        out.price_min = round(price + 0.01, 2)
        return f"{name}: price above {whose}"
    return None


def _direction(role: str, wish: Wish, current: str, values: list[str]) -> tuple[list[str] | None, str]:
    """(catalog values strictly in the direction from ``current``, how it was decided); None: no scale."""
    direction = wish.direction
    if role == "color":
        if wish.colour_measure == "chroma":
            return _by_colour(direction, current, values, lambda c: c.chroma, CHROMA_STEP, "more vivid")
        return _by_colour(direction, current, values, lambda c: c.lightness, LIGHTNESS_STEP,
                          "darker" if direction < 0 else "lighter")
    if role == "pattern":
        solid = {"solid", "plain"}
        if direction < 0:
            if current in solid:
                return None, "the anchor is already solid"
            return [v for v in values if v in solid], "solid (no print)"
        if current not in solid:
            return None, "the anchor is already patterned"
        return [v for v in values if v not in solid], "with a print (not solid)"
    scale = SCALES.get(role, {})
    rank = scale.get(normalize_value(current))
    if rank is None:
        return None, f"'{current}' is not on the {role} scale"
    steps = {v: (r - rank) * direction for v in values if (r := scale.get(normalize_value(v))) is not None}
    allowed = sorted((v for v, step in steps.items() if step > 0), key=lambda v: (steps[v], v))  # nearest first
    return allowed, f"in {', '.join(allowed)}" if allowed else ""


def _by_colour(direction: int, current: str, values: list[str], measure: Callable, step: float,
               word: str) -> tuple[list[str] | None, str]:
    anchor = color_info(current)
    if anchor is None or anchor.kind == "multi":
        return None, f"the colour '{current}' has no known shade"
    distance = {}
    for value in values:
        info = color_info(value)
        if info is not None and info.kind != "multi":
            distance[value] = (measure(info) - measure(anchor)) * direction
    allowed = sorted((v for v, d in distance.items() if d >= step), key=lambda v: (distance[v], v))  # nearest first
    return allowed, f"{word}: {', '.join(allowed[:6])}{' ...' if len(allowed) > 6 else ''}"
