"""The index's vectorised filter masks agree with ``Filter.matches`` product by product."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fashrec.catalog import Product, Vocabulary
from fashrec.index import Index
from fashrec.index.filters import Filter, parse_where, vet_where

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
    index = Index.from_products(items, np.zeros((len(items), 2), np.float32), np.zeros((len(items), 2), np.float32))
    flt = Filter(include, exclude, lo, hi, in_stock_only, {f"p{i}" for i in excluded})
    mask = index.mask(flt)
    expected = [flt.matches(p) for p in items]
    assert (mask is None and all(expected)) or list(mask) == expected


brand_rows = st.lists(st.tuples(st.sampled_from(["Nordvik", "kestrel ", None]),
                                st.lists(st.sampled_from(["S", "m", "L", "42"]), max_size=3, unique=True)),
                      min_size=1, max_size=20)
names = st.sets(st.sampled_from(["nordvik", "kestrel", "acme"]), max_size=2)
size_sets = st.sets(st.sampled_from(["s", "m", "l", "42", "xl"]), max_size=2)


@settings(max_examples=200, deadline=None)
@given(brand_rows, names, names, size_sets)
def test_brand_and_size_masks_equal_matches(rows, brands, refused, sizes):
    """Brands and sizes are the products' own fields: no brand or no sizes listed never matches a wish."""
    items = [Product(id=f"p{i}", image="x", image_path=Path("x"), brand=brand, sizes=listed)
             for i, (brand, listed) in enumerate(rows)]
    index = Index.from_products(items, np.zeros((len(items), 2), np.float32), np.zeros((len(items), 2), np.float32))
    flt = Filter(brands=brands, exclude_brands=refused, sizes=sizes)
    mask = index.mask(flt)
    expected = [flt.matches(p) for p in items]
    assert (mask is None and all(expected)) or list(mask) == expected
    if brands:
        assert not any(m and p.brand is None for m, p in zip(expected, items))


def test_merged_filters_require_both_brand_and_size_wishes():
    both = Filter(brands={"nordvik", "kestrel"}, sizes={"m"}).merged(Filter(brands={"kestrel"}, exclude_brands={"acme"}))
    assert both.brands == {"kestrel"} and both.sizes == {"m"} and both.exclude_brands == {"acme"}
    assert Filter().merged(Filter(sizes={"s"})).sizes == {"s"}


SHOP = Vocabulary({"color": {"red": 3, "navy blue": 1}, "material": {"linen": 2}},
                  brands={"nordvik": 3, "kestrel": 1}, sizes={"m": 3, "l": 2})


@pytest.mark.parametrize("where,note", [
    (["colour=red"], "did you mean color=red?"),
    (["colr=purple"], "did you mean color=purple?"),
    (["color=rde"], "did you mean color=red?"),
    (["color=linen"], "did you mean material=linen?"),
    (["color!=navy blu"], "did you mean color!=navy blue?"),
    (["brand=nordvick"], "did you mean brand=nordvik?"),
    (["size=xxl"], "no product lists that size"),
])
def test_where_words_the_catalog_lacks_are_noted_with_the_nearest(where, note):
    flt, notes = vet_where(parse_where(where), SHOP)
    assert len(notes) == 1 and note in notes[0], notes
    assert not flt.is_empty()   # the filter is kept as asked: the answer stays honest


def test_where_brand_and_size_filter_the_products_fields():
    flt, notes = vet_where(parse_where(["brand=Nordvik", "size=M", "brand!=kestrel", "color=red"]), SHOP)
    assert notes == []
    assert flt.brands == {"nordvik"} and flt.sizes == {"m"} and flt.exclude_brands == {"kestrel"}
    assert flt.include == {"color": {"red"}}
