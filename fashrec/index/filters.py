"""Index layer: hard filters: which products may be returned at all.

A :class:`Filter` is evaluated against product metadata (never against embeddings), so a filtered
search can be exact about what it lets through. ``--where`` options and plans both become Filters.
Brands and sizes are the products' own fields: a product without a brand never matches a wanted brand,
one that lists no sizes never matches a wanted size (an answer must not pass an unknown off as a match).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field, replace

from fashrec.catalog import Product, Vocabulary, normalize_key, normalize_value
from fashrec.errors import RequestError, UsageError


@dataclass
class Filter:
    include: dict[str, set[str]] = field(default_factory=dict)  # OR within an attribute, AND across
    exclude: dict[str, set[str]] = field(default_factory=dict)
    price_min: float | None = None
    price_max: float | None = None
    in_stock_only: bool = False
    exclude_ids: set[str] = field(default_factory=set)
    brands: set[str] = field(default_factory=set)          # normalized; any of them
    exclude_brands: set[str] = field(default_factory=set)
    sizes: set[str] = field(default_factory=set)           # normalized; the product offers one of them

    def is_empty(self) -> bool:
        return not (self.include or self.exclude or self.price_min is not None or self.price_max is not None
                    or self.in_stock_only or self.exclude_ids or self.brands or self.exclude_brands or self.sizes)

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
        brand = normalize_value(product.brand) if product.brand else None
        if (self.brands and brand not in self.brands) or (brand is not None and brand in self.exclude_brands):
            return False
        if self.sizes and not self.sizes.intersection(normalize_value(s) for s in product.sizes):
            return False
        return True

    def key(self) -> tuple:
        """Hashable identity, so masks over the catalog can be cached per filter."""
        return (
            tuple(sorted((a, tuple(sorted(v))) for a, v in self.include.items())),
            tuple(sorted((a, tuple(sorted(v))) for a, v in self.exclude.items())),
            self.price_min, self.price_max, self.in_stock_only, tuple(sorted(self.exclude_ids)),
            tuple(sorted(self.brands)), tuple(sorted(self.exclude_brands)), tuple(sorted(self.sizes)),
        )

    def to_dict(self) -> dict:
        return {
            "include": {a: sorted(v) for a, v in self.include.items()},
            "exclude": {a: sorted(v) for a, v in self.exclude.items()},
            "price": {"min": self.price_min, "max": self.price_max},
            "in_stock_only": self.in_stock_only,
            "brands": sorted(self.brands),
            "exclude_brands": sorted(self.exclude_brands),
            "sizes": sorted(self.sizes),
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
                      self.in_stock_only or other.in_stock_only, self.exclude_ids | other.exclude_ids,
                      _both(self.brands, other.brands), self.exclude_brands | other.exclude_brands,
                      _both(self.sizes, other.sizes))


def _both(a: set[str], b: set[str]) -> set[str]:
    """Two "any of" sets required at once (an empty set requires nothing)."""
    return (a & b) if a and b else set(a or b)


WHERE_FORMS = "attr=value, attr!=value, price<50, price<=50, price>20, price>=20 or price=20..40"


def parse_where(expressions: list[str] | None, *, as_field: str | None = None) -> Filter:
    """``attr=value`` (repeat an attribute to allow several values), ``attr!=value``, and price bounds.

    ``as_field``: the conditions are a request's field (a --batch line's, a body's ``where``), and an
    error names that field as every refused field is named, not the --where option."""
    flt = Filter()
    for expr in expressions or []:
        if normalize_key(re.split(r"[<>=!]", expr, maxsplit=1)[0]) == "price":
            _price_bound(flt, expr, as_field)
            continue
        if "!=" in expr:
            attr, _, value = expr.partition("!=")
            target = flt.exclude
        elif "=" in expr:
            attr, _, value = expr.partition("=")
            target = flt.include
        else:
            raise _unreadable(expr, as_field)
        attr, value = normalize_key(attr), normalize_value(value)
        if not attr or not value:
            raise _unreadable(expr, as_field)
        target.setdefault(attr, set()).add(value)
    return flt


def _unreadable(expr: str, as_field: str | None) -> UsageError:
    if as_field is None:
        return UsageError(f"--where expects {WHERE_FORMS}, got '{expr}'")
    return RequestError.of_field(as_field, f"must be {WHERE_FORMS}", expr)


def _refused(detail: str, as_field: str | None) -> UsageError:
    """A price bound that cannot be, named as it was given: by the --where option or by a request's field."""
    if as_field is None:
        return UsageError(f"--where: {detail}", hint=PRICE_HINT)
    return RequestError.of_field(as_field, detail, hint=PRICE_HINT)


