"""Index layer: a :class:`Filter` as the SQL predicate a Lance dataset evaluates (``where``), and the tags
each row carries so that every hard filter is one indexed column test.

Attribute values are catalog text (``men's``, ``50% wool``): every value reaches the predicate as a
quoted string literal (``'`` doubled), never as SQL. Attributes, brands and sizes share one
``tags`` list column (``attr<US>value``, ``@brand<US>value``, ``@sizes<US>value``; US is the ASCII unit
separator, which no normalised catalog value holds), so one LABEL_LIST scalar index serves them all
whatever attributes a catalog invents, and a new attribute needs no schema change.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from fashrec.catalog import normalize_value
from fashrec.index.columns import BRAND_FIELD, SIZES_FIELD
from fashrec.index.filters import Filter

SEPARATOR = "\x1f"


def tag(attribute: str, value: str) -> str:
    return f"{attribute}{SEPARATOR}{value}"


def row_tags(meta: Mapping[str, Any]) -> list[str]:
    """The tags of one stored product: its attribute values as stored (as the index's postings read
    them), its brand and sizes normalised (as Filter.brands and Filter.sizes hold them)."""
    tags = []
    for attr, values in (meta.get("attributes") or {}).items():
        for value in values if isinstance(values, list) else [values]:
            tags.append(tag(attr, str(value)))
    if meta.get("brand"):
        tags.append(tag(BRAND_FIELD, normalize_value(meta["brand"])))
    tags += sorted({tag(SIZES_FIELD, normalize_value(s)) for s in meta.get("sizes") or ()})
    return tags


def literal(text: str) -> str:
    """A SQL string literal: the one way catalog text enters a predicate."""
    return "'" + str(text).replace("'", "''") + "'"


def _number(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"a price bound must be finite, got {value!r}")
    return repr(float(value))   # the shortest text that reads back as exactly this double


def _any_tag(attribute: str, values: Iterable[str]) -> str:
    return f"array_has_any(tags, [{', '.join(literal(tag(attribute, v)) for v in sorted(values))}])"


def where_sql(flt: Filter | None) -> str | None:
    """The predicate keeping exactly what ``flt.matches`` keeps (None: no filter).

    An empty "any of" set (``include={'color': set()}``) matches nothing, as in ``Filter.matches``.
    """
    if flt is None or flt.is_empty():
        return None
    parts: list[str] = []
    for attr, allowed in sorted(flt.include.items()):
        parts.append(_any_tag(attr, allowed) if allowed else "false")
    for attr, banned in sorted(flt.exclude.items()):
        if banned:
            parts.append(f"NOT {_any_tag(attr, banned)}")
    if flt.price_min is not None or flt.price_max is not None:
        parts.append("price IS NOT NULL")   # an unknown price never satisfies a bound
        if flt.price_min is not None:
            parts.append(f"price >= {_number(flt.price_min)}")
        if flt.price_max is not None:
            parts.append(f"price <= {_number(flt.price_max)}")
    if flt.in_stock_only:
        parts.append("in_stock")
    if flt.brands:
        parts.append(_any_tag(BRAND_FIELD, flt.brands))
    if flt.exclude_brands:
        parts.append(f"NOT {_any_tag(BRAND_FIELD, flt.exclude_brands)}")
    if flt.sizes:
        parts.append(_any_tag(SIZES_FIELD, flt.sizes))
    if flt.exclude_ids:
        parts.append(f"id NOT IN ({', '.join(literal(i) for i in sorted(flt.exclude_ids))})")
    return " AND ".join(f"({p})" for p in parts)
