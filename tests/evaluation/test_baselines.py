"""The single-shot baselines are refinement strategies that share the guard and the explanations."""

from __future__ import annotations

import pytest

from fashrec.ammr import RefineOptions, available_strategies
from fashrec.errors import UsageError
from fashrec.evaluation import baselines


def test_baselines_share_the_checks(refiner):
    anchor = refiner.anchor_from_image(refiner.index.products[1].image_path)
    for strategy in ("image", "text", "fusion"):
        result = refiner.refine(anchor, "in red", RefineOptions(k=4, strategy=strategy))
        assert len(result.results) == 4 and result.steps[0].action == "single-shot"
        assert all(r.candidate.checks for r in result.results)


def test_baselines_are_registered_strategies():
    assert set(baselines.BASELINES) <= set(available_strategies()) and available_strategies()[0] == "ammr"


def test_an_unknown_strategy_is_a_usage_error(refiner):
    anchor = refiner.anchor_from_image(refiner.index.products[1].image_path)
    with pytest.raises(UsageError, match="unknown strategy 'magic'"):
        refiner.refine(anchor, "in red", RefineOptions(strategy="magic"))
