"""AMMR layer: Agentic Mixed-Modality Refinement, one module per stage.

    anchor.py       1  embed the anchor image, infer its attributes
    (fashrec.planner) 2  the request -> a Plan
    relative.py     2b relative wishes ("shorter sleeves", "cheaper") resolved against the anchor
    constraints.py  3a plan + resolved wishes + anchor keeps -> one Constraints record
    compose.py      3b the query vector
    retrieve.py     4  filtered nearest-neighbour search
    guard.py        5  every candidate checked against every constraint
    rank.py         5b the ranking score of a verified candidate
    critic.py       6  stock, budget, near-duplicates, brand diversity, sponsorship
    loop.py         7  the agent loop (Refiner), with replan.py: widen, give up look keeps, re-read
    shortfall.py    7b fewer than k exact matches: said, each relaxation counted, near misses apart
    ways.py         7c a way forward taken by its number (chat's N, refine's and search's --relax N)
    explain.py      8  one reason per result, from verified checks only

The records passed between stages live in types.py.
"""

from __future__ import annotations

from fashrec.ammr.anchor import (
                                anchor_from_product,
                                blend_anchors,
                                correct_anchor,
                                estimate_price,
                                infer_attributes,
                                keep_corrected,
                                understand_anchor,
)
from fashrec.ammr.constraints import IDENTITY_CONFIDENCE, KEEP_CONFIDENCE, anchor_keeps, read_constraints
from fashrec.ammr.critic import select
from fashrec.ammr.explain import explain
from fashrec.ammr.guard import check_product, passes
from fashrec.ammr.loop import (
                                AMMR,
                                RefineOptions,
                                Refiner,
                                available_strategies,
                                register_strategy,
)
from fashrec.ammr.relative import garment_category, resolve_relative, wish_attribute
from fashrec.ammr.retrieve import constraint_filter, retrieve
from fashrec.ammr.types import (
                                Anchor,
                                Assumption,
                                AttributeGuess,
                                Booster,
                                Candidate,
                                Check,
                                Constraints,
                                CriticConfig,
                                Option,
                                Personalization,
                                RefineResult,
                                Relaxation,
                                Resolution,
                                ResultItem,
                                Shortfall,
                                StandingRules,
                                Step,
)

__all__ = [
    "AMMR", "Anchor", "Assumption", "AttributeGuess", "Booster", "Candidate", "Check", "Constraints",
    "CriticConfig", "IDENTITY_CONFIDENCE", "KEEP_CONFIDENCE", "Option", "Personalization", "RefineOptions",
    "RefineResult", "Refiner", "Relaxation", "Resolution", "ResultItem", "Shortfall", "StandingRules", "Step",
    "anchor_from_product", "blend_anchors", "anchor_keeps", "correct_anchor", "keep_corrected", "available_strategies", "check_product",
    "constraint_filter", "estimate_price", "explain", "infer_attributes", "passes", "read_constraints",
    "register_strategy", "resolve_relative", "retrieve", "select", "understand_anchor", "wish_attribute",
    "garment_category",
]
