"""Planner layer: the structured plan every planner produces, what the shopper asked for, in catalog vocabulary.

A plan is data, not prose. It is validated against the catalog's vocabulary before anything uses it,
so a planner (an LLM in particular) cannot smuggle in attributes or values the catalog does not have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from fashrec.catalog import MAX_PRICE, Vocabulary, normalize_key, normalize_value

# Relative wishes a plan may carry ("shorter sleeves"): directions, made concrete against the anchor.
RELATIVE_WISHES = (
    "cheaper", "pricier", "darker", "lighter", "longer", "shorter", "more formal", "more casual",
    "looser", "tighter", "warmer", "cooler", "simpler", "bolder", "shorter sleeves", "longer sleeves",
)
# The product fields a plan may name besides attributes (and release in ``drop``: "forget the budget",
# "any brand", "any size"). They are the products' own fields, not vocabulary attributes.
PRICE, BRAND, SIZE = "price", "brand", "size"
PRODUCT_FIELDS = (PRICE, BRAND, SIZE)


@dataclass
class Plan:
    """What the request means, grounded in the catalog.

    - ``set``: attribute -> value the results must have (a change from the anchor, or a new wish).
    - ``exclude``: attribute -> values the results must not have ("not black").
    - ``price_min`` / ``price_max``: a budget in the catalog's currency.
    - ``relative``: directions relative to the anchor (see RELATIVE_WISHES); the refinement loop resolves
      them against the anchor for each search (:mod:`fashrec.relative`), so they never go stale.
    - ``keep``: anchor attributes the shopper wants kept (everything not mentioned is kept softly).
    - ``drop``: attributes the shopper released ("any colour is fine"): neither kept nor filtered.
    - ``include_out_of_stock``: the shopper explicitly accepts items that are not in stock.
    - ``brands`` / ``exclude_brands``: brands (the products' ``brand`` field) wanted (any of them) or refused.
    - ``sizes``: sizes (the products' ``sizes`` field) wanted: a product must offer one of them.
    - ``query``: words of the request not captured above, embedded as text.
    """

    set: dict[str, str] = field(default_factory=dict)
    exclude: dict[str, list[str]] = field(default_factory=dict)
    price_min: float | None = None
    price_max: float | None = None
    relative: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    include_out_of_stock: bool = False
    query: str = ""
    source: str = ""
    notes: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)
    exclude_brands: list[str] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.set or self.exclude or self.price_min is not None or self.price_max is not None
                    or self.relative or self.drop or self.brands or self.exclude_brands or self.sizes)

    def describe(self) -> list[str]:
        """The plan as short constraint labels ("color=navy", "price <= 40"): change lists, `/plan`, tables."""
        parts = [f"{a}={v}" for a, v in self.set.items()]
        parts += [f"{a}!={'/'.join(v)}" for a, v in self.exclude.items()]
        price = price_label(self.price_min, self.price_max)
        if price:
            parts.append(price)
        if self.brands:
            parts.append(f"{BRAND}={'/'.join(self.brands)}")
        if self.exclude_brands:
            parts.append(f"{BRAND}!={'/'.join(self.exclude_brands)}")
        if self.sizes:
            parts.append(f"{SIZE}={'/'.join(self.sizes)}")
        parts += list(self.relative)
        parts += [f"any {a}" for a in self.drop if a != PRICE]
        if self.include_out_of_stock:
            parts.append("include out of stock")
        if self.query:
            parts.append(f'"{self.query}"')
        return parts

    def to_dict(self) -> dict[str, Any]:
        return {
            "set": dict(self.set),
            "exclude": {k: list(v) for k, v in self.exclude.items()},
            "price": {"min": self.price_min, "max": self.price_max},
            "relative": list(self.relative),
            "keep": list(self.keep),
            "drop": list(self.drop),
            "include_out_of_stock": self.include_out_of_stock,
            "brands": list(self.brands),
            "exclude_brands": list(self.exclude_brands),
            "sizes": list(self.sizes),
            "query": self.query,
            "source": self.source,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Plan":
        price = data.get("price") or {}
        return cls(
            set={normalize_key(k): normalize_value(v) for k, v in (data.get("set") or {}).items()},
            exclude={normalize_key(k): [normalize_value(x) for x in (v if isinstance(v, list) else [v])]
                     for k, v in (data.get("exclude") or {}).items()},
            price_min=price.get("min", data.get("price_min")),
            price_max=price.get("max", data.get("price_max")),
            relative=list(data.get("relative") or []),
            keep=[normalize_key(k) for k in data.get("keep") or []],
            drop=[normalize_key(k) for k in data.get("drop") or []],
            include_out_of_stock=bool(data.get("include_out_of_stock", False)),
            query=str(data.get("query") or ""),
            source=str(data.get("source") or ""),
            notes=list(data.get("notes") or []),
            brands=_values(data.get("brands")),
            exclude_brands=_values(data.get("exclude_brands")),
            sizes=_values(data.get("sizes")),
        )

    def validated(self, vocabulary: Vocabulary) -> "Plan":
        """A copy with everything the catalog cannot satisfy removed (and noted)."""
        notes = list(self.notes)
        set_: dict[str, str] = {}
        for attr, value in self.set.items():
            if vocabulary.has(attr, value):
                set_[normalize_key(attr)] = normalize_value(value)
            else:
                notes.append(f"ignored unknown {attr}={value}")
        exclude: dict[str, list[str]] = {}
        for attr, values in self.exclude.items():
            ok = [normalize_value(v) for v in values if vocabulary.has(attr, v)]
            ok = [v for v in ok if set_.get(normalize_key(attr)) != v]
            if ok:
                exclude[normalize_key(attr)] = list(dict.fromkeys(ok))
            dropped = [v for v in values if not vocabulary.has(attr, v)]
            if dropped:
                notes.append(f"ignored unknown exclusion {attr}={','.join(dropped)}")
        attrs = set(vocabulary.attributes())
        price_min, price_max = _valid_prices(self.price_min, self.price_max, vocabulary, notes)
        brands, exclude_brands, sizes = _valid_fields(self, vocabulary, notes)
        return Plan(
            set=set_,
            exclude=exclude,
            price_min=price_min,
            price_max=price_max,
            relative=[r for r in dict.fromkeys(self.relative) if r in RELATIVE_WISHES],
            keep=[k for k in dict.fromkeys(self.keep) if k in attrs and k not in set_],
            # Product fields are droppable too ("forget the budget", "any brand"), though not attributes.
            drop=[k for k in dict.fromkeys(self.drop) if k in attrs or k in PRODUCT_FIELDS],
            include_out_of_stock=self.include_out_of_stock,
            query=self.query,
            source=self.source,
            notes=notes,
            brands=brands,
            exclude_brands=exclude_brands,
            sizes=sizes,
        )


def _values(raw: Any) -> list[str]:
    """A list of normalized strings from a plan dict's field (a lone string is one value)."""
    items = raw if isinstance(raw, list) else ([raw] if isinstance(raw, str) else [])
    return list(dict.fromkeys(normalize_value(x) for x in items if isinstance(x, str) and x.strip()))


def _valid_price(name: str, value: Any, notes: list[str]) -> float | None:
    """A budget bound as a float, or None (noted) when it is not a price anyone could mean."""
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
            or value < 0 or value > MAX_PRICE:
        notes.append(f"ignored invalid {name}={value!r}: a price is a number between 0 and {MAX_PRICE:g}")
        return None
    return float(value)


def _valid_prices(price_min: Any, price_max: Any, vocabulary: Vocabulary,
                  notes: list[str]) -> tuple[float | None, float | None]:
    low, high = _valid_price("price_min", price_min, notes), _valid_price("price_max", price_max, notes)
    if (low is not None or high is not None) and not vocabulary.has_prices:
        # A filter no product can pass would answer "nothing", not "I cannot tell": say so instead.
        notes.append(f"ignored {price_label(low, high)}: the catalog has no prices")
        return None, None
    if low is not None and high is not None and low > high:
        notes.append("swapped price min and max")
        low, high = high, low
    return low, high


def _valid_fields(plan: "Plan", vocabulary: Vocabulary, notes: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(brands, excluded brands, sizes) the catalog knows; the rest is noted."""
    out: list[list[str]] = []
    for name, values, known, pool in ((BRAND, plan.brands, vocabulary.has_brand, vocabulary.brands),
                                      (BRAND, plan.exclude_brands, vocabulary.has_brand, vocabulary.brands),
                                      (SIZE, plan.sizes, vocabulary.has_size, vocabulary.sizes)):
        kept = [normalize_value(v) for v in values if known(v)]
        unknown = [v for v in values if not known(v)]
        if unknown:
            notes.append(f"ignored {name} {', '.join(unknown)}: " + (
                f"the catalog has no {name} by that name" if pool else f"the catalog lists no {name}s"))
        out.append(list(dict.fromkeys(kept)))
    brands, exclude_brands, sizes = out
    return [b for b in brands if b not in exclude_brands], exclude_brands, sizes


def price_label(price_min: float | None, price_max: float | None) -> str | None:
    """A price range in words: "price <= 40", "price >= 20", "price 20..40" (None when open)."""
    if price_min is None and price_max is None:
        return None
    if price_min is None:
        return f"price <= {price_max:g}"
    if price_max is None:
        return f"price >= {price_min:g}"
    return f"price {price_min:g}..{price_max:g}"
