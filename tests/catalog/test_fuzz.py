"""Property-based fuzzing of the two parsers that take text from anyone: the catalog and the planner.

Invariants: whatever the bytes, load_catalog returns (products, problems) and never raises; every
product it returns can be stored (its metadata encodes as UTF-8 JSON); valid products always parse.
Whatever the request text, the rules planner returns a Plan made only of vocabulary values.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from fashrec.catalog import (
    MAX_PRICE,
    Vocabulary,
    load_catalog,
    normalize_key,
    normalize_value,
)
from fashrec.errors import CatalogError
from fashrec.evaluation.planner import PLANNER_DATA
from fashrec.planner import RELATIVE_WISHES

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VOCABULARIES = json.loads((PLANNER_DATA / "planner_vocabulary.json").read_text())

# One real image shared by every example, so generated products can be valid.
_WORKDIR = Path(tempfile.mkdtemp(prefix="fashrec-fuzz-"))
(_WORKDIR / "img").mkdir()
Image.new("RGB", (8, 8), (120, 30, 30)).save(_WORKDIR / "img" / "a.jpg")


def load_lines(data: bytes):
    path = _WORKDIR / "c.jsonl"
    path.write_bytes(data)
    return load_catalog(path)


def assert_storable(load, n_lines: int) -> None:
    """What the indexer relies on: problems are CatalogErrors with a line; products serialise."""
    for err in load.problems:
        assert isinstance(err, CatalogError) and 1 <= err.line <= n_lines and err.path == str(load.path)
    for product in load.products:
        json.dumps(product.metadata(), ensure_ascii=False).encode("utf-8")
        product.text().encode("utf-8")
        assert product.text_digest()
    assert len({p.id for p in load.products}) == len(load.products)


# -- the catalog ---------------------------------------------------------------------------------------
@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data):
    load = load_lines(data)
    assert_storable(load, data.count(b"\n") + 1)


any_char = st.characters(exclude_categories=())  # includes lone surrogates, as JSON escapes allow
# Values random generation rarely reaches on its own; several of them used to crash load_catalog.
NASTY = [10 ** 400, -(10 ** 400), 2 ** 63, 1e308, -1e308, 5e-324, float("nan"), float("inf"), -0.0,
         "\ud800", "a\udfffb", "\x00", "\u2028", "\ufeff", " " * 3, "NaN", "1e999", "../../etc/passwd"]
json_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
                | st.text(any_char, max_size=20) | st.sampled_from(NASTY)
                | st.sampled_from(["img/a.jpg", "img/missing.jpg", "https://x.example/a.jpg", "", " "]))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(any_char, max_size=8), inner, max_size=4), max_leaves=12)
# Objects with the catalog's own keys, each value usually plausible and sometimes hostile, so that
# whole products get through validation carrying odd values into what the indexer stores.
edgy_text = st.text(any_char, max_size=12) | st.sampled_from(NASTY)
edgy_number = st.floats(0, 100) | st.integers(0, 100) | st.sampled_from(NASTY) | json_values
product_like = st.fixed_dictionaries(
    {"id": edgy_text | st.integers(), "image": st.sampled_from(["img/a.jpg", "img/nope.png", "img"])},
    optional={
        "title": edgy_text, "description": edgy_text, "brand": edgy_text, "currency": edgy_text,
        "price": edgy_number, "sponsored": edgy_number, "in_stock": st.booleans() | json_values,
        "sizes": st.lists(edgy_text) | json_values,
        "attributes": st.dictionaries(edgy_text, edgy_text | st.lists(edgy_text, max_size=3) | json_values,
                                      max_size=3) | json_values,
        "vendor_data": json_values,  # unknown keys are kept verbatim in `extra`
    })


@settings(FUZZ, max_examples=200)
@given(st.lists(json_values | product_like, min_size=1, max_size=8))
# Regressions found by this test: each used to escape load_catalog or crash storing the product.
@example([{"id": "s", "image": "img/a.jpg", "title": "\ud800"}])
@example([{"id": "o", "image": "img/a.jpg", "price": 10 ** 400}, {"id": "p", "image": "img/a.jpg", "sponsored": -(10 ** 400)}])
def test_arbitrary_json_lines_never_raise(values):
    lines = [json.dumps(v) for v in values]  # NaN / Infinity / \udXXX escapes are all allowed here
    load = load_lines(("\n".join(lines) + "\n").encode())
    assert_storable(load, len(lines))
    assert len(load.products) + len(load.problems) <= len(lines)


def _first_spelling_only(row: dict) -> dict:
    """Keys that normalise alike ("Color", "color ") are one attribute: keep the first spelling."""
    seen: dict[str, str] = {}
    for key in row.get("attributes", {}):
        seen.setdefault(normalize_key(key), key)
    if "attributes" in row:
        row["attributes"] = {k: row["attributes"][k] for k in seen.values()}
    return row


words = st.text(st.characters(categories=["L", "N", "Zs", "Pd"]), min_size=1, max_size=12).filter(
    lambda s: s.strip() != "")
valid_product = st.fixed_dictionaries(
    {"id": words.filter(lambda s: len(s.strip()) <= 512), "image": st.just("img/a.jpg")},
    optional={
        "title": st.text(max_size=30),
        "attributes": st.dictionaries(words.filter(lambda k: normalize_key(k) != ""),
                                      words | st.lists(words, min_size=1, max_size=3), max_size=4),
        "price": st.floats(min_value=0, max_value=MAX_PRICE) | st.integers(0, int(MAX_PRICE)),
        "currency": st.sampled_from(["EUR", "USD"]),
        "in_stock": st.booleans(),
        "sizes": st.lists(words | st.integers(0, 60), max_size=4),
        "sponsored": st.floats(min_value=0, max_value=1),
        "brand": words,
        "color_family": words,  # an unknown key: kept in `extra`
    })


@FUZZ
@given(st.lists(valid_product, min_size=1, max_size=6, unique_by=lambda p: p["id"].strip()))
def test_valid_products_always_parse(rows):
    rows = [_first_spelling_only(r) for r in rows]
    load = load_lines("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())
    assert load.problems == [], [e.message for e in load.problems]
    assert [p.id for p in load.products] == [r["id"].strip() for r in rows]
    for row, product in zip(rows, load.products):
        assert product.image_path == (_WORKDIR / "img" / "a.jpg").resolve()
        if "price" in row:
            assert product.price == float(row["price"])
        assert product.in_stock == row.get("in_stock")
        assert product.extra == ({"color_family": row["color_family"]} if "color_family" in row else {})
        for key, value in row.get("attributes", {}).items():
            expected = [normalize_value(v) for v in ([value] if isinstance(value, str) else value)]
            assert product.values(key) == list(dict.fromkeys(expected))
    assert_storable(load, len(rows))


# -- the planner ---------------------------------------------------------------------------------------
def vocabulary(style: str) -> Vocabulary:
    """The planner test vocabulary: values listed most frequent first, so counts descend."""
    attrs = VOCABULARIES[style]
    return Vocabulary({a: {v: len(vals) - i for i, v in enumerate(vals)} for a, vals in attrs.items()})


STYLE_VOCABULARIES = {style: vocabulary(style) for style in ("example", "products")}
_ALL_VALUES = sorted({v for vocab in STYLE_VOCABULARIES.values() for a in vocab.attributes() for v in vocab.values(a)})
# Request-like pieces: vocabulary values, the cue words the rules planner reads, and numbers in
# every shape a budget can take, glued together with arbitrary unicode.
CUES = ["not", "no", "but", "in", "without", "anything but", "instead of", "same", "different", "any",
        "cheaper", "darker", "under", "below", "over", "between", "and", "or", ",", "please", "€", "$",
        "forget the budget", "colour doesn't matter", "more formal", "out of stock is fine", "less than"]
NUMBERS = ["50", "-5", "0", "1e308", "nan", "inf", "99999999999999999999999", "12.5", "1,000", "٣٠"]
request_text = st.one_of(
    st.text(max_size=80),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=200),
    st.lists(st.sampled_from(_ALL_VALUES + CUES + NUMBERS) | st.text(max_size=6), max_size=25).map(" ".join),
)


@st.composite
def contexts(draw):
    from fashrec.planner import Plan, PlanContext

    style = draw(st.sampled_from(sorted(STYLE_VOCABULARIES)))
    vocab = STYLE_VOCABULARIES[style]
    anchor = draw(st.dictionaries(st.sampled_from(vocab.attributes()), st.sampled_from(_ALL_VALUES) | st.text(max_size=5),
                                  max_size=4))
    previous = None
    if draw(st.booleans()):
        attr = draw(st.sampled_from(vocab.attributes()))
        previous = Plan(set={attr: draw(st.sampled_from(vocab.values(attr)))},
                        price_max=draw(st.none() | st.floats(0, 1000)))
    currency = draw(st.sampled_from([None, "EUR", "USD", "INR"]))
    return PlanContext(vocabulary=vocab, anchor=anchor, previous=previous, currency=currency)


def _assert_grounded(plan, vocab: Vocabulary) -> None:
    attrs = set(vocab.attributes())
    for attr, value in plan.set.items():
        assert vocab.has(attr, value), (attr, value)
    for attr, values in plan.exclude.items():
        assert values and all(vocab.has(attr, v) for v in values), (attr, values)
        assert plan.set.get(attr) not in values
    assert set(plan.keep) <= attrs
    assert set(plan.drop) <= attrs | {"price"}  # "forget the budget" releases the price
    assert set(plan.relative) <= set(RELATIVE_WISHES)
    for bound in (plan.price_min, plan.price_max):
        assert bound is None or (isinstance(bound, float) and math.isfinite(bound) and bound >= 0)
    if plan.price_min is not None and plan.price_max is not None:
        assert plan.price_min <= plan.price_max
    assert isinstance(plan.query, str) and isinstance(plan.include_out_of_stock, bool)
    json.dumps(plan.to_dict(), allow_nan=False)  # a plan is always printable as strict JSON


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=request_text, context=contexts())
def test_rules_planner_never_raises_and_stays_in_vocabulary(text, context):
    from fashrec.planner import Plan, create_planner

    plan = create_planner("rules").plan(text, context)
    assert isinstance(plan, Plan)
    _assert_grounded(plan, context.vocabulary)
    # Validation is idempotent: a plan the planner returns has nothing left to strip.
    revalidated = plan.validated(context.vocabulary)
    assert {**revalidated.to_dict(), "notes": []} == {**plan.to_dict(), "notes": []}
