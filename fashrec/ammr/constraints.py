"""AMMR stage 3a, the constraints record: one request read against one anchor, built once.

The plan (what the words said), its relative wishes resolved against the anchor ("shorter sleeves" ->
sleeve in sleeveless/short) and the anchor attributes the request left alone become one
:class:`~fashrec.ammr.types.Constraints` record. Compose, retrieve, guard, critic and explain only read
it; the loop's re-plan policies build a new one (relaxing a keep, or another reading of the request).
"""

from __future__ import annotations

from fashrec.ammr.relative import resolve_relative
from fashrec.ammr.types import SHOPPER, Anchor, Assumption, AttributeGuess, Constraints, Resolution, Unsure
from fashrec.catalog import Vocabulary
from fashrec.catalog.roles import KEEP_ORDER, is_identity, role_of
from fashrec.planner import Plan

KEEP_CONFIDENCE = 0.5       # anchor attributes inferred at least this confidently are kept
# The anchor's identity (category, gender) is required of every result only when read at least this
# confidently. Below it the reading is wrong about two times in five (on the 4,428 unseen photos of
# `fashrec eval anchor`, category guesses at 0.5-0.6 were right 57 % of the time, gender 60 %), so
# requiring it would hide what the shopper showed; it only steers ranking, and the answer says so.
IDENTITY_CONFIDENCE = 0.6
# An identity read below EITHER_BELOW whose runner-up reaches RUNNER_UP_MIN is kept as "this or that"
# ("sports shoes or casual shoes"): on the 4,228 unseen photos of `fashrec eval anchor` outside the
# refine requests, such a category reading alone was right 59-74 % of the time (by 0.1 band from 0.5 to
# 0.8), the pair 88-96 %; gender 61-76 % alone, 92-98 % as a pair (bench/pair_readings.py). Every
# result has one of the two, the likeliest first; the other fills the answer only when the first runs
# short, and it says so.
EITHER_BELOW = 0.8
RUNNER_UP_MIN = 0.2


def read_constraints(plan: Plan, anchor: Anchor, vocabulary: Vocabulary, *,
                     keep_confidence: float = KEEP_CONFIDENCE, identity_confidence: float = IDENTITY_CONFIDENCE,
                     resolve_wishes: bool = True) -> Constraints:
    """The constraints of ``plan`` for ``anchor``; ``resolve_wishes=False`` leaves relative wishes as
    ranking hints (the single-shot baselines do not resolve them)."""
    relative = (resolve_relative(plan, anchor, vocabulary, min_confidence=keep_confidence)
                if resolve_wishes else Resolution())
    hard, soft = anchor_keeps(anchor, plan, relative, keep_confidence, identity_confidence)
    kept = Constraints(plan, relative, hard, soft)
    return Constraints(plan, relative, hard, soft, either_readings(anchor, kept, keep_confidence))


def anchor_keeps(anchor: Anchor, plan: Plan, relative: Resolution, min_confidence: float,
                 identity_confidence: float = IDENTITY_CONFIDENCE) -> tuple[dict[str, str], dict[str, str]]:
    """(hard keeps, soft keeps): confident anchor attributes the request did not touch.

    Those that define a product's kind and look (:data:`~fashrec.catalog.roles.KEEP_ORDER`) or that the
    shopper asked to keep are hard -- its identity only from ``identity_confidence`` up; the rest only
    help ranking.
    """
    touched = _touched(plan, relative)
    hard, soft = {}, {}
    for attr, guess in anchor.attributes.items():
        if attr in touched or guess.confidence < min_confidence:
            continue
        unsure = is_identity(attr) and guess.confidence < identity_confidence
        # Unsure of one value but sure enough of two: kept as "this or that" (see identity_readings).
        pair = len(identity_readings(attr, guess, keep_confidence=min_confidence)) > 1
        if attr in plan.keep or (role_of(attr) in KEEP_ORDER and not unsure) or pair:
            hard[attr] = guess.value
        else:
            soft[attr] = guess.value
    return hard, soft


def identity_readings(attribute: str, guess: AttributeGuess, *,
                      keep_confidence: float = KEEP_CONFIDENCE) -> tuple[str, ...]:
    """The values an identity attribute read from the photo is kept as: the reading and, when the
    reading is below :data:`EITHER_BELOW` and its strongest runner-up reaches :data:`RUNNER_UP_MIN`,
    that runner-up too ("shirts or kurtas"). One value for everything else: a look attribute, a value
    the shopper gave or the catalog holds, a sure reading, one too unsure to keep."""
    if (not is_identity(attribute) or guess.source == SHOPPER or guess.confidence < keep_confidence
            or guess.confidence >= EITHER_BELOW):
        return (guess.value,)
    others = [(v, c) for v, c in guess.alternatives if v != guess.value and c >= RUNNER_UP_MIN]
    return (guess.value, max(others, key=lambda vc: vc[1])[0]) if others else (guess.value,)


