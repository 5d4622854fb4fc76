"""Planner layer: accumulating constraints over a conversation, each request refines the plan of the turns before it.

A later request may add a constraint ("in linen"), revise one ("actually in red" replaces navy), negate
one ("not red" after "in red"), or release one ("any colour is fine" -> ``drop``, "forget the budget" ->
``drop`` of ``price``). Brands and sizes work the same way: new ones replace the old ("from Kestrel" after
"from Nordvik"), a refused brand is added to those refused, "any brand" / "any size" releases them. Merging is idempotent, so it gives the same answer whether a planner returns only
what the new words say or the whole accumulated plan.

This module is pure data work on :class:`Plan` (no models, no storage), so the refine loop can use it too.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from fashrec.planner.plan import BRAND, PRICE, SIZE, Plan, price_label
# Free words kept across turns (oldest forgotten first), so the embedded text stays a short phrase.
MAX_QUERY_PHRASES = 3
# Relative wishes that cancel each other: asking for one withdraws the other.
OPPOSITES = {
    "cheaper": "pricier", "darker": "lighter", "longer": "shorter", "more formal": "more casual",
    "looser": "tighter", "warmer": "cooler", "simpler": "bolder", "shorter sleeves": "longer sleeves",
}
OPPOSITES.update({b: a for a, b in list(OPPOSITES.items())})


@dataclass
class Change:
    """One difference between the plan before and after a turn, for people and for scripts."""

    kind: str                   # "added", "removed" or "revised"
    constraint: str             # "color=red", "price <= 60", "any color", "cheaper"
    previous: str | None = None  # for "revised": the constraint it replaced

    def __str__(self) -> str:
        if self.kind == "revised":
            return f"~ {self.previous} -> {self.constraint}"
        return f"{'+' if self.kind == 'added' else '-'} {self.constraint}"

    def to_dict(self) -> dict:
        out = {"change": self.kind, "constraint": self.constraint}
        if self.previous is not None:
            out["previous"] = self.previous
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Change":
        return cls(data["change"], data["constraint"], data.get("previous"))


def merge_plans(previous: Plan | None, request: Plan) -> tuple[Plan, list[Change]]:
    """The accumulated plan after ``request``, and what changed. Neither input is modified."""
    plan = copy.deepcopy(previous) if previous is not None else Plan()
    plan.source = request.source or plan.source
    plan.notes = list(request.notes)  # notes explain this turn's reading only
    changes: list[Change] = []

    _apply_drops(plan, request.drop, changes)
    _apply_sets(plan, request.set, changes)
    _apply_excludes(plan, request.exclude, changes)
    _apply_price(plan, request, changes)
    _apply_fields(plan, request, changes)

    for wish in request.relative:
        opposite = OPPOSITES.get(wish)
        if opposite in plan.relative:
            plan.relative.remove(opposite)
            changes.append(Change("removed", opposite))
        if wish not in plan.relative:
            plan.relative.append(wish)
            changes.append(Change("added", wish))
    for attr in request.keep:
        if attr not in plan.keep and attr not in plan.set and attr not in plan.drop:
            plan.keep.append(attr)
    if request.include_out_of_stock and not plan.include_out_of_stock:
        plan.include_out_of_stock = True
        changes.append(Change("added", "include out of stock"))
    plan.query = _merge_query(plan.query, request.query)
    return plan, changes


def _apply_drops(plan: Plan, drops: list[str], changes: list[Change]) -> None:
    for attr in drops:
        if attr == PRICE:
            label = price_label(plan.price_min, plan.price_max)
            if label:
                changes.append(Change("removed", label))
            plan.price_min = plan.price_max = None
        elif attr in (BRAND, SIZE):
            _drop_field(plan, attr, changes)
        else:
            if attr in plan.set:
                changes.append(Change("removed", f"{attr}={plan.set.pop(attr)}"))
            if attr in plan.exclude:
                changes.append(Change("removed", f"{attr}!={'/'.join(plan.exclude.pop(attr))}"))
            if attr in plan.keep:
                plan.keep.remove(attr)
        # Remembered so the anchor's value is not kept either ("any colour" holds until a colour is asked).
        if attr not in plan.drop:
            plan.drop.append(attr)
            if attr != PRICE:
                changes.append(Change("added", f"any {attr}"))


def _apply_sets(plan: Plan, wanted: dict[str, str], changes: list[Change]) -> None:
    for attr, value in wanted.items():
        old = plan.set.get(attr)
        if old == value:
            continue
        plan.set[attr] = value
        changes.append(Change("added", f"{attr}={value}") if old is None
                       else Change("revised", f"{attr}={value}", f"{attr}={old}"))
        banned = plan.exclude.get(attr, [])
        if value in banned:  # asking for a value withdraws an earlier "not <value>"
            banned.remove(value)
            changes.append(Change("removed", f"{attr}!={value}"))
            if not banned:
                del plan.exclude[attr]
        if attr in plan.drop:
            plan.drop.remove(attr)
        if attr in plan.keep:
            plan.keep.remove(attr)


def _apply_excludes(plan: Plan, excluded: dict[str, list[str]], changes: list[Change]) -> None:
    for attr, values in excluded.items():
        if plan.set.get(attr) in values:  # "not red" after "in red" withdraws the red
            changes.append(Change("removed", f"{attr}={plan.set.pop(attr)}"))
        banned = plan.exclude.setdefault(attr, [])
        for value in values:
            if value not in banned:
                banned.append(value)
                changes.append(Change("added", f"{attr}!={value}"))
        if not banned:
            del plan.exclude[attr]
        if attr in plan.drop:
            plan.drop.remove(attr)


def _apply_price(plan: Plan, request: Plan, changes: list[Change]) -> None:
    if request.price_min is None and request.price_max is None:
        return
    before = price_label(plan.price_min, plan.price_max)
    if request.price_max is not None:
        plan.price_max = request.price_max
        if plan.price_min is not None and request.price_min is None and plan.price_min > plan.price_max:
            plan.price_min = None  # the new ceiling wins over an older, incompatible floor
    if request.price_min is not None:
        plan.price_min = request.price_min
        if plan.price_max is not None and request.price_max is None and plan.price_max < plan.price_min:
            plan.price_max = None
    after = price_label(plan.price_min, plan.price_max)
    if PRICE in plan.drop:
        plan.drop.remove(PRICE)
    if after != before:
        changes.append(Change("added", after) if before is None else Change("revised", after, before))


def _field_label(name: str, values: list[str], refused: bool = False) -> str:
    return f"{name}{'!=' if refused else '='}{'/'.join(values)}"


def _drop_field(plan: Plan, name: str, changes: list[Change]) -> None:
    """ "any brand", "forget the size": what earlier turns asked of the field goes."""
    lists = [(plan.brands, False), (plan.exclude_brands, True)] if name == BRAND else [(plan.sizes, False)]
    for values, refused in lists:
        if values:
            changes.append(Change("removed", _field_label(name, values, refused)))
            values.clear()


def _apply_fields(plan: Plan, request: Plan, changes: list[Change]) -> None:
    """Brands and sizes asked for replace the earlier ones; refused brands add up."""
    for name, current, wanted in ((BRAND, plan.brands, request.brands), (SIZE, plan.sizes, request.sizes)):
        if wanted and set(wanted) != set(current):
            before = _field_label(name, current) if current else None
            current[:] = list(wanted)
            after = _field_label(name, current)
            changes.append(Change("added", after) if before is None else Change("revised", after, before))
        if wanted and name in plan.drop:
            plan.drop.remove(name)
    for brand in request.exclude_brands:
        if brand in plan.brands:  # "not Nordvik" after "from Nordvik" withdraws it
            plan.brands.remove(brand)
            changes.append(Change("removed", _field_label(BRAND, [brand])))
        if brand not in plan.exclude_brands:
            plan.exclude_brands.append(brand)
            changes.append(Change("added", _field_label(BRAND, [brand], refused=True)))
    for brand in request.brands:
        if brand in plan.exclude_brands:  # asking for a brand withdraws an earlier "not <brand>"
            plan.exclude_brands.remove(brand)
            changes.append(Change("removed", _field_label(BRAND, [brand], refused=True)))
    if request.exclude_brands and BRAND in plan.drop:
        plan.drop.remove(BRAND)


def _merge_query(previous: str, new: str) -> str:
    phrases = [p for p in (s.strip() for s in previous.split(";")) if p]
    new = new.strip()
    if new and not any(new == p or new in p for p in phrases):
        phrases = [p for p in phrases if p not in new] + [new]
    return "; ".join(phrases[-MAX_QUERY_PHRASES:])
