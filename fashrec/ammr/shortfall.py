"""AMMR stage 7b, the shortfall: fewer exact matches than asked for, said plainly, with a way forward.

``results`` hold only products that satisfy every stated constraint and the anchor's identity (its
category and gender, when read with confidence). When there are fewer than k of them, the answer says
so ("only 4 linen shirts for men") and counts what giving up each constraint would yield, over the
catalog's metadata with the same vectorised masks the search filters with: "13 winter items for men if
you drop shirt", "no silk cream items if you drop shirt and for men", "3 silk shirts for men if you drop
cream (white 2, blue 1)". Near misses come from the best of those options, in a separate
``alternatives`` list, each naming what it lacks; the loop (:mod:`fashrec.ammr.loop`) fetches them.

The order in which options are offered (and near misses drawn): first what the shopper did not say --
the anchor's identity, one attribute at a time, most products first, then all of it at once -- and only
then what the shopper said, the change asked for last (a "same colour" keep before a relative wish,
a price, an exclusion, and the values the request sets). A way that would add nothing -- everything it
finds, the answer's constraints already let through ("the same 4 linen shirts if you drop for men"), or
an earlier way lets in exactly the same products -- is still listed, so the shopper sees why it does
not help, but after the useful ones; it cannot be taken and draws no near misses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Iterable

import numpy as np

from fashrec.ammr.guard import price_expectation
from fashrec.ammr.retrieve import FILTERABLE_COVERAGE, constraint_filter
from fashrec.ammr.types import Constraints, Option, Relaxation, Shortfall
from fashrec.catalog.roles import is_identity, role_of
from fashrec.catalog.wording import plural_noun, singular
from fashrec.index import Index
from fashrec.index.filters import Filter
from fashrec.planner import price_label
from fashrec.planner.plan import BRAND, SIZE

# Roles named before the noun in a phrase, in this order ("winter casual striped white linen shirts").
ADJECTIVE_ROLES = ("season", "usage", "pattern", "color", "material")
# How early an option is offered and used for near misses: lower first (see the module docstring).
PRIORITY = {("identity", "keep"): 0, ("identity", "either"): 0, ("look", "keep"): 0, ("stated", "keep"): 2,
            ("stated", "within"): 3, ("stated", "price"): 4, ("stated", "exclude"): 5, ("stated", "set"): 6}
ALL_ANCHOR_KEEPS = 1
# The checks whose release frees one attribute's value (what the added products have instead is counted).
FREED_VALUE = ("keep", "set", "within", "either")
TOP_VALUES = 3


@dataclass
class Counts:
    """How many products a set of constraints lets through, for one request: its stock rule and the
    products it never shows (the anchor itself, what the profile leaves out, earlier turns' picks)."""

    index: Index
    in_stock_only: bool
    hidden: np.ndarray | None = None
    base: Filter | None = None      # a filter every product must pass as well (search's --where)

    @classmethod
    def for_request(cls, index: Index, *, in_stock_only: bool, exclude_ids: Iterable[str] = (),
                    base: Filter | None = None) -> "Counts":
        positions = [p for i in exclude_ids if (p := index.position(i)) is not None]
        hidden = None
        if positions:
            hidden = np.zeros(len(index), dtype=bool)
            hidden[positions] = True
        if base is not None:    # the ids are hidden above: a mask cached per id set would not be reused
            base = replace(base, exclude_ids=set())
        return cls(index, in_stock_only, hidden, base)

    def mask(self, constraints: Constraints) -> np.ndarray:
        flt = constraint_filter(self.index, constraints, in_stock_only=self.in_stock_only)
        if self.base is not None:
            flt = flt.merged(self.base)
        mask = self.index.mask(flt)
        mask = np.ones(len(self.index), dtype=bool) if mask is None else mask.copy()
        if self.hidden is not None:
            mask &= ~self.hidden
        return mask

    def count(self, constraints: Constraints) -> int:
        return int(self.mask(constraints).sum())

    def exact(self, constraints: Constraints) -> bool:
        """Whether the count is exact: every required attribute is filtered on metadata. Otherwise some
        are only verified on the image, and the count is an upper bound."""
        return all(self.index.coverage(a) >= FILTERABLE_COVERAGE for a in constraints.wanted())

    def image_only(self, relaxation: Relaxation) -> bool:
        """Whether ``relaxation`` frees a constraint the filter cannot see: an attribute too few catalog
        rows list, checked only on the image (see :func:`fashrec.ammr.retrieve.constraint_filter`)."""
        return (relaxation.check in FREED_VALUE and relaxation.attribute not in (BRAND, SIZE)
                and self.index.coverage(relaxation.attribute) < FILTERABLE_COVERAGE)

    def top_values(self, mask: np.ndarray, attribute: str, *, besides: Iterable[str] = (),
                   limit: int = TOP_VALUES) -> dict[str, int]:
        """The commonest values of ``attribute`` under ``mask``, other than ``besides``: counted on the
        index's postings, so no product is read."""
        skip = set(besides)
        counts = Counter({v: n for v, n in self.index.value_counts(attribute, mask).items() if v not in skip})
        return dict(counts.most_common(limit))


# --- the constraints a short answer could give up ------------------------------------------------

def relaxations(constraints: Constraints, fixed: Iterable[str] = ()) -> list[Relaxation]:
    """Every constraint of ``constraints`` as something that could be given up, except the anchor
    attributes in ``fixed`` (what the shopper corrected: a fact about the anchor, not a wish)."""
    c, out, fixed = constraints, [], set(fixed)
    for attr, value in c.hard.items():
        if attr in fixed:
            continue
        kind = "stated" if attr in c.plan.keep else "identity" if is_identity(attr) else "look"
        out.append(Relaxation(kind, "keep", attr, f"{attr}={value}", value_label(attr, value)))
    for attr, readings in c.either.items():
        if attr not in c.hard and attr not in fixed:   # widened to the photo's two readings
            both = " or ".join(readings)
            out.append(Relaxation("identity", "either", attr, f"{attr}={both}", value_label(attr, both)))
    for attr, value in c.plan.set.items():
        out.append(Relaxation("stated", "set", attr, f"{attr}={value}", value_label(attr, value)))
    for attr, allowed in c.relative.within.items():
        out.append(Relaxation("stated", "within", attr, f"{attr} in {'/'.join(allowed)}",
                              f"{attr} {_few(allowed)}"))
    for attr, banned in c.plan.exclude.items():
        out.append(Relaxation("stated", "exclude", attr, f"{attr} not {'/'.join(banned)}",
                              f"not {'/'.join(banned)}"))
    if c.plan.brands:      # the products' own fields, as the guard checks them (fashrec.ammr.guard)
        out.append(Relaxation("stated", "set", BRAND, f"{BRAND}={'/'.join(c.plan.brands)}",
                              f"{BRAND} {'/'.join(c.plan.brands)}"))
    if c.plan.exclude_brands:
        out.append(Relaxation("stated", "exclude", BRAND, f"{BRAND} not {'/'.join(c.plan.exclude_brands)}",
                              f"not {'/'.join(c.plan.exclude_brands)}"))
    if c.plan.sizes:
        out.append(Relaxation("stated", "set", SIZE, f"{SIZE}={'/'.join(c.plan.sizes)}",
                              f"{SIZE} {'/'.join(c.plan.sizes)}"))
    low, high = c.price_range
    if low is not None or high is not None:
        label = price_label(low, high) or ""
        out.append(Relaxation("stated", "price", "price", f"price {price_expectation(low, high)}", label))
    return out


def without(constraints: Constraints, relax: Iterable[Relaxation]) -> Constraints:
    """``constraints`` with the given ones given up (a released anchor keep still helps ranking)."""
    keys = {(r.check, r.attribute) for r in relax}
    c, plan, relative = constraints, constraints.plan, constraints.relative
    hard = {a: v for a, v in c.hard.items() if ("keep", a) not in keys}
    soft = {**c.soft, **{a: v for a, v in c.hard.items() if ("keep", a) in keys}}
    either = {a: v for a, v in c.either.items() if ("keep", a) not in keys and ("either", a) not in keys}
    no_price = ("price", "price") in keys
    plan = replace(plan, set={a: v for a, v in plan.set.items() if ("set", a) not in keys},
                   exclude={a: list(v) for a, v in plan.exclude.items() if ("exclude", a) not in keys},
                   price_min=None if no_price else plan.price_min, price_max=None if no_price else plan.price_max,
                   brands=[] if ("set", BRAND) in keys else list(plan.brands),
                   exclude_brands=[] if ("exclude", BRAND) in keys else list(plan.exclude_brands),
                   sizes=[] if ("set", SIZE) in keys else list(plan.sizes))
    relative = replace(relative, within={a: list(v) for a, v in relative.within.items() if ("within", a) not in keys},
                       price_min=None if no_price else relative.price_min,
                       price_max=None if no_price else relative.price_max)
    return Constraints(plan, relative, hard, soft, either)


# --- options and the shortfall -------------------------------------------------------------------

def shortfall_options(counts: Counts, constraints: Constraints, fixed: Iterable[str] = ()) -> list[Option]:
    """What giving up each constraint (and all the anchor's keeps at once) would yield, in the order
    they are offered, numbered from 1: the ways that add products first, by priority, most products
    first; then those that add nothing new (everything they find, the answer's constraints already let
    through, or an earlier way finds the same); then those that find nothing."""
    singles = relaxations(constraints, fixed)
    groups: list[tuple[Relaxation, ...]] = [(r,) for r in singles]
    keeps = tuple(r for r in singles if r.kind != "stated")
    if len(keeps) > 1:
        groups.append(keeps)
    kept = counts.mask(constraints)
    ways = []
    for group in groups:
        relaxed = without(constraints, group)
        mask = counts.mask(relaxed)
        n = int(mask.sum())
        unseen = any(counts.image_only(r) for r in group)
        # What it adds, from metadata; a constraint checked only on the image is in no mask, so giving it
        # up cannot be told apart there: count all it finds, never call it useless.
        adds = n if unseen else int((mask & ~kept).sum())
        ways.append(_Way(group, relaxed, mask, n, counts.exact(relaxed), adds, unseen))
    ways.sort(key=lambda w: (w.count == 0, _priority(w.relax), -w.count))
    for i, way in enumerate(ways):        # a twin of a way offered before it adds nothing of its own
        if way.adds and not way.unseen:
            way.twin = next((w for w in ways[:i] if not w.unseen and np.array_equal(w.mask, way.mask)), None)
    ways.sort(key=lambda w: (not w.useful, w.count == 0, _priority(w.relax), -w.count))   # stable: twins stay after
    options = []
    for number, way in enumerate(ways, start=1):
        way.number = number
        same_as = way.twin.number if way.twin is not None else None
        top = _top_instead(counts, way.mask, constraints, way.relax) if way.useful else {}
        message = option_message(way.relaxed, way.relax, way.count, way.exact, top,
                                 same=way.count > 0 and not way.useful, same_as=same_as)
        options.append(Option(way.relax, way.count, way.exact, top, message, number, adds=way.adds,
                              same_as=same_as))
    return options


@dataclass(eq=False)
class _Way:
    """A way forward while it is being weighed: the products it lets through and whose twin it is."""

    relax: tuple[Relaxation, ...]
    relaxed: Constraints
    mask: np.ndarray
    count: int
    exact: bool
    adds: int
    unseen: bool              # it frees a constraint checked only on the image
    twin: "_Way | None" = None
    number: int = 0

    @property
    def useful(self) -> bool:
        return self.adds > 0 and self.twin is None


def _top_instead(counts: Counts, mask: np.ndarray, constraints: Constraints,
                 group: tuple[Relaxation, ...]) -> dict[str, int]:
    """What the products an option adds have instead of the one value it gives up ("white 2, blue 1")."""
    if len(group) != 1 or group[0].check not in FREED_VALUE or group[0].attribute in (BRAND, SIZE):
        return {}
    r, c = group[0], constraints
    if r.check in ("within", "either"):
        wanted = (c.relative.within if r.check == "within" else c.either).get(r.attribute)
    else:
        wanted = [c.hard.get(r.attribute) if r.check == "keep" else c.plan.set.get(r.attribute)]
    return counts.top_values(mask, r.attribute, besides=[w for w in wanted or () if w])


def shortfall(counts: Counts, constraints: Constraints, found: int, wanted: int, *,
              alternatives: bool = True, fixed: Iterable[str] = ()) -> Shortfall:
    """``fixed``: anchor attributes the shopper corrected, never offered to give up."""
    return Shortfall(found, wanted, shortfall_message(constraints, found),
                     shortfall_options(counts, constraints, fixed), alternatives,
                     [r.constraint for r in relaxations(constraints)])


def shortfall_message(constraints: Constraints, found: int) -> str:
    phrase = wanted_phrase(constraints, found)
    return f"no {phrase}" if found == 0 else f"only {found} {phrase}"


def option_message(relaxed: Constraints, group: tuple[Relaxation, ...], n: int, exact: bool,
                   top: dict[str, int], *, same: bool = False, same_as: int | None = None) -> str:
    """ "13 winter items for men if you drop shirt (...)"; ``same``: it lets in nothing new, "the same 4
    linen shirts if you drop for men", or "the same 11 linen items as way 1 if you drop ..."."""
    amount = "no" if n == 0 else str(n) if exact else f"up to {n}"
    if same:
        amount = f"the same {n}" if exact else f"the same {n} or fewer"
    twin = f" as way {same_as}" if same and same_as is not None else ""
    text = f"{amount} {wanted_phrase(relaxed, n)}{twin} if you drop {' and '.join(r.label for r in group)}"
    if top:
        text += " (" + ", ".join(f"{v} {k}" for v, k in top.items()) + ")"
    return text


def wanted_phrase(constraints: Constraints, count: int = 2) -> str:
    """What the constraints ask for, in words: "white linen shirts for men, not striped"."""
    c = constraints
    either = {a: v for a, v in c.either.items() if a not in c.hard and a not in c.plan.set}
    named = {**c.hard, **c.plan.set, **{a: " or ".join(v) for a, v in either.items()}}
    roles = {a: role_of(a) for a in named}
    words = [named[a] for r in ADJECTIVE_ROLES for a in named if roles[a] == r]
    category = next((a for a in named if roles[a] == "category"), None)
    gender = next((v for a, v in named.items() if roles[a] == "gender"), None)
    if gender == "unisex":
        words.insert(0, gender)
    nouns = either.get(category) or [named[category] if category else "item"]
    words.append(" or ".join(singular(n) if count == 1 else plural_noun(n) for n in nouns))
    text = " ".join(words)
    if gender and gender != "unisex":
        text += f" for {gender}"
    extras = [f"{a} {v}" for a, v in named.items() if roles[a] not in (*ADJECTIVE_ROLES, "category", "gender")]
    extras += [f"{a} {_few(v)}" for a, v in c.relative.within.items()]
    extras += [f"not {'/'.join(v)}" for v in c.plan.exclude.values()]
    if c.plan.brands:
        extras.append(f"from {'/'.join(c.plan.brands)}")
    if c.plan.exclude_brands:
        extras.append(f"not from {'/'.join(c.plan.exclude_brands)}")
    if c.plan.sizes:
        extras.append(f"in size {'/'.join(c.plan.sizes)}")
    price = price_label(*c.price_range)
    if price:
        extras.append(price)
    return text + (", " + ", ".join(extras) if extras else "")


def value_label(attribute: str, value: str) -> str:
    """How a person names one value: "shirt", "white", "for men"."""
    return f"for {value}" if role_of(attribute) == "gender" and value != "unisex" else value


def _few(values: list[str], limit: int = 3) -> str:
    return "/".join(values[:limit]) + ("/..." if len(values) > limit else "")


def _priority(relax: tuple[Relaxation, ...]) -> int:
    if len(relax) > 1:
        return ALL_ANCHOR_KEEPS
    return PRIORITY[(relax[0].kind, relax[0].check)]
