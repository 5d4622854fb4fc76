"""Index layer: hard filters: which products may be returned at all.

A :class:`Filter` is evaluated against product metadata (never against embeddings), so a filtered
search can be exact about what it lets through. ``--where`` options and plans both become Filters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fashrec.catalog import Product, normalize_key, normalize_value
from fashrec.errors import UsageError


@dataclass
class Filter:
    include: dict[str, set[str]] = field(default_factory=dict)  # OR within an attribute, AND across
    exclude: dict[str, set[str]] = field(default_factory=dict)
    price_min: float | None = None
    price_max: float | None = None
    in_stock_only: bool = False
    exclude_ids: set[str] = field(default_factory=set)

    def is_empty(self) -> bool:
        return not (self.include or self.exclude or self.price_min is not None or self.price_max is not None
                    or self.in_stock_only or self.exclude_ids)

    def matches(self, product: Product) -> bool:
        if product.id in self.exclude_ids:
            return False
        for attr, allowed in self.include.items():
            if not allowed.intersection(product.attributes.get(attr, ())):
                return False
        for attr, banned in self.exclude.items():
            if banned.intersection(product.attributes.get(attr, ())):
                return False
        if self.price_min is not None or self.price_max is not None:
            if product.price is None:
                return False
            if self.price_min is not None and product.price < self.price_min:
                return False
            if self.price_max is not None and product.price > self.price_max:
                return False
        if self.in_stock_only and product.in_stock is False:
            return False
        return True

    def key(self) -> tuple:
        """Hashable identity, so masks over the catalog can be cached per filter."""
        return (
            tuple(sorted((a, tuple(sorted(v))) for a, v in self.include.items())),
            tuple(sorted((a, tuple(sorted(v))) for a, v in self.exclude.items())),
            self.price_min, self.price_max, self.in_stock_only, tuple(sorted(self.exclude_ids)),
        )

    def to_dict(self) -> dict:
        return {
            "include": {a: sorted(v) for a, v in self.include.items()},
            "exclude": {a: sorted(v) for a, v in self.exclude.items()},
            "price": {"min": self.price_min, "max": self.price_max},
            "in_stock_only": self.in_stock_only,
        }

    def merged(self, other: "Filter") -> "Filter":
        include = {a: set(v) for a, v in self.include.items()}
        for a, v in other.include.items():
            include[a] = include[a] & v if a in include else set(v)
        exclude = {a: set(v) for a, v in self.exclude.items()}
        for a, v in other.exclude.items():
            exclude.setdefault(a, set()).update(v)
        lo = [p for p in (self.price_min, other.price_min) if p is not None]
        hi = [p for p in (self.price_max, other.price_max) if p is not None]
        return Filter(include, exclude, max(lo) if lo else None, min(hi) if hi else None,
                      self.in_stock_only or other.in_stock_only, self.exclude_ids | other.exclude_ids)


def parse_where(expressions: list[str] | None) -> Filter:
    """``attr=value`` (repeat an attribute to allow several values) and ``attr!=value``."""
    flt = Filter()
    for expr in expressions or []:
        if "!=" in expr:
            attr, _, value = expr.partition("!=")
            target = flt.exclude
        elif "=" in expr:
            attr, _, value = expr.partition("=")
            target = flt.include
        else:
            raise UsageError(f"--where expects attr=value or attr!=value, got '{expr}'")
        attr, value = normalize_key(attr), normalize_value(value)
        if not attr or not value:
            raise UsageError(f"--where expects attr=value or attr!=value, got '{expr}'")
        if attr == "price":
            raise UsageError("filter price with --max-price / --min-price")
        target.setdefault(attr, set()).add(value)
    return flt
