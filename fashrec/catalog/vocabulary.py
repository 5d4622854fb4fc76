"""Catalog layer: the vocabulary, the values each attribute takes in a catalog (with counts)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol, Sequence

from fashrec.catalog.product import Product, normalize_key, normalize_value


@dataclass
class Vocabulary:
    """Values seen per attribute, with counts: what the planner may ground a request in.

    Besides ``attributes``, the products' own fields the shopper may name: ``brands`` and ``sizes``
    (normalized like attribute values, with counts) and ``priced``, how many products have a price
    (None when unknown, e.g. a vocabulary written by hand: a budget is then kept).
    """

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    brands: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    priced: int | None = None

    @classmethod
    def from_products(cls, products: Iterable[Product]) -> "Vocabulary":
        counters: dict[str, Counter] = {}
        brands: Counter = Counter()
        sizes: Counter = Counter()
        priced = 0
        for p in products:
            for attr, vals in p.attributes.items():
                counters.setdefault(attr, Counter()).update(vals)
            if p.brand and p.brand.strip():
                brands[normalize_value(p.brand)] += 1
            sizes.update({normalize_value(s) for s in p.sizes if str(s).strip()})
            priced += p.price is not None
        return cls({a: dict(c.most_common()) for a, c in sorted(counters.items())},
                   dict(brands.most_common()), dict(sizes.most_common()), priced)

    def attributes(self) -> list[str]:
        return list(self.counts)

    def values(self, attribute: str) -> list[str]:
        return list(self.counts.get(normalize_key(attribute), {}))

    def has(self, attribute: str, value: str) -> bool:
        return normalize_value(value) in self.counts.get(normalize_key(attribute), {})

    def attributes_with(self, value: str) -> list[str]:
        """Which attributes contain ``value`` (most frequent first)."""
        v = normalize_value(value)
        hits = [(c[v], a) for a, c in self.counts.items() if v in c]
        return [a for _, a in sorted(hits, reverse=True)]

    def count(self, attribute: str, value: str) -> int:
        return self.counts.get(normalize_key(attribute), {}).get(normalize_value(value), 0)

    def has_brand(self, brand: str) -> bool:
        return normalize_value(brand) in self.brands

    def has_size(self, size: str) -> bool:
        return normalize_value(size) in self.sizes

    @property
    def has_prices(self) -> bool:
        """False only when the catalog is known to price none of its products."""
        return self.priced is None or self.priced > 0

    def to_dict(self) -> dict[str, dict[str, int]]:
        return self.counts


class CatalogView(Protocol):
    """Products and their vocabulary, as an opened index offers them to the layers that read it."""

    @property
    def products(self) -> Sequence[Product]: ...

    @property
    def vocabulary(self) -> Vocabulary: ...

    def carrying(self, attribute: str, *, by: str) -> dict[str, tuple[int, int]]:
        """For each value of ``by``: (products with it, how many of them list ``attribute``)."""
        ...

    def prompt_table(self, attribute: str, key: str) -> Any:
        """Stored zero-shot prompt embeddings for ``attribute`` made for ``key``, or None."""
        ...
