"""The honesty check reads metadata only: a result row that breaks a stated constraint or the anchor's
confident identity is caught, whatever the answer's own guard said."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fashrec.ammr.types import (
    Anchor,
    AttributeGuess,
    Candidate,
    RefineResult,
    Resolution,
    ResultItem,
    Shortfall,
)
from fashrec.catalog import Product
from fashrec.evaluation.honesty import answer_honesty
from fashrec.planner import Plan


def _item(pid: str, **attrs) -> ResultItem:
    p = Product(id=pid, image="x.jpg", image_path=Path("x.jpg"), attributes={a: [v] for a, v in attrs.items()})
    return ResultItem(Candidate(p, 0, 0.5), "")


def _result(items, *, k=3, shortfall=None, category_confidence=0.9):
    anchor = Anchor(np.zeros(2), {"category": AttributeGuess("shirt", category_confidence, "x"),
                                  "gender": AttributeGuess("men", 0.95, "x"),
                                  "color": AttributeGuess("white", 0.99, "x")})
    return RefineResult({"k": k}, anchor, Plan(set={"material": "linen"}, exclude={"pattern": ["striped"]}), [],
                        items, "", {}, relative=Resolution(), shortfall=shortfall)


def test_rows_breaking_a_stated_constraint_or_the_identity_are_counted():
    good = _item("a", category="shirt", gender="men", material="linen", color="navy")   # colour is only look
    wrong_kind = _item("b", category="trousers", gender="men", material="linen")
    striped = _item("c", category="shirt", gender="men", material="linen", pattern="striped")
    honesty = answer_honesty(_result([good, wrong_kind, striped]))
    assert honesty.rows == 3
    assert honesty.violations == [("b", "category=shirt"), ("c", "pattern not striped")]
    assert not honesty.short and not honesty.undeclared


def test_an_unsure_identity_is_no_promise_and_a_short_answer_must_say_so():
    wrong_kind = _item("b", category="trousers", gender="men", material="linen")
    honesty = answer_honesty(_result([wrong_kind], category_confidence=0.55))
    assert honesty.violations == [] and honesty.short and honesty.undeclared
    declared = answer_honesty(_result([wrong_kind], category_confidence=0.55,
                                      shortfall=Shortfall(1, 3, "only 1 linen item for men")))
    assert declared.declared and not declared.undeclared


def test_an_identity_read_between_two_values_promises_one_of_them():
    """Shirt at 66 %, t-shirt at 34 %: the answer keeps "shirt or t-shirt", and so does the check."""
    result = _result([_item("a", category="shirt", gender="men", material="linen"),
                      _item("b", category="t-shirt", gender="men", material="linen"),
                      _item("c", category="trousers", gender="men", material="linen")])
    result.anchor.attributes["category"] = AttributeGuess("shirt", 0.66, "x", (("t-shirt", 0.34),))
    assert answer_honesty(result).violations == [("c", "category=shirt or t-shirt")]
    assert answer_honesty(result).other_reading == 1        # the t-shirt: the photo's second reading
    # A runner-up under 20 % is no second reading: the likeliest alone is promised, as from 0.6 up.
    result.anchor.attributes["category"] = AttributeGuess("shirt", 0.66, "x", (("t-shirt", 0.15),))
    assert [pid for pid, _ in answer_honesty(result).violations] == ["b", "c"]
    assert answer_honesty(result).other_reading == 0
