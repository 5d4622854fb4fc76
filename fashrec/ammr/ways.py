"""AMMR stage 7c, a way forward taken: one of the numbered options a short answer offered, chosen.

A short answer (:mod:`fashrec.ammr.shortfall`) numbers what giving up each constraint would yield. The
shopper takes one by its number: typed alone in ``fashrec chat``, or as ``--relax N`` on ``fashrec
refine`` / ``fashrec search`` (``"relax": [N]`` in a batch line or a server request). Each of them
answers the same request again through these two functions, so "2" in chat and ``--relax 2`` on the
command line release the same constraints and give the same answer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Iterable

from fashrec.ammr.relative import garment_category, wish_attribute
from fashrec.ammr.types import Option, Relaxation, Shortfall
from fashrec.catalog import Vocabulary
from fashrec.errors import UsageError
from fashrec.planner import Plan
from fashrec.planner.merge import Change

PRICE_WISHES = ("cheaper", "pricier")


@dataclass
class Taken:
    """A way forward as the next request: ``previous`` (the plan without the relative wishes it gives
    up), ``request`` (what releases the rest: ``drop`` "any category", any brand, no price range), the
    ``changes`` made to ``previous`` and the request's words ("drop shirt")."""

    previous: Plan
    request: Plan
    changes: list[Change]
    text: str


def offered_option(short: Shortfall | None, number: int, *, answer: str = "the answer") -> Option:
    """Way forward ``number`` of a short answer, when it adds something to the answer; otherwise a
    usage error that names the numbers that do."""
    options = short.options if short is not None else []
    chosen = next((o for o in options if o.number == number), None)
    useful = [o.number for o in options if o.useful]
    offers = f"{answer} offers {numbers_text(useful)}" if useful else None
    if chosen is None:
        why = (offers if useful else f"giving up any one constraint of {answer} finds nothing more" if options
               else f"{answer} is not short: it offers no way forward")
        raise UsageError(f"there is no way forward {number} ({why})")
    if not chosen.count:
        raise UsageError(f"way forward {number} finds nothing: {chosen.message}", hint=offers)
    if not chosen.useful:
        raise UsageError(f"way forward {number} adds nothing: {chosen.message}", hint=offers)
    return chosen


def take_option(plan: Plan, relax: Iterable[Relaxation], vocabulary: Vocabulary, anchor: dict[str, str], *,
                source: str = "session") -> Taken:
    """Release each of ``relax`` from ``plan``: a relative wish ("shorter sleeves", "cheaper") is removed
    from the plan; everything else is dropped by the next request (a dropped anchor keep is then not
    kept either). ``anchor``: its values, which say what a wish like "shorter" moves (a dress's length)."""
    relax = list(relax)
    previous, changes, drops = copy.deepcopy(plan), [], []
    category = garment_category(previous, anchor, vocabulary.attributes())
    for r in relax:
        if r.check in ("within", "price"):
            for wish in [w for w in previous.relative if (w in PRICE_WISHES if r.check == "price"
                                                           else wish_attribute(w, vocabulary, category) == r.attribute)]:
                previous.relative.remove(wish)
                changes.append(Change("removed", wish))
        if r.check != "within":
            drops.append(r.attribute)        # "any category", "any color", any brand, or no price range
    labels = " and ".join(r.label for r in relax)
    return Taken(previous, Plan(drop=drops, source=source), changes, f"drop {labels}")


def numbers_text(numbers: list[int]) -> str:
    """1 / 1 or 2 / 1, 2 or 3."""
    if len(numbers) <= 1:
        return "".join(map(str, numbers))
    return f"{', '.join(map(str, numbers[:-1]))} or {numbers[-1]}"