def either_readings(anchor: Anchor, constraints: Constraints, keep_confidence: float = KEEP_CONFIDENCE
                    ) -> dict[str, tuple[str, ...]]:
    """The kept identity attributes read between two values (see :func:`identity_readings`)."""
    return {a: r for a in constraints.hard if a in anchor.attributes and a not in constraints.plan.keep
            and len(r := identity_readings(a, anchor.attributes[a], keep_confidence=keep_confidence)) > 1}


def unsure_keeps(anchor: Anchor, constraints: Constraints, ask_below: float) -> list[Unsure]:
    """The identity attributes the request left alone and read below ``ask_below``: those not kept (under
    the keep threshold, so the results may differ in them) and, when ``ask_below`` is above that
    threshold, those kept on a guess worth confirming. The shopper is shown the reading and asked; what
    the shopper already corrected is their word, not a reading, and is never asked again."""
    touched = _touched(constraints.plan, constraints.relative)
    unsure = [Unsure(attr, guess, ask_below, kept=attr in constraints.hard, either=constraints.either.get(attr, ()))
              for attr, guess in anchor.attributes.items()
              if attr not in touched and guess.source != SHOPPER and guess.confidence < ask_below
              and role_of(attr) in KEEP_ORDER]
    return sorted(unsure, key=lambda u: KEEP_ORDER.index(role_of(u.attribute)))


def _touched(plan: Plan, relative: Resolution) -> set[str]:
    """The attributes the request itself decides (set, excluded, dropped or steered)."""
    return set(plan.set) | set(plan.exclude) | set(plan.drop) | set(relative.within)


def assumptions(anchor: Anchor, first: Constraints, final: Constraints, *, keep_confidence: float = KEEP_CONFIDENCE,
                identity_confidence: float = IDENTITY_CONFIDENCE) -> list[Assumption]:
    """What each attribute read from the anchor did in an answer (``first``: the constraints the answer
    started with; ``final``: those its results satisfy), most important first."""
    plan = final.plan
    changed = set(plan.set) | set(plan.exclude) | set(final.relative.within)
    out = []
    for attr, guess in sorted(anchor.attributes.items(), key=lambda ag: (_rank(ag[0]), ag[0])):
        read = (f"{guess.value} (catalog)" if guess.source == "catalog" else _said(guess)
                if guess.source == SHOPPER else f"{guess.value} at {guess.confidence:.0%}")
        if attr in changed:
            use, reason = "changed", "the request changes it"
        elif attr in plan.drop:
            use, reason = "released", "the request releases it"
        elif attr in final.either:
            use, reason = _either(attr, guess, final)
        elif attr in final.hard:
            use, reason = "required", f"read as {read}: every result has it"
        elif attr in first.hard:
            use, reason = "relaxed", f"read as {read}: kept first, then given up (too few matches had it)"
        elif guess.confidence < keep_confidence:
            use, reason = "unused", f"read as {read}: too unsure to use"
        elif is_identity(attr) and guess.confidence < identity_confidence:
            use, reason = "preferred", (f"read as {read}: unsure (below {identity_confidence:.0%}), so it only "
                                        "steers ranking; other kinds may be results")
        else:
            use, reason = "preferred", f"read as {read}: steers ranking"
        out.append(Assumption(attr, guess.value, guess.confidence, guess.source, use, reason))
    return out


def _either(attr: str, guess: AttributeGuess, final: Constraints) -> tuple[str, str]:
    """(use, reason) of an identity read between two values: searched as the likeliest, then either."""
    first, other = final.either[attr][:2]
    odds = dict(guess.alternatives).get(other, 0.0)
    read = f"read as {first} at {guess.confidence:.0%} or {other} at {odds:.0%}"
    if attr in final.hard:
        return "required", f"{read}: every result is {first}"
    return "either", (f"{read}: every result is one of them, {first} first; too few were {first}, "
                      f"so {other} follow")


def _said(guess: AttributeGuess) -> str:
    """A correction as the answer names it: "dress (you said; the photo read kurtas at 93%)"."""
    was = guess.guessed
    if was is None or was.value == guess.value:
        return f"{guess.value} (you said)"
    return f"{guess.value} (you said; the photo read {was.value} at {was.confidence:.0%})"


def _rank(attribute: str) -> int:
    role = role_of(attribute)
    return KEEP_ORDER.index(role) if role in KEEP_ORDER else len(KEEP_ORDER)
