"""The index's vectorised filter masks agree with ``Filter.matches`` product by product."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fashrec.catalog import Product
from fashrec.index import Index
from fashrec.index.filters import Filter

VALUES = {"color": ["red", "navy blue", "black"], "material": ["linen", "cotton"], "sleeve": ["short", "long"]}

attributes = st.fixed_dictionaries({}, optional={a: st.lists(st.sampled_from(v), min_size=1, max_size=2, unique=True)
                                                 for a, v in VALUES.items()})
products = st.lists(st.tuples(attributes, st.one_of(st.none(), st.floats(0, 200, allow_nan=False)),
                              st.sampled_from([True, False, None])), min_size=1, max_size=25)
value_sets = st.dictionaries(st.sampled_from(sorted(VALUES)),
                             st.sets(st.sampled_from([v for vs in VALUES.values() for v in vs] + ["unknown"]),
                                     min_size=1, max_size=3), max_size=2)
prices = st.one_of(st.none(), st.floats(0, 200, allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(products, value_sets, value_sets, prices, prices, st.booleans(), st.sets(st.integers(0, 30), max_size=3))
def test_mask_equals_matches(rows, include, exclude, lo, hi, in_stock_only, excluded):
    items = [Product(id=f"p{i}", image="x", image_path=Path("x"), attributes=attrs, price=price, in_stock=stock)
             for i, (attrs, price, stock) in enumerate(rows)]
    index = Index(Path("."), None, items, np.zeros((len(items), 2), np.float32), np.zeros((len(items), 2), np.float32))
    index._positions = {p.id: i for i, p in enumerate(items)}
    flt = Filter(include, exclude, lo, hi, in_stock_only, {f"p{i}" for i in excluded})
    mask = index.mask(flt)
    expected = [flt.matches(p) for p in items]
    assert (mask is None and all(expected)) or list(mask) == expected
