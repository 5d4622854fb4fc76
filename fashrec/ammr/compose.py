"""AMMR stage 3b, query composition: one vector from the anchor image and the request.

The anchor vector is moved along the difference between the prompt embeddings of the requested and
the anchor's values ("white" -> "navy blue"), then blended with an embedding of a target description
built from the plan ("navy blue linen shirt for men"). Hard constraints become filters separately.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fashrec.ammr.types import Anchor, Constraints
from fashrec.catalog.roles import role_of
from fashrec.encoder import Encoder
from fashrec.encoder.prompts import AttributePrompts
from fashrec.planner import Plan

EDIT_WEIGHT = 1.0          # how far each attribute edit moves the anchor
DESCRIPTION_WEIGHT = 0.5   # weight of the target-description embedding
DESCRIPTION_ORDER = ("pattern", "color", "material", "usage", "sleeve", "category")


def unit(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def target_attributes(anchor: Anchor, plan: Plan, min_confidence: float = 0.5) -> dict[str, str]:
    """What the wanted product looks like: the anchor's attributes with the plan's changes applied."""
    target = {a: v for a, v in anchor.values(min_confidence).items() if a not in plan.drop}
    for attr, banned in plan.exclude.items():
        if target.get(attr) in banned:
            del target[attr]
    target.update(plan.set)
    return target


def describe(target: dict[str, str]) -> str:
    by_role = {role_of(a) or a: v for a, v in target.items()}
    words = [by_role[r] for r in DESCRIPTION_ORDER if r in by_role]
    text = " ".join(words) or "product"
    if "gender" in by_role:
        text += f" for {by_role['gender']}"
    return text


@dataclass
class ComposedQuery:
    vector: np.ndarray
    description: str
    edits: list[str]


def compose(anchor: Anchor, constraints: Constraints, encoder: Encoder, prompts: AttributePrompts) -> ComposedQuery:
    """The query vector; resolved relative wishes remove the anchor values they move away from."""
    plan = constraints.plan
    vector = anchor.vector.astype(np.float32).copy()
    edits: list[str] = []
    for attr, value in plan.set.items():
        target = prompts.value_vector(attr, value)
        if target is None:
            continue
        source_guess = anchor.attributes.get(attr)
        source = prompts.value_vector(attr, source_guess.value) if source_guess else None
        if source is not None and source_guess.value != value:
            vector += EDIT_WEIGHT * (target - source)
            edits.append(f"{attr}: {source_guess.value} -> {value}")
        elif source is None:
            vector += EDIT_WEIGHT * target
            edits.append(f"{attr}: -> {value}")
    target = target_attributes(anchor, plan)
    for attr in constraints.relative.within:
        target.pop(attr, None)      # "shorter sleeves": the anchor's long sleeves are no longer the target
    description = describe(target)
    extra = [w for w in plan.relative] + ([plan.query] if plan.query else [])
    if extra:
        description = f"{description}, {', '.join(extra)}"
    vector = unit(vector) + DESCRIPTION_WEIGHT * encoder.encode_texts([description])[0]
    return ComposedQuery(unit(vector), description, edits)