def vet_where(flt: Filter, vocabulary: Vocabulary) -> tuple[Filter, list[str]]:
    """``--where`` checked against what the catalog has, so a typo never answers a silent nothing.

    ``brand=`` and ``size=`` filter the products' own fields when the catalog has no attribute of that
    name. Every attribute or value the catalog lacks is kept (the answer stays honest: nothing has it)
    and noted with the nearest thing it does have ("did you mean color=red?"); so is a price bound on a
    catalog without prices.
    """
    flt = replace(flt, include={a: set(v) for a, v in flt.include.items()},
                  exclude={a: set(v) for a, v in flt.exclude.items()}, brands=set(flt.brands),
                  exclude_brands=set(flt.exclude_brands), sizes=set(flt.sizes))
    attributes = set(vocabulary.attributes())
    if "brand" not in attributes and vocabulary.brands:
        flt.brands |= flt.include.pop("brand", set())
        flt.exclude_brands |= flt.exclude.pop("brand", set())
    if "size" not in attributes and vocabulary.sizes:
        flt.sizes |= flt.include.pop("size", set())
    notes = [note for sign, side in (("=", flt.include), ("!=", flt.exclude))
             for attr, values in side.items() for value in sorted(values)
             if (note := _where_note(attr, sign, value, vocabulary))]
    notes += [f"--where brand={b}: no product is from that brand" + _suggest(b, vocabulary.brands, "brand=")
              for b in sorted(flt.brands | flt.exclude_brands) if b not in vocabulary.brands]
    notes += [f"--where size={z}: no product lists that size" + _suggest(z, vocabulary.sizes, "size=")
              for z in sorted(flt.sizes) if z not in vocabulary.sizes]
    if (flt.price_min is not None or flt.price_max is not None) and vocabulary.priced == 0:
        # Kept like any filter the catalog cannot match: nothing satisfies it, and the note says why.
        notes.append("--where price: no product in this catalog has a price, so none satisfies a price bound")
    return flt, notes


def _where_note(attr: str, sign: str, value: str, vocabulary: Vocabulary) -> str | None:
    """A note for one ``attr=value`` the catalog cannot match, or None when it can."""
    if vocabulary.has(attr, value):
        return None
    if attr not in vocabulary.attributes():
        holders = vocabulary.attributes_with(value)
        if holders:   # "colour=red": the value says which attribute was meant
            return f"--where {attr}{sign}{value}: the catalog has no attribute '{attr}' (did you mean {holders[0]}{sign}{value}?)"
        return f"--where {attr}{sign}{value}: the catalog has no attribute '{attr}'" + _suggest(
            attr, vocabulary.attributes(), "", sign + value)
    holders = vocabulary.attributes_with(value)
    if holders:       # "color=linen": a value of another attribute
        return f"--where {attr}{sign}{value}: no product has {attr} {value} (did you mean {holders[0]}{sign}{value}?)"
    return f"--where {attr}{sign}{value}: no product has {attr} {value}" + _suggest(
        value, vocabulary.values(attr), f"{attr}{sign}")


def _suggest(word: str, known, before: str, after: str = "") -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {before}{close[0]}{after}?)" if close else ""


PRICE_HINT = ("price bounds read price<50, price<=50, price>20, price>=20, price=20..40 or price=25; a price "
              "can also be said in the request (fashrec search \"shirt under 50\") or kept as a standing "
              "budget: fashrec profile set budget=50")
_PRICE = re.compile(r"^\s*price\s*(<=|>=|<|>|=)\s*(.*?)\s*$", re.IGNORECASE)


def _price_bound(flt: Filter, expr: str, as_field: str | None = None) -> None:
    """``price<50`` (strictly below), ``price<=50``, ``price>20``, ``price>=20``, ``price=20..40``,
    ``price=..40``, ``price=20..`` and ``price=25`` (exactly); several bounds narrow each other."""
    match = _PRICE.match(expr)
    if not match:
        raise _refused(f"cannot read the price bound '{expr}'", as_field)
    op, value = match.groups()
    if op == "=":
        low, sep, high = value.partition("..")
        bounds = (low, high) if sep else (value, value)
        lo, hi = (_amount(bound, expr, as_field) for bound in bounds)
        if lo is None and hi is None:
            raise _refused(f"'{expr}' names no price", as_field)
        if lo is not None and hi is not None and lo > hi:
            raise _refused(f"'{expr}' is an empty range (the lower bound is above the upper)", as_field)
    else:
        amount = _amount(value, expr, as_field)
        if amount is None:
            raise _refused(f"'{expr}' names no price", as_field)
        # A strict bound is the next representable price: the filter's bounds are inclusive.
        lo = amount if op == ">=" else math.nextafter(amount, math.inf) if op == ">" else None
        hi = amount if op == "<=" else math.nextafter(amount, -math.inf) if op == "<" else None
    if lo is not None:
        flt.price_min = lo if flt.price_min is None else max(flt.price_min, lo)
    if hi is not None:
        flt.price_max = hi if flt.price_max is None else min(flt.price_max, hi)


def _amount(text: str, expr: str, as_field: str | None = None) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        amount = float(text)
    except ValueError:
        raise _refused(f"'{text}' in '{expr}' is not a price", as_field) from None
    if not math.isfinite(amount) or amount < 0:
        raise _refused(f"a price bound must be a finite number >= 0, got '{text}' in '{expr}'", as_field)
    return amount
